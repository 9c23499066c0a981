// Package statemachine runs randomised state-machine checks from a seed, and shrinks a failing
// run to a short sequence of actions that still fails the same way. The conformance runner's
// server model (spec §5) runs on it inside the shipped blindpost-conform binary, which must not
// touch the testing package's globals or process-wide flags: everything is in Config, so runs
// can go on concurrently.
//
// A run is a sequence of choices. Each draw takes the next recorded choice when a run is
// replayed and a fresh random one otherwise, so a failing run can be replayed with choices
// removed or made smaller; a replay that runs out of choices takes 0, which ends Repeat. Shrinking
// keeps a candidate when it fails with the same message, which is why failure messages should
// name only what stays the same from run to run.
package statemachine

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"time"
)

// Config says how many runs to try and how long to shrink.
type Config struct {
	Seed     uint64        // the runs' choices follow from it: the same seed replays the same runs
	Checks   int           // runs to try (at least 1)
	Steps    int           // average number of actions per Repeat (at least 1)
	Shrink   time.Duration // time allowed to shrink a failure (0: no shrinking)
	Deadline time.Time     // shrinking stops before it when set
}

// Result is the outcome of Check.
type Result struct {
	Runs    int      // runs that ran to their end or failed
	Skipped int      // runs that skipped (not counted in Runs)
	Failed  bool     // a run failed
	Message string   // the failure, as Fatalf or a panic said it
	Log     []string // the log of the shortest failing run, ending with the failure
	Actions int      // actions in that run
	Found   int      // actions in the run that first failed
	Tries   int      // replays spent shrinking
	Again   int      // replays among them that failed the same way (0: it may depend on timing)
}

// T is what a run sees: draws, a log and the means to fail.
type T struct {
	replay  []uint64   // choices to replay; past its end, every draw is 0
	rnd     *rand.Rand // draws of a fresh run; nil when replaying
	choices []uint64   // the choices this run made
	steps   []int      // index in choices where each action of Repeat starts
	log     []string
	avg     int
}

// The values panics carry out of a run.
type (
	failure struct{ msg string }
	skip    struct{ msg string }
)

// Logf adds a line to the run's log, reported with a failure.
func (t *T) Logf(format string, args ...any) { t.log = append(t.log, fmt.Sprintf(format, args...)) }

// Fatalf fails the run and stops it.
func (t *T) Fatalf(format string, args ...any) { panic(failure{fmt.Sprintf(format, args...)}) }

// Skip stops the run or, inside an action of Repeat, only that action: what it needs is not
// there (nobody online, for example). Neither passes nor fails.
func (t *T) Skip(args ...any) { panic(skip{fmt.Sprint(args...)}) }

// IntN draws a choice in [0, n); n must be positive.
func (t *T) IntN(n int) int {
	if n <= 0 {
		panic(fmt.Sprintf("statemachine: IntN(%d)", n))
	}
	var v uint64
	switch {
	case t.rnd != nil:
		v = t.rnd.Uint64N(uint64(n))
	case len(t.choices) < len(t.replay):
		v = min(t.replay[len(t.choices)], uint64(n-1))
	}
	t.choices = append(t.choices, v)
	return int(v)
}

// Pick draws one of from, which must not be empty; shrinking moves towards the first.
func Pick[E any](t *T, from []E) E { return from[t.IntN(len(from))] }

// Repeat runs actions, chosen by name, until a draw says stop: Config.Steps actions on average.
// An action that calls Skip is passed over.
func (t *T) Repeat(actions map[string]func(*T)) {
	names := make([]string, 0, len(actions))
	for name := range actions {
		names = append(names, name)
	}
	slices.Sort(names) // map order must not change what a seed means
	for range 10 * t.avg {
		t.steps = append(t.steps, len(t.choices))
		if t.IntN(t.avg+1) == 0 { // stop with probability 1/(avg+1): avg actions on average
			t.steps = t.steps[:len(t.steps)-1]
			return
		}
		t.action(actions[Pick(t, names)])
	}
}

// action runs one action; a Skip inside it ends only the action.
func (t *T) action(f func(*T)) {
	defer func() {
		if r := recover(); r != nil {
			if _, ok := r.(skip); !ok {
				panic(r)
			}
		}
	}()
	f(t)
}

