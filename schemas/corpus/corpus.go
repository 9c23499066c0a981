// Package corpus reads the valid instances of the schemas' test corpus (schemas/testdata/valid,
// described in schemas/README.md "Corpus") for the tests of other packages: the dispatchers'
// tests take an example of every message type from it, so that a type added to the schemas (which
// comes with its corpus) reaches them without a list of types in the test.
//
// It reads the files from the source tree of the module the test runs in, so it only works where
// the source is: in tests, whose working directory is their package's.
package corpus

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// Valid returns the valid instances of every schema file in dir of schemas/testdata/valid (for
// example "c2s" or "s2c"), file by file in lexical order. It fails tb when there are none.
func Valid(tb testing.TB, dir string) []json.RawMessage {
	tb.Helper()
	mod, err := moduleRoot()
	if err != nil {
		tb.Fatalf("corpus: cannot locate schemas/testdata: %v", err)
	}
	root := filepath.Join(mod, "schemas", "testdata", "valid", filepath.FromSlash(dir))
	files, err := filepath.Glob(filepath.Join(root, "*.json"))
	if err != nil || len(files) == 0 {
		tb.Fatalf("corpus: no valid instances in %s: %v", root, err)
	}
	var out []json.RawMessage
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			tb.Fatalf("corpus: %v", err)
		}
		var instances []json.RawMessage
		if err := json.Unmarshal(data, &instances); err != nil {
			tb.Fatalf("corpus: %s: %v", f, err)
		}
		out = append(out, instances...)
	}
	return out
}

// moduleRoot returns the nearest directory at or above the working directory that holds go.mod.
// (Not the source file's own path, which a build with -trimpath does not record.)
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod at or above the working directory")
		}
		dir = parent
	}
}
