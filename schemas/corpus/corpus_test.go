package corpus

import (
	"bytes"
	"testing"
)

// TestValid checks that Valid finds the corpus from any working directory's point of view (it
// locates the files from its own source) and returns each instance on its own.
func TestValid(t *testing.T) {
	for _, dir := range []string{"c2s", "s2c", "e2e"} {
		got := Valid(t, dir)
		if len(got) < 3 {
			t.Errorf("%s: %d instances, want at least 3 per schema file", dir, len(got))
		}
		for _, inst := range got {
			if !bytes.HasPrefix(bytes.TrimSpace(inst), []byte("{")) {
				t.Errorf("%s: instance %.40s is not an object", dir, inst)
			}
		}
	}
}
