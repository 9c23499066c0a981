// Package scenario holds the macro benchmarks, each run on the relay under test and on the
// baseline, the coalescing forwarder, on the same machine in the same run; relay, latency and
// idle also on the typical forwarder, and relay and latency on NATS over wss (README
// "Performance"):
//
//   - Relay: pairs of connections relaying fixed-size ciphertexts, pipelined: delivered
//     messages per second, relay CPU per message, latency;
//   - Latency: the same at a fixed rate, half of each system's measured maximum;
//   - Idle: many idle connections (authenticated, on the relay): memory per connection, with an
//     optional background relay load;
//   - Connect: new connections (and registrations) per second;
//   - Fanout: one sender, a group of members, deliveries per second;
//   - E2E: two reference clients chatting end to end: round trips and client CPU per message.
//
// Latencies are measured from the time a message was scheduled, not from when it was sent, so
// that a stalled sender cannot hide a stall (no coordinated omission).
package scenario

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/blindpost/blindpost/impl/bench/load"
	"github.com/blindpost/blindpost/impl/bench/target"
)

// Provider starts the systems a scenario compares: ours, the baseline (the coalescing
// forwarder), the typical forwarder and NATS. Each call starts a fresh one.
type Provider interface {
	Ours(ctx context.Context) (*target.System, error)
	Baseline(ctx context.Context) (*target.System, error)
	Typical(ctx context.Context) (*target.System, error)
	NATS(ctx context.Context) (*target.System, error)
}

// Common are the settings every scenario shares.
type Common struct {
	Duration time.Duration // the measured window
	Warmup   time.Duration // before it
	Sources  []netip.Addr  // local addresses for load.Dialer; nil lets the system choose
	Prefix   string        // of the usernames this run registers
	Progress io.Writer     // progress lines; nil: none
	Dial     int           // connections opened at once; 0 means 64
	// ProfileDir, when set, receives a CPU profile of the relay under test over each measured
	// window, fetched from its pprof listener (the reference relay's metrics listener).
	ProfileDir string
}

// profile fetches a CPU profile of sys over the next d into ProfileDir/NAME.cpu.pprof, in the
// background; the returned function waits for it. It does nothing without ProfileDir or a
// pprof listener.
func (c Common) profile(ctx context.Context, sys *target.System, name string, d time.Duration) func() {
	if c.ProfileDir == "" || sys.Metrics == "" {
		return func() {}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		secs := max(1, int(d.Seconds()))
		url := fmt.Sprintf("%s/debug/pprof/profile?seconds=%d", sys.Metrics, secs)
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			c.progressf("profile %s: %v", name, err)
			return
		}
		defer resp.Body.Close()
		path := filepath.Join(c.ProfileDir, name+".cpu.pprof")
		f, err := os.Create(path)
		if err != nil {
			c.progressf("profile %s: %v", name, err)
			return
		}
		defer f.Close()
		if _, err := io.Copy(f, resp.Body); err == nil {
			c.progressf("profile of %s written to %s", name, path)
		}
	}()
	return func() { <-done }
}

func (c Common) dialer(sys *target.System) *load.Dialer {
	return &load.Dialer{URL: sys.URL, Trust: sys.Trust, Sources: c.Sources}
}

// Progressf writes a progress line, when progress is wanted.
func (c Common) Progressf(format string, args ...any) { c.progressf(format, args...) }

func (c Common) progressf(format string, args ...any) {
	if c.Progress != nil {
		fmt.Fprintf(c.Progress, format+"\n", args...)
	}
}

func (c Common) parallel() int {
	if c.Dial <= 0 {
		return 64
	}
	return c.Dial
}

// clock is the scenario's time base: nanoseconds since it was made, from the monotonic clock.
type clock struct{ base time.Time }

func newClock() clock { return clock{base: time.Now()} }

func (c clock) now() int64 { return int64(time.Since(c.base)) }

// window is the measured interval, in clock nanoseconds: open while start ≤ t < end.
type window struct {
	start atomic.Int64 // 0: not started
	end   atomic.Int64 // 0: not ended
}

func (w *window) contains(t int64) bool {
	s := w.start.Load()
	if s == 0 || t < s {
		return false
	}
	e := w.end.Load()
	return e == 0 || t < e
}

// gate holds senders while another system is measured. Its zero value is open, at generation
// 1; every reopening starts a new generation.
type gate struct {
	mu     sync.Mutex
	closed chan struct{} // non-nil while closed; closed (the channel) when the gate opens
	gen    uint64        // reopenings
}

// wait returns once the gate is open, with its generation; false when ctx is done.
func (g *gate) wait(ctx context.Context) (uint64, bool) {
	for ctx.Err() == nil {
		g.mu.Lock()
		ch, gen := g.closed, g.gen+1
		g.mu.Unlock()
		if ch == nil {
			return gen, true
		}
		select {
		case <-ch:
		case <-ctx.Done():
		}
	}
	return 0, false
}

// shut closes the gate: senders stop before their next message.
func (g *gate) shut() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed == nil {
		g.closed = make(chan struct{})
	}
}

// open opens the gate.
func (g *gate) open() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed != nil {
		close(g.closed)
		g.closed = nil
		g.gen++
	}
}

// forEach runs f(i) for i in [0, n) on at most par goroutines and returns the first error.
// It stops starting new calls once one failed or ctx is done.
func forEach(ctx context.Context, n, par int, f func(ctx context.Context, i int) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		next  atomic.Int64
		once  sync.Once
		first error
		wg    sync.WaitGroup
	)
	for range min(par, n) {
		wg.Go(func() {
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if err := f(ctx, i); err != nil {
					once.Do(func() { first = err; cancel() })
					return
				}
			}
		})
	}
	wg.Wait()
	if first == nil && ctx.Err() != nil {
		return context.Cause(ctx)
	}
	return first
}

// errorLog counts errors and keeps the first one for the report.
type errorLog struct {
	n     atomic.Uint64
	mu    sync.Mutex
	first string
}

func (e *errorLog) add(format string, args ...any) {
	if e.n.Add(1) == 1 {
		e.mu.Lock()
		e.first = fmt.Sprintf(format, args...)
		e.mu.Unlock()
	}
}

func (e *errorLog) get() (uint64, string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.n.Load(), e.first
}

// sleepUntil waits until clock time t or ctx is done, and reports whether ctx is still live.
func sleepUntil(ctx context.Context, c clock, t int64) bool {
	d := time.Duration(t - c.now())
	if d <= 0 {
		return ctx.Err() == nil
	}
	return sleepFor(ctx, d)
}

// sleepFor waits d or until ctx is done, and reports whether ctx is still live.
func sleepFor(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// closeAll closes every connection, in parallel.
func closeAll[C interface {
	comparable
	Close() error
}](conns []C) {
	var zero C
	var wg sync.WaitGroup
	const par = 32
	for p := range par {
		wg.Go(func() {
			for i := p; i < len(conns); i += par {
				if conns[i] != zero {
					_ = conns[i].Close()
				}
			}
		})
	}
	wg.Wait()
}

// ticker calls f every second until ctx is done; the returned function stops it and waits.
func ticker(ctx context.Context, f func(elapsed time.Duration)) func() {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	start := time.Now()
	go func() {
		defer close(done)
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				f(time.Since(start))
			}
		}
	}()
	return func() { cancel(); <-done }
}

// rate returns n per second over d.
func rate(n uint64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}
