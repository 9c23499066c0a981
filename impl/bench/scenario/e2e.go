package scenario

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/blindpost/blindpost/impl/bench"
	"github.com/blindpost/blindpost/impl/bench/hist"
	"github.com/blindpost/blindpost/impl/bench/load"
	"github.com/blindpost/blindpost/impl/bench/sysstat"
	"github.com/blindpost/blindpost/impl/bench/target"
	"github.com/blindpost/blindpost/impl/client"
	"github.com/blindpost/blindpost/impl/client/tlstrust"
)

// E2EOptions configure the e2e scenario: two clients exchanging messages one at a time, each
// answering the other's. On a Blindpost relay they are reference clients (impl/client): TLS
// pinned, registered, a 1:1 session with the signed handshake of spec §6, every message
// encrypted, acknowledged and authenticated. On the forwarder they are bare WebSocket clients
// sending a relay message of the same size unencrypted: the floor of the stack.
type E2EOptions struct {
	Common
	Size int // characters of text per message; 0 means 200
}

// E2EResult is one system's e2e run.
type E2EResult struct {
	System       string       `json:"system"`
	Seconds      float64      `json:"seconds"`
	RoundTrips   uint64       `json:"round_trips"`
	RoundTrip    hist.Summary `json:"round_trip"`
	ClientCPU    float64      `json:"client_cpu_s"`
	CPUPerMsg    float64      `json:"client_cpu_us_per_message"` // both clients' CPU per message
	ServerCPU    float64      `json:"server_cpu_s,omitempty"`
	ServerPerMsg float64      `json:"server_cpu_us_per_message,omitempty"`
}

// pinger is one side of the exchange: send a message and wait for the answer.
type pinger interface {
	roundTrip(ctx context.Context) error
	close()
}

// RunE2EOn runs the e2e scenario on one system.
func RunE2EOn(ctx context.Context, o E2EOptions, sys *target.System) (E2EResult, error) {
	if o.Size <= 0 {
		o.Size = 200
	}
	res := E2EResult{System: sys.Name}
	label := "e2e-" + sys.Name
	var (
		p   pinger
		err error
	)
	if sys.Kind == target.Blindpost {
		p, err = newClientPair(ctx, o, sys)
	} else {
		p, err = newRawPair(ctx, o, sys)
	}
	if err != nil {
		return res, err
	}
	defer p.close()
	h := hist.New()
	run := func(d time.Duration, record bool) (uint64, error) {
		end := time.Now().Add(d)
		var n uint64
		for time.Now().Before(end) {
			start := time.Now()
			if err := p.roundTrip(ctx); err != nil {
				return n, err
			}
			if record {
				h.RecordDuration(time.Since(start))
			}
			n++
		}
		return n, nil
	}
	if _, err := run(o.Warmup, false); err != nil {
		return res, err
	}
	cpu0, t0 := sysstat.Self(), time.Now()
	s0, serr := sys.Sample()
	waitProfile := o.profile(ctx, sys, label, o.Duration)
	n, err := run(o.Duration, true)
	waitProfile()
	if err != nil {
		return res, err
	}
	s1, serr1 := sys.Sample()
	res.Seconds, res.RoundTrips = time.Since(t0).Seconds(), n
	res.ClientCPU = (sysstat.Self() - cpu0).Seconds()
	if n > 0 {
		res.CPUPerMsg = res.ClientCPU / float64(2*n) * 1e6
	}
	if serr == nil && serr1 == nil && n > 0 {
		res.ServerCPU = s1.Sub(s0).CPU.Seconds()
		res.ServerPerMsg = res.ServerCPU / float64(2*n) * 1e6
	}
	res.RoundTrip = h.Summary()
	o.progressf("%s: %d round trips (%s), client CPU %s µs per message", label, n, res.RoundTrip, bench.Format(res.CPUPerMsg))
	return res, nil
}

// clientPair is two reference clients with a secured session.
type clientPair struct {
	a, b     *client.Client
	sid      client.SessionID
	aIn, bIn chan client.MessageEvent
	text     string
	cancel   context.CancelFunc
	done     chan struct{}
}

