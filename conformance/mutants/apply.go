package mutants

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Apply reads the mutant's file in the module at root and returns its content with the snippet
// replaced, and the lines after it where they were (keepLines). It fails, naming the mutant and the file, when the snippet does not occur exactly
// once: the code moved, and the mutant must follow it before it can prove anything.
func (m *Mutant) Apply(root string) ([]byte, error) {
	orig, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(m.File)))
	if err != nil {
		return nil, fmt.Errorf("mutants: %s: %w", m.ID, err)
	}
	return m.applyTo(orig)
}

// applyTo replaces the snippet in orig, which must hold it exactly once.
func (m *Mutant) applyTo(orig []byte) ([]byte, error) {
	find := []byte(m.Find)
	switch n := bytes.Count(orig, find); n {
	case 1:
		at := bytes.Index(orig, find)
		mutated := bytes.Replace(orig, find, []byte(m.Replace), 1)
		delta := strings.Count(m.Replace, "\n") - strings.Count(m.Find, "\n")
		return keepLines(mutated, at, at+len(m.Replace), delta), nil
	case 0:
		return nil, fmt.Errorf("mutants: %s no longer applies: its find snippet does not occur in %s (the code moved; update %s):\n%s",
			m.ID, m.File, m.Source, indent(m.Find))
	default:
		return nil, fmt.Errorf("mutants: %s is ambiguous: its find snippet occurs %d times in %s, at lines %s; add context to %s until it is unique:\n%s",
			m.ID, n, m.File, occurrenceLines(orig, find), m.Source, indent(m.Find))
	}
}

// occurrenceLines lists the lines where find starts in data.
func occurrenceLines(data, find []byte) string {
	var lines []string
	for off := 0; ; {
		i := bytes.Index(data[off:], find)
		if i < 0 {
			break
		}
		lines = append(lines, fmt.Sprint(lineOf(data, off+i)))
		off += i + len(find)
	}
	return strings.Join(lines, ", ")
}

// indent prefixes every line of s with a tab bar, to quote a snippet in an error.
func indent(s string) string {
	return "\t| " + strings.ReplaceAll(s, "\n", "\n\t| ")
}

// lineOf returns the 1-based line of byte offset off in data.
func lineOf(data []byte, off int) int { return bytes.Count(data[:off], []byte("\n")) + 1 }
