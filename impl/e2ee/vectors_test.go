package e2ee_test

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/blindpost/blindpost/impl/e2ee"
	"github.com/blindpost/blindpost/spec"
	"github.com/blindpost/blindpost/vectors"
)

// consumers names, for every vector family, the test file under impl/e2ee
// that runs its vectors through the e2ee API (spec §8, VEC-1).
var consumers = map[string]string{
	"encoding":       "canonical/vectors_test.go",
	"handshake":      "direct/vectors_test.go",
	"records":        "direct/vectors_test.go",
	"registration":   "identity/vectors_test.go",
	"safety_numbers": "trust/vectors_test.go",
	"group":          "group/vectors_test.go",
}

// TestVectorFilesConsumed checks VEC-1's bookkeeping: every JSON file in
// vectors/ is a family's vector file or its schema, every family has both,
// and every family is loaded by the consumer test that runs it.
func TestVectorFilesConsumed(t *testing.T) {
	dir, err := vectors.Dir()
	if err != nil {
		t.Fatal(err)
	}
	present, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	known := map[string]bool{}
	for _, f := range vectors.Families() {
		known[f.File()], known[f.Schema] = true, true
	}
	for _, p := range present {
		if !known[filepath.Base(p)] {
			t.Errorf("VEC-1: vectors/%s belongs to no family, so no test consumes it", filepath.Base(p))
		}
	}
	if len(consumers) != len(vectors.Families()) {
		t.Errorf("VEC-1: %d consumers for %d families", len(consumers), len(vectors.Families()))
	}
	for _, f := range vectors.Families() {
		for _, name := range []string{f.File(), f.Schema} {
			if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
				t.Errorf("VEC-1: %v", err)
			}
		}
		file, ok := consumers[f.Name]
		if !ok {
			t.Errorf("VEC-1: no consumer for %s", f.File())
			continue
		}
		src, err := os.ReadFile(file)
		if err != nil {
			t.Errorf("VEC-1: consumer of %s: %v", f.File(), err)
			continue
		}
		if !bytes.Contains(src, []byte(`vectors.Load("`+f.Name+`"`)) {
			t.Errorf("VEC-1: %s does not load %s", file, f.File())
		}
	}
}

// TestVectorFilesStrict loads every family as its consumer does and checks
// what no single consumer sees: ids are unique, every expect is in the
// closed set and names a rejection with its rule, every rule id exists in
// the spec, the file's own rules are VEC-1 and the rules of its vectors,
// and together the negative vectors use every outcome code of Appendix A.4.
func TestVectorFilesStrict(t *testing.T) {
	if want := append([]string{"ok"}, outcomeStrings()...); !slices.Equal(vectors.Outcomes, want) {
		t.Fatalf("vectors.Outcomes %v differs from ok and e2ee.Outcomes %v", vectors.Outcomes, want)
	}
	rules, err := spec.Rules()
	if err != nil {
		t.Fatal(err)
	}
	index := spec.Index(rules)
	used := map[string]int{}
	for _, f := range vectors.Families() {
		t.Run(f.Name, func(t *testing.T) {
			v := f.New()
			if err := vectors.Load(f.Name, v); err != nil {
				t.Fatalf("VEC-1: %v", err)
			}
			w := &walker{ids: map[string]bool{}}
			w.walk(reflect.ValueOf(v).Elem(), "")
			for _, e := range w.errs {
				t.Error(e)
			}
			for _, r := range append(slices.Clone(w.rules), w.fileRules...) {
				if _, ok := index[r]; !ok {
					t.Errorf("rule %s is not in the spec", r)
				}
			}
			// VEC-1: the file names what it is there for, VEC-1 first, then every rule its
			// vectors name, in spec order.
			want := []string{"VEC-1"}
			for _, r := range rules {
				if slices.Contains(w.rules, r.ID) && r.ID != "VEC-1" {
					want = append(want, r.ID)
				}
			}
			if !slices.Equal(w.fileRules, want) {
				t.Errorf("VEC-1: the file's rules are %v, want %v", w.fileRules, want)
			}
			for _, o := range w.expects {
				used[o]++
			}
		})
	}
	for _, o := range e2ee.Outcomes() {
		// spec §6.7 [RCP-2]: a receipt is judged against the messages the client sent, state the
		// record layer does not hold; conformance case client/receipts/unsent-counter checks it.
		if o == e2ee.BadReceipt {
			continue
		}
		if used[string(o)] == 0 {
			t.Errorf("VEC-1: no negative vector expects %s", string(o))
		}
	}
	t.Logf("outcomes expected by negative vectors and steps: %v", used)
}

