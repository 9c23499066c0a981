package schemas

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path"
	"slices"
	"sort"
	"strings"
	"testing"
)

// Defs holds only definitions: it has no instances, so it has no corpus and the spec need not
// name it.
const defsPath = "defs.json"

// loadSchemaDocs returns every schema file of FS decoded as plain JSON, keyed by path.
func loadSchemaDocs(t *testing.T) map[string]map[string]any {
	t.Helper()
	paths, err := Paths()
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) == 0 {
		t.Fatal("no schema files embedded")
	}
	docs := make(map[string]map[string]any, len(paths))
	for _, p := range paths {
		raw, err := FS.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := CheckWellFormed(raw); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		var doc map[string]any
		if err := json.Unmarshal(raw, &doc); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		docs[p] = doc
	}
	return docs
}

func TestCompileAll(t *testing.T) {
	paths, err := Paths()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range append(paths, ClientMessage, ServerMessage, Payload, Content, Commit, GroupMsg, DriverCommand, DriverOutput) {
		if _, err := Compile(p); err != nil {
			t.Errorf("%s: %v", p, err)
		}
	}
}

// TestSchemaShape checks the conventions of schemas/README.md on every schema file: draft
// 2020-12, $id equal to BaseURI and the path, a title (a Go type name, unique across all files)
// on every object schema, and additionalProperties false on every object schema that is not a
// dispatcher.
func TestSchemaShape(t *testing.T) {
	docs := loadSchemaDocs(t)
	titles := map[string]string{}
	for _, p := range sortedKeys(docs) {
		doc := docs[p]
		if got := doc["$schema"]; got != "https://json-schema.org/draft/2020-12/schema" {
			t.Errorf("%s: $schema is %v", p, got)
		}
		if got := doc["$id"]; got != BaseURI+p {
			t.Errorf("%s: $id is %v, want %s", p, got, BaseURI+p)
		}
		if _, ok := doc["title"].(string); !ok {
			t.Errorf("%s: no title", p)
		}
		walkSchema(doc, "", func(loc string, s map[string]any, predicate bool) {
			if title, ok := s["title"].(string); ok {
				if !isGoTypeName(title) {
					t.Errorf("%s#%s: title %q is not an exported Go type name", p, loc, title)
				}
				if prev, dup := titles[title]; dup {
					t.Errorf("%s#%s: title %q already used at %s", p, loc, title, prev)
				}
				titles[title] = p + "#" + loc
			}
			if predicate || !isObjectSchema(s) {
				return
			}
			if _, ok := s["title"]; !ok {
				t.Errorf("%s#%s: object schema without a title", p, loc)
			}
			if isDispatcher(s) {
				return
			}
			if ap, ok := s["additionalProperties"]; !ok || ap != false {
				t.Errorf("%s#%s: object schema without additionalProperties: false", p, loc)
			}
		})
	}
}

// walkSchema calls fn for every subschema of s. predicate is true inside an "if", whose
// subschemas only test a discriminator and are not object schemas of their own.
func walkSchema(s map[string]any, loc string, fn func(loc string, s map[string]any, predicate bool)) {
	var walk func(v any, loc string, predicate bool)
	walk = func(v any, loc string, predicate bool) {
		m, ok := v.(map[string]any)
		if !ok {
			return
		}
		fn(loc, m, predicate)
		for _, kw := range []string{"items", "not", "then", "else", "additionalProperties"} {
			walk(m[kw], loc+"/"+kw, predicate)
		}
		walk(m["if"], loc+"/if", true)
		for _, kw := range []string{"properties", "$defs"} {
			if sub, ok := m[kw].(map[string]any); ok {
				for _, k := range sortedKeys(sub) {
					walk(sub[k], loc+"/"+kw+"/"+k, predicate)
				}
			}
		}
		for _, kw := range []string{"allOf", "anyOf", "oneOf"} {
			if sub, ok := m[kw].([]any); ok {
				for i, e := range sub {
					walk(e, fmt.Sprintf("%s/%s/%d", loc, kw, i), predicate)
				}
			}
		}
	}
	walk(s, loc, false)
}

// isObjectSchema reports whether s describes an object: it says type object or lists properties.
func isObjectSchema(s map[string]any) bool {
	_, hasProps := s["properties"]
	return s["type"] == "object" || hasProps
}

// isDispatcher reports whether s selects one of several object schemas with if/then (on its own
// or in allOf); each selected schema closes the object itself.
func isDispatcher(s map[string]any) bool {
	if _, ok := s["if"]; ok {
		return true
	}
	all, ok := s["allOf"].([]any)
	if !ok || len(all) == 0 {
		return false
	}
	for _, e := range all {
		m, ok := e.(map[string]any)
		if !ok {
			return false
		}
		if _, ok := m["if"]; !ok {
			return false
		}
	}
	return true
}

