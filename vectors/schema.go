package vectors

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"github.com/blindpost/blindpost/schemas"
)

// Schema returns the JSON Schema (draft 2020-12) of family f's vector file.
// It is derived from the family's Go types: every struct is an object with
// additionalProperties false whose members are its fields (required unless
// omitempty), described by the field's doc tag and constrained by its v tag:
//
//	len=N      a Hex value of exactly N bytes
//	min=N      the smallest integer, the shortest Hex (bytes) or text
//	max=N      the largest integer, the longest Hex (bytes) or text
//	const=S    a fixed text ($family and $notice stand for the family's values)
//	enum=A|B   one of the texts
//	pattern=R  a text matching R
//	ref=NAME   one of the shared definitions: id, username, group, rule, outcome, digits30, digits60
//	items=N    (slices) at least N items
//
// On a slice, every key but items constrains the elements. A struct with an
// optional rule member beside expect requires rule exactly when expect is not
// "ok".
func Schema(f Family) ([]byte, error) {
	g := &schemaGen{family: f, defs: node{}, seen: map[reflect.Type]bool{}}
	root := reflect.TypeOf(f.New()).Elem()
	ref, err := g.typ(root, tags{})
	if err != nil {
		return nil, err
	}
	doc := node{
		{"$schema", "https://json-schema.org/draft/2020-12/schema"},
		{"$id", SchemaBaseURI + f.Schema},
		{"title", "Blindpost test vectors: " + f.Title},
		{"description", "The vector file vectors/" + f.File() + ". Raw bytes are lowercase hex; base64 appears only inside embedded wire JSON. vectors/README.md explains every member and how to consume the file."},
	}
	doc = append(doc, ref...)
	shared, err := g.shared()
	if err != nil {
		return nil, err
	}
	defs := append(shared, g.defs...)
	doc = append(doc, kv{"$defs", defs})
	var buf bytes.Buffer
	if err := writeJSON(&buf, doc); err != nil {
		return nil, err
	}
	var out bytes.Buffer
	if err := json.Indent(&out, buf.Bytes(), "", "  "); err != nil {
		return nil, fmt.Errorf("vectors: schema of %s: %w", f.Name, err)
	}
	out.WriteByte('\n')
	return out.Bytes(), nil
}

// kv is one member of an ordered JSON object; node is the object.
type kv struct {
	key string
	val any
}

type node []kv

