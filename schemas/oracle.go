package schemas

import (
	"errors"
	"fmt"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// Violation is one reason an instance is invalid, in the terms of the corpus and of the error a
// receiver reports (spec §5.7 bad_message: "the JSON pointer and keyword").
type Violation struct {
	Pointer string // RFC 6901 location in the instance
	Keyword string // the schema keyword that failed, or one of the WellFormedError keywords
	Message string // for people
}

// String formats the violation as pointer, keyword and message.
func (v Violation) String() string { return fmt.Sprintf("%q %s: %s", v.Pointer, v.Keyword, v.Message) }

// Violations flattens an error of (*jsonschema.Schema).Validate into its leaf causes, in the order
// the validator reports them. It returns nil for a nil error and one violation with an empty
// keyword for an error that is not a *jsonschema.ValidationError.
func Violations(err error) []Violation {
	if err == nil {
		return nil
	}
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return []Violation{{Message: err.Error()}}
	}
	var out []Violation
	var walk func(*jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		if len(e.Causes) > 0 {
			for _, c := range e.Causes {
				walk(c)
			}
			return
		}
		kw := ""
		if p := e.ErrorKind.KeywordPath(); len(p) > 0 {
			kw = p[len(p)-1]
		}
		out = append(out, Violation{Pointer: pointer(e.InstanceLocation), Keyword: kw, Message: leafMessage(e)})
	}
	walk(ve)
	return out
}

// leafMessage is the validator's message for one leaf, without its "at '/x': " prefix.
func leafMessage(e *jsonschema.ValidationError) string {
	msg := e.Error()
	if i := strings.Index(msg, "': "); strings.HasPrefix(msg, "at '") && i >= 0 {
		return msg[i+3:]
	}
	return msg
}

// pointer writes an instance location as an RFC 6901 JSON pointer.
func pointer(loc []string) string {
	var b strings.Builder
	for _, tok := range loc {
		b.WriteByte('/')
		b.WriteString(escapePointer(tok))
	}
	return b.String()
}

// Check is the schema oracle for one JSON text: it returns nil when data is well formed
// (CheckWellFormed) and valid against the schema at path, and otherwise every violation (a single
// one for a text that is not well formed). The error is only for a schema that cannot be compiled.
func Check(path string, data []byte) ([]Violation, error) {
	sch, err := Compile(path)
	if err != nil {
		return nil, err
	}
	v, err := decodeWellFormed(data)
	if err != nil {
		var wf *WellFormedError
		errors.As(err, &wf)
		return []Violation{{Pointer: wf.Pointer, Keyword: wf.Keyword, Message: wf.Detail}}, nil
	}
	return Violations(sch.Validate(v)), nil
}