func outcomeStrings() []string {
	var out []string
	for _, o := range e2ee.Outcomes() {
		out = append(out, string(o))
	}
	return out
}

// walker collects the ids, rules and expectations of a loaded vector file.
type walker struct {
	ids       map[string]bool
	rules     []string // named by vectors and steps
	fileRules []string // named by the file's header
	expects   []string
	errs      []string
}

func (w *walker) walk(v reflect.Value, path string) {
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			w.walk(v.Elem(), path)
		}
	case reflect.Slice:
		if v.Type() == reflect.TypeOf(vectors.Hex(nil)) {
			return
		}
		for i := 0; i < v.Len(); i++ {
			w.walk(v.Index(i), path+"/"+strconv.Itoa(i))
		}
	case reflect.Struct:
		var expect, rule string
		hasExpect := false
		for i := 0; i < v.NumField(); i++ {
			f, fv := v.Type().Field(i), v.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			switch {
			case f.Anonymous:
				w.walk(fv, path)
			case name == "id" && fv.Kind() == reflect.String:
				if w.ids[fv.String()] {
					w.errs = append(w.errs, "id "+fv.String()+" is used twice")
				}
				w.ids[fv.String()] = true
			case name == "rules" && v.Type() == reflect.TypeOf(vectors.Meta{}):
				w.fileRules = append(w.fileRules, fv.Interface().([]string)...)
			case name == "rules":
				w.rules = append(w.rules, fv.Interface().([]string)...)
			case name == "rule":
				rule = fv.String()
				if rule != "" {
					w.rules = append(w.rules, rule)
				}
			case name == "expect":
				expect, hasExpect = fv.String(), true
			default:
				w.walk(fv, path+"/"+name)
			}
		}
		if hasExpect {
			if !slices.Contains(vectors.Outcomes, expect) {
				w.errs = append(w.errs, path+": expect "+expect+" is not in the closed set")
			}
			if (expect == "ok") != (rule == "") {
				w.errs = append(w.errs, path+": expect "+expect+" with rule "+rule)
			}
			if expect != "ok" {
				w.expects = append(w.expects, expect)
			}
		}
	}
}

// TestVectorReaderStrict checks that the reader the consumers use refuses
// what it must: a member no type knows, at the top and deep inside, a
// duplicated member, and a missing family.
func TestVectorReaderStrict(t *testing.T) {
	dir, err := vectors.Dir()
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, "encoding.json"))
	if err != nil {
		t.Fatal(err)
	}
	for name, bad := range map[string][]byte{
		"unknown top-level member": bytes.Replace(data, []byte(`"family":`), []byte(`"extra":1,"family":`), 1),
		"unknown case member":      bytes.Replace(data, []byte(`"encoded":`), []byte(`"extra":1,"encoded":`), 1),
		"member in other case":     bytes.Replace(data, []byte(`"family":`), []byte(`"Family":"x","family":`), 1),
		"duplicate member":         bytes.Replace(data, []byte(`"family":`), []byte(`"notice":"","family":`), 1),
	} {
		if bytes.Equal(bad, data) {
			t.Fatalf("%s: no change", name)
		}
		if err := vectors.Validate("encoding", bad); err == nil {
			t.Errorf("%s: the schema accepts it", name)
		}
		if strings.HasPrefix(name, "unknown") {
			if err := vectors.Decode(bad, new(vectors.Encoding)); err == nil {
				t.Errorf("%s: the strict decoder accepts it", name)
			}
		}
	}
	if err := vectors.Load("no_such_family", new(vectors.Encoding)); err == nil {
		t.Error("a missing family loads")
	}
}
