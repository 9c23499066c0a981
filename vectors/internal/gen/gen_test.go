package gen

import (
	"bytes"
	"crypto/ed25519"
	"encoding/hex"
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
	// The counts of the file table of README.md come from the files (spec §8 points to it).
	readmePath := filepath.Join(dir, "README.md")
	readme, err := os.ReadFile(readmePath)
	if err != nil {
		t.Fatal(err)
	}
	counted, err := readmeCounts(readme, files)
	if err != nil {
		t.Fatal(err)
	}
	switch {
	case *update:
		if err := os.WriteFile(readmePath, counted, 0o644); err != nil {
			t.Fatal(err)
		}
	case !bytes.Equal(readme, counted):
		t.Errorf("README.md counts are stale: they differ from the vector files; run make vectors")
	}
	checkSpecExamples(t, filepath.Join(dir, "..", "spec", "protocol.md"))
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

// TestEdwards checks the generator's own Edwards25519 against crypto/ed25519: the base point
// encodes as RFC 8032 gives it, genuine signatures pass the lax check and the strict decoding,
// tampered ones do not, and every VEC-3 variant is accepted by the lax check only.
func TestEdwards(t *testing.T) {
	if got := hex.EncodeToString(edB.encode()); got != "5866666666666666666666666666666666666666666666666666666666666666" {
		t.Fatalf("B encodes as %s", got)
	}
	if !edB.mul(edL).equal(edZero) {
		t.Fatal("[L]B is not the neutral point")
	}
	seed := seedOf("alice")
	key := ed25519.NewKeyFromSeed(seed)
	pub := key.Public().(ed25519.PublicKey)
	if !bytes.Equal(edB.mul(secretScalar(seed)).encode(), pub) {
		t.Fatal("[s]B is not the public key")
	}
	msg := []byte("blindpost/1 test")
	sig := ed25519.Sign(key, msg)
	if !laxVerify(pub, msg, sig) || strictRejects(pub, sig) {
		t.Fatal("a genuine signature fails")
	}
	if laxVerify(pub, append(msg, '!'), sig) || laxVerify(pub, msg, flip(sig, 40)) {
		t.Fatal("a wrong signature passes the lax check")
	}
	for _, v := range vec3Sigs {
		s := v.sig(seed, msg) // checks laxVerify, strictRejects and crypto/ed25519
		if _, ok := edDecode(s[:32], false); !ok {
			t.Errorf("%s: R does not decode", v.id)
		}
	}
}

// checkSpecExamples makes every fenced JSON example of the spec from the fixed seed (examples.go)
// and writes them into the spec with -update; without it, it fails when the spec holds another
// text for any of them. schemas/spec_test.go validates the same examples against the schemas.
func checkSpecExamples(t *testing.T, path string) {
	text, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	examples := specExamples(t)
	want, err := withExamples(string(text), examples)
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	lines := strings.Split(string(text), "\n")
	for k, b := range fencedExamples(string(text)) {
		if got := strings.Join(lines[b.start:b.end], "\n"); got != examples[k] {
			t.Errorf("spec/protocol.md:%d: the %s example is not the generator's; run make vectors\n got: %s\nwant: %s",
				b.start+1, b.tag, got, examples[k])
		}
	}
}
