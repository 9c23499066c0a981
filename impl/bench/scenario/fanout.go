package scenario

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/blindpost/blindpost/impl/bench"
	"github.com/blindpost/blindpost/impl/bench/hist"
	"github.com/blindpost/blindpost/impl/bench/load"
	"github.com/blindpost/blindpost/impl/bench/target"
	"github.com/blindpost/blindpost/impl/e2ee/group"
	"github.com/blindpost/blindpost/impl/e2ee/trust"
	"github.com/blindpost/blindpost/impl/e2ee/wireconv"
	"github.com/blindpost/blindpost/impl/wire"
)

// FanoutOptions configure the fanout scenario: Members connections in one group, one of them
// sending group messages, pipelined, that every other member receives. On a Blindpost relay the
// members join (spec §5.9) and the sender commits a real epoch for all of them with
// impl/e2ee/group (HPKE wraps, signature, confirmation tag: spec §7.1) before it seals and
// signs every message (§7.2); on the forwarder the same messages go through a ?group= group.
type FanoutOptions struct {
	Common
	Members int // including the sender; 0 means 100
	Size    int // plaintext text bytes per message; 0 means 200
	Window  int // messages the slowest member has yet to receive; 0 means 16
}

// FanoutResult is one system's fanout run.
type FanoutResult struct {
	System        string       `json:"system"`
	Members       int          `json:"members"`
	Seconds       float64      `json:"seconds"`
	Sent          uint64       `json:"sent"`
	Deliveries    uint64       `json:"deliveries"`
	Rate          float64      `json:"deliveries_per_s"`
	ServerCPU     float64      `json:"server_cpu_s"`                   // NaN: not measurable
	CPUPerMillion float64      `json:"server_cpu_s_per_1m_deliveries"` // NaN: not measurable
	Latency       hist.Summary `json:"latency"`                        // send to each delivery
	Errors        uint64       `json:"errors"`
	FirstError    string       `json:"first_error,omitempty"`
}

// fanout is one run's state.
type fanout struct {
	sys       *target.System
	conns     []*load.Conn
	acks      []chan struct{}   // per member: acks of its requests, Blindpost only
	received  []atomic.Uint64   // per member: group messages received
	hists     []*hist.Histogram // per member, its reader's
	sched     []atomic.Int64    // send time of message n, at n % len
	progress  chan struct{}     // a receiver advanced
	clk       clock
	win       window
	setupAcks uint64 // the sender's acks before its first message
	errs      errorLog
	ackCount  atomic.Uint64 // acks the sender received
	stopping  atomic.Bool
	readers   sync.WaitGroup
}

// acked returns how many of the sender's group messages were acknowledged; the acks of its
// join and commit came before and are not counted (they were awaited one by one).
func (f *fanout) acked() uint64 { return f.ackCount.Load() - f.setupAcks }

