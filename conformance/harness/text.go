package harness

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// TextOptions tune the readable report.
type TextOptions struct {
	// Verbose prints the log and transcript of every case, not only of those that did not pass.
	Verbose bool
}

// WriteText writes the readable report: one line per case (verdict, id, rules, time), then the
// details of every case that did not pass (the rules quoted from the spec, each failure with
// expected and actual behaviour, the log, and the repro bundle: seed, command, transcript), then
// the summary.
func (r *Report) WriteText(w io.Writer, o TextOptions) error {
	p := &printer{w: w}
	p.f("blindpost-conform: %d cases, seed %d", len(r.Results), r.Seed)
	if r.Strict {
		p.f(", --strict")
	}
	p.f("\n")
	r.writeTargets(p)
	p.f("\n")
	for _, res := range r.Results {
		p.f("%s\n", res.Line())
	}
	for _, res := range r.Results {
		if o.Verbose || res.Verdict != Pass {
			p.f("\n")
			res.writeDetails(p, o.Verbose)
		}
	}
	p.f("\n%s\n", r.Summary())
	return p.err
}

// Line is the one-line form of a result: verdict, id, rules and duration.
func (res Result) Line() string {
	v := strings.ToUpper(string(res.Verdict))
	if res.Verdict == ExpectedFail {
		v = "XFAIL"
	}
	return fmt.Sprintf("%-13s %-58s %-26s %6s", v, res.ID, strings.Join(res.Rules, " "), roundDuration(res.Duration))
}

func roundDuration(d time.Duration) string {
	switch {
	case d >= 10*time.Second:
		return d.Round(time.Second).String()
	case d >= time.Second:
		return d.Round(100 * time.Millisecond).String()
	}
	return d.Round(time.Millisecond).String()
}

// Summary is the last line of the text report.
func (r *Report) Summary() string {
	c := r.Counts()
	s := fmt.Sprintf("Summary: %d cases: %d pass, %d fail, %d warn, %d unimplemented, %d skip, %d xfail (%s), seed %d",
		len(r.Results), c[Pass], c[Fail], c[Warn], c[Unimplemented], c[Skip], c[ExpectedFail], roundDuration(r.Duration), r.Seed)
	switch {
	case r.Failed():
		return s + "\nResult: FAIL (exit status 1)"
	case c[Warn] > 0:
		return s + "\nResult: PASS with warnings (SHOULD rules; --strict makes them fail)"
	}
	return s + "\nResult: PASS"
}

func (res Result) writeDetails(p *printer, verbose bool) {
	p.f("=== %s %s (%s)\n", strings.ToUpper(string(res.Verdict)), res.ID, res.Level)
	if res.Description != "" {
		p.f("    %s\n", res.Description)
	}
	if res.ExpectedFailure != "" {
		p.f("    listed as an expected failure: %s (was %s)\n", res.ExpectedFailure, res.Was)
	}
	if res.Reason != "" {
		p.f("    %s: %s\n", res.Verdict, res.Reason)
	}
	p.f("    rules:\n")
	for _, id := range res.Rules {
		p.f("      %s\n", quoteRule(id))
	}
	for i, f := range res.Failures {
		p.f("    failure %d", i+1)
		if f.Rule != "" {
			p.f(" of %s", f.Rule)
		}
		p.f(" (%s): %s\n", f.Level, indentRest(f.Message, "      "))
		if f.Expected != "" || f.Actual != "" {
			p.f("      expected: %s\n", indentRest(f.Expected, "                "))
			p.f("      actual:   %s\n", indentRest(f.Actual, "                "))
		}
	}
	if len(res.Log) > 0 && (verbose || res.Verdict != Pass) {
		p.f("    log:\n")
		for _, l := range res.Log {
			p.f("      %s\n", indentRest(l, "        "))
		}
	}
	if res.Verdict == Pass && !verbose {
		return
	}
	p.f("    repro:\n      seed:    %d\n", res.Seed)
	if res.Repro != "" {
		p.f("      command: %s\n", res.Repro)
	}
	p.f("      transcript (%d entries", len(res.Transcript)+res.Omitted)
	if res.Omitted > 0 {
		p.f(", %d omitted in the middle", res.Omitted)
	}
	p.f("):\n")
	half := -1
	if res.Omitted > 0 {
		half = len(res.Transcript) / 2
	}
	for i, e := range res.Transcript {
		if i == half {
			p.f("        … %d entries omitted …\n", res.Omitted)
		}
		p.f("        %s\n", e)
	}
}

// quoteRule renders a rule id with its level, section and text, quoted from the spec.
func quoteRule(id string) string {
	r, ok := Rule(id)
	if !ok {
		return id + " (not in spec/protocol.md)"
	}
	return fmt.Sprintf("%s (%s, §%s): %s", id, r.Level, r.Section, r.Text)
}

// indentRest indents every line of s after the first.
func indentRest(s, indent string) string {
	return strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n"+indent)
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

// writeTargets writes the URLs of the system under test, when there are any.
func (r *Report) writeTargets(p *printer) {
	if len(r.Targets) == 0 {
		return
	}
	p.f("system under test: %d URL%s\n", len(r.Targets), plural(len(r.Targets)))
	for _, tg := range r.Targets {
		p.f("  %s (%d connections)\n", tg.URL, tg.Connections)
	}
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
