// Package hostile generates hostile client messages from the Blindpost JSON Schemas: starting
// from a valid message, it walks the message together with its schema (schemas/, $refs and
// dispatch on type and kind resolved) and writes, for every member, the malformed variants of
// one class: a missing required member, an unknown member, a value of the wrong JSON type, a
// repeated member, a value the schema refuses, non-canonical base64, integers spelled in every
// way (1e400, -0, 3.0, 1.5, 01), escaped lone surrogates, and nesting deeper than 32 levels
// (spec §2.3, §2.4, §5.1). Frame-level variants (invalid UTF-8, not exactly one object) are
// generated too.
//
// Every frame is classified by the schema oracle (schemas.Check): Valid frames are the ones a
// receiver must accept (3.0 where an integer is expected, an escaped character), the others the
// ones it must reject. The conformance runner sends them and checks the server's answer.
package hostile

import (
	"encoding/base64"
	"fmt"
	"strings"

	"github.com/blindpost/blindpost/schemas"
)

// Class is a kind of mutation.
type Class string

// The classes of schema-driven mutation, and the rules of spec/protocol.md each one exercises.
const (
	MissingMember   Class = "missing-member"   // a required member removed (MSG-1)
	UnknownMember   Class = "unknown-member"   // a member the schema does not list, "from" included (MSG-1, SRV-2)
	TypeConfusion   Class = "type-confusion"   // a value of another JSON type (MSG-1)
	DuplicateMember Class = "duplicate-member" // a member repeated, also under an escaped name (MSG-2)
	BadValue        Class = "bad-value"        // a value the schema refuses: pattern, const, enum, bounds, sizes (MSG-1)
	Base64          Class = "base64"           // non-canonical or wrong-length base64 (ENC-5, ENC-6)
	Numbers         Class = "numbers"          // integers spelled every way, valid and not (ENC-8)
	Unicode         Class = "unicode"          // escaped lone surrogates, and escapes that are valid (ENC-9, ENC-10)
	Nesting         Class = "nesting"          // nesting past 32 levels (MSG-4)
)

// Classes lists every schema-driven class, in a stable order.
var Classes = []Class{MissingMember, UnknownMember, TypeConfusion, DuplicateMember, BadValue, Base64, Numbers, Unicode, Nesting}

// Rules returns the rule ids a class exercises.
func (c Class) Rules() []string {
	switch c {
	case MissingMember, TypeConfusion, BadValue:
		return []string{"MSG-1"}
	case UnknownMember:
		return []string{"MSG-1", "SRV-2"}
	case DuplicateMember:
		return []string{"MSG-2"}
	case Base64:
		return []string{"ENC-6"}
	case Numbers:
		return []string{"ENC-8"}
	case Unicode:
		return []string{"ENC-10"}
	case Nesting:
		return []string{"MSG-4"}
	}
	return nil
}

// Frame is one generated message.
type Frame struct {
	Name string // where and what, for example `/payload/ct: missing padding`
	Data []byte
	// Valid is the oracle's verdict: a receiver must accept a valid frame and reject the others.
	Valid bool
	// Violation is the oracle's first reason for an invalid frame: pointer and keyword.
	Violation string
}

// Options tune generation.
type Options struct {
	Top    string // the schema of the stream: schemas.ClientMessage when ""
	Under  string // only mutate values at or under this JSON pointer ("" for all)
	Canary string // a distinctive text put in unknown members and bad strings (ERR-4)
	// MaxBytes bounds the size of the deep-nesting frames (the server's max_message).
	MaxBytes int
}

// Generate returns the frames of one class derived from base, a valid message.
func Generate(base []byte, class Class, o Options) ([]Frame, error) {
	if o.Top == "" {
		o.Top = schemas.ClientMessage
	}
	if o.Canary == "" {
		o.Canary = "ZZCANARY"
	}
	if o.MaxBytes <= 0 {
		o.MaxBytes = 65536
	}
	root, err := parse(base)
	if err != nil {
		return nil, err
	}
	fs, err := fields(o.Top, root)
	if err != nil {
		return nil, err
	}
	g := &gen{root: root, o: o, seen: map[string]bool{}}
	for _, f := range fs {
		if o.Under != "" && f.ptr != o.Under && !strings.HasPrefix(f.ptr, o.Under+"/") {
			continue
		}
		g.mutate(class, f)
	}
	return g.classify(o.Top)
}

// gen collects the frames of one base.
type gen struct {
	root   *node
	o      Options
	frames []Frame
	seen   map[string]bool
}

func (g *gen) mutate(class Class, f field) {
	switch class {
	case MissingMember:
		g.missing(f)
	case UnknownMember:
		g.unknown(f)
	case TypeConfusion:
		g.confuse(f)
	case DuplicateMember:
		g.duplicate(f)
	case BadValue:
		g.badValue(f)
	case Base64:
		g.base64(f)
	case Numbers:
		g.numbers(f)
	case Unicode:
		g.unicode(f)
	case Nesting:
		g.nesting(f)
	}
}

