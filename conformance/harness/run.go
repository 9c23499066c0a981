package harness

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"runtime/debug"
	"slices"
	"sync"
	"time"

	"github.com/blindpost/blindpost/spec"
)

// Default timings of a run.
const (
	DefaultCaseTimeout = 30 * time.Second
	DefaultTimeout     = 30 * time.Minute
	// Grace is how long a case that passed its deadline gets to return after its context is
	// cancelled before it is abandoned.
	Grace = 2 * time.Second
)

// Options configure a run.
type Options struct {
	Seed        uint64 // the seed of every case's random source; print it, it replays the run
	Strict      bool   // warnings (SHOULD failures) fail the run
	ExpectFail  ExpectedFailures
	CaseTimeout time.Duration // default per-case deadline (DefaultCaseTimeout when 0)
	Timeout     time.Duration // deadline of the whole run (DefaultTimeout when 0)
	Parallel    int           // cases run at once (1 when 0); exclusive and final cases always run alone
	Env         any           // handed to every case as t.Env()
	// TimeoutFor, when set, gives a case's deadline (0: the case's own Timeout or CaseTimeout),
	// for suites whose waits depend on flags such as a keepalive interval.
	TimeoutFor func(Case) time.Duration
	// MaySkip, when set, lets RunTests pass a skipped case's subtest (t.Skip with the case's
	// reason) when it reports true: a case the target's configuration cannot reach, which the
	// test names. Other skips fail their subtest.
	MaySkip func(Result) bool
	// Repro returns the command line that replays only the case with this seed; the report
	// prints it with every failure.
	Repro func(c Case, seed uint64) string
	// Progress, when set, is called as each case ends, from the goroutine that ran it.
	Progress func(Result)
	// TranscriptEntries and TranscriptBytes bound each transcript (defaults when 0).
	TranscriptEntries, TranscriptBytes int
}

// Run runs cases (already selected, see Select) and returns the report. It never takes longer
// than the global timeout plus the grace period of the cases running then.
func Run(ctx context.Context, cases []Case, opts Options) *Report {
	ctx, cancel := context.WithTimeout(ctx, cmp.Or(opts.Timeout, DefaultTimeout))
	defer cancel()
	rep := &Report{Seed: opts.Seed, Strict: opts.Strict, Started: time.Now(), Results: make([]Result, len(cases))}
	shared, exclusive, final := schedule(cases, opts)
	runPool(ctx, cases, shared, max(opts.Parallel, 1), opts, rep.Results)
	runPool(ctx, cases, exclusive, 1, opts, rep.Results)
	runPool(ctx, cases, final, 1, opts, rep.Results)
	rep.Duration = time.Since(rep.Started)
	return rep
}

// schedule splits the indexes of cases into the shared ones, longest first so that they overlap
// the others, then the exclusive ones and the final ones, each in the order given.
func schedule(cases []Case, opts Options) (shared, exclusive, final []int) {
	for i, c := range cases {
		switch {
		case c.Final:
			final = append(final, i)
		case c.Exclusive:
			exclusive = append(exclusive, i)
		default:
			shared = append(shared, i)
		}
	}
	slices.SortStableFunc(shared, func(a, b int) int { return cmp.Compare(timeoutOf(cases[b], opts), timeoutOf(cases[a], opts)) })
	return shared, exclusive, final
}

// runPool runs the cases at indexes idx with at most n at once, writing results[i].
func runPool(ctx context.Context, cases []Case, idx []int, n int, opts Options, results []Result) {
	sem := make(chan struct{}, n)
	var wg sync.WaitGroup
	for _, i := range idx {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			results[i] = RunCase(ctx, cases[i], opts)
			if opts.Progress != nil {
				opts.Progress(results[i])
			}
		})
	}
	wg.Wait()
}

// timeoutOf returns the deadline of one case under opts.
func timeoutOf(c Case, opts Options) time.Duration {
	if opts.TimeoutFor != nil {
		if d := opts.TimeoutFor(c); d > 0 {
			return d
		}
	}
	return cmp.Or(c.Timeout, opts.CaseTimeout, DefaultCaseTimeout)
}

