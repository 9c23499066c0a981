package rules

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/blindpost/blindpost/spec"
)

// Summary counts the rules and how they are checked.
type Summary struct {
	Rules, Musts, Shoulds int
	MustsChecked          int // by a conformance case or a vector
	MustsUnobservable     int // by unit tests alone, and not observable from outside (NotObservable)
	MustsUnitOnly         int // by unit tests alone, although observable: what the matrix wants at 0
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
			case len(e.Tests) == 0:
			case e.Unobservable != "":
				s.MustsUnobservable++
			default:
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

// WriteJSON writes the matrix, the observable MUSTs without a case or vector, the rules not
// observable from outside, the unchecked rules and the problems --require-musts reports.
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
	problems := m.Problems()
	if problems == nil {
		problems = []string{}
	}
	return enc.Encode(struct {
		*Matrix
		Summary                  Summary  `json:"summary"`
		MustsWithoutCaseOrVector []string `json:"musts_without_case_or_vector"`
		NotObservable            []string `json:"not_observable"`
		Unchecked                []string `json:"unchecked"`
		Problems                 []string `json:"problems"`
	}{m, m.Summary(), ids(m.MustsWithoutCaseOrVector()), ids(m.Unobservables()), ids(m.Unchecked()), problems})
}

// WriteText writes the matrix as a table (counts, and the first case, vector or test of each
// rule; every one with verbose), then the observable MUSTs no case or vector checks, then the
// rules not observable from outside with their reasons and unit tests, then the rules nothing
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
	hidden := m.Unobservables()
	p.f("\nChecked by unit tests; not observable from outside (%d):\n", len(hidden))
	for _, e := range hidden {
		p.f("  %-9s %-6s §%-5s %s\n", e.ID, e.Level, e.Section, clip(e.Text, 90))
		for i, line := range wrap(e.Unobservable, 84) {
			label := "why:  "
			if i > 0 {
				label = ""
			}
			p.f("%14s %-6s %s\n", "", label, line)
		}
		tests := e.Tests
		if !verbose && len(tests) > 3 {
			tests = append(slices.Clone(tests[:3]), fmt.Sprintf("and %d more", len(tests)-3))
		}
		if len(tests) == 0 {
			tests = []string{"NONE"}
		}
		p.f("%14s tests: %s\n", "", strings.Join(tests, ", "))
	}
	unchecked := m.Unchecked()
	p.f("\nRules nothing checks, MUSTs first (%d):\n", len(unchecked))
	for _, e := range unchecked {
		p.f("  %-9s %-6s §%-5s %s\n", e.ID, e.Level, e.Section, clip(e.Text, 90))
	}
	p.f("\n%d of %d MUSTs are checked by a conformance case or a vector, %d by unit tests only as not observable from outside, "+
		"%d observable ones by unit tests only; %d rules are checked by nothing.\n",
		s.MustsChecked, s.Musts, s.MustsUnobservable, s.MustsUnitOnly, s.Unchecked)
	if problems := m.Problems(); len(problems) > 0 {
		p.f("\nProblems (%d):\n", len(problems))
		for _, x := range problems {
			p.f("  %s\n", x)
		}
	}
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
	if e.Unobservable != "" && !e.Checked() {
		return "not observable; " + strings.Join(parts, ", ")
	}
	return strings.Join(parts, ", ")
}

// wrap splits s into lines of at most width characters at spaces (a longer word gets a line
// of its own).
func wrap(s string, width int) []string {
	var lines []string
	line := ""
	for _, w := range strings.Fields(s) {
		switch {
		case line == "":
			line = w
		case len([]rune(line))+1+len([]rune(w)) <= width:
			line += " " + w
		default:
			lines = append(lines, line)
			line = w
		}
	}
	if line != "" {
		lines = append(lines, line)
	}
	return lines
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
