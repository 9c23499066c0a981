package schemas

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path"
	"strings"
	"testing"
)

// corpusCase is one entry of a file under testdata/invalid (README.md, "Corpus").
type corpusCase struct {
	Name     string          `json:"name"`
	Pointer  *string         `json:"pointer"`
	Keyword  string          `json:"keyword"`
	Instance json.RawMessage `json:"instance"`
	Raw      *string         `json:"raw"`
	// RawBase64 holds the exact bytes of a case that is not even UTF-8.
	RawBase64 *string `json:"raw_base64"`
	// DispatchPointer and DispatchKeyword, when present, replace Pointer and Keyword for the
	// top-level dispatching schema (for example a wrong type const is an enum failure there).
	DispatchPointer *string `json:"dispatch_pointer"`
	DispatchKeyword string  `json:"dispatch_keyword"`
}

// bytes returns the exact text of the case.
func (c corpusCase) bytes() ([]byte, error) {
	n := 0
	var data []byte
	if c.Instance != nil {
		n, data = n+1, c.Instance
	}
	if c.Raw != nil {
		n, data = n+1, []byte(*c.Raw)
	}
	if c.RawBase64 != nil {
		b, err := base64.StdEncoding.Strict().DecodeString(*c.RawBase64)
		if err != nil {
			return nil, err
		}
		n, data = n+1, b
	}
	if n != 1 {
		return nil, errors.New("want exactly one of instance, raw and raw_base64")
	}
	return data, nil
}

// schemaKeywords are the keywords a corpus case may name: the ones our schemas use, and the
// failures of CheckWellFormed.
var schemaKeywords = map[string]bool{
	"required": true, "additionalProperties": true, "type": true, "const": true, "enum": true,
	"pattern": true, "minLength": true, "maxLength": true, "minimum": true, "maximum": true,
	"minItems": true, "maxItems": true, "uniqueItems": true,
}

var wellFormedKeywords = map[string]bool{
	KeywordUTF8: true, KeywordSyntax: true, KeywordDuplicateKey: true, KeywordTrailingData: true, KeywordDepth: true,
}