// add records the tree after edit changed the copy of the value at f.
func (g *gen) add(f field, what string, edit func(v *node)) {
	root := g.root.clone()
	edit(root.at(f.path))
	g.addRaw(pointerName(f.ptr)+": "+what, root.encode())
}

func (g *gen) addRaw(name string, data []byte) {
	if g.seen[string(data)] {
		return
	}
	g.seen[string(data)] = true
	g.frames = append(g.frames, Frame{Name: name, Data: data})
}

// replace records the tree with the value at f replaced by a literal text.
func (g *gen) replace(f field, what, text string) {
	g.add(f, what, func(v *node) { *v = *lit(text) })
}

func pointerName(p string) string {
	if p == "" {
		return "(message)"
	}
	return p
}

// classify runs the oracle on every frame.
func (g *gen) classify(top string) ([]Frame, error) {
	for i := range g.frames {
		vs, err := schemas.Check(top, g.frames[i].Data)
		if err != nil {
			return nil, err
		}
		g.frames[i].Valid = len(vs) == 0
		if len(vs) > 0 {
			g.frames[i].Violation = fmt.Sprintf("%q %s", vs[0].Pointer, vs[0].Keyword)
		}
	}
	return g.frames, nil
}

func (g *gen) missing(f field) {
	if !f.node.object {
		return
	}
	for _, req := range f.required {
		for i, name := range f.node.names {
			if name != req {
				continue
			}
			g.add(f, "without required member "+req, func(v *node) {
				v.keys = append(v.keys[:i:i], v.keys[i+1:]...)
				v.names = append(v.names[:i:i], v.names[i+1:]...)
				v.kids = append(v.kids[:i:i], v.kids[i+1:]...)
			})
		}
	}
}

func (g *gen) unknown(f field) {
	if !f.node.object {
		return
	}
	members := []struct{ name, value string }{
		{"zz_unknown", string(quote(g.o.Canary + "-unknown-member-value"))},
		{"ID", `"x1"`}, // names are case sensitive
	}
	if f.ptr == "" {
		members = append(members, struct{ name, value string }{"from", `"mallory"`}) // SRV-2
	}
	for _, m := range members {
		g.add(f, "unknown member "+m.name, func(v *node) {
			v.keys = append(v.keys, string(quote(m.name)))
			v.names = append(v.names, m.name)
			v.kids = append(v.kids, lit(m.value))
		})
	}
}

// samples are values of every JSON type, for type confusion.
var samples = []struct{ typ, text string }{
	{"string", `"7"`}, {"integer", "7"}, {"number", "7.5"}, {"boolean", "true"}, {"null", "null"}, {"array", "[]"}, {"object", "{}"},
}

func (g *gen) confuse(f field) {
	if f.ptr == "" {
		return // the top level is NotOneObject's business
	}
	want := f.typ()
	for _, s := range samples {
		if s.typ == want || (want == "number" && s.typ == "integer") {
			continue
		}
		g.replace(f, "a "+s.typ+" instead of "+orAny(want), s.text)
	}
}

func orAny(t string) string {
	if t == "" {
		return "the schema's type"
	}
	return "a " + t
}

func (g *gen) duplicate(f field) {
	if !f.node.object {
		return
	}
	for i, name := range f.node.names {
		g.add(f, "member "+name+" twice", func(v *node) {
			v.keys = append(v.keys, v.keys[i])
			v.names = append(v.names, name)
			v.kids = append(v.kids, v.kids[i].clone())
		})
		if f.ptr == "" && name != "" {
			escaped := fmt.Sprintf(`"\u%04x%s"`, name[0], name[1:])
			g.add(f, "member "+name+" twice, once with an escaped name", func(v *node) {
				v.keys = append(v.keys, escaped)
				v.names = append(v.names, name)
				v.kids = append(v.kids, v.kids[i].clone())
			})
		}
	}
}

func (g *gen) badValue(f field) {
	switch t := f.typ(); {
	case t == "string" && !f.isBase64():
		g.replace(f, "the empty string", `""`)
		g.replace(f, "a value the pattern refuses", string(quote(g.o.Canary+" Not Valid!")))
		g.replace(f, "300 characters", string(quote(strings.Repeat("a", 300))))
		if _, ok := f.schema["const"]; ok {
			g.replace(f, "another value than the const", `"zz-wrong"`)
		}
		if _, ok := f.schema["enum"]; ok {
			g.replace(f, "a value outside the enum", `"zz-wrong"`)
		}
	case t == "integer":
		if lo, ok := f.number("minimum"); ok {
			g.replace(f, "below the minimum", fmt.Sprint(int64(lo)-1))
		}
		if hi, ok := f.number("maximum"); ok {
			g.replace(f, "above the maximum", fmt.Sprint(int64(hi)+1))
		}
	case t == "array":
		g.arraySizes(f)
	}
}

