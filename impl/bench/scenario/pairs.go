package scenario

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/blindpost/blindpost/impl/bench/hist"
	"github.com/blindpost/blindpost/impl/bench/load"
	"github.com/blindpost/blindpost/impl/bench/natsbase"
	"github.com/blindpost/blindpost/impl/bench/target"
	"github.com/blindpost/blindpost/impl/client/tlstrust"
)

// pairs is the relay load: connections in pairs, each sending relay messages to its partner,
// on a schedule or as fast as its window of unanswered messages allows. The relay scenario,
// the latency scenario and the background load of the idle scenario all run on it.
type pairs struct {
	sys    *target.System
	size   int
	window int
	clk    clock
	win    window
	errs   errorLog
	conns  []*pairConn

	stopping atomic.Bool
	gate     gate // closed while another system's slice is measured (ab.go)
	cancel   context.CancelFunc
	senders  sync.WaitGroup
	readers  sync.WaitGroup
}

// endpoint is one connection of the load as the pairs use it: a WebSocket connection
// (*load.Conn) or a NATS one (*natsbase.Conn).
type endpoint interface {
	Write(frame []byte) error
	Read() ([]byte, error) // valid until the next Read
	Close() error
}

// pairConn is one connection of a pair.
type pairConn struct {
	index     int
	c         endpoint
	ws        *load.Conn // c, on a WebSocket system; nil on NATS
	peer      *pairConn
	tokens    chan struct{} // one per message this connection may have undelivered
	ackTokens chan struct{} // one per message it may have unacknowledged (Blindpost only)
	builder   *load.RelayBuilder
	sent      atomic.Uint64
	delivered atomic.Uint64 // relay messages received
	acks      atomic.Uint64
	h         *hist.Histogram // the latencies of what this connection received; its reader's
}

// openPairs dials and (on a Blindpost relay) registers n pairs, without sending yet.
func openPairs(ctx context.Context, c Common, sys *target.System, n, size, window int, tag string) (*pairs, error) {
	if len(sys.Members) > 0 { // a cluster: every pair across two nodes, every message crosses NATS
		return openPairsOn(ctx, c, sys.Members, true, n, size, window, tag)
	}
	return openPairsOn(ctx, c, []*target.System{sys}, false, n, size, window, tag)
}

// openPairsOn is openPairs over several URLs of one kind of system: pair k on nodes[k mod
// len(nodes)], or with cross its second connection on the next node, so that every message
// crosses from one node of a cluster to another (independent relays cannot do that: they share
// no directory).
func openPairsOn(ctx context.Context, c Common, nodes []*target.System, cross bool, n, size, window int, tag string) (*pairs, error) {
	sys := nodes[0]
	if n < 1 {
		return nil, fmt.Errorf("scenario: at least one pair is needed")
	}
	if window <= 0 {
		window = 32
	}
	p := &pairs{sys: sys, size: size, window: window, clk: newClock(), conns: make([]*pairConn, 2*n)}
	dialers := make([]*load.Dialer, len(nodes))
	for j, node := range nodes {
		dialers[j] = c.dialer(node)
	}
	err := forEach(ctx, 2*n, c.parallel(), func(ctx context.Context, i int) error {
		node := i / 2
		if cross {
			node += i % 2
		}
		pc, err := p.dial(ctx, dialers[node%len(nodes)], c.Prefix+tag, i)
		if err != nil {
			return err
		}
		p.conns[i] = pc
		return nil
	})
	if err != nil {
		p.close()
		return nil, err
	}
	if sys.Kind == target.Forwarder {
		if err := forEach(ctx, n, c.parallel(), func(ctx context.Context, k int) error {
			return linked(ctx, p.conns[2*k].ws, p.conns[2*k+1].ws)
		}); err != nil {
			p.close()
			return nil, err
		}
	}
	// One session per pair, which the second connection accepts: a Blindpost relay forwards
	// relay messages only inside a chat the recipient accepted (spec §5.5 [SES-2]).
	sessions := make([][]byte, n)
	for k := range sessions {
		sessions[k] = make([]byte, 16)
		rand.Read(sessions[k])
	}
	if sys.Kind == target.Blindpost {
		if err := forEach(ctx, n, c.parallel(), func(ctx context.Context, k int) error {
			ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			defer cancel()
			a, b := 2*k, 2*k+1
			return load.Chat(ctx, p.conns[a].ws, p.conns[b].ws, p.name(c.Prefix+tag, a), p.name(c.Prefix+tag, b), sessions[k])
		}); err != nil {
			p.close()
			return nil, err
		}
	}
	for i, pc := range p.conns {
		pc.peer = p.conns[i^1]
		if pc.builder, err = load.NewRelayBuilder(p.name(c.Prefix+tag, i^1), sessions[i/2], size); err != nil {
			p.close()
			return nil, err
		}
	}
	return p, nil
}

