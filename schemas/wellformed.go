package schemas

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The keywords of a WellFormedError: the failures that no JSON Schema can express because they
// happen before there is a JSON value to validate (spec §2.4, §5.1).
const (
	KeywordUTF8         = "utf8"         // the text is not valid UTF-8 (ENC-9) or escapes a lone surrogate (ENC-10)
	KeywordSyntax       = "syntax"       // the text is not JSON (RFC 8259), or is empty
	KeywordDuplicateKey = "duplicateKey" // an object has the same member name twice (MSG-2)
	KeywordTrailingData = "trailingData" // something other than whitespace follows the value (MSG-3)
	KeywordDepth        = "depth"        // arrays and objects nest more than MaxDepth levels (MSG-4)
)

// MaxDepth is the deepest nesting of arrays and objects a receiver must accept (spec MSG-4); the
// top-level object is level 1.
const MaxDepth = 32

// WellFormedError reports why a text is not exactly one well-formed JSON value.
type WellFormedError struct {
	Keyword string // one of the Keyword constants
	Pointer string // RFC 6901 location of the repeated member for KeywordDuplicateKey, "" otherwise
	Offset  int64  // byte offset in the text at which the problem was detected
	Detail  string // for people
}

// Error describes the failure, with its keyword, pointer and offset.
func (e *WellFormedError) Error() string {
	if e.Pointer != "" {
		return fmt.Sprintf("schemas: %s at %q (offset %d): %s", e.Keyword, e.Pointer, e.Offset, e.Detail)
	}
	return fmt.Sprintf("schemas: %s at offset %d: %s", e.Keyword, e.Offset, e.Detail)
}

// CheckWellFormed is the strict JSON reader of the schema oracle. It returns nil when data is
// valid UTF-8 holding exactly one JSON value (surrounded by optional whitespace) in which no
// object repeats a member name and nothing nests deeper than MaxDepth; otherwise it returns a
// *WellFormedError. Member names are compared after unescaping, so "a" and "\u0061" are the same
// name. A top-level value that is not an object is well formed: rejecting it is the schemas' job.
func CheckWellFormed(data []byte) error {
	_, err := wellFormed(data, false)
	return err
}

// decodeWellFormed is CheckWellFormed that also returns the value, as jsonschema.UnmarshalJSON
// decodes it (objects as map[string]any, arrays as []any, numbers as json.Number), built in the
// same pass: Check needs both, and reading the text twice was most of its time.
func decodeWellFormed(data []byte) (any, error) { return wellFormed(data, true) }

