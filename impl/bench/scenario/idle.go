package scenario

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/blindpost/blindpost/impl/bench"
	"github.com/blindpost/blindpost/impl/bench/hist"
	"github.com/blindpost/blindpost/impl/bench/load"
	"github.com/blindpost/blindpost/impl/bench/sysstat"
	"github.com/blindpost/blindpost/impl/bench/target"
	"github.com/blindpost/blindpost/impl/wire"
)

// IdleOptions configure the idle scenario: Conns connections opened and held (registered, on a
// Blindpost relay; upgraded and silent, on the forwarder), optionally next to a background
// relay load, for Duration after they are all open.
type IdleOptions struct {
	Common
	Conns           int
	BackgroundPairs int     // pairs relaying once the connections are open, through the hold; 0: none
	BackgroundRate  float64 // their messages per second in all; 0 means 100 per pair
	Size            int     // ciphertext bytes of the background messages; 0 means 200
	Settle          time.Duration
}

// IdleResult is one system's idle run.
type IdleResult struct {
	System       string            `json:"system"`
	Conns        int               `json:"conns"`
	OpenSeconds  float64           `json:"open_s"`
	OpenRate     float64           `json:"opened_per_s"`
	RSSBase      int64             `json:"server_rss_before_bytes"`
	RSSHeld      int64             `json:"server_rss_held_bytes"`
	RSSMean      int64             `json:"server_rss_mean_bytes"` // over the hold: the numerator of RSSPerConn
	RSSPeak      int64             `json:"server_rss_peak_bytes"`
	RSSPerConn   float64           `json:"server_rss_per_conn_bytes"` // NaN: not measurable
	HoldCPU      float64           `json:"server_cpu_s_while_held"`   // NaN: not measurable
	QuietSeconds float64           `json:"quiet_s"`                   // the wait for the relay to quiet down after the opening (awaitQuiet)
	HoldSeconds  float64           `json:"held_s"`
	Threads      int               `json:"server_threads"`
	LoadRSS      int64             `json:"load_generator_rss_bytes"`
	Errors       uint64            `json:"errors"`
	FirstError   string            `json:"first_error,omitempty"`
	Retried      int64             `json:"registrations_retried"` // tries after a registration answered internal
	Background   *BackgroundResult `json:"background,omitempty"`
}

// MarshalJSON writes the figures that could not be measured (NaN) as null: JSON has no NaN.
func (r IdleResult) MarshalJSON() ([]byte, error) {
	type plain IdleResult
	return json.Marshal(struct {
		plain
		RSSPerConn *float64 `json:"server_rss_per_conn_bytes"`
		HoldCPU    *float64 `json:"server_cpu_s_while_held"`
	}{plain(r), finiteOrNil(r.RSSPerConn), finiteOrNil(r.HoldCPU)})
}

// finiteOrNil returns &v, or nil for NaN and infinities.
func finiteOrNil(v float64) *float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return &v
}

// BackgroundResult is the relay load that ran while the connections were held.
type BackgroundResult struct {
	Pairs      int          `json:"pairs"`
	Rate       float64      `json:"offered_rate"`
	Delivered  uint64       `json:"delivered"`
	Throughput float64      `json:"msgs_per_s"`
	Latency    hist.Summary `json:"latency"`
	Errors     uint64       `json:"errors"`
	FirstError string       `json:"first_error,omitempty"`
}

