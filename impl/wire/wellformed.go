package wire

import (
	"strconv"
	"unicode/utf8"
)

// wellFormed checks that data is valid UTF-8 holding exactly one JSON value, with no object
// repeating a member name (compared after unescaping) and nothing nested deeper than MaxDepth
// (spec ENC-9, MSG-2, MSG-3, MSG-4). It is the slow, allocating path that runs only after the
// generated decoder has failed, so that an error in the JSON text always wins over a schema
// error found before it, and is reported the way the schema oracle (schemas.CheckWellFormed)
// reports it: first invalid UTF-8 anywhere, then an escaped lone surrogate anywhere, then
// syntax, duplicate member and depth in the order of the text, then trailing data.
func wellFormed(data []byte) *ValidationError {
	if !utf8.Valid(data) {
		return errUTF8()
	}
	if loneSurrogate(data) {
		return errSurrogate()
	}
	type frame struct {
		object  bool
		pointer string
		index   int                 // array: the element being read
		key     string              // object: the member being read
		keys    map[string]struct{} // object: the names seen
	}
	var stack []*frame
	d := &decoder{data: data}
	child := func() string {
		if len(stack) == 0 {
			return ""
		}
		top := stack[len(stack)-1]
		if top.object {
			return top.pointer + "/" + escapeRef(top.key)
		}
		return top.pointer + "/" + strconv.Itoa(top.index)
	}
	// readKey reads a member name of the innermost object and the colon after it.
	readKey := func() *ValidationError {
		if d.peek() != '"' {
			return d.syntax()
		}
		k, err := d.readString()
		if err != nil {
			return err
		}
		top := stack[len(stack)-1]
		key := string(k)
		if _, dup := top.keys[key]; dup {
			err := duplicate(k)
			err.Pointer = top.pointer + "/" + escapeRef(key)
			return err
		}
		top.keys[key] = struct{}{}
		top.key = key
		if d.peek() != ':' {
			return d.syntax()
		}
		d.pos++
		return nil
	}
	for {
		// A value.
		switch c := d.peek(); {
		case c == '{' || c == '[':
			d.pos++
			f := &frame{object: c == '{', pointer: child()}
			stack = append(stack, f)
			if len(stack) > MaxDepth {
				return newError(KeywordDepth, "nested more than %d levels", MaxDepth)
			}
			if c == '{' {
				f.keys = map[string]struct{}{}
				if d.peek() == '}' {
					d.pos++
					stack = stack[:len(stack)-1]
					break
				}
				if err := readKey(); err != nil {
					return err
				}
				continue
			}
			if d.peek() == ']' {
				d.pos++
				stack = stack[:len(stack)-1]
				break
			}
			continue
		case c == '"':
			if _, err := d.readString(); err != nil {
				return err
			}
		case c == 't' || c == 'f' || c == 'n':
			if !d.literal("true") && !d.literal("false") && !d.literal("null") {
				return d.syntax()
			}
		case c == '-' || c >= '0' && c <= '9':
			if _, err := d.number(0, 0); err != nil && err.Keyword == KeywordSyntax {
				return err
			}
		default:
			return d.syntax()
		}
		// After a value: close containers until one continues.
		for len(stack) > 0 {
			top := stack[len(stack)-1]
			c := d.peek()
			if c == ',' {
				d.pos++
				if top.object {
					if err := readKey(); err != nil {
						return err
					}
				} else {
					top.index++
				}
				break
			}
			if top.object && c == '}' || !top.object && c == ']' {
				d.pos++
				stack = stack[:len(stack)-1]
				continue
			}
			return d.syntax()
		}
		if len(stack) == 0 {
			return d.end()
		}
	}
}

// loneSurrogate reports whether a string of data has a \u escape of a UTF-16 surrogate that is
// not part of a high-low pair (spec ENC-10). Like the oracle, it looks at the text before parsing
// it: a quote outside an escape toggles "inside a string", and the scan stops, finding nothing,
// at the first malformed \u escape, which the parser then reports as a syntax error.
func loneSurrogate(data []byte) bool {
	in := false
	for i := 0; i < len(data); i++ {
		switch c := data[i]; {
		case c == '"':
			in = !in
		case c == '\\' && in && i+1 < len(data):
			if data[i+1] != 'u' {
				i++
				continue
			}
			u := hex4(data[i+2:])
			switch {
			case u < 0:
				return false
			case u >= 0xDC00 && u <= 0xDFFF:
				return true
			case u >= 0xD800 && u <= 0xDBFF:
				if i+12 > len(data) || data[i+6] != '\\' || data[i+7] != 'u' {
					return true
				}
				if lo := hex4(data[i+8:]); lo < 0xDC00 || lo > 0xDFFF {
					return true
				}
				i += 11
				continue
			}
			i += 5
		}
	}
	return false
}