// name is the username of connection i: PREFIX-TAG-K-a and …-b for pair K.
func (p *pairs) name(prefix string, i int) string {
	return fmt.Sprintf("%s%d%c", prefix, i/2, 'a'+byte(i%2))
}

func (p *pairs) dial(ctx context.Context, d *load.Dialer, prefix string, i int) (*pairConn, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if p.sys.Kind == target.NATS {
		// One subject per endpoint, named as the relay's users are: each connection
		// subscribes to its own and publishes to its partner's.
		c, err := dialNATS(ctx, p.sys, p.name(prefix, i), p.name(prefix, i^1))
		if err != nil {
			return nil, err
		}
		return p.newConn(i, c, nil), nil
	}
	query := ""
	if p.sys.Kind == target.Forwarder {
		query = fmt.Sprintf("pair=%s%d", prefix, i/2)
	}
	c, err := d.Dial(ctx, query)
	if err != nil {
		return nil, err
	}
	if p.sys.Kind == target.Blindpost {
		id, err := load.NewIdentity(p.name(prefix, i))
		if err == nil {
			err = load.Register(ctx, c, id)
		}
		if err != nil {
			c.Close()
			return nil, fmt.Errorf("scenario: register %s: %w", p.name(prefix, i), err)
		}
	}
	return p.newConn(i, c, c), nil
}

// dialNATS connects to the NATS system sys as subject own, publishing to subject to, with the
// certificate checked as the WebSocket dialer checks it.
func dialNATS(ctx context.Context, sys *target.System, own, to string) (*natsbase.Conn, error) {
	u, err := url.Parse(sys.URL)
	if err != nil {
		return nil, fmt.Errorf("scenario: %w", err)
	}
	cfg, _, err := tlstrust.Policy{Pin: sys.Trust.Pin, Roots: sys.Trust.Roots}.Config(u.Host)
	if err != nil {
		return nil, fmt.Errorf("scenario: %w", err)
	}
	return natsbase.Dial(ctx, sys.URL, cfg, own, to)
}

// newConn makes connection i of the pairs, with its windows full.
func (p *pairs) newConn(i int, c endpoint, ws *load.Conn) *pairConn {
	pc := &pairConn{index: i, c: c, ws: ws, tokens: make(chan struct{}, p.window), h: hist.New()}
	for range p.window {
		pc.tokens <- struct{}{}
	}
	if p.sys.Kind == target.Blindpost {
		// A pipelining client bounds what it has not seen answered as well as what its
		// partner has not received: both queues at the relay stay within the window.
		pc.ackTokens = make(chan struct{}, p.window)
		for range p.window {
			pc.ackTokens <- struct{}{}
		}
	}
	return pc
}

// syncType is the type of the probes linked sends through the forwarder.
const syncType = "bench_sync"

var syncFrame = []byte(`{"type":"` + syncType + `"}`)

