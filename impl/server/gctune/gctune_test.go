package gctune

import (
	"context"
	"testing"
	"time"
)

func TestPercentFor(t *testing.T) {
	tu := Tuner{Percent: 70, Floor: 16 << 20}
	for _, tc := range []struct {
		name string
		live uint64
		want int
	}{
		{"before the first collection", 0, 70},
		{"tiny heap: capped", 1 << 10, 10_000},
		{"small heap: the floor", 4 << 20, 400},
		{"where they meet", 16 << 20 * 100 / 70, 70},
		{"large heap: the percentage", 1 << 30, 70},
	} {
		if got := tu.PercentFor(tc.live); got != tc.want {
			t.Errorf("%s: PercentFor(%d) = %d, want %d", tc.name, tc.live, got, tc.want)
		}
	}
}

// TestRun feeds Run a live heap that shrinks and grows and checks what it sets: the percentage
// at once, a new one only when it moves by a tenth or more, and the one it found at the end.
func TestRun(t *testing.T) {
	const found = 123
	lives := make(chan uint64)
	sets := make(chan int, 16)
	tu := Tuner{Percent: 70, Floor: 16 << 20, Every: time.Millisecond,
		setPercent: func(p int) int { sets <- p; return found },
		readLive:   func() uint64 { return <-lives }}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { tu.Run(ctx); close(done) }()
	expect := func(want int) {
		t.Helper()
		select {
		case got := <-sets:
			if got != want {
				t.Fatalf("set %d, want %d", got, want)
			}
		case <-t.Context().Done():
			t.Fatalf("nothing set, want %d", want)
		}
	}
	lives <- 1 << 30 // large: the percentage
	expect(70)
	lives <- 8 << 20 // small: the floor, 16 MiB of 8 MiB
	expect(200)
	lives <- 8<<20 + 1<<19 // 188 %: within a tenth of 200, left alone
	lives <- 1 << 30       // large again
	expect(70)
	cancel()
	select { // Run may be waiting for one more reading
	case lives <- 1 << 30:
	case <-done:
	}
	<-done
	expect(found)
	if len(sets) != 0 {
		t.Errorf("set %d more times", len(sets))
	}
}
