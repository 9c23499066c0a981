package conformcmd

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/spf13/pflag"

	"github.com/blindpost/blindpost/conformance/harness"
)

// RunFlags are the flags every run command shares.
type RunFlags struct {
	Seed        uint64
	Run         []string
	List        bool
	JSON        bool
	JUnit       string
	Strict      bool
	ExpectFail  string
	Timeout     time.Duration
	CaseTimeout time.Duration
	Parallel    int
	Verbose     bool
	Quiet       bool
}

// Register defines the flags on fs.
func (f *RunFlags) Register(fs *pflag.FlagSet) {
	fs.Uint64Var(&f.Seed, "seed", 0, "seed of every case's random choices (default: a fresh one, printed in the report); replays a run")
	fs.StringSliceVar(&f.Run, "run", nil, "run only the cases whose id starts with PREFIX or that name a rule starting with PREFIX (REG, REG-3, server/registration); repeatable, comma-separated")
	fs.BoolVar(&f.List, "list", false, "list the selected cases with their rules and exit")
	fs.BoolVar(&f.JSON, "json", false, "write the report as JSON on standard output")
	fs.StringVar(&f.JUnit, "junit", "", "also write the report as JUnit XML to `FILE`")
	fs.BoolVar(&f.Strict, "strict", false, "fail on SHOULD failures (warnings) too")
	fs.StringVar(&f.ExpectFail, "expect-fail", "", "expected-failures `FILE`: lines 'CASE-ID reason'; such a case is xfail, and fails the run if it passes")
	fs.DurationVar(&f.Timeout, "timeout", 30*time.Minute, "deadline of the whole run")
	fs.DurationVar(&f.CaseTimeout, "case-timeout", harness.DefaultCaseTimeout, "deadline of each case (longer for cases that wait on the implementation's timers)")
	fs.IntVar(&f.Parallel, "parallel", 4, "cases run at once")
	fs.BoolVarP(&f.Verbose, "verbose", "v", false, "print the log and transcript of every case, not only of those that did not pass")
	fs.BoolVarP(&f.Quiet, "quiet", "q", false, "no progress lines on standard error")
}

// reportFlags are flags that do not change what a case does: a repro command leaves them out.
var reportFlags = map[string]bool{ // name: takes a value
	"seed": true, "run": true, "list": false, "json": false, "junit": true, "expect-fail": true,
	"parallel": true, "verbose": false, "v": false, "quiet": false, "q": false, "timeout": true,
}

// Suite is what a run command hands to Execute besides its cases.
type Suite struct {
	Env        any
	TimeoutFor func(harness.Case) time.Duration
	// Targets, when set, gives the URLs of the system under test for the report, after the run.
	Targets func() []harness.Target
}

// ListCases prints the cases: id, level, rules and description.
func ListCases(app *App, cases []harness.Case) {
	for _, c := range cases {
		fmt.Fprintf(app.Stdout, "%-58s %-6s %-26s %s\n", c.ID, c.Level, strings.Join(c.Rules, " "), c.Description)
	}
	fmt.Fprintf(app.Stdout, "%d cases\n", len(cases))
}

// Select applies --run to cases; a pattern that matches nothing is a usage error.
func (f *RunFlags) Select(cases []harness.Case) ([]harness.Case, error) {
	sel, err := harness.Select(cases, f.Run)
	if err != nil {
		return nil, usage(err)
	}
	return sel, nil
}

// Execute runs the selected cases with the flags, writes the reports and returns nil, or an
// *ExitError with the exit status.
func (f *RunFlags) Execute(app *App, cases []harness.Case, s Suite) error {
	sel, err := f.Select(cases)
	if err != nil {
		return err
	}
	if f.List {
		ListCases(app, sel)
		return nil
	}
	var expect harness.ExpectedFailures
	if f.ExpectFail != "" {
		expect, err = harness.LoadExpectedFailures(f.ExpectFail, func(id string) bool { _, ok := harness.Lookup(id); return ok })
		if err != nil {
			return usage(err)
		}
	}
	if f.Seed == 0 {
		f.Seed = harness.FreshSeed()
	}
	opts := harness.Options{
		Seed: f.Seed, Strict: f.Strict, ExpectFail: expect, CaseTimeout: f.CaseTimeout, Timeout: f.Timeout,
		Parallel: f.Parallel, Env: s.Env, TimeoutFor: s.TimeoutFor,
		Repro: func(c harness.Case, seed uint64) string { return ReproCommand(app, c.ID, seed) },
	}
	if !f.Quiet {
		opts.Progress = progress(app, len(sel))
	}
	fmt.Fprintf(app.Stderr, "blindpost-conform: %d cases, seed %d\n", len(sel), f.Seed)
	rep := harness.Run(app.Ctx, sel, opts)
	rep.Command = ShellJoin(append([]string{app.Prog}, app.Args...))
	if s.Targets != nil {
		rep.Targets = s.Targets()
	}
	if f.JSON {
		err = rep.WriteJSON(app.Stdout)
	} else {
		err = rep.WriteText(app.Stdout, harness.TextOptions{Verbose: f.Verbose})
	}
	if err != nil {
		return &ExitError{Code: ExitUsage, Err: fmt.Errorf("writing the report: %w", err)}
	}
	if f.JUnit != "" {
		if err := writeJUnit(f.JUnit, rep); err != nil {
			return &ExitError{Code: ExitUsage, Err: err}
		}
	}
	if rep.Failed() {
		return &ExitError{Code: ExitFail}
	}
	return nil
}

func writeJUnit(path string, rep *harness.Report) error {
	out, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("--junit: %w", err)
	}
	if err := rep.WriteJUnit(out); err != nil {
		out.Close()
		return fmt.Errorf("--junit %s: %w", path, err)
	}
	return out.Close()
}

// progress prints one line per finished case on standard error.
func progress(app *App, total int) func(harness.Result) {
	var done atomic.Int64
	return func(r harness.Result) {
		n := done.Add(1)
		fmt.Fprintf(app.Stderr, "[%*d/%d] %s\n", len(fmt.Sprint(total)), n, total, r.Line())
	}
}

// ReproCommand returns the command line that replays one case: the run's own arguments without
// the flags that select cases or shape reports, then --seed and --run.
func ReproCommand(app *App, caseID string, seed uint64) string {
	args := []string{filepath.Base(app.Prog)}
	for i := 0; i < len(app.Args); i++ {
		a := app.Args[i]
		name, _, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		takesValue, drop := reportFlags[name]
		if strings.HasPrefix(a, "-") && drop {
			if takesValue && !hasValue {
				i++
			}
			continue
		}
		args = append(args, a)
	}
	args = append(args, "--seed", fmt.Sprint(seed), "--run", caseID)
	return ShellJoin(args)
}

// ShellJoin quotes arguments for a POSIX shell where they need it.
func ShellJoin(args []string) string {
	out := make([]string, len(args))
	for i, a := range args {
		if a != "" && strings.Trim(a, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:=,@%+") == "" {
			out[i] = a
			continue
		}
		out[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
	}
	return strings.Join(out, " ")
}
