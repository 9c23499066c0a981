package harness

import (
	"context"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"runtime"
	"sync"
	"time"

	"github.com/blindpost/blindpost/spec"
)

// Failure is one way a case found the implementation wrong.
type Failure struct {
	// Rule is the rule the failure breaks; "" means the case's rules.
	Rule string `json:"rule,omitempty"`
	// Level is MUST or SHOULD: the rule's level, the case's level when Rule is "", or SHOULD for
	// a failure recorded with Warnf.
	Level    spec.Level `json:"level"`
	Message  string     `json:"message"`
	Expected string     `json:"expected,omitempty"`
	Actual   string     `json:"actual,omitempty"`
}

// T is the handle a case runs with. Its methods are safe for concurrent use, except that the
// methods that stop the case (Fatalf, FatalMismatch, Unimplemented, Skipf) must be called from
// the goroutine running Run, and Rand must not be shared between goroutines.
type T struct {
	c        Case
	ctx      context.Context
	cancel   context.CancelFunc
	start    time.Time
	deadline time.Time
	seed     uint64
	rnd      *rand.Rand
	env      any
	tr       *Transcript

	mu       sync.Mutex
	failures []Failure
	logs     []string
	stop     Verdict // Unimplemented or Skip once the case said so
	reason   string
	waiting  string
	cleanups []func()
}

func newT(ctx context.Context, c Case, seed uint64, timeout time.Duration, env any, tr *Transcript) *T {
	start := time.Now()
	deadline := start.Add(timeout)
	cctx, cancel := context.WithDeadline(ctx, deadline)
	return &T{
		c: c, ctx: cctx, cancel: cancel, start: start, deadline: deadline, seed: seed,
		rnd: rand.New(rand.NewPCG(seed, caseStream(c.ID))), env: env, tr: tr,
	}
}

// caseStream derives the second PCG word from the case id, so that each case draws its own
// values and a case replayed alone draws the same ones.
func caseStream(id string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(id))
	return h.Sum64()
}

// Case returns the case being run.
func (t *T) Case() Case { return t.c }

// Context returns a context cancelled at the case deadline (or when the run is cancelled).
func (t *T) Context() context.Context { return t.ctx }

// Deadline returns the case deadline.
func (t *T) Deadline() time.Time { return t.deadline }

// Seed returns the run's seed.
func (t *T) Seed() uint64 { return t.seed }

// Rand returns the case's random source, seeded from the run's seed and the case id.
func (t *T) Rand() *rand.Rand { return t.rnd }

// Env returns Options.Env: what the suite needs to reach the implementation under test.
func (t *T) Env() any { return t.env }

// Transcript returns the case's wire transcript.
func (t *T) Transcript() *Transcript { return t.tr }

// Elapsed returns the time since the case started.
func (t *T) Elapsed() time.Duration { return time.Since(t.start) }

// Logf records a line of the case's log, printed with its result.
func (t *T) Logf(format string, args ...any) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.logs = append(t.logs, fmt.Sprintf("+%.3fs ", time.Since(t.start).Seconds())+fmt.Sprintf(format, args...))
}

// Waiting records what the case is waiting for, so that a case that hangs past its deadline is
// reported as "timed out waiting for what". Helpers that block call it; "" clears it.
func (t *T) Waiting(what string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.waiting = what
}

// Errorf records a failure of the case's rules and lets the case go on.
func (t *T) Errorf(format string, args ...any) {
	t.record(Failure{Level: t.c.Level, Message: fmt.Sprintf(format, args...)})
}

// Fatalf records a failure of the case's rules and stops the case.
func (t *T) Fatalf(format string, args ...any) {
	t.Errorf(format, args...)
	runtime.Goexit()
}

// Warnf records a failure of a recommendation (a SHOULD), whatever the rule's level: the case
// ends as warn unless something else fails.
func (t *T) Warnf(rule, format string, args ...any) {
	t.record(Failure{Rule: rule, Level: spec.Should, Message: fmt.Sprintf(format, args...)})
}

// Mismatch records that the implementation broke rule (the case's rules when "") by doing
// actual where the rule requires expected, and lets the case go on.
func (t *T) Mismatch(rule, expected, actual string) {
	t.record(Failure{Rule: rule, Level: t.levelOf(rule), Message: "expected " + expected, Expected: expected, Actual: actual})
}

// MismatchMsg is Mismatch with a message of its own.
func (t *T) MismatchMsg(rule, expected, actual, format string, args ...any) {
	t.record(Failure{Rule: rule, Level: t.levelOf(rule), Message: fmt.Sprintf(format, args...), Expected: expected, Actual: actual})
}

// FatalMismatch is Mismatch, then stops the case.
func (t *T) FatalMismatch(rule, expected, actual string) {
	t.Mismatch(rule, expected, actual)
	runtime.Goexit()
}

// Unimplemented stops the case with verdict unimplemented: the implementation says it does not
// support what the case needs. Failures recorded before still make the case fail.
func (t *T) Unimplemented(format string, args ...any) {
	t.stopWith(Unimplemented, fmt.Sprintf(format, args...))
}

// Skipf stops the case with verdict skip: the case cannot apply to this implementation (for
// example, a limit too large to reach). It never counts as a pass.
func (t *T) Skipf(format string, args ...any) {
	t.stopWith(Skip, fmt.Sprintf(format, args...))
}

func (t *T) stopWith(v Verdict, reason string) {
	t.mu.Lock()
	t.stop, t.reason = v, reason
	t.mu.Unlock()
	runtime.Goexit()
}

// Failed reports whether a failure was recorded.
func (t *T) Failed() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.failures) > 0
}

// Cleanup registers f to run when the case ends (last registered, first run), even when it
// stopped with Fatalf or timed out.
func (t *T) Cleanup(f func()) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.cleanups = append(t.cleanups, f)
}

func (t *T) record(f Failure) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.failures = append(t.failures, f)
}

// levelOf returns the level of rule, or of the case when rule is "" or unknown.
func (t *T) levelOf(rule string) spec.Level {
	if r, ok := Rule(rule); ok {
		return r.Level
	}
	return t.c.Level
}

func (t *T) runCleanups() {
	for {
		t.mu.Lock()
		n := len(t.cleanups)
		if n == 0 {
			t.mu.Unlock()
			return
		}
		f := t.cleanups[n-1]
		t.cleanups = t.cleanups[:n-1]
		t.mu.Unlock()
		f()
	}
}

// Await waits until ch delivers a value, for at most d (and never past the case deadline); on
// timeout it stops the case with "timed out waiting for what". A closed channel delivers the
// zero value.
func Await[V any](t *T, what string, d time.Duration, ch <-chan V) V {
	v, ok := AwaitOK(t, what, d, ch)
	if !ok {
		t.Fatalf("timed out waiting for %s (%s)", what, d)
	}
	return v
}

// AwaitOK is Await that reports a timeout instead of stopping the case.
func AwaitOK[V any](t *T, what string, d time.Duration, ch <-chan V) (V, bool) {
	t.Waiting(what)
	defer t.Waiting("")
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case v := <-ch:
		return v, true
	case <-timer.C:
	case <-t.ctx.Done():
	}
	var zero V
	return zero, false
}
