package statemachine

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// counter is a toy system with a bug: after "inc" has run three times, "check" fails.
type counter struct{ n int }

func (c *counter) actions() map[string]func(*T) {
	return map[string]func(*T){
		"inc":   func(t *T) { c.n++; t.Logf("inc to %d", c.n) },
		"dec":   func(t *T) { c.n--; t.Logf("dec to %d", c.n) },
		"reset": func(t *T) { c.n = 0; t.Logf("reset") },
		"check": func(t *T) {
			t.Logf("check %d", c.n)
			if c.n >= 3 {
				t.Fatalf("counter reached 3")
			}
		},
		"idle": func(t *T) { t.Skip("nothing to do") },
	}
}

func counterProp(t *T) { t.Repeat((&counter{}).actions()) }

// TestShrinkToMinimal: the failure is found and shrunk to the shortest sequence that shows it,
// with that sequence's log.
func TestShrinkToMinimal(t *testing.T) {
	res := Check(Config{Seed: 1, Checks: 200, Steps: 30, Shrink: time.Minute}, counterProp)
	if !res.Failed || res.Message != "counter reached 3" {
		t.Fatalf("result %+v: want the counter failure", res)
	}
	want := []string{"inc to 1", "inc to 2", "inc to 3", "check 3", "counter reached 3"}
	if !slices.Equal(res.Log, want) || res.Actions != 4 {
		t.Fatalf("shrunk to %d actions %q (found with %d, %d replays); want %q", res.Actions, res.Log, res.Found, res.Tries, want)
	}
	if res.Found < res.Actions || res.Tries == 0 || res.Again == 0 {
		t.Fatalf("found with %d actions after %d replays, %d failing", res.Found, res.Tries, res.Again)
	}
}

// TestFlaky: a failure that no replay repeats is reported as found, with Again 0.
func TestFlaky(t *testing.T) {
	first := true
	res := Check(Config{Seed: 5, Checks: 3, Steps: 5, Shrink: time.Minute}, func(t *T) {
		t.Repeat(map[string]func(*T){"step": func(t *T) { t.Logf("step") }})
		if first {
			first = false
			t.Fatalf("only the first time")
		}
	})
	if !res.Failed || res.Again != 0 || res.Tries == 0 || res.Actions != res.Found {
		t.Fatalf("result %+v: want the first run reported as it was, no replay failing", res)
	}
}

// TestSameSeedSameRuns: a seed fixes every run, so a failure replays from its seed alone.
func TestSameSeedSameRuns(t *testing.T) {
	var logs [2][]string
	for i := range logs {
		Check(Config{Seed: 42, Checks: 5, Steps: 10}, func(t *T) {
			t.Repeat((&counter{}).actions())
			logs[i] = append(logs[i], strings.Join(t.log, ","))
		})
	}
	if !slices.Equal(logs[0], logs[1]) {
		t.Fatalf("the same seed gave\n%q\nand\n%q", logs[0], logs[1])
	}
	var other []string
	Check(Config{Seed: 43, Checks: 5, Steps: 10}, func(t *T) {
		t.Repeat((&counter{}).actions())
		other = append(other, strings.Join(t.log, ","))
	})
	if slices.Equal(logs[0], other) {
		t.Fatal("seeds 42 and 43 gave the same runs")
	}
}

// TestLowerChoices: a drawn value is shrunk to the smallest that still fails.
func TestLowerChoices(t *testing.T) {
	res := Check(Config{Seed: 7, Checks: 100, Steps: 5, Shrink: time.Minute}, func(t *T) {
		t.Repeat(map[string]func(*T){"draw": func(t *T) {
			v := t.IntN(100)
			t.Logf("drew %d", v)
			if v >= 37 {
				t.Fatalf("drew 37 or more")
			}
		}})
	})
	if want := []string{"drew 37", "drew 37 or more"}; !res.Failed || !slices.Equal(res.Log, want) {
		t.Fatalf("result %+v; want log %q", res, want)
	}
}

// TestOnlySameFailure: shrinking keeps only candidates that fail with the first message, so a
// shorter run failing differently is not reported in its place.
func TestOnlySameFailure(t *testing.T) {
	res := Check(Config{Seed: 3, Checks: 100, Steps: 20, Shrink: time.Minute}, func(t *T) {
		n := 0
		t.Repeat(map[string]func(*T){"step": func(t *T) {
			n++
			if n == 2 {
				t.Fatalf("second step")
			}
		}})
		if n < 2 {
			t.Fatalf("fewer than two steps") // the first failure found may be this one, or not
		}
	})
	if !res.Failed {
		t.Fatal("no failure found")
	}
	if last := res.Log[len(res.Log)-1]; last != res.Message {
		t.Fatalf("shrunk run ended with %q, the failure found was %q", last, res.Message)
	}
}

// TestSkipAndPanic: Skip inside an action passes over it, outside it skips the run; a panic is
// a failure whose message says so.
func TestSkipAndPanic(t *testing.T) {
	res := Check(Config{Seed: 1, Checks: 20, Steps: 5}, func(t *T) {
		t.Repeat(map[string]func(*T){"skip": func(t *T) { t.Skip("not now") }})
	})
	if res.Failed || res.Runs != 20 || res.Skipped != 0 {
		t.Fatalf("actions that skip: %+v; want 20 passing runs", res)
	}
	res = Check(Config{Seed: 1, Checks: 20}, func(t *T) { t.Skip("never applies") })
	if res.Failed || res.Runs != 0 || res.Skipped != 20 {
		t.Fatalf("runs that skip: %+v; want 20 skipped", res)
	}
	res = Check(Config{Seed: 1, Checks: 20, Steps: 5, Shrink: time.Minute}, func(t *T) {
		var m map[string]int
		t.Repeat(map[string]func(*T){"boom": func(*T) { m["x"] = 1 }})
	})
	if !res.Failed || res.Message != "panic: assignment to entry in nil map" || res.Actions != 1 {
		t.Fatalf("a panicking action: %+v", res)
	}
	if last := res.Log[len(res.Log)-1]; !strings.Contains(last, "statemachine_test.go") {
		t.Fatalf("the report ends with %q, want the panic's stack", last)
	}
}

// TestAverageSteps: Repeat runs Config.Steps actions on average.
func TestAverageSteps(t *testing.T) {
	total, runs := 0, 400
	Check(Config{Seed: 9, Checks: runs, Steps: 20}, func(t *T) {
		t.Repeat(map[string]func(*T){"a": func(*T) {}, "b": func(*T) {}})
		total += len(t.steps)
	})
	if mean := float64(total) / float64(runs); mean < 15 || mean > 25 {
		t.Fatalf("mean %.1f actions per run, want about 20", mean)
	}
}

// TestNoShrinkTime: with no time to shrink, the run that failed first is reported as it was.
func TestNoShrinkTime(t *testing.T) {
	res := Check(Config{Seed: 1, Checks: 200, Steps: 30}, counterProp)
	if !res.Failed || res.Tries != 0 || res.Actions != res.Found {
		t.Fatalf("result %+v: want the failure unshrunk", res)
	}
}