// RunFanoutOn runs the fanout scenario on one system.
func RunFanoutOn(ctx context.Context, o FanoutOptions, sys *target.System) (FanoutResult, error) {
	if o.Members <= 1 {
		o.Members = 100
	}
	if o.Size <= 0 {
		o.Size = 200
	}
	if o.Window <= 0 {
		o.Window = 16
	}
	res := FanoutResult{System: sys.Name, Members: o.Members, ServerCPU: math.NaN(), CPUPerMillion: math.NaN()}
	label := "fanout-" + sys.Name
	groupName := o.Prefix + "fan"
	f := &fanout{sys: sys, conns: make([]*load.Conn, o.Members), acks: make([]chan struct{}, o.Members),
		received: make([]atomic.Uint64, o.Members), hists: make([]*hist.Histogram, o.Members),
		sched: make([]atomic.Int64, 4*o.Window), progress: make(chan struct{}, 1), clk: newClock()}
	ids := make([]load.Identity, o.Members)
	d := o.dialer(sys)
	err := forEach(ctx, o.Members, o.parallel(), func(ctx context.Context, i int) error {
		ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		var err error
		if ids[i], err = load.NewIdentity(fmt.Sprintf("%sf%03d", o.Prefix, i)); err != nil {
			return err
		}
		query := ""
		if sys.Kind == target.Forwarder {
			query = "group=" + groupName
		}
		c, err := d.Dial(ctx, query)
		if err != nil {
			return err
		}
		f.conns[i] = c
		if sys.Kind == target.Blindpost {
			if err := load.Register(ctx, c, ids[i]); err != nil {
				return fmt.Errorf("scenario: register %s: %w", ids[i].User, err)
			}
		}
		return nil
	})
	defer f.close()
	if err != nil {
		return res, err
	}
	if sys.Kind == target.Forwarder {
		// Every member must be in the forwarder's group before the first message.
		for i := 1; i < o.Members; i++ {
			if err := linked(ctx, f.conns[0], f.conns[i]); err != nil {
				return res, err
			}
		}
	}
	for i, c := range f.conns {
		f.acks[i] = make(chan struct{}, 2*o.Window+4)
		f.hists[i] = hist.New()
		f.readers.Go(func() { f.read(i, c) })
	}
	sender, err := f.keyGroup(ctx, groupName, ids)
	if err != nil {
		return res, err
	}
	o.progressf("%s: %d members keyed in", label, o.Members)
	f.setupAcks = f.ackCount.Load()

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var sent atomic.Uint64
	senderDone := make(chan struct{})
	go func() {
		defer close(senderDone)
		if err := f.send(ctx, sender, groupName, o.Size, o.Window, &sent); err != nil && ctx.Err() == nil {
			f.errs.add("sender: %v", err)
		}
	}()
	stopTicker := func() {}
	if o.Progress != nil {
		var last uint64
		stopTicker = ticker(ctx, func(elapsed time.Duration) {
			n := f.deliveries()
			o.progressf("  %s %4.0fs: %s deliveries/s", label, elapsed.Seconds(), bench.Format(float64(n-last)))
			last = n
		})
	}
	defer stopTicker()
	if !sleepFor(ctx, o.Warmup) {
		return res, ctx.Err()
	}
	f.win.start.Store(f.clk.now())
	// Sent before deliveries here and after them at the end: a member cannot be more than the
	// window behind a count read earlier, nor ahead of one read later, so the window's
	// deliveries stay within (members-1) × (sent + window).
	n0 := sent.Load()
	d0, t0 := f.deliveries(), time.Now()
	s0, serr := sys.Sample()
	waitProfile := o.profile(ctx, sys, label, o.Duration)
	ok := sleepFor(ctx, o.Duration)
	s1, serr1 := sys.Sample()
	d1, n1, elapsed := f.deliveries(), sent.Load(), time.Since(t0)
	f.win.end.Store(f.clk.now())
	cancel()
	<-senderDone
	waitProfile()
	if !ok {
		return res, errors.New("scenario: interrupted")
	}
	res.Seconds, res.Sent, res.Deliveries = elapsed.Seconds(), n1-n0, d1-d0
	res.Rate = rate(res.Deliveries, elapsed)
	if serr == nil && serr1 == nil {
		res.ServerCPU = s1.Sub(s0).CPU.Seconds()
		if res.Deliveries > 0 {
			res.CPUPerMillion = res.ServerCPU / float64(res.Deliveries) * 1e6
		}
	}
	f.close()
	h := hist.New()
	for _, fh := range f.hists {
		h.Merge(fh)
	}
	res.Latency = h.Summary()
	res.Errors, res.FirstError = f.errs.get()
	o.progressf("%s: %s deliveries/s to %d members (%s), server CPU %s s per million deliveries, errors %d", label,
		bench.Format(res.Rate), o.Members-1, res.Latency, bench.Format(res.CPUPerMillion), res.Errors)
	return res, nil
}

// keyGroup makes every member join (on a Blindpost relay) and returns the sender's group
// state, keyed for the first epoch: the sender, member 0, commits it for every member.
func (f *fanout) keyGroup(ctx context.Context, name string, ids []load.Identity) (*group.State, error) {
	if f.sys.Kind == target.Blindpost {
		for i, c := range f.conns {
			if err := f.request(ctx, i, c, &wire.GroupJoin{Group: name}); err != nil {
				return nil, fmt.Errorf("scenario: %s joins: %w", ids[i].User, err)
			}
		}
	}
	st, err := group.Join(group.Config{Group: name, Self: ids[0].User, Identity: ids[0].Key, Pins: trust.NewMemory()}, 0, nil)
	if err != nil {
		return nil, fmt.Errorf("scenario: %w", err)
	}
	members := make([]group.Member, len(ids))
	for i, id := range ids {
		members[i] = group.Member{User: id.User, IdentityKey: id.Key.Public(), GroupKey: id.Key.GroupPublic(), GroupKeySig: id.GroupKeySig}
	}
	pending, err := st.CreateCommit(members)
	if err != nil {
		return nil, fmt.Errorf("scenario: commit: %w", err)
	}
	if f.sys.Kind == target.Blindpost {
		if err := f.request(ctx, 0, f.conns[0], &wire.GroupCommit{Commit: wireconv.ToCommit(&pending.Commit)}); err != nil {
			return nil, fmt.Errorf("scenario: the commit: %w", err)
		}
	}
	if _, err := st.Apply(pending); err != nil {
		return nil, fmt.Errorf("scenario: %w", err)
	}
	return st, nil
}

