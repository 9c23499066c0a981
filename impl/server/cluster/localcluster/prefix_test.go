package localcluster

import (
	"bytes"
	"strings"
	"testing"

	"pgregory.net/rapid"
)

// TestPrefixWriterSplits: whatever the writes a node's output arrives in, every line comes out
// once, with the node's name in front, as if written at once (a node's lines must be readable
// among the others').
func TestPrefixWriterSplits(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		text := rapid.StringMatching(`[a-z \n]{0,80}`).Draw(t, "text")
		var out bytes.Buffer
		w := &prefixWriter{prefix: "[r1] ", w: &out}
		rest := text
		for rest != "" {
			n := rapid.IntRange(1, len(rest)).Draw(t, "chunk")
			if got, err := w.Write([]byte(rest[:n])); err != nil || got != n {
				t.Fatalf("Write of %d bytes: %d, %v", n, got, err)
			}
			rest = rest[n:]
		}
		var want strings.Builder
		for i, line := range strings.SplitAfter(text, "\n") {
			if line == "" && i > 0 {
				continue // after a final newline, nothing has started a line yet
			}
			if line != "" {
				want.WriteString("[r1] " + line)
			}
		}
		if out.String() != want.String() {
			t.Fatalf("written %q in pieces: got %q, want %q", text, out.String(), want.String())
		}
	})
}
