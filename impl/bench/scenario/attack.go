package scenario

import (
	"context"
	"crypto/rand"
	"fmt"
	"math"
	"net"
	"net/netip"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"github.com/blindpost/blindpost/impl/bench"
	"github.com/blindpost/blindpost/impl/bench/hist"
	"github.com/blindpost/blindpost/impl/bench/load"
	"github.com/blindpost/blindpost/impl/bench/target"
	"github.com/blindpost/blindpost/impl/wire"
)

// The attack scenario measures what the abuse bounds of spec §5.10 and the chat rules of §5.5
// cost a legitimate user: honest pairs relay at a fixed rate on a relay with its default limits,
// once alone and once while attackers run from other addresses (a registration flood, slowloris
// TCP connections, ping floods and unsolicited relay floods), and the two runs are compared.

// AttackOptions configure the attack scenario.
type AttackOptions struct {
	Common
	Pairs      int     // honest pairs
	Rate       float64 // honest messages per second over all honest connections
	Size       int     // ciphertext bytes per honest message
	Attackers  int     // connections of each flooding attack at once
	Slowloris  int     // idle TCP connections the slowloris attacker keeps trying to hold
	RSSCeiling int64   // bytes the relay's resident memory must stay under
}

// attackServerFlags give the relay of this scenario its default limits back (the benchmark
// starts relays with limits that let any load through): the rate and burst of spec §5.8 and
// the connection bounds of §5.10.
var attackServerFlags = []string{"--rate", "50", "--burst", "100", "--max-conns", "1000",
	"--max-conns-per-addr", "500", "--max-joins-per-addr", "256", "--max-users", "10000"}

// AttackRun is one run of the honest load, with or without attackers.
type AttackRun struct {
	Attacked      bool         `json:"attacked"`
	Seconds       float64      `json:"seconds"`
	Delivered     uint64       `json:"delivered"`
	Throughput    float64      `json:"msgs_per_s"`
	Latency       hist.Summary `json:"latency"`
	Errors        uint64       `json:"errors"`
	FirstError    string       `json:"first_error,omitempty"`
	Registrations int          `json:"honest_registrations"`         // attempted during the window
	RegFailures   int          `json:"honest_registration_failures"` // of those
	RegP99        float64      `json:"honest_registration_p99_ms"`
	MaxRSS        int64        `json:"server_max_rss_bytes"` // 0: not measurable
	// What the attackers did, in the attacked run.
	FloodRegistrations int64 `json:"flood_registrations"`
	SlowlorisOpened    int64 `json:"slowloris_connections_opened"`
	PingFloodClosed    int64 `json:"ping_flood_connections_closed"`
	RelayFloodSent     int64 `json:"relay_flood_messages_sent"`
}

// AttackResult compares the honest load with and without attackers.
type AttackResult struct {
	Quiet      AttackRun `json:"quiet"`
	Attacked   AttackRun `json:"attacked"`
	RSSCeiling int64     `json:"rss_ceiling_bytes"`
}

// Figures are the attack rows: the honest delivery rate and p99 under attack against the quiet
// run (goal: delivery ≥ 0.9×), honest registrations, and the relay's peak RSS against the
// ceiling.
func (r AttackResult) Figures() []bench.Figure {
	ms := func(ns int64) float64 { return float64(ns) / 1e6 }
	regOK := func(a AttackRun) float64 {
		if a.Registrations == 0 {
			return math.NaN()
		}
		return float64(a.Registrations-a.RegFailures) / float64(a.Registrations)
	}
	mib := func(b int64) float64 { return float64(b) / (1 << 20) }
	return []bench.Figure{
		bench.NewFigure("attack", "honest delivery rate (attacked vs quiet)", "msg/s", r.Attacked.Throughput, r.Quiet.Throughput, bench.GoalAtLeast(0.9)),
		bench.NewFigure("attack", "honest latency p99 (attacked vs quiet)", "ms", ms(r.Attacked.Latency.P99), ms(r.Quiet.Latency.P99), nil),
		bench.NewFigure("attack", "honest registrations that succeeded", "share", regOK(r.Attacked), regOK(r.Quiet), bench.GoalAtLeast(1)),
		bench.NewFigure("attack", "relay peak RSS under attack (vs ceiling)", "MiB", mib(r.Attacked.MaxRSS), mib(r.RSSCeiling), bench.GoalAtMost(1)),
	}
}