func (g *gen) arraySizes(f field) {
	if lo, ok := f.number("minItems"); ok && lo > 0 {
		g.replace(f, "an empty array", "[]")
	}
	if len(f.node.kids) == 0 {
		return
	}
	if hi, ok := f.number("maxItems"); ok {
		g.add(f, fmt.Sprintf("%d items, above maxItems", int(hi)+1), func(v *node) {
			for len(v.kids) <= int(hi) {
				v.kids = append(v.kids, v.kids[len(v.kids)%len(f.node.kids)].clone())
			}
		})
	}
	if unique, _ := f.schema["uniqueItems"].(bool); unique {
		g.add(f, "an item twice, against uniqueItems", func(v *node) { v.kids = append(v.kids, v.kids[0].clone()) })
	}
}

func (g *gen) base64(f field) {
	s, ok := f.node.str()
	if !f.isBase64() || !ok || len(s) < 8 {
		return // the empty prev of a first commit has no characters to spoil
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return
	}
	variants := []struct{ what, text string }{
		{"missing padding", strings.TrimRight(s, "=")},
		{"extra padding", s + "="},
		{"one byte short", base64.StdEncoding.EncodeToString(b[:max(len(b)-1, 0)])},
		{"one byte long", base64.StdEncoding.EncodeToString(append(b, 0))},
		{"the URL-safe alphabet", "-_" + s[2:]},
		{"a space inside", s[:4] + " " + s[4:]},
		{"a line break inside", s[:4] + "\n" + s[4:]},
		{"padding in the middle", s[:4] + "=" + s[5:]},
	}
	if len(b)%3 != 0 && len(b) > 0 {
		variants = append(variants, struct{ what, text string }{"non-zero unused bits", unusedBits(s)})
	}
	for _, v := range variants {
		g.replace(f, v.what, string(quote(v.text)))
	}
}

// unusedBits flips the lowest bit of the last data character of padded base64, whose low bits
// are unused and must be zero (spec ENC-5).
func unusedBits(s string) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	i := len(strings.TrimRight(s, "=")) - 1
	c := strings.IndexByte(alphabet, s[i])
	return s[:i] + string(alphabet[c|1]) + s[i+1:]
}

// numberTexts are spellings of numbers, for integer members: some are the same integer written
// another way (a receiver must accept them, ENC-8), the others are not integers or not JSON.
var numberTexts = []string{
	"3.0", "-0", "1E1", "1e0", "0.0", "30e-1", "2.000000000000000000000",
	"1e400", "-1e400", "1e-400", "1.5", "-1", "123456789012345678901234567890",
	"01", "+1", "0x10", "1.", ".5", "1e", "NaN", "Infinity", "--1",
}

func (g *gen) numbers(f field) {
	if f.typ() != "integer" {
		return
	}
	for _, text := range numberTexts {
		g.replace(f, "the number "+text, text)
	}
}

func (g *gen) unicode(f field) {
	s, ok := f.node.str()
	if !ok || f.node.object || f.node.array {
		return
	}
	body := string(quote(s))
	body = body[1 : len(body)-1]
	for _, v := range []struct{ what, text string }{
		{"a lone high surrogate", `"\ud800"`},
		{"a lone low surrogate", `"\udc00"`},
		{"a low surrogate before a high one", `"\udc00\ud800"`},
		{"a lone high surrogate after the value", `"` + body + `\ud83d"`},
		{"two high surrogates", `"\ud83d\ud83d"`},
		{"every character escaped (the same value)", `"` + escapeAll(s) + `"`},
		{"an escaped NUL", `"` + body + `\u0000"`},
	} {
		g.replace(f, v.what, v.text)
	}
}

// escapeAll writes every character of s as a \u escape: the same string value.
func escapeAll(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r > 0xffff {
			b.WriteString(string(quote(string(r))))
			continue
		}
		fmt.Fprintf(&b, `\u%04x`, r)
	}
	return b.String()
}

func (g *gen) nesting(f field) {
	if f.ptr == "" {
		for _, depth := range []int{31, 32, 40} {
			// The top-level object is level 1: an array nested depth-1 deep inside it reaches depth.
			deep := strings.Repeat("[", depth-1) + strings.Repeat("]", depth-1)
			g.add(f, fmt.Sprintf("an unknown member nested to depth %d", depth), func(v *node) {
				v.keys = append(v.keys, `"zz"`)
				v.names = append(v.names, "zz")
				v.kids = append(v.kids, lit(deep))
			})
		}
		n := max((g.o.MaxBytes-64)/4, 1)
		g.add(f, fmt.Sprintf("an unknown member nested %d deep", n), func(v *node) {
			v.keys = append(v.keys, `"zz"`)
			v.names = append(v.names, "zz")
			v.kids = append(v.kids, lit(strings.Repeat("[", n)+strings.Repeat("]", n)))
		})
		g.add(f, fmt.Sprintf("an unknown member opening %d arrays and never closing them", 2*n), func(v *node) {
			v.keys = append(v.keys, `"zz"`)
			v.names = append(v.names, "zz")
			v.kids = append(v.kids, lit(strings.Repeat("[", 2*n)))
		})
		return
	}
	if f.node.object || f.node.array {
		return
	}
	g.replace(f, "objects nested 40 deep", strings.Repeat(`{"a":`, 40)+"1"+strings.Repeat("}", 40))
}
