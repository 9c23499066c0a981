package canonical

import (
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/blindpost/blindpost/spec"
)

// specLabels reads the labels in the first column of spec Appendix B.
func specLabels(t *testing.T) []string {
	t.Helper()
	text := spec.Protocol
	start := strings.Index(text, "## Appendix B. Labels")
	if start < 0 {
		t.Fatal("spec has no Appendix B")
	}
	text = text[start:]
	if end := strings.Index(text[1:], "\n## "); end > 0 {
		text = text[:end+1]
	}
	label := regexp.MustCompile("`(blindpost/1[^`]*)`")
	var out []string
	for _, line := range strings.Split(text, "\n") {
		cols := strings.Split(line, "|")
		if len(cols) < 3 {
			continue
		}
		for _, m := range label.FindAllStringSubmatch(cols[1], -1) {
			out = append(out, m[1])
		}
	}
	return out
}

// TestLabelsMatchAppendixB checks that the label constants are exactly the
// labels of spec Appendix B, no more and no fewer, each spelled as the spec
// spells it. spec §2.2 [ENC-4]
func TestLabelsMatchAppendixB(t *testing.T) {
	spec := specLabels(t)
	ours := Labels()
	slices.Sort(spec)
	slices.Sort(ours)
	if len(slices.Compact(slices.Clone(spec))) != len(spec) {
		t.Fatal("ENC-4: Appendix B lists a label twice")
	}
	// Every constant is one label with one purpose: no two constants share a spelling.
	if len(slices.Compact(slices.Clone(ours))) != len(ours) {
		t.Fatalf("ENC-4: two label constants share a spelling: %q", ours)
	}
	if !slices.Equal(spec, ours) {
		t.Fatalf("ENC-4: labels differ from Appendix B\nspec: %q\nours: %q", spec, ours)
	}
}

// TestLabelPrefix checks §2.2: every label but the h0 label begins with
// "blindpost/1 ".
func TestLabelPrefix(t *testing.T) {
	for _, l := range Labels() {
		if l != Protocol && !strings.HasPrefix(l, Prefix) {
			t.Errorf("%q lacks the prefix", l)
		}
	}
}
