package gen

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/blindpost/blindpost/vectors"
)

var update = flag.Bool("update", false, "write vectors/*.json instead of checking them")

// TestGenerate regenerates every vector file and schema from the fixed seed
// (spec §8, VEC-1). With -update (make vectors) it writes them; without it
// it fails when a checked-in file differs from what it generates, or when
// vectors/ holds a JSON file the generator does not write.
func TestGenerate(t *testing.T) {
	files, err := Generate(t)
	if err != nil {
		t.Fatal(err)
	}
	again, err := Generate(t)
	if err != nil {
		t.Fatal(err)
	}
	for i := range files {
		if !bytes.Equal(files[i].Data, again[i].Data) {
			t.Fatalf("%s: two runs in one process differ: the generator is not deterministic", files[i].Name)
		}
	}
	dir, err := vectors.Dir()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range files {
		names = append(names, f.Name)
		path := filepath.Join(dir, f.Name)
		if *update {
			if err := os.WriteFile(path, f.Data, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		old, err := os.ReadFile(path)
		if err != nil {
			t.Errorf("%s: %v; run make vectors", f.Name, err)
			continue
		}
		if !bytes.Equal(old, f.Data) {
			t.Errorf("%s is stale: it differs from what the generator writes; run make vectors", f.Name)
		}
	}
	present, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range present {
		if !slices.Contains(names, filepath.Base(p)) {
			t.Errorf("vectors/%s is not written by the generator: remove it or add its family", filepath.Base(p))
		}
	}
	var total int
	for _, f := range files {
		total += len(f.Data)
	}
	if total > 2<<20 {
		t.Errorf("the vector files total %d bytes; keep them under 2 MiB", total)
	}
	t.Logf("%d files, %d bytes: %s", len(files), total, strings.Join(names, " "))
}