// wellFormed checks data as CheckWellFormed says and, when build is set, returns its value.
func wellFormed(data []byte, build bool) (any, error) {
	if !utf8.Valid(data) {
		off := 0
		for off < len(data) {
			r, size := utf8.DecodeRune(data[off:])
			if r == utf8.RuneError && size <= 1 {
				break
			}
			off += size
		}
		return nil, &WellFormedError{Keyword: KeywordUTF8, Offset: int64(off), Detail: "invalid UTF-8"}
	}
	if off, ok := loneSurrogate(data); ok {
		return nil, &WellFormedError{Keyword: KeywordUTF8, Offset: int64(off), Detail: "escaped lone surrogate"}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var stack []*frame
	var root any
	// put places a complete value in the innermost open container, or makes it the root.
	put := func(v any) {
		if !build {
			return
		}
		switch n := len(stack); {
		case n == 0:
			root = v
		case stack[n-1].object:
			stack[n-1].obj[stack[n-1].key] = v
		default:
			stack[n-1].arr = append(stack[n-1].arr, v)
		}
	}
	for {
		tok, err := dec.Token()
		if err != nil {
			detail := err.Error()
			if errors.Is(err, io.EOF) {
				detail = "unexpected end of JSON input"
			}
			return nil, &WellFormedError{Keyword: KeywordSyntax, Offset: dec.InputOffset(), Detail: detail}
		}
		if n := len(stack); n > 0 && stack[n-1].object && stack[n-1].wantKey {
			top := stack[n-1]
			if key, ok := tok.(string); ok {
				if _, dup := top.keys[key]; dup {
					return nil, &WellFormedError{Keyword: KeywordDuplicateKey, Pointer: top.pointer + "/" + escapePointer(key),
						Offset: dec.InputOffset(), Detail: fmt.Sprintf("member %q appears twice", key)}
				}
				top.keys[key] = struct{}{}
				top.key, top.wantKey = key, false
				continue
			}
			// The decoder only allows '}' here.
		}
		if d, ok := tok.(json.Delim); ok && (d == '{' || d == '[') {
			f := &frame{object: d == '{', wantKey: true, pointer: childPointer(stack), keys: map[string]struct{}{}}
			if build && f.object {
				f.obj = map[string]any{}
			} else if build {
				f.arr = []any{}
			}
			stack = append(stack, f)
			if len(stack) > MaxDepth {
				return nil, &WellFormedError{Keyword: KeywordDepth, Offset: dec.InputOffset(),
					Detail: fmt.Sprintf("nested more than %d levels", MaxDepth)}
			}
			continue
		}
		if d, ok := tok.(json.Delim); ok && (d == '}' || d == ']') {
			closed := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if closed.object {
				put(closed.obj)
			} else {
				put(closed.arr)
			}
		} else {
			put(tok)
		}
		// A scalar or a closed array or object: one value of the enclosing container is complete.
		if len(stack) == 0 {
			break
		}
		if top := stack[len(stack)-1]; top.object {
			top.wantKey = true
		} else {
			top.index++
		}
	}
	off := dec.InputOffset()
	if rest := bytes.TrimLeft(data[off:], " \t\r\n"); len(rest) > 0 {
		return nil, &WellFormedError{Keyword: KeywordTrailingData, Offset: int64(len(data) - len(rest)),
			Detail: "data after the JSON value"}
	}
	return root, nil
}

// frame is one open array or object of CheckWellFormed.
type frame struct {
	object  bool
	wantKey bool   // object: the next token is a member name or '}'
	key     string // object: the name of the member being read
	index   int    // array: the index of the element being read
	pointer string // the location of this array or object
	keys    map[string]struct{}
	obj     map[string]any // the object's members so far, when the value is built
	arr     []any          // the array's elements so far, when the value is built
}

// childPointer is the location of the value that starts next, inside the innermost open container.
func childPointer(stack []*frame) string {
	if len(stack) == 0 {
		return ""
	}
	top := stack[len(stack)-1]
	if top.object {
		return top.pointer + "/" + escapePointer(top.key)
	}
	return top.pointer + "/" + strconv.Itoa(top.index)
}

// escapePointer escapes one RFC 6901 reference token.
func escapePointer(s string) string {
	return strings.NewReplacer("~", "~0", "/", "~1").Replace(s)
}

// loneSurrogate finds a \u escape of a UTF-16 surrogate that is not part of a high-low pair
// (spec ENC-10): such an escape denotes no Unicode character, so the text is not valid Unicode
// even though its bytes are valid UTF-8. It returns the offset of the escape.
func loneSurrogate(data []byte) (int, bool) {
	inString := false
	for i := 0; i < len(data); i++ {
		switch c := data[i]; {
		case c == '"':
			inString = !inString
		case c == '\\' && inString && i+1 < len(data):
			if data[i+1] != 'u' {
				i++ // a one-character escape, possibly \"
				continue
			}
			u, ok := hex4(data, i+2)
			switch {
			case !ok:
				return 0, false // malformed escape: the decoder reports it as syntax
			case u >= 0xDC00 && u <= 0xDFFF:
				return i, true
			case u >= 0xD800 && u <= 0xDBFF:
				if lo, ok := hex4(data, i+8); !ok || data[i+6] != '\\' || data[i+7] != 'u' || lo < 0xDC00 || lo > 0xDFFF {
					return i, true
				}
				i += 11
				continue
			}
			i += 5
		}
	}
	return 0, false
}

// hex4 reads four hex digits at data[at:].
func hex4(data []byte, at int) (uint16, bool) {
	if at+4 > len(data) {
		return 0, false
	}
	v, err := strconv.ParseUint(string(data[at:at+4]), 16, 16)
	return uint16(v), err == nil
}