// AttackProvider starts the relays of the attack scenario: fresh reference relays with more
// flags (target.Provider is one).
type AttackProvider interface {
	OursWith(ctx context.Context, flags []string) (*target.System, error)
}

// RunAttack runs the honest load on a fresh relay without attackers, then on another with them.
func RunAttack(ctx context.Context, o AttackOptions, prov AttackProvider) (AttackResult, error) {
	o.Pairs = cmpOr(o.Pairs, 20)
	o.Rate = cmpOrF(o.Rate, 400)
	o.Size = cmpOr(o.Size, 200)
	o.Attackers = cmpOr(o.Attackers, 4)
	o.Slowloris = cmpOr(o.Slowloris, 2000)
	o.RSSCeiling = cmpOr64(o.RSSCeiling, 512<<20)
	res := AttackResult{RSSCeiling: o.RSSCeiling}
	for _, attacked := range []bool{false, true} {
		sys, err := prov.OursWith(ctx, attackServerFlags)
		if err != nil {
			return res, err
		}
		run, err := attackRun(ctx, o, sys, attacked)
		sys.Close()
		if err != nil {
			return res, err
		}
		if attacked {
			res.Attacked = run
		} else {
			res.Quiet = run
		}
	}
	return res, nil
}

func cmpOr(v, d int) int {
	if v == 0 {
		return d
	}
	return v
}

func cmpOr64(v, d int64) int64 {
	if v == 0 {
		return d
	}
	return v
}

func cmpOrF(v, d float64) float64 {
	if v == 0 {
		return d
	}
	return v
}

// attackerSource is the source address of attack number k: 127.0.1.k, apart from the honest
// load's addresses (127.0.0.x), as another host would be.
func attackerSource(k int) netip.Addr { return netip.AddrFrom4([4]byte{127, 0, 1, byte(k + 1)}) }

func attackRun(ctx context.Context, o AttackOptions, sys *target.System, attacked bool) (AttackRun, error) {
	label := map[bool]string{false: "quiet", true: "attacked"}[attacked]
	run := AttackRun{Attacked: attacked}
	tag := map[bool]string{false: "q", true: "a"}[attacked]
	p, err := openPairs(ctx, o.Common, sys, o.Pairs, o.Size, 0, tag)
	if err != nil {
		return run, err
	}
	p.start(ctx, o.Rate)
	actx, stopAttack := context.WithCancel(ctx)
	var attackers sync.WaitGroup
	if attacked {
		a := &attack{o: o, sys: sys, run: &run, victims: p}
		a.start(actx, &attackers)
	}
	rss := sampleRSS(actx, sys)
	if !sleepFor(ctx, o.Warmup) {
		stopAttack()
		p.stop(0)
		return run, ctx.Err()
	}
	p.win.start.Store(p.clk.now())
	t0 := time.Now()
	d0, _ := p.counts()
	regs := honestRegistrations(actx, o.Common, sys, o.Prefix+"h"+tag)
	ok := sleepFor(ctx, o.Duration)
	d1, _ := p.counts()
	elapsed := time.Since(t0)
	p.win.end.Store(p.clk.now())
	stopAttack()
	attackers.Wait()
	reg := regs()
	run.MaxRSS = rss()
	p.stop(2 * time.Second)
	if !ok {
		return run, ctx.Err()
	}
	run.Seconds = elapsed.Seconds()
	run.Delivered = d1 - d0
	run.Throughput = rate(run.Delivered, elapsed)
	run.Latency = p.histogram().Summary()
	run.Errors, run.FirstError = p.errs.get()
	run.Registrations, run.RegFailures, run.RegP99 = reg.n, reg.failed, reg.p99
	o.progressf("attack %s: %s msg/s honest, %s, %d/%d honest registrations failed (p99 %.0f ms), peak RSS %s MiB", label,
		bench.Format(run.Throughput), run.Latency, run.RegFailures, run.Registrations, run.RegP99, bench.Format(float64(run.MaxRSS)/(1<<20)))
	if attacked {
		o.progressf("attackers: %d flood registrations, %d slowloris connections opened, %d ping floods closed, %d unsolicited relays sent",
			run.FloodRegistrations, run.SlowlorisOpened, run.PingFloodClosed, run.RelayFloodSent)
	}
	return run, nil
}

