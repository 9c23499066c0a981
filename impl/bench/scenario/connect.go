package scenario

import (
	"context"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/blindpost/blindpost/impl/bench"
	"github.com/blindpost/blindpost/impl/bench/hist"
	"github.com/blindpost/blindpost/impl/bench/load"
	"github.com/blindpost/blindpost/impl/bench/target"
)

// ConnectOptions configure the connect scenario: Workers loops, each opening a connection (TCP,
// TLS 1.3, WebSocket upgrade; then hello and register on a Blindpost relay), closing it, and
// starting again. Each worker registers one user again and again, as a client reconnecting
// does: after its first registration the binding exists (spec §5.2 REG-5), so the relay
// verifies the proof and finds the binding unchanged.
type ConnectOptions struct {
	Common
	Workers int // 0 means 8
}

// ConnectResult is one system's connect run.
type ConnectResult struct {
	System            string       `json:"system"`
	Workers           int          `json:"workers"`
	Seconds           float64      `json:"seconds"`
	Connects          uint64       `json:"connects"`
	Rate              float64      `json:"connects_per_s"`
	ServerCPU         float64      `json:"server_cpu_s"`              // NaN: not measurable
	CPUPerConnect     float64      `json:"server_cpu_ms_per_connect"` // NaN: not measurable
	Latency           hist.Summary `json:"latency"`                   // one connect (and registration)
	LoadCPUPerConnect float64      `json:"load_cpu_ms_per_connect"`   // the load generator\'s
	Errors            uint64       `json:"errors"`
	FirstError        string       `json:"first_error,omitempty"`
}

// connectLoad is the workers of one system, started paused.
type connectLoad struct {
	sys     *target.System
	workers int
	clk     clock
	win     window
	gate    gate
	count   atomic.Uint64
	errs    errorLog
	hists   []*hist.Histogram
	cancel  context.CancelFunc
	wg      sync.WaitGroup
}

func startConnects(ctx context.Context, o ConnectOptions, sys *target.System) *connectLoad {
	workers := o.Workers
	if workers <= 0 {
		workers = 8
	}
	l := &connectLoad{sys: sys, workers: workers, clk: newClock(), hists: make([]*hist.Histogram, workers)}
	l.gate.shut()
	ctx, l.cancel = context.WithCancel(ctx)
	d := o.dialer(sys)
	for w := range workers {
		l.hists[w] = hist.New()
		l.wg.Go(func() {
			var id load.Identity
			if sys.Kind == target.Blindpost {
				var err error
				if id, err = load.NewIdentity(fmt.Sprintf("%sc%d", o.Prefix, w)); err != nil {
					l.errs.add("%v", err)
					return
				}
			}
			for {
				if _, ok := l.gate.wait(ctx); !ok || ctx.Err() != nil {
					return
				}
				start := l.clk.now()
				if err := connectOnce(ctx, d, sys, id); err != nil {
					if ctx.Err() == nil {
						l.errs.add("%v", err)
						sleepFor(ctx, 10*time.Millisecond) // do not spin on a refusing relay
					}
					continue
				}
				if l.win.contains(start) {
					l.hists[w].Record(l.clk.now() - start)
				}
				l.count.Add(1)
			}
		})
	}
	return l
}

func (l *connectLoad) stop() {
	l.cancel()
	l.gate.open()
	l.wg.Wait()
}

// RunConnect runs the connect scenario on ours and the baseline in alternating slices (ab.go).
func RunConnect(ctx context.Context, o ConnectOptions, prov Provider) (ConnectComparison, error) {
	var out ConnectComparison
	var sys [2]*target.System
	var loads [2]*connectLoad
	defer func() {
		for i := range loads {
			if loads[i] != nil {
				loads[i].stop()
			}
			if sys[i] != nil {
				sys[i].Close()
			}
		}
	}()
	for i, start := range []func(context.Context) (*target.System, error){prov.Ours, prov.Baseline} {
		var err error
		if sys[i], err = start(ctx); err != nil {
			return out, err
		}
		loads[i] = startConnects(ctx, o, sys[i])
	}
	var sides [2]*abSide
	for i, l := range loads {
		sides[i] = &abSide{sys: sys[i], resume: l.gate.open, pause: l.gate.shut, count: l.count.Load,
			open:  func() { l.win.end.Store(0); l.win.start.Store(l.clk.now()) },
			close: func() { l.win.end.Store(l.clk.now()) }}
	}
	rounds, slice := abRounds(o.Duration)
	settle := max(o.Warmup/time.Duration(rounds), 200*time.Millisecond)
	tot, err := alternate(ctx, o.Common, "connect", sides[:], rounds, slice, settle)
	if err != nil {
		return out, err
	}
	res := [2]*ConnectResult{&out.Ours, &out.Baseline}
	for i, l := range loads {
		l.stop()
		loads[i] = nil
		r := ConnectResult{System: sys[i].Name, Workers: l.workers, Seconds: tot[i].Seconds, Connects: tot[i].Count,
			ServerCPU: tot[i].CPU, CPUPerConnect: math.NaN(), LoadCPUPerConnect: tot[i].LoadCPU / float64(max(tot[i].Count, 1)) * 1e3}
		r.Rate = float64(r.Connects) / r.Seconds
		if r.Connects > 0 && !math.IsNaN(r.ServerCPU) {
			r.CPUPerConnect = r.ServerCPU / float64(r.Connects) * 1e3
		}
		h := hist.New()
		for _, wh := range l.hists {
			h.Merge(wh)
		}
		r.Latency = h.Summary()
		r.Errors, r.FirstError = l.errs.get()
		o.progressf("connect %s: %s connects/s (%s), server CPU %s ms per connect, load generator %s ms, errors %d", r.System,
			bench.Format(r.Rate), r.Latency, bench.Format(r.CPUPerConnect), bench.Format(r.LoadCPUPerConnect), r.Errors)
		*res[i] = r
	}
	return out, nil
}

// connectOnce opens one connection, registers on a Blindpost relay, and closes it.
func connectOnce(ctx context.Context, d *load.Dialer, sys *target.System, id load.Identity) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	c, err := d.Dial(ctx, "")
	if err != nil {
		return err
	}
	defer c.Close()
	if sys.Kind == target.Blindpost {
		if err := load.Register(ctx, c, id); err != nil {
			return fmt.Errorf("scenario: register %s: %w", id.User, err)
		}
	}
	return nil
}

// ConnectComparison is the connect scenario on both systems.
type ConnectComparison struct {
	Ours     ConnectResult `json:"ours"`
	Baseline ConnectResult `json:"baseline"`
}

// Figures are the connect rows (README "Performance" goal: connect+register ≥ 0.8× the forwarder's
// TLS+upgrade rate).
func (r ConnectComparison) Figures() []bench.Figure {
	return []bench.Figure{
		bench.NewFigure("connect", "connects (+register on ours) per second", "/s", r.Ours.Rate, r.Baseline.Rate, bench.GoalAtLeast(0.8)),
		bench.NewFigure("connect", "server CPU per connect", "ms", r.Ours.CPUPerConnect, r.Baseline.CPUPerConnect, nil),
	}
}