// request sends m on member i's connection and waits for its ack (its reader runs).
func (f *fanout) request(ctx context.Context, i int, c *load.Conn, m wire.Message) error {
	frame, err := wire.Encode(m)
	if err != nil {
		return fmt.Errorf("scenario: %w", err)
	}
	if err := c.Write(frame); err != nil {
		return err
	}
	n, _ := f.errs.get()
	timer := time.NewTimer(30 * time.Second)
	defer timer.Stop()
	select {
	case <-f.acks[i]:
		if m, first := f.errs.get(); m > n {
			return errors.New(first)
		}
		return nil
	case <-timer.C:
		return errors.New("scenario: no answer in 30 s")
	case <-ctx.Done():
		return ctx.Err()
	}
}

// send seals, signs and sends group messages until ctx is done, keeping at most window of
// them undelivered to the slowest member (and, on a Blindpost relay, unacknowledged).
func (f *fanout) send(ctx context.Context, st *group.State, name string, size, window int, sent *atomic.Uint64) error {
	text := strings.Repeat("x", size)
	var buf []byte
	for {
		for n := sent.Load(); n-f.slowest() >= uint64(window) || (f.sys.Kind == target.Blindpost && n-f.acked() >= uint64(window)); n = sent.Load() {
			select {
			case <-f.progress:
			case <-ctx.Done():
				return nil
			}
		}
		content, err := wire.Content{Text: text, SentAt: time.Now().UnixMilli()}.MarshalJSON()
		if err != nil {
			return err
		}
		m, err := st.Seal(nil, content)
		if err != nil {
			return err
		}
		f.sched[m.N%uint64(len(f.sched))].Store(f.clk.now())
		buf, err = wire.AppendEncode(buf[:0], &wire.GroupMessage{Message: wireconv.ToGroupMsg(&m)})
		if err != nil {
			return err
		}
		// Counted before the write: a member may receive the message before Write returns.
		sent.Add(1)
		if err := f.conns[0].Write(buf); err != nil {
			return err
		}
	}
}

// read takes what arrives for member i: group messages (deliveries), acks, errors.
func (f *fanout) read(i int, c *load.Conn) {
	for {
		frame, err := c.Read()
		if err != nil {
			if !f.stopping.Load() {
				f.errs.add("member %d: %v", i, err)
			}
			return
		}
		if load.IsType(frame, syncType) {
			continue
		}
		isMessage := f.sys.Kind == target.Forwarder || load.IsType(frame, "group_message")
		switch {
		case isMessage && i != 0:
			now := f.clk.now()
			f.received[i].Add(1)
			if n, ok := load.Counter(frame); ok {
				if s := f.sched[n%uint64(len(f.sched))].Load(); f.win.contains(s) {
					f.hists[i].Record(now - s)
				}
			}
			select {
			case f.progress <- struct{}{}:
			default:
			}
		case load.IsType(frame, "ack"):
			select {
			case f.acks[i] <- struct{}{}:
			default:
			}
			if i == 0 {
				f.ackCount.Add(1)
				select {
				case f.progress <- struct{}{}:
				default:
				}
			}
		case load.IsType(frame, "error"):
			f.errs.add("member %d got %s", i, frame)
			select {
			case f.acks[i] <- struct{}{}:
			default:
			}
		}
	}
}

// slowest returns how many messages the member that received the fewest has received.
func (f *fanout) slowest() uint64 {
	low := uint64(math.MaxUint64)
	for i := 1; i < len(f.received); i++ {
		low = min(low, f.received[i].Load())
	}
	return low
}

// deliveries returns the group messages received by all members.
func (f *fanout) deliveries() uint64 {
	var n uint64
	for i := 1; i < len(f.received); i++ {
		n += f.received[i].Load()
	}
	return n
}

func (f *fanout) close() {
	if f.stopping.Swap(true) {
		return
	}
	closeAll(f.conns)
	f.readers.Wait()
}

// FanoutComparison is the fanout scenario on both systems.
type FanoutComparison struct {
	Ours     FanoutResult `json:"ours"`
	Baseline FanoutResult `json:"baseline"`
}

// RunFanout runs the fanout scenario on ours, then on the baseline.
func RunFanout(ctx context.Context, o FanoutOptions, prov Provider) (FanoutComparison, error) {
	ours, baseline, err := runBoth(ctx, prov, func(sys *target.System) (FanoutResult, error) { return RunFanoutOn(ctx, o, sys) })
	return FanoutComparison{Ours: ours, Baseline: baseline}, err
}

// Figures are the fanout rows.
func (r FanoutComparison) Figures() []bench.Figure {
	name := fmt.Sprintf("deliveries per second, 1 sender to %d", r.Ours.Members-1)
	return []bench.Figure{
		bench.NewFigure("fanout", name, "/s", r.Ours.Rate, r.Baseline.Rate, nil),
		bench.NewFigure("fanout", "server CPU per 1M deliveries", "CPU-s", r.Ours.CPUPerMillion, r.Baseline.CPUPerMillion, nil),
		bench.NewFigure("fanout", "latency p99", "µs", float64(r.Ours.Latency.P99)/1e3, float64(r.Baseline.Latency.P99)/1e3, nil),
	}
}
