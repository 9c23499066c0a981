package wire

import (
	"fmt"
	"strconv"
	"strings"
)

// The Keyword of a ValidationError for failures of the JSON text itself, which no schema keyword
// expresses. The other keywords are those of JSON Schema: required, additionalProperties, type,
// const, enum, pattern, minLength, maxLength, minimum, maximum, minItems, maxItems, uniqueItems.
const (
	KeywordSyntax       = "syntax"       // not JSON (RFC 8259), or empty
	KeywordDuplicateKey = "duplicateKey" // an object repeats a member name (spec MSG-2)
	KeywordUTF8         = "utf8"         // the text, or a Go string to encode, is not valid UTF-8 (spec ENC-9), or the text escapes a lone surrogate (ENC-10)
	KeywordDepth        = "depth"        // arrays and objects nest more than MaxDepth levels (spec MSG-4)
	KeywordTrailingData = "trailingData" // something other than whitespace follows the value (spec MSG-3)
)

// MaxDepth is the deepest nesting of arrays and objects a message may have; the top-level object
// is level 1 (spec MSG-4).
const MaxDepth = 32

// ValidationError reports why a message is not valid: where (a JSON pointer) and which schema
// keyword failed. Decode, Encode, Validate, UnmarshalJSON and MarshalJSON return it.
type ValidationError struct {
	Pointer string // RFC 6901 location of the failing value in the message; "" is the whole message
	Keyword string // the JSON Schema keyword that failed, or one of the Keyword constants
	Message string // for people; names members and positions, never the offending data
}

// Error returns "wire: POINTER: KEYWORD: MESSAGE", for example
// `wire: /user: pattern: does not match ^[a-z0-9][a-z0-9_.-]{0,31}$`; the pointer and its colon
// are left out for the whole message.
func (e *ValidationError) Error() string {
	if e.Pointer == "" {
		return "wire: " + e.Keyword + ": " + e.Message
	}
	return "wire: " + e.Pointer + ": " + e.Keyword + ": " + e.Message
}

// at prefixes the pointer with one already escaped reference (such as "/user") as the error
// travels up to the enclosing value.
func (e *ValidationError) at(ref string) *ValidationError {
	e.Pointer = ref + e.Pointer
	return e
}

// atIndex prefixes the pointer with an array index.
func (e *ValidationError) atIndex(i int) *ValidationError {
	e.Pointer = "/" + strconv.Itoa(i) + e.Pointer
	return e
}

func newError(keyword, format string, args ...any) *ValidationError {
	return &ValidationError{Keyword: keyword, Message: fmt.Sprintf(format, args...)}
}

// quoteName quotes a member name for a message, shortened so that a hostile name cannot make the
// error large.
func quoteName[T text](name T) string {
	const max = 64
	if len(name) > max {
		return strconv.Quote(string(name[:max])) + "…"
	}
	return strconv.Quote(string(name))
}

// escapeRef escapes one RFC 6901 reference token.
func escapeRef(s string) string {
	if !strings.ContainsAny(s, "~/") {
		return s
	}
	return strings.NewReplacer("~", "~0", "/", "~1").Replace(s)
}

func errRequired(names ...string) *ValidationError {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = strconv.Quote(n)
	}
	return newError("required", "missing member %s", strings.Join(q, ", "))
}

// errMissing reports the required members whose bit is set in req but not in seen; names are
// the members of the object in schema order, bit i standing for names[i].
func errMissing(names []string, seen, req uint64) *ValidationError {
	var missing []string
	for i, n := range names {
		if req&(1<<i) != 0 && seen&(1<<i) == 0 {
			missing = append(missing, n)
		}
	}
	return errRequired(missing...)
}

func errUnknown[T text](name T) *ValidationError {
	return newError("additionalProperties", "unknown member %s", quoteName(name))
}

func errConst(want string) *ValidationError {
	return newError("const", "must be %q", want)
}

func errEnum(values []string) *ValidationError {
	q := make([]string, len(values))
	for i, v := range values {
		q[i] = strconv.Quote(v)
	}
	return newError("enum", "must be one of %s", strings.Join(q, ", "))
}

func errPattern(pattern string) *ValidationError {
	return newError("pattern", "does not match %s", pattern)
}

func errMinLength(got, want int) *ValidationError {
	return newError("minLength", "%d characters, want at least %d", got, want)
}

func errMaxLength(got, want int) *ValidationError {
	return newError("maxLength", "%d characters, want at most %d", got, want)
}

func errMinItems(got, want int) *ValidationError {
	return newError("minItems", "%d items, want at least %d", got, want)
}

func errMaxItems(want int) *ValidationError {
	return newError("maxItems", "more than %d items", want)
}

func errUnique(i, j int) *ValidationError {
	return newError("uniqueItems", "items %d and %d are equal", i, j)
}

func errUTF8() *ValidationError {
	return newError(KeywordUTF8, "invalid UTF-8")
}

func errSurrogate() *ValidationError {
	return newError(KeywordUTF8, "escaped lone surrogate")
}

func errNil(typ string) *ValidationError {
	return newError("type", "nil %s", typ)
}
