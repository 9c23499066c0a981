package wycheproof

import (
	"testing"
)

// TestEveryFileEmbedded loads each of the four files the e2ee tests use and checks that it holds
// the cases its header counts, so that a truncated or replaced copy fails here.
func TestEveryFileEmbedded(t *testing.T) {
	for _, name := range []string{"x25519_test.json", "ed25519_test.json", "aes_gcm_test.json", "hkdf_sha256_test.json"} {
		t.Run(name, func(t *testing.T) {
			var f struct {
				NumberOfTests int `json:"numberOfTests"`
				TestGroups    []struct {
					Tests []Case `json:"tests"`
				} `json:"testGroups"`
			}
			Load(t, name, &f)
			n := 0
			for _, g := range f.TestGroups {
				n += len(g.Tests)
			}
			if n == 0 || n != f.NumberOfTests {
				t.Fatalf("%s: %d cases, the header says %d", name, n, f.NumberOfTests)
			}
		})
	}
}

// TestSkippedLoadDoesNotCount: a test that loads a file and then skips leaves the file among
// those Main reports as not run, and one that finishes removes it.
func TestSkippedLoadDoesNotCount(t *testing.T) {
	ranMu.Lock()
	saved := ran
	ran = map[string]bool{}
	ranMu.Unlock()
	t.Cleanup(func() {
		ranMu.Lock()
		defer ranMu.Unlock()
		ran = saved
	})
	var v any
	t.Run("skips", func(t *testing.T) {
		Load(t, "hkdf_sha256_test.json", &v)
		t.Skip("this subtest skips on purpose: its file must not count as run")
	})
	if got := notRun([]string{"hkdf_sha256_test.json"}); len(got) != 1 {
		t.Fatalf("after a skipped test, not run = %v, want the file", got)
	}
	t.Run("runs", func(t *testing.T) { Load(t, "hkdf_sha256_test.json", &v) })
	if got := notRun([]string{"hkdf_sha256_test.json"}); len(got) != 0 {
		t.Fatalf("after a test that ran, not run = %v, want none", got)
	}
}