// linked returns once a message from a reaches b through the forwarder: the forwarder pairs
// (or groups) a connection after the upgrade the client saw, and drops what comes before.
func linked(ctx context.Context, a, b *load.Conn) error {
	got := make(chan error, 1)
	go func() {
		_, err := b.Read()
		got <- err
	}()
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	deadline := time.NewTimer(10 * time.Second)
	defer deadline.Stop()
	for {
		if err := a.Write(syncFrame); err != nil {
			return err
		}
		select {
		case err := <-got:
			return err
		case <-t.C:
		case <-deadline.C:
			return errors.New("scenario: the forwarder did not link the connections in 10 s")
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// start starts every reader and every sender. rate is the offered load over all connections in
// messages per second; 0 sends as fast as the windows allow.
func (p *pairs) start(ctx context.Context, rate float64) {
	ctx, p.cancel = context.WithCancel(ctx)
	for _, pc := range p.conns {
		p.readers.Go(func() { p.read(pc) })
	}
	var interval int64
	if rate > 0 {
		interval = int64(float64(len(p.conns)) / rate * 1e9)
	}
	for _, pc := range p.conns {
		// Spread the connections' schedules evenly over one interval.
		phase := interval * int64(pc.index) / int64(len(p.conns))
		p.senders.Go(func() { p.send(ctx, pc, phase, interval) })
	}
}

// send sends relay messages from pc to its partner until ctx is done: at phase + k·interval
// from when it starts (or resumes after a pause) when interval > 0 (late messages keep their
// scheduled time, so that the latency counts the delay), else as soon as a token is free.
func (p *pairs) send(ctx context.Context, pc *pairConn, phase, interval int64) {
	buf := make([]byte, 0, p.size*2+256)
	var next int64
	gen := uint64(0)
	for seq := uint64(0); ; seq++ {
		g, ok := p.gate.wait(ctx)
		if !ok {
			return
		}
		if g != gen { // started or resumed: the schedule starts again
			gen, next = g, p.clk.now()+phase
		}
		var sched int64
		if interval > 0 {
			sched, next = next, next+interval
			if !sleepUntil(ctx, p.clk, sched) {
				return
			}
		}
		select {
		case <-pc.tokens:
		case <-ctx.Done():
			return
		}
		if pc.ackTokens != nil {
			select {
			case <-pc.ackTokens:
			case <-ctx.Done():
				return
			}
		}
		if interval == 0 {
			sched = p.clk.now()
		}
		buf = pc.builder.Append(buf[:0], seq%(1<<24), load.Stamp{Sched: sched, Seq: seq, Sender: uint64(pc.index)})
		if err := pc.c.Write(buf); err != nil {
			if !p.stopping.Load() {
				p.errs.add("connection %d: %v", pc.index, err)
			}
			return
		}
		pc.sent.Add(1)
	}
}

// read takes what arrives on pc: relays from its partner (a delivery: the latency is recorded
// and the partner gets its token back), acks, and errors.
func (p *pairs) read(pc *pairConn) {
	for {
		frame, err := pc.c.Read()
		if err != nil {
			if !p.stopping.Load() {
				p.errs.add("connection %d: %v", pc.index, err)
			}
			return
		}
		if load.IsType(frame, syncType) {
			continue // a late copy of linked's probe
		}
		relay := p.sys.Kind != target.Blindpost || load.IsType(frame, "relay")
		if !relay {
			switch {
			case load.IsType(frame, "ack"):
				pc.acks.Add(1)
				giveBack(pc.ackTokens)
			case load.IsType(frame, "error"):
				p.errs.add("connection %d got %s", pc.index, frame)
				giveBack(pc.ackTokens)
			}
			continue
		}
		now := p.clk.now()
		st, ok := load.ReadStamp(frame)
		if !ok {
			p.errs.add("connection %d: a relay without a stamp", pc.index)
			continue
		}
		pc.delivered.Add(1)
		if p.win.contains(st.Sched) {
			pc.h.Record(now - st.Sched)
		}
		giveBack(pc.peer.tokens)
	}
}

// giveBack returns a token, unless the semaphore is full already (or nil).
func giveBack(tokens chan struct{}) {
	select {
	case tokens <- struct{}{}:
	default:
	}
}

// counts returns the messages delivered and acknowledged so far.
func (p *pairs) counts() (delivered, acks uint64) {
	for _, pc := range p.conns {
		delivered += pc.delivered.Load()
		acks += pc.acks.Load()
	}
	return delivered, acks
}

// stop stops the senders, gives what is in flight up to grace to arrive, and closes the
// connections. The histograms may be read afterwards.
func (p *pairs) stop(grace time.Duration) {
	if p.cancel != nil {
		p.cancel()
	}
	p.senders.Wait()
	deadline := time.Now().Add(grace)
	for time.Now().Before(deadline) {
		var sent, delivered uint64
		for _, pc := range p.conns {
			sent += pc.sent.Load()
			delivered += pc.delivered.Load()
		}
		if delivered >= sent {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	p.close()
	p.readers.Wait()
}

// close closes every connection; readers see the end and return.
func (p *pairs) close() {
	p.stopping.Store(true)
	var conns []endpoint
	for _, pc := range p.conns {
		if pc != nil {
			conns = append(conns, pc.c)
		}
	}
	closeAll(conns)
}

// histogram merges the connections' histograms; call it after stop.
func (p *pairs) histogram() *hist.Histogram {
	h := hist.New()
	for _, pc := range p.conns {
		h.Merge(pc.h)
	}
	return h
}
