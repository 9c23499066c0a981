package wire

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// jv is a JSON value that keeps member order and can hold text that is not JSON, for building
// variants (same value, other bytes) and mutants (other values, or not JSON at all) of a valid
// message.
type jv struct {
	kind  byte // 'o' object, 'a' array, 's' string, 'n' number, 'l' true/false/null, 'r' raw text
	keys  []string
	vals  []*jv
	elems []*jv
	text  string // the string, or the text of a number, literal or raw value
}

func parseJV(data []byte) *jv {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	v, err := readJV(dec)
	if err != nil {
		panic(fmt.Sprintf("parseJV(%q): %v", data, err))
	}
	return v
}

func readJV(dec *json.Decoder) (*jv, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		v := &jv{kind: 'a'}
		if t == '{' {
			v.kind = 'o'
		}
		for dec.More() {
			if v.kind == 'o' {
				k, err := dec.Token()
				if err != nil {
					return nil, err
				}
				v.keys = append(v.keys, k.(string))
			}
			e, err := readJV(dec)
			if err != nil {
				return nil, err
			}
			if v.kind == 'o' {
				v.vals = append(v.vals, e)
			} else {
				v.elems = append(v.elems, e)
			}
		}
		_, err := dec.Token()
		return v, err
	case string:
		return &jv{kind: 's', text: t}, nil
	case json.Number:
		return &jv{kind: 'n', text: string(t)}, nil
	case bool:
		return &jv{kind: 'l', text: fmt.Sprint(t)}, nil
	case nil:
		return &jv{kind: 'l', text: "null"}, nil
	}
	return nil, fmt.Errorf("unexpected %v", tok)
}

func (v *jv) clone() *jv {
	c := *v
	c.keys = append([]string(nil), v.keys...)
	c.vals = nil
	for _, e := range v.vals {
		c.vals = append(c.vals, e.clone())
	}
	c.elems = nil
	for _, e := range v.elems {
		c.elems = append(c.elems, e.clone())
	}
	return &c
}

// nodes lists v and every value inside it, in document order.
func (v *jv) nodes(out []*jv) []*jv {
	out = append(out, v)
	for _, e := range v.vals {
		out = e.nodes(out)
	}
	for _, e := range v.elems {
		out = e.nodes(out)
	}
	return out
}

func (v *jv) depth() int {
	d := 0
	for _, e := range append(append([]*jv(nil), v.vals...), v.elems...) {
		d = max(d, e.depth())
	}
	if v.kind == 'o' || v.kind == 'a' {
		d++
	}
	return d
}

// style decides how a jv is written; a nil rnd writes the compact form with minimal escapes.
type style struct {
	rnd      *rand.Rand
	spaces   bool // whitespace between tokens
	escapes  bool // escape some characters that need not be
	numbers  bool // write integers as 3.0, 3e0, 30e-1, …
	shuffled bool // members in another order
}

func variantStyle(rnd *rand.Rand) *style {
	return &style{rnd: rnd, spaces: rnd.IntN(2) == 0, escapes: rnd.IntN(2) == 0, numbers: rnd.IntN(2) == 0, shuffled: rnd.IntN(2) == 0}
}

func (s *style) ws(b []byte) []byte {
	if s == nil || !s.spaces || s.rnd.IntN(3) != 0 {
		return b
	}
	return append(b, []string{" ", "\n", "\t", "\r\n  ", "  "}[s.rnd.IntN(5)]...)
}

func (s *style) write(b []byte, v *jv) []byte {
	b = s.ws(b)
	switch v.kind {
	case 'o':
		b = append(b, '{')
		order := make([]int, len(v.keys))
		for i := range order {
			order[i] = i
		}
		if s != nil && s.shuffled {
			s.rnd.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		}
		for n, i := range order {
			if n > 0 {
				b = s.ws(b)
				b = append(b, ',')
			}
			b = s.ws(b)
			b = s.str(b, v.keys[i])
			b = s.ws(b)
			b = append(b, ':')
			b = s.write(b, v.vals[i])
		}
		b = s.ws(b)
		b = append(b, '}')
	case 'a':
		b = append(b, '[')
		for i, e := range v.elems {
			if i > 0 {
				b = s.ws(b)
				b = append(b, ',')
			}
			b = s.write(b, e)
		}
		b = s.ws(b)
		b = append(b, ']')
	case 's':
		b = s.str(b, v.text)
	case 'n':
		b = append(b, s.number(v.text)...)
	default:
		b = append(b, v.text...)
	}
	return s.ws(b)
}

// str writes a JSON string, escaping what must be and, in an escaping style, some of the rest.
func (s *style) str(b []byte, text string) []byte {
	b = append(b, '"')
	for _, r := range text {
		esc := s != nil && s.escapes && s.rnd.IntN(4) == 0
		switch {
		case r == '"' || r == '\\':
			b = append(b, '\\', byte(r))
		case r < 0x20 || esc:
			if r == '/' && s.rnd.IntN(2) == 0 {
				b = append(b, '\\', '/')
			} else if r > 0xFFFF {
				r1, r2 := utf16.EncodeRune(r)
				b = fmt.Appendf(b, `\u%04X\u%04x`, r1, r2)
			} else {
				b = fmt.Appendf(b, `\u%04x`, r)
			}
		default:
			b = utf8.AppendRune(b, r)
		}
	}
	return append(b, '"')
}

// number writes an integer in the form of the style: the same value, maybe not in plain decimal
// (spec ENC-8).
func (s *style) number(text string) string {
	if s == nil || !s.numbers || s.rnd.IntN(2) == 0 || strings.ContainsAny(text, ".eE") {
		return text
	}
	neg := strings.HasPrefix(text, "-")
	digits := strings.TrimPrefix(text, "-")
	sign := ""
	if neg {
		sign = "-"
	}
	var forms []string
	forms = append(forms, sign+digits+".0", sign+digits+"e0", sign+digits+"E+0", sign+digits+".000e0")
	if digits != "0" {
		forms = append(forms, sign+digits+"0e-1")
	}
	if len(digits) > 1 {
		forms = append(forms, sign+digits[:1]+"."+digits[1:]+"e"+fmt.Sprint(len(digits)-1))
	}
	forms = append(forms, sign+"0."+digits+"e"+fmt.Sprint(len(digits)))
	if digits == "0" {
		forms = append(forms, "-0", "-0.0", "0e7", "0.0E-3")
	}
	return forms[s.rnd.IntN(len(forms))]
}