// writeJSON writes v without HTML escaping, keeping the order of nodes.
func writeJSON(buf *bytes.Buffer, v any) error {
	switch v := v.(type) {
	case node:
		buf.WriteByte('{')
		for i, m := range v {
			if i > 0 {
				buf.WriteByte(',')
			}
			buf.WriteString(strconv.Quote(m.key))
			buf.WriteByte(':')
			if err := writeJSON(buf, m.val); err != nil {
				return err
			}
		}
		buf.WriteByte('}')
		return nil
	case []any:
		buf.WriteByte('[')
		for i, e := range v {
			if i > 0 {
				buf.WriteByte(',')
			}
			if err := writeJSON(buf, e); err != nil {
				return err
			}
		}
		buf.WriteByte(']')
		return nil
	default:
		enc := json.NewEncoder(buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(v); err != nil {
			return fmt.Errorf("vectors: schema: %w", err)
		}
		buf.Truncate(buf.Len() - 1) // Encode's newline
		return nil
	}
}

type schemaGen struct {
	family Family
	defs   node
	seen   map[reflect.Type]bool
	refs   map[string]bool
}

// shared returns the shared definitions that the types referred to. Usernames and group names
// take their pattern from schemas/defs.json.
func (g *schemaGen) shared() (node, error) {
	username, err := wirePattern("username")
	if err != nil {
		return nil, err
	}
	group, err := wirePattern("group")
	if err != nil {
		return nil, err
	}
	all := []kv{
		{"id", node{{"description", "A vector id: unique within its file."}, {"type", "string"}, {"pattern", "^[a-z0-9][a-z0-9-]*$"}}},
		{"username", node{{"description", "A username (spec §5.1)."}, {"type", "string"}, {"pattern", username}}},
		{"group", node{{"description", "A group name (spec §5.9): the syntax of a username."}, {"type", "string"}, {"pattern", group}}},
		{"rule", node{{"description", "A rule id of spec/protocol.md (spec §1.1)."}, {"type", "string"}, {"pattern", "^[A-Z]+-[0-9]+$"}}},
		{"outcome", node{{"description", "ok, or an outcome code of spec Appendix A.4."}, {"enum", toAny(Outcomes)}}},
		{"digits30", node{{"description", "One party's 30 decimal digits."}, {"type", "string"}, {"pattern", "^[0-9]{30}$"}}},
		{"digits60", node{{"description", "A 60-digit safety number."}, {"type", "string"}, {"pattern", "^[0-9]{60}$"}}},
	}
	var out node
	for _, d := range all {
		if g.refs[d.key] {
			out = append(out, d)
		}
	}
	return out, nil
}

// wirePattern returns the pattern of the string definition name of schemas/defs.json.
func wirePattern(name string) (string, error) {
	data, err := schemas.FS.ReadFile("defs.json")
	if err != nil {
		return "", fmt.Errorf("vectors: schema: %w", err)
	}
	var defs struct {
		Defs map[string]struct {
			Pattern string `json:"pattern"`
		} `json:"$defs"`
	}
	if err := json.Unmarshal(data, &defs); err != nil {
		return "", fmt.Errorf("vectors: schema: schemas/defs.json: %w", err)
	}
	p := defs.Defs[name].Pattern
	if p == "" {
		return "", fmt.Errorf("vectors: schema: schemas/defs.json has no pattern for %s", name)
	}
	return p, nil
}

func toAny(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

// tags is a parsed v tag.
type tags map[string]string

func parseTags(s string) tags {
	t := tags{}
	for _, part := range strings.Split(s, ";") {
		if part == "" {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		t[k] = v
	}
	return t
}

func (t tags) int(key string) (int64, bool, error) {
	s, ok := t[key]
	if !ok {
		return 0, false, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, false, fmt.Errorf("vectors: tag %s=%q: %w", key, s, err)
	}
	return n, true, nil
}

var hexType = reflect.TypeOf(Hex(nil))

// typ returns the schema of a value of type t constrained by tg.
func (g *schemaGen) typ(t reflect.Type, tg tags) (node, error) {
	if t.Kind() == reflect.Pointer {
		return g.typ(t.Elem(), tg)
	}
	if ref, ok := tg["ref"]; ok && t.Kind() != reflect.Slice {
		if g.refs == nil {
			g.refs = map[string]bool{}
		}
		g.refs[ref] = true
		return node{{"$ref", "#/$defs/" + ref}}, nil
	}
	switch {
	case t == hexType:
		n := node{{"type", "string"}, {"pattern", "^([0-9a-f]{2})*$"}}
		if l, ok, err := tg.int("len"); err != nil {
			return nil, err
		} else if ok {
			return append(n, kv{"minLength", 2 * l}, kv{"maxLength", 2 * l}), nil
		}
		for _, k := range []string{"min", "max"} {
			if l, ok, err := tg.int(k); err != nil {
				return nil, err
			} else if ok {
				n = append(n, kv{k + "Length", 2 * l})
			}
		}
		return n, nil
	case t.Kind() == reflect.String:
		if c, ok := tg["const"]; ok {
			switch c {
			case "$family":
				c = g.family.Name
			case "$notice":
				c = Notice
			}
			return node{{"const", c}}, nil
		}
		if e, ok := tg["enum"]; ok {
			return node{{"enum", toAny(strings.Split(e, "|"))}}, nil
		}
		n := node{{"type", "string"}}
		if p, ok := tg["pattern"]; ok {
			n = append(n, kv{"pattern", p})
		}
		for _, k := range []string{"min", "max"} {
			if l, ok, err := tg.int(k); err != nil {
				return nil, err
			} else if ok {
				n = append(n, kv{k + "Length", l})
			}
		}
		return n, nil
	case t.Kind() == reflect.Bool:
		return node{{"type", "boolean"}}, nil
	case t.Kind() >= reflect.Int && t.Kind() <= reflect.Uint64:
		n := node{{"type", "integer"}}
		lo, hasLo, err := tg.int("min")
		if err != nil {
			return nil, err
		}
		if !hasLo && t.Kind() >= reflect.Uint {
			lo, hasLo = 0, true
		}
		if hasLo {
			n = append(n, kv{"minimum", lo})
		}
		if hi, ok, err := tg.int("max"); err != nil {
			return nil, err
		} else if ok {
			n = append(n, kv{"maximum", hi})
		}
		return n, nil
	case t.Kind() == reflect.Slice:
		elemTags := tags{}
		for k, v := range tg {
			if k != "items" {
				elemTags[k] = v
			}
		}
		items, err := g.typ(t.Elem(), elemTags)
		if err != nil {
			return nil, err
		}
		n := node{{"type", "array"}, {"items", items}}
		if m, ok, err := tg.int("items"); err != nil {
			return nil, err
		} else if ok {
			n = append(n, kv{"minItems", m})
		}
		return n, nil
	case t.Kind() == reflect.Struct:
		if err := g.def(t); err != nil {
			return nil, err
		}
		return node{{"$ref", "#/$defs/" + t.Name()}}, nil
	}
	return nil, fmt.Errorf("vectors: schema: no schema for type %s", t)
}

// field is one JSON member of a struct, embedded structs flattened.
type field struct {
	name     string
	optional bool
	f        reflect.StructField
}

func fields(t reflect.Type) []field {
	var out []field
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if f.Anonymous {
			out = append(out, fields(f.Type)...)
			continue
		}
		name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" || name == "-" || !f.IsExported() {
			continue
		}
		out = append(out, field{name: name, optional: opts == "omitempty", f: f})
	}
	return out
}

// def adds the definition of struct type t.
func (g *schemaGen) def(t reflect.Type) error {
	if g.seen[t] {
		return nil
	}
	g.seen[t] = true
	var props node
	var required []any
	hasExpect, optionalRule := false, false
	for _, f := range fields(t) {
		s, err := g.typ(f.f.Type, parseTags(f.f.Tag.Get("v")))
		if err != nil {
			return fmt.Errorf("%w (field %s.%s)", err, t.Name(), f.f.Name)
		}
		if doc := f.f.Tag.Get("doc"); doc != "" {
			s = append(node{{"description", doc}}, s...)
		}
		props = append(props, kv{f.name, s})
		if !f.optional {
			required = append(required, f.name)
		}
		hasExpect = hasExpect || f.name == "expect"
		optionalRule = optionalRule || f.name == "rule" && f.optional
	}
	d := node{{"type", "object"}, {"properties", props}, {"required", required}, {"additionalProperties", false}}
	if hasExpect && optionalRule {
		d = append(d, kv{"if", node{{"properties", node{{"expect", node{{"const", "ok"}}}}}}},
			kv{"then", node{{"not", node{{"required", []any{"rule"}}}}}},
			kv{"else", node{{"required", []any{"rule"}}}})
	}
	g.defs = append(g.defs, kv{t.Name(), d})
	return nil
}