func newClientPair(ctx context.Context, o E2EOptions, sys *target.System) (*clientPair, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	dial := func(name string) (*client.Client, error) {
		id, err := load.NewIdentity(o.Prefix + name)
		if err != nil {
			return nil, err
		}
		return client.Dial(ctx, client.Options{URL: sys.URL, User: id.User, Identity: id.Key,
			TLS: tlstrust.Policy{Pin: sys.Trust.Pin, Roots: sys.Trust.Roots}, NoReconnect: true, PollUsers: -1})
	}
	a, err := dial("e2ea")
	if err != nil {
		return nil, fmt.Errorf("scenario: %w", err)
	}
	b, err := dial("e2eb")
	if err != nil {
		a.Close()
		return nil, fmt.Errorf("scenario: %w", err)
	}
	evctx, evcancel := context.WithCancel(context.Background())
	p := &clientPair{a: a, b: b, aIn: make(chan client.MessageEvent, 1), bIn: make(chan client.MessageEvent, 1),
		text: strings.Repeat("x", o.Size), cancel: evcancel, done: make(chan struct{})}
	secured := make(chan client.SessionID, 2)
	failed := make(chan error, 2)
	go func() {
		defer close(p.done)
		pump := func(c *client.Client, in chan client.MessageEvent, done chan struct{}) {
			defer close(done)
			for ev := range c.Events() {
				switch e := ev.(type) {
				case client.ChatRequestEvent:
					go func() {
						if err := c.Accept(evctx, e.Session); err != nil {
							notify(failed, err)
						}
					}()
				case client.SessionEvent:
					switch e.State {
					case client.SessionSecured:
						notify(secured, e.Session)
					case client.SessionFailed, client.SessionDeclined:
						notify(failed, fmt.Errorf("scenario: session %s: %s", e.State, e.Reason))
					}
				case client.MessageEvent:
					in <- e
				}
			}
		}
		da, db := make(chan struct{}), make(chan struct{})
		go pump(a, p.aIn, da)
		go pump(b, p.bIn, db)
		<-da
		<-db
	}()
	sid, err := a.Chat(ctx, b.User())
	if err != nil {
		p.close()
		return nil, fmt.Errorf("scenario: chat: %w", err)
	}
	for range 2 {
		select {
		case <-secured:
		case err := <-failed:
			p.close()
			return nil, err
		case <-ctx.Done():
			p.close()
			return nil, errors.New("scenario: the session was not secured in 30 s")
		}
	}
	p.sid = sid
	return p, nil
}

// notify sends v unless ch is full.
func notify[T any](ch chan T, v T) {
	select {
	case ch <- v:
	default:
	}
}

// roundTrip sends from a to b, and b's answer back.
func (p *clientPair) roundTrip(ctx context.Context) error {
	if _, err := p.a.Send(ctx, p.sid, p.text); err != nil {
		return fmt.Errorf("scenario: send: %w", err)
	}
	select {
	case <-p.bIn:
	case <-ctx.Done():
		return ctx.Err()
	}
	if _, err := p.b.Send(ctx, p.sid, p.text); err != nil {
		return fmt.Errorf("scenario: answer: %w", err)
	}
	select {
	case <-p.aIn:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (p *clientPair) close() {
	p.cancel()
	p.a.Close()
	p.b.Close()
	// Events must be read until they are closed.
	go func() {
		for range p.aIn {
		}
	}()
	go func() {
		for range p.bIn {
		}
	}()
	<-p.done
	close(p.aIn)
	close(p.bIn)
}

// rawPair is two bare WebSocket connections paired on the forwarder.
type rawPair struct {
	a, b  *load.Conn
	frame []byte
}

func newRawPair(ctx context.Context, o E2EOptions, sys *target.System) (*rawPair, error) {
	d := o.dialer(sys)
	key := "pair=" + o.Prefix + "e2e"
	a, err := d.Dial(ctx, key)
	if err != nil {
		return nil, err
	}
	b, err := d.Dial(ctx, key)
	if err != nil {
		a.Close()
		return nil, err
	}
	// The forwarder drops what a sends before it has paired the two.
	if err := linked(ctx, a, b); err != nil {
		a.Close()
		b.Close()
		return nil, err
	}
	rb, err := load.NewRelayBuilder("peer", make([]byte, 16), o.Size+64) // about the size of a record of Size characters
	if err != nil {
		return nil, err
	}
	return &rawPair{a: a, b: b, frame: rb.Append(nil, 0, load.Stamp{})}, nil
}

func (p *rawPair) roundTrip(context.Context) error {
	for _, hop := range [][2]*load.Conn{{p.a, p.b}, {p.b, p.a}} {
		if err := hop[0].Write(p.frame); err != nil {
			return err
		}
		if err := readPayload(hop[1]); err != nil {
			return err
		}
	}
	return nil
}

// readPayload reads c up to its next message that is not one of linked's late probes.
func readPayload(c *load.Conn) error {
	for {
		frame, err := c.Read()
		if err != nil || !load.IsType(frame, syncType) {
			return err
		}
	}
}

func (p *rawPair) close() {
	p.a.Close()
	p.b.Close()
}

// E2EComparison is the e2e scenario on both systems.
type E2EComparison struct {
	Ours     E2EResult `json:"ours"`
	Baseline E2EResult `json:"baseline"`
}

// RunE2E runs the e2e scenario on ours, then on the baseline.
func RunE2E(ctx context.Context, o E2EOptions, prov Provider) (E2EComparison, error) {
	ours, baseline, err := runBoth(ctx, prov, func(sys *target.System) (E2EResult, error) { return RunE2EOn(ctx, o, sys) })
	return E2EComparison{Ours: ours, Baseline: baseline}, err
}

// Figures are the e2e rows.
func (r E2EComparison) Figures() []bench.Figure {
	us := func(ns int64) float64 { return float64(ns) / 1e3 }
	return []bench.Figure{
		bench.NewFigure("e2e", "round trip p50", "µs", us(r.Ours.RoundTrip.P50), us(r.Baseline.RoundTrip.P50), nil),
		bench.NewFigure("e2e", "round trip p99", "µs", us(r.Ours.RoundTrip.P99), us(r.Baseline.RoundTrip.P99), nil),
		bench.NewFigure("e2e", "client CPU per message", "µs", r.Ours.CPUPerMsg, r.Baseline.CPUPerMsg, nil),
	}
}