// sampleRSS samples the relay's resident memory every 100 ms until ctx ends; the returned
// function stops and returns the peak (0 when it cannot be read).
func sampleRSS(ctx context.Context, sys *target.System) func() int64 {
	var peak atomic.Int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			if s, err := sys.Sample(); err == nil && s.RSS > peak.Load() {
				peak.Store(s.RSS)
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return func() int64 { <-done; return peak.Load() }
}

// registrations are the honest registrations of one window.
type registrations struct {
	n, failed int
	p99       float64 // milliseconds
}

// honestRegistrations registers a fresh user from the honest addresses every 100 ms until ctx
// ends; the returned function waits and returns what happened.
func honestRegistrations(ctx context.Context, c Common, sys *target.System, prefix string) func() registrations {
	var r registrations
	h := hist.New()
	done := make(chan struct{})
	go func() {
		defer close(done)
		d := c.dialer(sys)
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for i := 0; ; i++ {
			select {
			case <-ctx.Done():
				r.p99 = float64(h.Summary().P99) / 1e6
				return
			case <-t.C:
			}
			start := time.Now()
			rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			err := registerOnce(rctx, d, fmt.Sprintf("%s%d", prefix, i))
			cancel()
			if ctx.Err() != nil {
				r.p99 = float64(h.Summary().P99) / 1e6
				return
			}
			r.n++
			if err != nil {
				r.failed++
				continue
			}
			h.Record(time.Since(start).Nanoseconds())
		}
	}()
	return func() registrations { <-done; return r }
}

// registerOnce dials, registers user and closes.
func registerOnce(ctx context.Context, d *load.Dialer, user string) error {
	c, err := d.Dial(ctx, "")
	if err != nil {
		return err
	}
	defer c.Close()
	id, err := load.NewIdentity(user)
	if err != nil {
		return err
	}
	return load.Register(ctx, c, id)
}

// attack runs the attackers of the attacked run.
type attack struct {
	o       AttackOptions
	sys     *target.System
	run     *AttackRun
	victims *pairs

	floodRegs, slowOpened, pingClosed, relaySent atomic.Int64
}

func (a *attack) start(ctx context.Context, wg *sync.WaitGroup) {
	for i := range a.o.Attackers {
		wg.Go(func() { a.registrationFlood(ctx, i) })
		wg.Go(func() { a.pingFlood(ctx, i) })
		wg.Go(func() { a.relayFlood(ctx, i) })
	}
	wg.Go(func() { a.slowloris(ctx) })
	wg.Go(func() {
		<-ctx.Done()
		a.run.FloodRegistrations = a.floodRegs.Load()
		a.run.SlowlorisOpened = a.slowOpened.Load()
		a.run.PingFloodClosed = a.pingClosed.Load()
		a.run.RelayFloodSent = a.relaySent.Load()
	})
}

func (a *attack) dialer(k int) *load.Dialer {
	return &load.Dialer{URL: a.sys.URL, Trust: a.sys.Trust, Sources: []netip.Addr{attackerSource(k)}, Timeout: 5 * time.Second}
}

// registrationFlood registers fresh names as fast as it can, from one address.
func (a *attack) registrationFlood(ctx context.Context, i int) {
	d := a.dialer(0)
	for n := 0; ctx.Err() == nil; n++ {
		if registerOnce(ctx, d, fmt.Sprintf("%sflood%d-%d", a.o.Prefix, i, n)) == nil {
			a.floodRegs.Add(1)
		}
	}
}

// slowloris keeps opening TCP connections that never start TLS, from one address, and holds
// them until the relay closes them.
func (a *attack) slowloris(ctx context.Context) {
	u, err := url.Parse(a.sys.URL)
	if err != nil {
		return
	}
	nd := net.Dialer{LocalAddr: &net.TCPAddr{IP: attackerSource(1).AsSlice()}, Timeout: time.Second}
	sem := make(chan struct{}, a.o.Slowloris)
	var held sync.WaitGroup
	defer held.Wait()
	for ctx.Err() == nil {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			return
		}
		c, err := nd.DialContext(ctx, "tcp", u.Host)
		if err != nil {
			<-sem
			continue
		}
		a.slowOpened.Add(1)
		held.Go(func() {
			defer func() { <-sem }()
			defer c.Close()
			stop := context.AfterFunc(ctx, func() { c.Close() })
			defer stop()
			var b [1]byte
			_, _ = c.Read(b[:]) // until the relay closes it (ABU-1, ABU-2, ABU-3)
		})
	}
}