func isGoTypeName(s string) bool {
	if s == "" || s[0] < 'A' || s[0] > 'Z' {
		return false
	}
	for _, r := range s {
		if !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// branch is one case of a dispatcher: the discriminator value and the schema it selects.
type branch struct {
	value  string
	target string // the path of the selected schema, or "#/$defs/name" inside the dispatcher
}

// dispatchBranches returns the discriminator member, its enum and the if/then branches of the
// dispatcher at p (whose allOf holds one if/then per value).
func dispatchBranches(t *testing.T, p string, doc map[string]any) (string, []string, []branch) {
	t.Helper()
	props, _ := doc["properties"].(map[string]any)
	if len(props) != 1 {
		t.Fatalf("%s: a dispatcher lists exactly its discriminator in properties, got %v", p, props)
	}
	var member string
	var enum []string
	for k, v := range props {
		member = k
		for _, e := range v.(map[string]any)["enum"].([]any) {
			enum = append(enum, e.(string))
		}
	}
	var branches []branch
	for i, e := range doc["allOf"].([]any) {
		m := e.(map[string]any)
		cond := m["if"].(map[string]any)
		value, _ := cond["properties"].(map[string]any)[member].(map[string]any)["const"].(string)
		if !slices.Contains(anyStrings(cond["required"]), member) {
			t.Errorf("%s: allOf/%d: the if does not require %s", p, i, member)
		}
		ref, _ := m["then"].(map[string]any)["$ref"].(string)
		target := ref
		if !strings.HasPrefix(ref, "#") {
			target = path.Join(path.Dir(p), ref)
		}
		branches = append(branches, branch{value, target})
	}
	return member, enum, branches
}

// dispatchers maps each top-level dispatching schema to the member it dispatches on.
var dispatchers = map[string]string{
	ClientMessage: "type",
	ServerMessage: "type",
	Payload:       "kind",
	DriverCommand: "cmd",
}

// dispatcherOf returns the top-level schema that dispatches to the file p, or "".
func dispatcherOf(t *testing.T, docs map[string]map[string]any, p string) string {
	t.Helper()
	for d := range dispatchers {
		_, _, branches := dispatchBranches(t, d, docs[d])
		for _, b := range branches {
			if b.target == p {
				return d
			}
		}
	}
	return ""
}

// TestDispatchers checks that each dispatcher's enum, its if/then branches and the const of each
// selected schema agree one to one, and that every wire message and payload file is reachable.
func TestDispatchers(t *testing.T) {
	docs := loadSchemaDocs(t)
	reached := map[string]bool{}
	for _, d := range sortedKeys(dispatchers) {
		member, enum, branches := dispatchBranches(t, d, docs[d])
		if member != dispatchers[d] {
			t.Errorf("%s: dispatches on %q, want %q", d, member, dispatchers[d])
		}
		var values []string
		for _, b := range branches {
			values = append(values, b.value)
			var target map[string]any
			if name, ok := strings.CutPrefix(b.target, "#/$defs/"); ok {
				target, _ = docs[d]["$defs"].(map[string]any)[name].(map[string]any)
			} else {
				target = docs[b.target]
				reached[b.target] = true
			}
			if target == nil {
				t.Errorf("%s: %s selects %s, which does not exist", d, b.value, b.target)
				continue
			}
			c, _ := target["properties"].(map[string]any)[member].(map[string]any)["const"].(string)
			if c != b.value {
				t.Errorf("%s: %s selects %s whose %s const is %q", d, b.value, b.target, member, c)
			}
		}
		if !slices.Equal(enum, values) {
			t.Errorf("%s: enum %v differs from the branches %v", d, enum, values)
		}
	}
	for p := range docs {
		if _, ok := dispatchers[p]; ok {
			continue
		}
		dir := path.Dir(p)
		isPayload := dir == "e2e" && docs[p]["properties"].(map[string]any)["kind"] != nil
		if (dir == "c2s" || dir == "s2c" || isPayload) && !reached[p] {
			t.Errorf("%s: no dispatcher selects it", p)
		}
	}
}

func TestDriverDispatchOnEventAndOk(t *testing.T) {
	for _, tc := range []struct {
		line    string
		pointer string
		keyword string
	}{
		{`{"id":"1","ok":true}`, "", ""},
		{`{"event":"disconnected","code":1000,"reason":""}`, "", ""},
		{`{"event":"disconnected","code":1000,"reason":"","ok":true}`, "", "additionalProperties"},
		{`{"id":"1","ok":false,"error":"bad_tag","message":"x","n":1}`, "", "additionalProperties"},
		{`{"id":"1"}`, "", "required"},
	} {
		v, err := Check(DriverOutput, []byte(tc.line))
		if err != nil {
			t.Fatal(err)
		}
		if tc.keyword == "" {
			if len(v) > 0 {
				t.Errorf("%s: %v", tc.line, v)
			}
			continue
		}
		if !hasViolation(v, tc.pointer, tc.keyword) {
			t.Errorf("%s: want %q %s, got %v", tc.line, tc.pointer, tc.keyword, v)
		}
	}
}

func hasViolation(vs []Violation, pointer, keyword string) bool {
	return slices.ContainsFunc(vs, func(v Violation) bool { return v.Pointer == pointer && v.Keyword == keyword })
}

func anyStrings(v any) []string {
	var out []string
	if a, ok := v.([]any); ok {
		for _, e := range a {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// compact returns the JSON text of v on one line, for messages.
func compact(raw []byte) string {
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return string(raw)
	}
	s := b.String()
	if len(s) > 160 {
		s = s[:160] + "…"
	}
	return s
}
