package mutants

import (
	"bytes"
	"fmt"
	"go/scanner"
	"go/token"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// tokens lists the tokens of src as the compiler's scanner sees them, semicolons inserted at
// newlines included, without their positions; of the comments, only the directives.
func tokens(t *testing.T, src []byte) []string {
	t.Helper()
	fset := token.NewFileSet()
	var s scanner.Scanner
	s.Init(fset.AddFile("", fset.Base(), len(src)), src, func(pos token.Position, msg string) { t.Errorf("scanning: %s: %s", pos, msg) }, scanner.ScanComments)
	var out []string
	for {
		_, tok, lit := s.Scan()
		if tok == token.EOF {
			return out
		}
		if tok == token.COMMENT && !directive(lit) {
			continue
		}
		out = append(out, fmt.Sprintf("%s %q", tok, lit))
	}
}

func TestKeepLines(t *testing.T) {
	const raw = "var s = `a\n\nb`\n"
	for _, tc := range []struct {
		name  string
		src   string
		end   int // where the replacement ended
		delta int
		want  string
	}{
		{"one line added, a blank line after", "x := 1\ny := 2\nz()\n\nfunc f() {}\n", 14, 1, "x := 1\ny := 2\nz()\nfunc f() {}\n"},
		{"two added, two blank lines apart", "a()\nb()\n\nc()\n\n\nd()\n", 4, 2, "a()\nb()\nc()\n\nd()\n"},
		{"lines removed: newlines doubled", "a()\nb()\nc()\n", 4, -2, "a()\nb()\n\n\nc()\n"},
		{"no blank line after the end", "a()\n\nb()\nc()\n", 5, 1, "a()\n\nb()\nc()\n"},
		{"the blank line of a raw string stays", raw + "x()\n", 0, 1, raw + "x()\n"},
		{"a comment stays", "a()\n// c\n\n// d\nb()\n", 4, 1, "a()\n// c\n// d\nb()\n"},
		{"unchanged", "a()\n\nb()\n", 0, 0, "a()\n\nb()\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := keepLines([]byte(tc.src), 0, tc.end, tc.delta)
			if string(got) != tc.want {
				t.Errorf("keepLines(%q, %d, %d) = %q, want %q", tc.src, tc.end, tc.delta, got, tc.want)
			}
		})
	}
}

// TestMutantsKeepLines: every mutated file scans to the tokens of the plain replacement, and
// every line after the mutated snippet keeps its number, so that a mutant recompiles only its
// own package (keepLines).
func TestMutantsKeepLines(t *testing.T) {
	for _, m := range curatedAndPending(t) {
		orig, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(m.File)))
		if err != nil {
			t.Fatal(err)
		}
		mutated, err := m.Apply(root)
		if err != nil {
			t.Error(err)
			continue
		}
		plain := bytes.Replace(orig, []byte(m.Find), []byte(m.Replace), 1)
		if a, b := tokens(t, plain), tokens(t, mutated); strings.Join(a, "\n") != strings.Join(b, "\n") {
			t.Errorf("%s: keeping the lines changed the tokens of %s", m.ID, m.File)
		}
		if got, want := bytes.Count(mutated, []byte("\n")), bytes.Count(orig, []byte("\n")); got != want {
			t.Errorf("%s: the mutated %s has %d lines, the original %d: no spare line after the snippet or in its function to make up the difference (write the replacement on fewer lines)", m.ID, m.File, got, want)
		}
	}
}