// RunIdleOn runs the idle scenario on one system.
func RunIdleOn(ctx context.Context, o IdleOptions, sys *target.System) (IdleResult, error) {
	res := IdleResult{System: sys.Name, RSSPerConn: math.NaN(), HoldCPU: math.NaN()}
	if o.Settle <= 0 {
		o.Settle = 2 * time.Second
	}
	label := "idle-" + sys.Name
	if !sleepFor(ctx, 500*time.Millisecond) { // the relay's start-up garbage settles
		return res, ctx.Err()
	}
	base, baseErr := sys.Sample()
	res.RSSBase = base.RSS

	var bg *pairs // the background pairs, once the connections are open

	h := &holder{sys: sys, conns: make([]*load.Conn, o.Conns)}
	d := o.dialer(sys)
	start := time.Now()
	var opened sync.WaitGroup
	stopTicker := func() {}
	if o.Progress != nil {
		stopTicker = ticker(ctx, func(elapsed time.Duration) {
			s, _ := sys.Sample()
			o.progressf("  %s %4.0fs: %d of %d open, relay RSS %.0f MiB", label, elapsed.Seconds(), h.open.Load(), o.Conns, float64(s.RSS)/(1<<20))
		})
	}
	err := forEach(ctx, o.Conns, o.parallel(), func(ctx context.Context, i int) error {
		c, err := h.dial(ctx, d, fmt.Sprintf("%si%d", o.Prefix, i))
		if err != nil {
			return fmt.Errorf("connection %d of %d: %w", i+1, o.Conns, err)
		}
		h.conns[i] = c
		h.open.Add(1)
		opened.Go(func() { h.read(c) })
		return nil
	})
	stopTicker()
	res.OpenSeconds = time.Since(start).Seconds()
	res.Conns = int(h.open.Load())
	res.OpenRate = float64(res.Conns) / res.OpenSeconds
	finish := func() {
		// The background stops first: it is measured while the connections are held, not
		// while they close.
		if bg != nil {
			bg.endBackground(res.Background)
		}
		h.stopping.Store(true)
		closeAll(h.conns)
		opened.Wait()
		res.Errors, res.FirstError = h.errs.get()
		res.Retried = h.retried.Load()
	}
	if err != nil {
		finish()
		return res, err
	}
	o.progressf("%s: %d connections open in %.1fs (%s per second)", label, res.Conns, res.OpenSeconds, bench.Format(res.OpenRate))
	res.QuietSeconds = awaitQuiet(ctx, o.Common, label, []*target.System{sys}).Seconds()
	// The background pairs relay beside the held connections: they open once those are open
	// (connections opened first and left unread through a long opening would miss the relay's
	// pings).
	if o.BackgroundPairs > 0 {
		p, err := openPairs(ctx, o.Common, sys, o.BackgroundPairs, cmp.Or(o.Size, 200), 0, "bg")
		if err != nil {
			finish()
			return res, err
		}
		bg, res.Background = p, p.startBackground(ctx, o.BackgroundRate)
	}
	if !sleepFor(ctx, o.Settle) {
		finish()
		return res, ctx.Err()
	}
	held0, heldErr := sys.Sample()
	var bg0 uint64
	if bg != nil {
		bg0, _ = bg.counts()
	}
	t0 := time.Now()
	defer o.profile(ctx, sys, label, o.Duration)()
	// The relay's memory moves with its garbage collector: it is sampled four times a second
	// while the connections are held, and the mean is the figure (the last sample and the
	// peak are kept too).
	var rssSum, rssN int64
	for end := t0.Add(o.Duration); time.Now().Before(end); {
		if !sleepFor(ctx, min(250*time.Millisecond, time.Until(end))) {
			finish()
			return res, ctx.Err()
		}
		if s, err := sys.Sample(); err == nil {
			rssSum, rssN = rssSum+s.RSS, rssN+1
		}
	}
	held1, heldErr1 := sys.Sample()
	res.HoldSeconds = time.Since(t0).Seconds()
	if bg != nil {
		bg1, _ := bg.counts()
		res.Background.Throughput = rate(bg1-bg0, time.Since(t0))
	}
	if self, err := sysstat.Read(os.Getpid()); err == nil {
		res.LoadRSS = self.RSS
	}
	finish()
	if baseErr == nil && heldErr == nil && heldErr1 == nil && rssN > 0 {
		res.RSSHeld, res.RSSPeak, res.Threads = held1.RSS, held1.HWM, held1.Thread
		res.RSSMean = rssSum / rssN
		res.RSSPerConn = float64(res.RSSMean-base.RSS) / float64(max(res.Conns, 1))
		res.HoldCPU = held1.Sub(held0).CPU.Seconds()
	}
	bgText := ""
	if res.Background != nil {
		bgText = fmt.Sprintf(", background %s msg/s %s, %d errors", bench.Format(res.Background.Throughput), res.Background.Latency, res.Background.Errors)
	}
	o.progressf("%s: %d held, relay RSS %.0f MiB on average (%.1f KiB per connection), %d errors%s", label, res.Conns,
		float64(res.RSSMean)/(1<<20), res.RSSPerConn/1024, res.Errors, bgText)
	return res, nil
}

// holder holds idle connections, reading them so that pings are answered (spec §4.2 [WS-8]).
type holder struct {
	sys      *target.System
	conns    []*load.Conn
	open     atomic.Int64
	errs     errorLog
	stopping atomic.Bool
	gone     sync.Map     // *load.Conn → struct{}: the connections that ended unasked
	retried  atomic.Int64 // registrations answered internal and tried again (dial)
	// retryPause is the unit of the pauses between tries of a registration (dial); 0 means
	// a second.
	retryPause time.Duration
}

// ended reports whether c ended before the holder stopped.
func (h *holder) ended(c *load.Conn) bool {
	_, ok := h.gone.Load(c)
	return ok
}

// maxRegisterTries bounds the tries of one registration that the relay answers internal.
const maxRegisterTries = 5