// registeredAttacker dials and registers name, reads everything the relay sends on a goroutine
// of its own until the connection ends, and closes it when ctx ends; stop undoes the latter.
func registeredAttacker(ctx context.Context, d *load.Dialer, name string) (c *load.Conn, stop func() bool, ok bool) {
	c, err := d.Dial(ctx, "")
	if err != nil {
		return nil, nil, false
	}
	id, _ := load.NewIdentity(name)
	if load.Register(ctx, c, id) != nil {
		c.Close()
		return nil, nil, false
	}
	stop = context.AfterFunc(ctx, func() { c.Close() })
	go func() {
		for {
			if _, err := c.Read(); err != nil {
				return
			}
		}
	}()
	return c, stop, true
}

// pingFlood registers and floods pings until the relay closes the connection, then again.
func (a *attack) pingFlood(ctx context.Context, i int) {
	d := a.dialer(2)
	for n := 0; ctx.Err() == nil; n++ {
		c, stop, ok := registeredAttacker(ctx, d, fmt.Sprintf("%sping%d-%d", a.o.Prefix, i, n))
		if !ok {
			continue
		}
		data := make([]byte, 125)
		for c.WS.WriteControl(websocket.PingMessage, data, time.Now().Add(time.Second)) == nil {
		}
		stop()
		c.Close()
		if ctx.Err() == nil {
			a.pingClosed.Add(1)
		}
	}
}

// relayFlood registers and sends relays of the largest size to the honest users, outside any
// chat, as fast as the socket takes them, then again once closed.
func (a *attack) relayFlood(ctx context.Context, i int) {
	d := a.dialer(3)
	session := make([]byte, 16)
	rand.Read(session)
	for n := 0; ctx.Err() == nil; n++ {
		c, stop, ok := registeredAttacker(ctx, d, fmt.Sprintf("%srelay%d-%d", a.o.Prefix, i, n))
		if !ok {
			continue
		}
		for k := 0; ctx.Err() == nil; k++ {
			victim := a.victims.conns[k%len(a.victims.conns)]
			frame, err := wire.Encode(&wire.Relay{To: a.victims.name(a.o.Prefix+"a", victim.index), Session: session,
				Payload: &wire.MsgRecord{N: int64(k), Ct: make([]byte, 16*1024)}})
			if err != nil {
				break
			}
			if err := c.Write(frame); err != nil {
				break
			}
			a.relaySent.Add(1)
		}
		stop()
		c.Close()
	}
}
