package wire

import (
	"encoding/base64"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// corpusDir is the schema corpus: valid/<schema path> holds a JSON array of valid instances and
// invalid/<schema path> an array of {name, pointer, keyword, instance | raw | raw_base64} with
// optionally dispatch_pointer and dispatch_keyword, the failure through the top-level stream.
const corpusDir = "../../schemas/testdata"

type invalidCase struct {
	Name            string          `json:"name"`
	Pointer         string          `json:"pointer"`
	Keyword         string          `json:"keyword"`
	Instance        json.RawMessage `json:"instance"`
	Raw             *string         `json:"raw"`
	RawBase64       *string         `json:"raw_base64"`
	DispatchPointer *string         `json:"dispatch_pointer"`
	DispatchKeyword *string         `json:"dispatch_keyword"`
}

func (c invalidCase) data(t tb) []byte {
	switch {
	case c.Raw != nil:
		return []byte(*c.Raw)
	case c.RawBase64 != nil:
		b, err := base64.StdEncoding.DecodeString(*c.RawBase64)
		if err != nil {
			t.Fatalf("%s: raw_base64: %v", c.Name, err)
		}
		return b
	case c.Instance != nil:
		return c.Instance
	}
	t.Fatalf("%s: no instance, raw or raw_base64", c.Name)
	return nil
}

// corpusFiles lists the corpus files of kind (valid or invalid) for the codec's schemas.
func corpusFiles(t tb, kind string) map[string]string {
	t.Helper()
	root := filepath.Join(corpusDir, kind)
	files := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || !strings.HasSuffix(p, ".json") {
			return nil
		}
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		if !strings.HasPrefix(rel, "driver/") {
			files[rel] = p
		}
		return nil
	})
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return files
}

func readJSON(t tb, file string, v any) {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
}

// TestCorpusValid decodes every valid example with its own schema's decoder and through its
// stream, checks that the oracle agrees, and that re-encoding gives canonical bytes that decode
// to the same value.
func TestCorpusValid(t *testing.T) {
	files := corpusFiles(t, "valid")
	if len(files) == 0 {
		t.Fatal("no valid corpus in " + corpusDir)
	}
	n := 0
	for schema, file := range files {
		var instances []json.RawMessage
		readJSON(t, file, &instances)
		tg, ok := targetFor(schema)
		if !ok {
			t.Errorf("%s: no target for schemas/%s", file, schema)
			continue
		}
		for i, inst := range instances {
			n++
			v, valid := agree(t, tg, inst)
			if !valid {
				t.Errorf("%s[%d]: rejected", file, i)
				continue
			}
			checkCanonical(t, tg, v)
			if dt, ok := dispatchTarget(schema); ok {
				if _, valid := agree(t, dt, inst); !valid {
					t.Errorf("%s[%d]: rejected by %s", file, i, dt.schema)
				}
			}
		}
	}
	t.Logf("%d valid examples in %d files", n, len(files))
}

// TestCorpusInvalid checks that the decoders reject every invalid example with the pointer and
// keyword the corpus gives, and agree with the oracle on it.
func TestCorpusInvalid(t *testing.T) {
	files := corpusFiles(t, "invalid")
	if len(files) == 0 {
		t.Fatal("no invalid corpus in " + corpusDir)
	}
	n := 0
	for schema, file := range files {
		var cases []invalidCase
		readJSON(t, file, &cases)
		tg, ok := targetFor(schema)
		if !ok {
			t.Errorf("%s: no target for schemas/%s", file, schema)
			continue
		}
		for _, c := range cases {
			n++
			data := c.data(t)
			expect(t, file+": "+c.Name, tg, data, c.Pointer, c.Keyword)
			if dt, ok := dispatchTarget(schema); ok {
				p, k := c.Pointer, c.Keyword
				if c.DispatchPointer != nil {
					p = *c.DispatchPointer
				}
				if c.DispatchKeyword != nil {
					k = *c.DispatchKeyword
				}
				expect(t, file+": "+c.Name+" (through "+dt.schema+")", dt, data, p, k)
			}
		}
	}
	t.Logf("%d invalid examples in %d files", n, len(files))
}

func expect(t *testing.T, name string, tg target, data []byte, pointer, keyword string) {
	t.Helper()
	agree(t, tg, data)
	_, got := generated(t, tg, data)
	if got.valid {
		t.Errorf("%s: accepted", name)
		return
	}
	if got.pointer != pointer || got.keyword != keyword {
		t.Errorf("%s: got %q %s (%s), want %q %s", name, got.pointer, got.keyword, got.detail, pointer, keyword)
	}
}
