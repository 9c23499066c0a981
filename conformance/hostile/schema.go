package hostile

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"strings"
	"sync"

	"github.com/blindpost/blindpost/schemas"
)

// field is one value of an instance with the schema that governs it.
type field struct {
	ptr      string         // RFC 6901 pointer of the value
	path     []int          // where it is in the tree
	node     *node          // the value in the base instance
	schema   map[string]any // the schema of the value, $refs resolved and dispatch applied
	defs     []string       // the names of the shared definitions crossed ("b64_32", "username", …)
	required []string       // for an object: its required members
}

// hasDef reports whether the value is one of the shared definitions named.
func (f field) hasDef(names ...string) bool {
	for _, d := range f.defs {
		for _, n := range names {
			if d == n {
				return true
			}
		}
	}
	return false
}

// isBase64 reports whether the value is a base64 byte string of the schemas (spec §2.3).
func (f field) isBase64() bool {
	for _, d := range f.defs {
		if strings.HasPrefix(d, "b64_") || d == "session" || d == "ciphertext" {
			return true
		}
	}
	return false
}

// typ returns the JSON type the schema requires ("string" for const and enum of strings).
func (f field) typ() string {
	if t, ok := f.schema["type"].(string); ok {
		return t
	}
	if c, ok := f.schema["const"]; ok {
		if _, isStr := c.(string); isStr {
			return "string"
		}
	}
	if _, ok := f.schema["enum"]; ok {
		return "string"
	}
	return ""
}

func (f field) number(key string) (float64, bool) {
	v, ok := f.schema[key].(float64)
	return v, ok
}

var (
	docsOnce sync.Once
	docs     map[string]map[string]any
	docsErr  error
)

// loadDocs reads every schema of package schemas as plain JSON.
func loadDocs() (map[string]map[string]any, error) {
	docsOnce.Do(func() {
		docs = map[string]map[string]any{}
		docsErr = fs.WalkDir(schemas.FS, ".", func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(p, ".json") {
				return err
			}
			raw, err := schemas.FS.ReadFile(p)
			if err != nil {
				return err
			}
			var doc map[string]any
			if err := json.Unmarshal(raw, &doc); err != nil {
				return fmt.Errorf("%s: %w", p, err)
			}
			docs[p] = doc
			return nil
		})
		if docsErr != nil {
			docsErr = fmt.Errorf("hostile: load schemas: %w", docsErr)
		}
	})
	return docs, docsErr
}

// walker pairs an instance with its schema.
type walker struct {
	docs   map[string]map[string]any
	fields []field
}

// fields lists every value of the instance root of top (for example "client-message.json")
// with its schema, in document order.
func fields(top string, root *node) ([]field, error) {
	d, err := loadDocs()
	if err != nil {
		return nil, err
	}
	sch, ok := d[top]
	if !ok {
		return nil, fmt.Errorf("hostile: no schema %s", top)
	}
	w := &walker{docs: d}
	if err := w.walk(top, sch, nil, root, "", nil); err != nil {
		return nil, err
	}
	return w.fields, nil
}

func (w *walker) walk(file string, sch map[string]any, defs []string, n *node, ptr string, p []int) error {
	file, sch, defs, err := w.resolve(file, sch, defs, n)
	if err != nil {
		return fmt.Errorf("%s: %w", ptr, err)
	}
	f := field{ptr: ptr, path: append([]int(nil), p...), node: n, schema: sch, defs: defs}
	for _, r := range list(sch["required"]) {
		f.required = append(f.required, fmt.Sprint(r))
	}
	w.fields = append(w.fields, f)
	switch {
	case n.object:
		props, _ := sch["properties"].(map[string]any)
		for i, name := range n.names {
			child, ok := props[name].(map[string]any)
			if !ok {
				continue // not in the schema: the base instance never has such a member
			}
			if err := w.walk(file, child, nil, n.kids[i], ptr+"/"+escape(name), append(p, i)); err != nil {
				return err
			}
		}
	case n.array:
		items, _ := sch["items"].(map[string]any)
		for i, kid := range n.kids {
			if items == nil {
				break
			}
			if err := w.walk(file, items, nil, kid, fmt.Sprintf("%s/%d", ptr, i), append(p, i)); err != nil {
				return err
			}
		}
	}
	return nil
}

// resolve follows $ref (recording the shared definitions crossed) and, for a dispatcher
// (allOf of if/then on a discriminator), the branch the instance selects.
func (w *walker) resolve(file string, sch map[string]any, defs []string, n *node) (string, map[string]any, []string, error) {
	for range 16 {
		if ref, ok := sch["$ref"].(string); ok {
			target, frag, _ := strings.Cut(ref, "#")
			if target != "" {
				file = path.Clean(path.Join(path.Dir(file), target))
			}
			doc, ok := w.docs[file]
			if !ok {
				return "", nil, nil, fmt.Errorf("unresolved $ref %s", ref)
			}
			sch = doc
			for _, tok := range strings.Split(strings.TrimPrefix(frag, "/"), "/") {
				if tok == "" {
					continue
				}
				next, ok := sch[tok].(map[string]any)
				if !ok {
					return "", nil, nil, fmt.Errorf("unresolved $ref %s", ref)
				}
				sch = next
			}
			if name, ok := strings.CutPrefix(frag, "/$defs/"); ok {
				defs = append(defs, name)
			}
			continue
		}
		if branch := dispatch(sch, n); branch != nil {
			sch = branch
			continue
		}
		return file, sch, defs, nil
	}
	return "", nil, nil, fmt.Errorf("$ref chain too long")
}

// dispatch returns the then-schema of the allOf branch whose if-const matches the instance.
func dispatch(sch map[string]any, n *node) map[string]any {
	if !n.object {
		return nil
	}
	for _, b := range list(sch["allOf"]) {
		branch, _ := b.(map[string]any)
		cond, _ := branch["if"].(map[string]any)
		then, _ := branch["then"].(map[string]any)
		props, _ := cond["properties"].(map[string]any)
		for key, p := range props {
			want, _ := p.(map[string]any)["const"].(string)
			for i, name := range n.names {
				if got, ok := n.kids[i].str(); ok && name == key && got == want && then != nil {
					return then
				}
			}
		}
	}
	return nil
}

func list(v any) []any {
	l, _ := v.([]any)
	return l
}

func escape(s string) string { return strings.NewReplacer("~", "~0", "/", "~1").Replace(s) }
