package backoff

import (
	"context"
	"testing"
	"time"
)

// TestDelay checks the exponential growth, the cap and the jitter of spec §9 [CLI-3].
func TestDelay(t *testing.T) {
	p := Policy{Initial: 100 * time.Millisecond, Max: time.Second, Multiplier: 2, Jitter: 0.5}
	tests := []struct {
		attempt int
		rnd     float64
		want    time.Duration
	}{
		{0, 0, 100 * time.Millisecond},
		{1, 0, 100 * time.Millisecond},
		{2, 0, 200 * time.Millisecond},
		{4, 0, 800 * time.Millisecond},
		{5, 0, time.Second},
		{50, 0, time.Second},
		{2, 0.5, 150 * time.Millisecond},
		{5, 0.999999, 500*time.Millisecond + 500*time.Nanosecond},
	}
	for _, tc := range tests {
		got := p.Delay(tc.attempt, func() float64 { return tc.rnd })
		if got != tc.want {
			t.Errorf("Delay(%d, %v) = %v, want %v", tc.attempt, tc.rnd, got, tc.want)
		}
	}
	if d := Default().Delay(1, nil); d <= 0 || d > 500*time.Millisecond {
		t.Errorf("default first delay %v", d)
	}
}

func TestGiveUp(t *testing.T) {
	if (Policy{}).GiveUp(1000) {
		t.Error("a policy without a limit gave up")
	}
	p := Policy{Attempts: 3}
	if p.GiveUp(3) || !p.GiveUp(4) {
		t.Error("limit of 3 attempts not applied")
	}
}

func TestSleepCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := Sleep(ctx, time.Hour); err != context.Canceled {
		t.Fatalf("Sleep on a cancelled context = %v", err)
	}
	if err := Sleep(context.Background(), 0); err != nil {
		t.Fatal(err)
	}
}
