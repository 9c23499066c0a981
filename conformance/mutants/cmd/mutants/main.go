// Command mutants proves the conformance runner: it builds every curated mutant of
// conformance/mutants (a plausible bug of the reference server or client, tied to one rule),
// runs blindpost-conform against it, and fails unless every mutant is killed by a case that
// checks its rule. `make mutants` runs it; package mutants holds the logic.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"strings"

	"github.com/blindpost/blindpost/conformance/harness"
	"github.com/blindpost/blindpost/conformance/mutants"
)

const usageText = `usage: go run ./conformance/mutants/cmd/mutants [flags]

Builds each mutant of conformance/mutants with 'go build -overlay', runs the conformance suite of
its role against it (a server mutant as blindpost-server, a client mutant as 'blindpost driver'),
and reports the cases that killed it. Exit status 0 when every mutant is killed by a case that
checks its rule, 1 when one survives, is killed off-rule or does not apply or build, 2 for a
usage error.

Examples:
  make mutants                                        # every mutant, as many building at once as CPUs
  go run ./conformance/mutants/cmd/mutants --list     # the mutants: id, role, rule, bug
  go run ./conformance/mutants/cmd/mutants --run 03-reg-group-key-sig-unchecked --seed 42
  go run ./conformance/mutants/cmd/mutants --run client,REG-6 -j 1 --json > mutants.json
  go run ./conformance/mutants/cmd/mutants --pending   # the known gaps: these survive today

Flags:
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// flags are the command line.
type flags struct {
	run        string
	jobs       int
	builds     int
	buildNice  int
	seed       uint64
	json       bool
	list       bool
	noBaseline bool
	keep       bool
	pending    bool
	quiet      bool
}

// errFlagPrinted marks an error the flag package has already printed, with the usage.
var errFlagPrinted = errors.New("mutants: bad flags")

func parse(args []string, stderr io.Writer) (*flags, error) {
	f := &flags{}
	fs := flag.NewFlagSet("mutants", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, usageText)
		fs.PrintDefaults()
	}
	fs.StringVar(&f.run, "run", "", "run only the mutants whose id starts with one of these comma-separated `PATTERNS`, or whose rule or role is one of them")
	// A mutant's suite mostly waits, on the relay's timers and the loopback, while its build is
	// CPU-bound: builds are bounded by the cores, and the mutants in hand beyond them run their
	// suites meanwhile.
	fs.IntVar(&f.jobs, "j", 2*runtime.NumCPU(), "mutants in hand at once: being built, waiting for the baseline or run")
	fs.IntVar(&f.builds, "builds", runtime.NumCPU(), "of those, mutants compiled at once")
	fs.IntVar(&f.buildNice, "build-nice", 0, "run the builds at this lower priority (nice -n `N`, 1 to 19), so that they use only the CPU other work leaves, as .ci/run does while the tests run")
	fs.Uint64Var(&f.seed, "seed", 0, "seed of every blindpost-conform run (default: a fresh one, printed)")
	fs.BoolVar(&f.json, "json", false, "write the report as JSON on standard output")
	fs.BoolVar(&f.list, "list", false, "list the selected mutants and exit")
	fs.BoolVar(&f.noBaseline, "no-baseline", false, "skip the run of the same cases against the unmutated reference")
	fs.BoolVar(&f.pending, "pending", false, "run the mutants of pending/ instead: the known gaps of the suites, which survive until their cases exist")
	fs.BoolVar(&f.keep, "keep", false, "keep the work directory (mutated files, overlays, binaries)")
	fs.BoolVar(&f.quiet, "q", false, "no progress lines on standard error")
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return nil, err
		}
		return nil, fmt.Errorf("%w: %w", errFlagPrinted, err)
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("mutants: unexpected arguments %q", fs.Args())
	}
	if f.buildNice < 0 || f.buildNice > 19 {
		return nil, fmt.Errorf("mutants: --build-nice %d: want 0 (off) to 19", f.buildNice)
	}
	return f, nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	f, err := parse(args, stderr)
	if err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		if !errors.Is(err, errFlagPrinted) {
			fmt.Fprintln(stderr, err)
		}
		return 2
	}
	load := mutants.All
	if f.pending {
		load = mutants.Pending
	}
	all, err := load()
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	var patterns []string
	if f.run != "" {
		patterns = strings.Split(f.run, ",")
	}
	sel, err := mutants.Select(all, patterns)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	if f.list {
		list(stdout, sel)
		return 0
	}
	if len(sel) == 0 {
		fmt.Fprintln(stderr, "mutants: no pending mutant: the suites have no known gap")
		return 0
	}
	return execute(ctx, f, sel, stdout, stderr)
}

// execute runs the selected mutants and writes the report.
func execute(ctx context.Context, f *flags, sel []*mutants.Mutant, stdout, stderr io.Writer) int {
	root, err := mutants.ModuleRoot(ctx, "go")
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	if f.seed == 0 {
		f.seed = harness.FreshSeed()
	}
	opts := mutants.Options{Root: root, Jobs: f.jobs, Builds: f.builds, BuildNice: f.buildNice, Seed: f.seed, Baseline: !f.noBaseline, Keep: f.keep}
	if !f.quiet {
		var done int
		opts.Log = func(s string) { fmt.Fprintf(stderr, "mutants: %s\n", s) }
		opts.Progress = func(r mutants.Result) {
			done++ // Progress is called one result at a time
			fmt.Fprintf(stderr, "[%d/%d] %s\n", done, len(sel), r.Line())
		}
	}
	fmt.Fprintf(stderr, "mutants: %d mutants, %d at once (%d building), seed %d\n", len(sel), f.jobs, min(f.builds, f.jobs), f.seed)
	rep, err := mutants.Run(ctx, sel, opts)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	if f.json {
		err = rep.WriteJSON(stdout)
	} else {
		err = rep.WriteText(stdout)
	}
	if err != nil {
		fmt.Fprintln(stderr, "mutants: writing the report:", err)
		return 1
	}
	if rep.Failed() {
		return 1
	}
	return 0
}

// list prints the mutants: id, role, rule and bug.
func list(w io.Writer, ms []*mutants.Mutant) {
	for _, m := range ms {
		fmt.Fprintf(w, "%-32s %-6s %-8s %s\n", m.ID, m.Role, m.Rule, m.Bug)
	}
	fmt.Fprintf(w, "%d mutants\n", len(ms))
}
