package harness

import (
	"cmp"
	"context"
	"flag"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// RunTests runs cases as subtests of t, named by their ids (so that the command GoTestRepro
// returns replays one), with opts.Parallel of them at once and
// the exclusive ones, then the final ones, alone afterwards. A case that fails, warns under opts.Strict, is
// unimplemented, skipped, or is an expected failure that passed fails its subtest with the
// readable details; an expected failure that did fail is logged. The report is returned once
// every case has ended.
func RunTests(t *testing.T, cases []Case, opts Options) *Report {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), cmp.Or(opts.Timeout, DefaultTimeout))
	if d, ok := t.Deadline(); ok {
		ctx, cancel = context.WithDeadline(context.Background(), d.Add(-5*time.Second))
	}
	defer cancel()
	rep := &Report{Seed: opts.Seed, Strict: opts.Strict, Started: time.Now(), Results: make([]Result, len(cases))}
	shared, exclusive, final := schedule(cases, opts)
	subtests(ctx, t, cases, shared, max(opts.Parallel, 1), opts, rep.Results)
	subtests(ctx, t, cases, exclusive, 1, opts, rep.Results)
	subtests(ctx, t, cases, final, 1, opts, rep.Results)
	rep.Duration = time.Since(rep.Started)
	t.Log(rep.Summary())
	return rep
}

// subtests runs the cases at indexes idx as subtests, n at a time (t.Run may be called from
// several goroutines at once).
func subtests(ctx context.Context, t *testing.T, cases []Case, idx []int, n int, opts Options, results []Result) {
	sem := make(chan struct{}, n)
	var wg sync.WaitGroup
	for _, i := range idx {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			t.Run(cases[i].ID, func(t *testing.T) {
				results[i] = RunCase(ctx, cases[i], opts)
				reportTo(t, results[i], opts)
			})
		})
	}
	wg.Wait()
}

// reportTo turns a result into the outcome of its subtest.
func reportTo(t *testing.T, res Result, opts Options) {
	if res.Verdict == Skip && opts.MaySkip != nil && opts.MaySkip(res) {
		t.Skipf("skipped as the test allows: %s", res.Reason)
	}
	var b strings.Builder
	res.writeDetails(&printer{w: &b}, false)
	switch res.Verdict {
	case Pass:
	case ExpectedFail:
		t.Logf("expected failure (%s): %s", res.ExpectedFailure, firstMessage(res))
	default:
		t.Errorf("%s\n%s", res.Line(), b.String())
	}
}

// GoTestRepro returns the go test command that replays case c of the run under t, with seed:
// pkg is the test's package as go test takes it ("./conformance/serversuite"), and the test
// reads the seed from its -conform.seed flag.
func GoTestRepro(t *testing.T, pkg string, c Case, seed uint64) string {
	return fmt.Sprintf("go test %s -run '%s' -count=1 -v -args -conform.seed=%d", pkg, runPattern(t.Name()+"/"+c.ID), seed)
}

// runPattern returns the -run pattern that selects the subtest name alone. go test matches each
// element of a pattern to the name's element as an unanchored regular expression, so every
// element is anchored: TestConformServer would select TestConformServerSpread too.
func runPattern(name string) string {
	elems := strings.Split(name, "/")
	for i, e := range elems {
		elems[i] = "^" + regexp.QuoteMeta(e) + "$"
	}
	return strings.Join(elems, "/")
}

// Selected reports whether go test runs with -run, which may select only some of the cases (as
// GoTestRepro's command does): a test that counts the cases that ran does not count them then.
func Selected() bool {
	f := flag.Lookup("test.run")
	return f != nil && f.Value.String() != ""
}
