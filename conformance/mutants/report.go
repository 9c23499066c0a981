package mutants

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"
)

// maxKillersShown bounds the killing cases the text report names per mutant; the JSON report
// has them all.
const maxKillersShown = 4

// Line returns the one-line summary of a result: status, id, role, rule and times.
func (r Result) Line() string {
	return fmt.Sprintf("%-9s %-32s %-6s %-8s build %5s  suite %6s  %d cases", strings.ToUpper(string(r.Status)), r.Mutant.ID,
		r.Mutant.Role, r.Mutant.Rule, round(r.Build), round(r.Suite), r.Cases)
}

// WriteText writes the report for people: one paragraph per mutant (the bug, the cases that
// killed it, or why it was not killed), then a summary.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	for _, res := range r.Results {
		writeResult(&b, res)
	}
	c := r.Counts()
	fmt.Fprintf(&b, "\nSummary: %d mutants: %d killed, %d survived, %d killed off-rule, %d errors (%s, %d at once), seed %d\n",
		len(r.Results), c[Killed], c[Survived], c[OffRule], c[Broken], round(r.Duration), r.Jobs, r.Seed)
	if r.Work != "" {
		fmt.Fprintf(&b, "Work directory kept: %s\n", r.Work)
	}
	if r.Failed() {
		b.WriteString("Result: FAIL: every mutant must be killed by a case that checks its rule\n")
	} else {
		b.WriteString("Result: PASS: every mutant was killed by a case that checks its rule\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// writeResult writes one mutant's paragraph.
func writeResult(b *strings.Builder, res Result) {
	m := res.Mutant
	fmt.Fprintf(b, "%s\n    bug:   %s (%s)\n", res.Line(), m.Bug, m.File)
	switch res.Status {
	case Killed, OffRule:
		for i, k := range res.Killers {
			if i == maxKillersShown {
				fmt.Fprintf(b, "    … and %d more failing cases\n", len(res.Killers)-i)
				break
			}
			mark := "killed by"
			if !k.ChecksRule {
				mark = "also failed"
			}
			fmt.Fprintf(b, "    %-11s %s [%s]: %s\n", mark, k.Case, strings.Join(k.Rules, " "), clip(k.Failure, 140))
		}
		if res.Status == OffRule {
			fmt.Fprintf(b, "    OFF-RULE: no failing case checks %s; add a case for %s to the %s suite, or correct the mutant's rule\n",
				m.Rule, m.Rule, m.Role)
		}
	case Survived:
		fmt.Fprintf(b, "    SURVIVED: all %d cases of --run %s passed against this bug; the %s suite misses a case for %s\n",
			res.Cases, strings.Join(m.Patterns(), ","), m.Role, m.Rule)
	case Broken:
		fmt.Fprintf(b, "    ERROR: %s\n", strings.ReplaceAll(res.Error, "\n", "\n    "))
	}
	if res.Status != Killed {
		fmt.Fprintf(b, "    repro: %s\n", res.Repro)
	}
}

// WriteJSON writes the report as one JSON document.
func (r *Report) WriteJSON(w io.Writer) error {
	counts := map[string]int{}
	for s, n := range r.Counts() {
		counts[string(s)] = n
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(struct {
		*Report
		Counts map[string]int `json:"counts"`
		Failed bool           `json:"failed"`
	}{r, counts, r.Failed()})
}

// round shortens a duration for the report.
func round(d time.Duration) time.Duration {
	if d >= 10*time.Second {
		return d.Round(time.Second)
	}
	return d.Round(100 * time.Millisecond)
}

// clip shortens s to at most n runes.
func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