// readCorpusFile reads testdata/kind/p, which must itself be well-formed JSON, into v; unknown
// members of a case are an error.
func readCorpusFile(t *testing.T, kind, p string, v any) {
	t.Helper()
	raw, err := os.ReadFile(path.Join("testdata", kind, p))
	if err != nil {
		t.Fatalf("corpus: %v (every schema has testdata/valid and testdata/invalid files; see README.md)", err)
	}
	if err := CheckWellFormed(raw); err != nil {
		t.Fatalf("corpus %s/%s: %v", kind, p, err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("corpus %s/%s: %v", kind, p, err)
	}
}

func TestCorpus(t *testing.T) {
	docs := loadSchemaDocs(t)
	for _, p := range sortedKeys(docs) {
		if p == defsPath {
			continue
		}
		t.Run(p, func(t *testing.T) {
			top := dispatcherOf(t, docs, p)
			var valid []json.RawMessage
			readCorpusFile(t, "valid", p, &valid)
			if len(valid) < 3 {
				t.Errorf("%d valid instances, want at least 3", len(valid))
			}
			for i, inst := range valid {
				for _, s := range []string{p, top} {
					if s == "" {
						continue
					}
					vs, err := Check(s, inst)
					if err != nil {
						t.Fatal(err)
					}
					if len(vs) > 0 {
						t.Errorf("valid[%d] %s fails %s: %v", i, compact(inst), s, vs)
					}
				}
			}

			var invalid []corpusCase
			readCorpusFile(t, "invalid", p, &invalid)
			if len(invalid) < 5 {
				t.Errorf("%d invalid cases, want at least 5", len(invalid))
			}
			names := map[string]bool{}
			for _, c := range invalid {
				if c.Name == "" || names[c.Name] {
					t.Errorf("case name %q is empty or repeated", c.Name)
				}
				names[c.Name] = true
				t.Run(c.Name, func(t *testing.T) { checkInvalidCase(t, p, top, c) })
			}
			checkCoverage(t, p, docs[p], invalid)
		})
	}
}

func checkInvalidCase(t *testing.T, p, top string, c corpusCase) {
	data, err := c.bytes()
	if err != nil {
		t.Fatal(err)
	}
	if c.Pointer == nil {
		t.Fatal("no pointer")
	}
	wellFormed := CheckWellFormed(data)
	switch {
	case c.Instance != nil:
		if !schemaKeywords[c.Keyword] {
			t.Fatalf("keyword %q is not a schema keyword; a case that cannot be a JSON value is raw", c.Keyword)
		}
		if wellFormed != nil {
			t.Fatalf("instance is not well formed: %v", wellFormed)
		}
	default:
		if !wellFormedKeywords[c.Keyword] {
			t.Fatalf("raw case with keyword %q: raw cases are for %v", c.Keyword, sortedKeys(wellFormedKeywords))
		}
		var wf *WellFormedError
		if !errors.As(wellFormed, &wf) {
			t.Fatalf("CheckWellFormed accepts %q", data)
		}
		if wf.Keyword != c.Keyword || wf.Pointer != *c.Pointer {
			t.Fatalf("CheckWellFormed: got %q %s, want %q %s (%v)", wf.Pointer, wf.Keyword, *c.Pointer, c.Keyword, wf)
		}
	}
	want := []struct{ schema, pointer, keyword string }{{p, *c.Pointer, c.Keyword}}
	if top != "" {
		w := want[0]
		w.schema = top
		if c.DispatchPointer != nil {
			w.pointer = *c.DispatchPointer
		}
		if c.DispatchKeyword != "" {
			w.keyword = c.DispatchKeyword
		}
		want = append(want, w)
	} else if c.DispatchPointer != nil || c.DispatchKeyword != "" {
		t.Errorf("dispatch_pointer or dispatch_keyword for %s, which no dispatcher selects", p)
	}
	for _, w := range want {
		vs, err := Check(w.schema, data)
		if err != nil {
			t.Fatal(err)
		}
		if !hasViolation(vs, w.pointer, w.keyword) {
			t.Errorf("%s: want a %s failure at %q, got %v\ninstance: %s", w.schema, w.keyword, w.pointer, vs, compact(data))
		}
	}
}

// checkCoverage checks that the invalid cases of the schema at p exercise what every message's
// corpus covers (README.md, "Corpus").
func checkCoverage(t *testing.T, p string, doc map[string]any, cases []corpusCase) {
	t.Helper()
	count := map[string]int{}
	clientFrom := false
	for _, c := range cases {
		count[c.Keyword]++
		if c.Instance != nil && c.Keyword == "additionalProperties" && *c.Pointer == "" {
			var m map[string]json.RawMessage
			if json.Unmarshal(c.Instance, &m) == nil && m["from"] != nil {
				clientFrom = true
			}
		}
	}
	need := []string{"required", "additionalProperties", "type", KeywordDuplicateKey}
	props, _ := doc["properties"].(map[string]any)
	for _, member := range []string{"type", "kind", "cmd"} {
		if m, ok := props[member].(map[string]any); ok {
			if _, ok := m["const"]; ok {
				need = append(need, "const")
			}
			if _, ok := m["enum"]; ok {
				need = append(need, "enum")
			}
		}
	}
	for _, kw := range need {
		if count[kw] == 0 {
			t.Errorf("no invalid case with keyword %s", kw)
		}
	}
	raw, _ := FS.ReadFile(p)
	if bytes.Contains(raw, []byte("$defs/b64_")) && count["pattern"] < 3 {
		t.Errorf("%d pattern cases; a schema with base64 members needs non-canonical bits, missing padding and a wrong length", count["pattern"])
	}
	if strings.HasPrefix(p, "c2s/") && !clientFrom {
		t.Errorf("no case with a client-sent from")
	}
}

// TestCorpusHasNoStrayFiles fails on a corpus file whose schema does not exist.
func TestCorpusHasNoStrayFiles(t *testing.T) {
	paths, err := Paths()
	if err != nil {
		t.Fatal(err)
	}
	known := map[string]bool{}
	for _, p := range paths {
		known[p] = true
	}
	n := 0
	err = fs.WalkDir(os.DirFS("testdata"), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		n++
		kind, rel, _ := strings.Cut(p, "/")
		if (kind != "valid" && kind != "invalid") || !known[rel] || rel == defsPath {
			t.Errorf("testdata/%s: no schema %s", p, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		t.Fatal("testdata is empty")
	}
}