// dial opens a connection with d and, on a Blindpost relay, registers user on it. A
// registration the relay answers internal ("the request may be retried", spec §5.7) is tried
// again on a new connection after a pause, as a client does, at most maxRegisterTries times in
// all; the tries after the first are counted (retried), so that the report shows them.
func (h *holder) dial(ctx context.Context, d *load.Dialer, user string) (*load.Conn, error) {
	var id *load.Identity
	if h.sys.Kind == target.Blindpost {
		// The key is derived from the name (load.NewIdentity), so a binding the relay made
		// but could not confirm is the user's own on the next try, which then succeeds.
		k, err := load.NewIdentity(user)
		if err != nil {
			return nil, fmt.Errorf("scenario: register %s: %w", user, err)
		}
		id = &k
	}
	for try := 1; ; try++ {
		c, err := h.dialOnce(ctx, d, id)
		if err == nil || try == maxRegisterTries || !load.IsServerError(err, string(wire.ErrorCodeInternal)) {
			return c, err
		}
		h.retried.Add(1)
		// A relay that answers internal is overloaded or cannot reach its store: the pause
		// grows with the tries and is spread, so that the clients refused together do not
		// come back together.
		unit := cmp.Or(h.retryPause, time.Second)
		if !sleepFor(ctx, time.Duration(try)*unit+rand.N(unit)) {
			return nil, err
		}
	}
}

// dialOnce is one try of dial: it registers id when there is one.
func (h *holder) dialOnce(ctx context.Context, d *load.Dialer, id *load.Identity) (*load.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	c, err := d.Dial(ctx, "")
	if err != nil || id == nil {
		return c, err
	}
	if err := load.Register(ctx, c, *id); err != nil {
		c.Close()
		return nil, fmt.Errorf("scenario: register %s: %w", id.User, err)
	}
	return c, nil
}

// read reads c until it ends; anything but the end this side caused is an error.
func (h *holder) read(c *load.Conn) {
	for {
		if _, err := c.Read(); err != nil {
			if !h.stopping.Load() {
				h.gone.Store(c, struct{}{})
				h.errs.add("an idle connection ended: %v", err)
			}
			return
		}
	}
}

// IdleComparison is the idle scenario on ours, the baseline and the typical forwarder.
type IdleComparison struct {
	Ours     IdleResult  `json:"ours"`
	Baseline IdleResult  `json:"baseline"` // the coalescing forwarder
	Typical  *IdleResult `json:"typical,omitempty"`
}

// RunIdle runs the idle scenario on ours, then on the baseline, then on the typical forwarder.
func RunIdle(ctx context.Context, o IdleOptions, prov Provider) (IdleComparison, error) {
	rs, err := runAll(ctx, []starter{prov.Ours, prov.Baseline, prov.Typical}, func(sys *target.System) (IdleResult, error) { return RunIdleOn(ctx, o, sys) })
	var out IdleComparison
	for i, r := range rs {
		switch i {
		case 0:
			out.Ours = r
		case 1:
			out.Baseline = r
		case 2:
			out.Typical = &r
		}
	}
	return out, err
}

// Figures are the idle rows, with the goal against the baseline of README "Performance": RSS
// per idle authenticated connection ≤ 0.5×.
func (r IdleComparison) Figures() []bench.Figure {
	row := func(name, unit string, v func(IdleResult) float64, goal *bench.Goal) bench.Figure {
		f := bench.NewFigure("idle", name, unit, v(r.Ours), v(r.Baseline), goal)
		if r.Typical != nil {
			f = f.With(target.Typical, v(*r.Typical))
		}
		return f
	}
	name := fmt.Sprintf("RSS per idle connection (%d held)", r.Ours.Conns)
	figs := []bench.Figure{
		row(name, "KiB", func(x IdleResult) float64 { return x.RSSPerConn / 1024 }, bench.GoalAtMost(0.5)),
		row("server RSS holding them (mean)", "MiB", func(x IdleResult) float64 { return float64(x.RSSMean) / (1 << 20) }, nil),
		row("server CPU while held", "CPU-s", func(x IdleResult) float64 { return x.HoldCPU }, nil),
	}
	if o, b := r.Ours.Background, r.Baseline.Background; o != nil && b != nil {
		figs = append(figs,
			bench.NewFigure("idle", "background relay p99 meanwhile", "µs", float64(o.Latency.P99)/1e3, float64(b.Latency.P99)/1e3, nil),
			bench.NewFigure("idle", "background relay errors", "", float64(o.Errors), float64(b.Errors), bench.AbsoluteAtMost(0)))
	}
	return figs
}

// startBackground starts pairs p as a background load of rate messages a second in all (0: 100
// per pair), every message timed, and returns the result that endBackground fills.
func (p *pairs) startBackground(ctx context.Context, rate float64) *BackgroundResult {
	rate = cmp.Or(rate, 100*float64(len(p.conns)/2))
	p.win.start.Store(1)
	p.start(ctx, rate)
	return &BackgroundResult{Pairs: len(p.conns) / 2, Rate: rate}
}

// endBackground stops the background pairs and records in r what they delivered, their
// latency and their errors.
func (p *pairs) endBackground(r *BackgroundResult) {
	p.stop(2 * time.Second)
	r.Delivered, _ = p.counts()
	r.Latency = p.histogram().Summary()
	r.Errors, r.FirstError = p.errs.get()
}