// RunCase runs one case under opts and returns its result, the expected-failures file applied.
func RunCase(ctx context.Context, c Case, opts Options) Result {
	res := Result{ID: c.ID, Rules: c.Rules, Level: c.Level, Description: c.Description, Seed: opts.Seed}
	if opts.Repro != nil {
		res.Repro = opts.Repro(c, opts.Seed)
	}
	tr := NewTranscript(time.Now(), opts.TranscriptEntries, opts.TranscriptBytes)
	if ctx.Err() != nil {
		res.Verdict = Fail
		res.Failures = []Failure{{Level: c.Level, Message: "not run: the run's global timeout expired before this case started"}}
		return applyExpectation(res, opts)
	}
	t := newT(ctx, c, opts.Seed, timeoutOf(c, opts), opts.Env, tr)
	execute(t)
	res.Duration = time.Since(t.start)
	res.Transcript, res.Omitted = tr.Entries()
	t.mu.Lock()
	res.Failures, res.Log, res.Reason = slices.Clone(t.failures), slices.Clone(t.logs), t.reason
	stop := t.stop
	t.mu.Unlock()
	res.Verdict = verdictOf(res.Failures, stop, opts.Strict)
	return applyExpectation(res, opts)
}

// execute runs t's case in its own goroutine, with its cleanups, until it returns or is abandoned
// after its deadline and the grace period.
func execute(t *T) {
	defer t.cancel()
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer t.runCleanups()
		defer func() {
			if r := recover(); r != nil {
				t.record(Failure{Level: spec.Must, Message: fmt.Sprintf("the case panicked: %v", r)})
				t.Logf("panic: %v\n%s", r, debug.Stack())
			}
		}()
		t.c.Run(t)
	}()
	timer := time.NewTimer(time.Until(t.deadline))
	defer timer.Stop()
	select {
	case <-done:
		return
	case <-timer.C:
	}
	// Past the deadline: cancel the case's context so that its waits end, then give it a grace
	// period to return and clean up before abandoning it.
	t.cancel()
	grace := time.NewTimer(Grace)
	defer grace.Stop()
	select {
	case <-done:
		if !t.Failed() {
			t.record(Failure{Level: t.c.Level, Message: fmt.Sprintf("timed out after %s%s", t.deadline.Sub(t.start).Round(time.Millisecond), waitingText(t))})
		}
	case <-grace.C:
		t.record(Failure{Level: t.c.Level, Message: fmt.Sprintf("timed out: the case did not finish within %s%s, and was abandoned", t.deadline.Sub(t.start).Round(time.Millisecond), waitingText(t))})
	}
}

func waitingText(t *T) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.waiting == "" {
		return ""
	}
	return " waiting for " + t.waiting
}

// verdictOf turns failures and a stop request into a verdict.
func verdictOf(failures []Failure, stop Verdict, strict bool) Verdict {
	must := false
	for _, f := range failures {
		if f.Level == spec.Must {
			must = true
		}
	}
	switch {
	case must:
		return Fail
	case len(failures) > 0 && strict:
		return Fail
	case len(failures) > 0:
		return Warn
	case stop != "":
		return stop
	}
	return Pass
}

// applyExpectation applies the expected-failures file: a listed case that did not pass is an
// expected failure; a listed case that passed fails the run.
func applyExpectation(res Result, opts Options) Result {
	e, listed := opts.ExpectFail[res.ID]
	if !listed {
		return res
	}
	res.ExpectedFailure = e.Reason
	if res.Verdict == Pass {
		res.Verdict = Fail
		res.Failures = append(res.Failures, Failure{Level: spec.Must, Message: fmt.Sprintf(
			"unexpected pass: %s:%d lists this case as an expected failure (%s); remove that line", e.File, e.Line, e.Reason)})
		return res
	}
	res.Was = res.Verdict
	res.Verdict = ExpectedFail
	return res
}

// FreshSeed returns a random nonzero seed for a run that was given none (0 means "none").
func FreshSeed() uint64 {
	var b [8]byte
	for {
		rand.Read(b[:])
		if s := binary.BigEndian.Uint64(b[:]) >> 1; s != 0 {
			return s
		}
	}
}
