package rules

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/blindpost/blindpost/spec"
)

// Summary counts the rules and how they are checked.
type Summary struct {
	Rules, Musts, Shoulds int
	MustsChecked          int // by a conformance case or a vector
	MustsUnitOnly         int // by unit tests alone
	Unchecked             int // by nothing
}

// Summary returns the counts of the matrix.
func (m *Matrix) Summary() Summary {
	var s Summary
	for _, e := range m.Entries {
		s.Rules++
		if e.Level == spec.Must {
			s.Musts++
			switch {
			case e.Checked():
				s.MustsChecked++
			case len(e.Tests) > 0:
				s.MustsUnitOnly++
			}
		} else {
			s.Shoulds++
		}
		if e.Unchecked() {
			s.Unchecked++
		}
	}
	return s
}

// WriteJSON writes the matrix, the MUSTs without a case or vector and the unchecked rules.
func (m *Matrix) WriteJSON(w io.Writer) error {
	ids := func(es []Entry) []string {
		out := []string{}
		for _, e := range es {
			out = append(out, e.ID)
		}
		return out
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(struct {
		*Matrix
		Summary                  Summary  `json:"summary"`
		MustsWithoutCaseOrVector []string `json:"musts_without_case_or_vector"`
		Unchecked                []string `json:"unchecked"`
	}{m, m.Summary(), ids(m.MustsWithoutCaseOrVector()), ids(m.Unchecked())})
}

// WriteText writes the matrix as a table (counts, and the first case, vector or test of each
// rule; every one with verbose), then the MUSTs no case or vector checks, then the rules nothing
// checks, MUSTs first, then the summary.
func (m *Matrix) WriteText(w io.Writer, verbose bool) error {
	p := &printer{w: w}
	s := m.Summary()
	p.f("Traceability of spec/protocol.md: %d rules, %d MUST and %d SHOULD\n\n", s.Rules, s.Musts, s.Shoulds)
	p.f("%-9s %-6s %5s %7s %5s  %s\n", "RULE", "LEVEL", "CASES", "VECTORS", "TESTS", "CHECKED BY")
	for _, e := range m.Entries {
		p.f("%-9s %-6s %5d %7d %5d  %s\n", e.ID, e.Level, len(e.Cases), len(e.Vectors), len(e.Tests), firstOf(e))
		if verbose {
			for _, x := range e.Cases {
				p.f("%40s case   %s\n", "", x)
			}
			for _, x := range e.Vectors {
				p.f("%40s vector %s\n", "", x)
			}
			for _, x := range e.Tests {
				p.f("%40s test   %s\n", "", x)
			}
		}
	}
	missing := m.MustsWithoutCaseOrVector()
	p.f("\nMUST rules no conformance case or vector checks (%d):\n", len(missing))
	for _, e := range missing {
		p.f("  %-9s §%-5s %d unit tests  %s\n", e.ID, e.Section, len(e.Tests), clip(e.Text, 90))
	}
	unchecked := m.Unchecked()
	p.f("\nRules nothing checks, MUSTs first (%d):\n", len(unchecked))
	for _, e := range unchecked {
		p.f("  %-9s %-6s §%-5s %s\n", e.ID, e.Level, e.Section, clip(e.Text, 90))
	}
	p.f("\n%d of %d MUSTs are checked by a conformance case or a vector, %d by unit tests only; %d rules are checked by nothing.\n",
		s.MustsChecked, s.Musts, s.MustsUnitOnly, s.Unchecked)
	return p.err
}

func firstOf(e Entry) string {
	var parts []string
	if len(e.Cases) > 0 {
		parts = append(parts, e.Cases[0])
	}
	if len(e.Vectors) > 0 {
		parts = append(parts, e.Vectors[0])
	}
	if len(e.Tests) > 0 {
		parts = append(parts, e.Tests[0])
	}
	if len(parts) == 0 {
		return "NOTHING"
	}
	return strings.Join(parts, ", ")
}

func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// printer remembers the first write error.
type printer struct {
	w   io.Writer
	err error
}

func (p *printer) f(format string, args ...any) {
	if p.err == nil {
		_, p.err = fmt.Fprintf(p.w, format, args...)
	}
}
