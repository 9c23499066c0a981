package hostile

import (
	"bytes"

	"github.com/blindpost/blindpost/schemas"
)

// NotOneObject returns texts that are not exactly one JSON object (spec MSG-3): other values,
// two objects, trailing data, truncations, a byte order mark, empty and blank text. base is a
// valid message.
func NotOneObject(base []byte) []Frame {
	texts := []struct{ name, text string }{
		{"an empty text", ""},
		{"only white space", " \n\t "},
		{"an array holding the message", "[" + string(base) + "]"},
		{"an empty array", "[]"},
		{"a string", `"list_users"`},
		{"a number", "1"},
		{"null", "null"},
		{"true", "true"},
		{"two messages", string(base) + string(base)},
		{"two messages with a space", string(base) + " " + string(base)},
		{"trailing text", string(base) + "x"},
		{"a trailing comma", string(base) + ","},
		{"the message without its last brace", string(base[:len(base)-1])},
		{"only an open brace", "{"},
		{"a byte order mark first", "\ufeff" + string(base)},
		{"an empty object", "{}"},
		{"an unknown type", `{"type":"no_such_type"}`},
		{"a type in capitals", `{"type":"LIST_USERS"}`},
		{"a null type", `{"type":null}`},
		{"single quotes", `{'type':'list_users'}`},
		{"a comment", `{"type":"list_users"/* c */}`},
	}
	out := make([]Frame, 0, len(texts))
	for _, t := range texts {
		out = append(out, classified(t.name, []byte(t.text)))
	}
	return out
}

// InvalidUTF8 returns base with invalid UTF-8 inserted in its first string value (spec ENC-9,
// WS-4): a stray continuation byte, an overlong encoding, an encoded surrogate, a truncated
// sequence and a code point above U+10FFFF.
func InvalidUTF8(base []byte) []Frame {
	at := bytes.IndexByte(base, '"')
	if at < 0 {
		return nil
	}
	at++ // inside the first string (a member name)
	var out []Frame
	for _, v := range []struct{ name, bytes string }{
		{"a stray continuation byte", "\x80"},
		{"the byte 0xff", "\xff"},
		{"an overlong encoding of '/'", "\xc0\xaf"},
		{"an encoded surrogate", "\xed\xa0\x80"},
		{"a truncated sequence", "\xe2\x82"},
		{"a code point above U+10FFFF", "\xf4\x90\x80\x80"},
	} {
		data := append(append(append([]byte(nil), base[:at]...), v.bytes...), base[at:]...)
		out = append(out, classified(v.name, data))
	}
	return out
}

func classified(name string, data []byte) Frame {
	f := Frame{Name: name, Data: data}
	vs, err := schemas.Check(schemas.ClientMessage, data)
	f.Valid = err == nil && len(vs) == 0
	if len(vs) > 0 {
		f.Violation = vs[0].Pointer + " " + vs[0].Keyword
	}
	return f
}