// outcome is what one run of the property gave.
type outcome struct {
	t       *T
	failed  bool
	skipped bool
	msg     string // what failed; shrinking compares it
	stack   string // where a panic happened, for the report only (addresses vary by run)
}

// run runs prop once: with fresh draws from rnd, or on recorded choices when rnd is nil.
func run(cfg Config, prop func(*T), replay []uint64, rnd *rand.Rand) (o outcome) {
	t := &T{replay: replay, rnd: rnd, avg: max(cfg.Steps, 1)}
	o.t = t
	defer func() {
		switch r := recover().(type) {
		case nil:
		case failure:
			o.failed, o.msg = true, r.msg
		case skip:
			o.skipped = true
		default:
			o.failed, o.msg, o.stack = true, fmt.Sprintf("panic: %v", r), stack()
		}
	}()
	prop(t)
	return o
}

func stack() string {
	buf := make([]byte, 8<<10)
	return string(buf[:runtime.Stack(buf, false)])
}

// Check runs prop on cfg.Checks random runs, stops at the first that fails, and shrinks it.
func Check(cfg Config, prop func(*T)) Result {
	var res Result
	for i := range max(cfg.Checks, 1) {
		o := run(cfg, prop, nil, rand.New(rand.NewPCG(cfg.Seed, uint64(i))))
		if o.skipped {
			res.Skipped++
			continue
		}
		res.Runs++
		if o.failed {
			res.Failed, res.Message, res.Found = true, o.msg, len(o.t.steps)
			best, tries, again := shrink(cfg, prop, o)
			res.Log = append(best.t.log, best.msg)
			if best.stack != "" {
				res.Log = append(res.Log, best.stack)
			}
			res.Actions, res.Tries, res.Again = len(best.t.steps), tries, again
			return res
		}
	}
	return res
}

// shrink replays smaller versions of the failing run f until the time is up or none of them
// fails with f's message, and returns the smallest that did, the number of replays and how many
// of them failed that way.
func shrink(cfg Config, prop func(*T), f outcome) (outcome, int, int) {
	deadline := time.Now().Add(cfg.Shrink)
	if !cfg.Deadline.IsZero() && cfg.Deadline.Before(deadline) {
		deadline = cfg.Deadline
	}
	tries, again := 0, 0
	try := func(choices []uint64) bool {
		if !time.Now().Before(deadline) {
			return false
		}
		tries++
		o := run(cfg, prop, choices, nil)
		if !o.failed || o.msg != f.msg {
			return false
		}
		f, again = o, again+1
		return true
	}
	for improved := true; improved && time.Now().Before(deadline); {
		improved = dropActions(&f, try) || lowerChoices(&f, try)
	}
	return f, tries, again
}

// dropActions tries to remove runs of whole actions, longest first, from the end backwards
// (later actions tend to depend on earlier ones).
func dropActions(f *outcome, try func([]uint64) bool) bool {
	improved := false
	for size := len(f.t.steps); size >= 1; size /= 2 {
		for i := len(f.t.steps) - size; i >= 0; i-- {
			steps, choices := f.t.steps, f.t.choices
			if i+size > len(steps) {
				continue
			}
			start, end := steps[i], len(choices)
			if i+size < len(steps) {
				end = steps[i+size]
			}
			if try(slices.Concat(choices[:start], choices[end:])) {
				improved = true
			}
		}
	}
	return improved
}

// lowerChoices tries to make each choice 0, then one less: the first of a Pick, the first
// action name.
func lowerChoices(f *outcome, try func([]uint64) bool) bool {
	improved := false
	for i := 0; i < len(f.t.choices); i++ {
		v := f.t.choices[i]
		if v == 0 || isStop(f.t, i) {
			continue
		}
		lower := []uint64{0}
		if v > 1 {
			lower = append(lower, v-1)
		}
		for _, l := range lower {
			c := slices.Clone(f.t.choices)
			c[i] = l
			if try(c) {
				improved = true
				break
			}
		}
	}
	return improved
}

// isStop reports whether choice i is Repeat's draw of whether to go on, which dropActions
// handles: lowering it to 0 would cut the run short.
func isStop(t *T, i int) bool { return slices.Contains(t.steps, i) }
