package server

import (
	"errors"
	"io"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/gobwas/ws"

	"github.com/blindpost/blindpost/impl/server/metrics"
)

// The close codes of spec §4.2 beyond RFC 6455's.
const (
	CloseReplaced     = 4001 // a newer connection registered the same identity (REG-7)
	CloseSlowConsumer = 4002 // the send queue overflowed (LIM-2)
	CloseRateLimited  = 4003 // the rate limit was exceeded persistently (LIM-4)
)

const (
	// closePolicy (1008): registration failed or timed out, or a message came before it.
	closePolicy   = closePolicyViolation
	closeInternal = closeInternalError
	// closeNoFrame: the peer is gone or closed first, so no close frame is sent.
	closeNoFrame = 0
	// maxCloseReasonSize: a close frame holds 125 bytes, 2 of them the code.
	maxCloseReasonSize = 123
)

// connState is where a connection is in the registration of spec §5.2.
type connState int

const (
	stateNew        connState = iota // waiting for hello
	stateHello                       // hello_ack sent, waiting for register
	stateRegistered                  // register_ack sent
)

// The registration deadline race (spec §4.2 [WS-9], §5.2 [REG-2]): either register claims the
// connection first, or the deadline expires it first.
const (
	regPending int32 = iota
	regClaimed
	regExpired
)

// conn is one client connection. Its reader goroutine (serve) reads the frames (frames.go) and
// runs the state machine of spec §5: it decodes every message and answers it in order (SRV-13).
// Any goroutine may append to its bounded send queue without ever blocking (LIM-1); a writer
// goroutine runs while the queue holds something and exits when it is empty (queue.go). Between
// messages the reader waits for the socket with no read buffer (idle.go), and after a while
// gives its goroutine up to the server's poller (park.go): an idle connection then costs its
// state and TLS's buffers, and no goroutine.
//
// Lock order: a goroutine holding one of these may take those after it, never those before:
//
//	Server.connsMu → readerMu → deadlineMu (the idle scan; park)
//	readerMu → poller.mu (park, wake)
//	hub.mu → qmu, and hub.mu → deadlineMu (enqueue, and the requestClose it may call, run
//	under the hub's lock)
//
// corkConn.mu is taken alone, by writes and deadline changes; qmu, readerMu and deadlineMu are
// never held while a frame is read or written. hub.mu is never held while a group commit is
// recorded (hub.lockIdle waits for it without the lock) or while another node of a cluster is
// asked anything.
type conn struct {
	s      *Server
	cork   *corkConn // the client's TLS connection, which gathers the writer's frames
	id     uint64
	log    connLog
	remote string
	addr   netip.Addr // the source address (ABU-4)

	sendQueue

	quit       chan struct{}  // closed by requestClose
	writerDone sync.WaitGroup // done once the close frame is written, or given up
	closeOnce  sync.Once
	closeCode  int // written once before quit is closed
	closeText  string

	deadlineMu   sync.Mutex  // orders read-deadline changes against requestClose
	closing      atomic.Bool // set under deadlineMu
	readDeadline time.Time   // the read deadline last chosen; guarded by deadlineMu

	// The reader's state for parking (park.go); guarded by readerMu.
	readerMu  sync.Mutex
	rstate    int
	waitSince time.Time
	parkTimer *time.Timer

	reg      atomic.Int32
	regTimer *time.Timer            // the registration deadline (WS-9); nil once registered
	name     atomic.Pointer[string] // the registered username, set once at registration
	// presenceRev is the revision of the cluster's presence entry this connection claimed
	// (spec §5.11 [CLU-2]); 0 on a single relay, before the claim and once released.
	presenceRev atomic.Uint64
	bg          sync.WaitGroup // the early hub exit started by requestClose

	// Used by the reader goroutine only.
	frames     frameState // what was read and not yet handled (frames.go)
	ownHeld    bool       // answers are queued and no writer was started for them (queueOwn)
	nextExtend time.Time  // when the keepalive deadline is next moved (extendReadDeadline)
	inSize     int        // the size of the message being handled
	inflight   []inflight // relays sent to other relays of the cluster, not answered yet (pipeline.go)
	lastData   time.Time  // when the last data message arrived (or the connection began)
	state      connState
	user       string // from hello; the registered name once state is stateRegistered
	challenge  []byte // the single-use challenge of this connection (REG-2)
	flow       flowControl
	// pingsOut counts the pings written since the client's last pong: a pong that answers
	// them is owed (WS-8) and free, any other pong is charged (spec §5.10 [ABU-5]).
	pingsOut atomic.Int32

	// Used by the reader goroutine only: the relay's fast path (fastpath.go).
	lent      []byte            // the pooled frame handleRelay is handing to the hub (lends)
	session   [16]byte          // the session id of the relay handleRelay is delivering
	peerNames map[string]string // the names this connection relayed to, as strings (peerName)
	route     route             // where its last relay went (chats.go routeTo)
	tally     metrics.Tally     // the fast path's counts, added to the metrics before the reader waits (flushTally)

	// Used by the holder of the writer's role only (queue.go).
	whdr [ws.MaxHeaderSize]byte // scratch for the header of the frame being written

	// Guarded by hub.mu; nil until the connection joins a group.
	groups map[string]*group
	// Guarded by hub.mu: the chats of this connection (chats.go).
	chat chatState
}

// newConn makes the connection upgraded on cork; early holds what the client sent after the
// upgrade request and the HTTP server had read already.
func newConn(s *Server, cork *corkConn, early []byte, remote string) *conn {
	id := s.nextID.Add(1)
	c := &conn{
		s:      s,
		cork:   cork,
		id:     id,
		log:    connLog{l: s.log, id: id},
		remote: remote,
		addr:   addrOf(cork.RemoteAddr()),
		quit:   make(chan struct{}),
	}
	c.frames.in.src = cork
	c.frames.in.beforeRead = c.beforeRead
	c.frames.in.hold(early)
	c.writerDone.Add(1)
	c.flow.init(&s.cfg)
	return c
}

// serve starts serving the connection on the calling goroutine, which becomes its reader.
func (c *conn) serve() {
	m := c.s.metrics
	m.Connections.Inc()
	m.ConnectionsTotal.Inc()
	c.log.Debug("connected", "remote", c.remote)

	c.cork.budget = newBudget(&c.s.cfg) // spec §5.10 [ABU-5]
	// spec §4.2 [WS-9]: registration must complete within RegisterTimeout of the upgrade.
	c.regTimer = time.AfterFunc(c.s.cfg.RegisterTimeout, c.registrationExpired)
	// spec §4.2 [WS-7]: a ping every PingInterval, and a close after PongTimeout of silence.
	c.startPings()
	c.lastData = time.Now()
	c.extendReadDeadline()
	c.run()
}

// run reads until the connection parks (another goroutine resumes it with run) or ends.
func (c *conn) run() {
	for {
		code, text, park := c.readLoop()
		c.flushTally()
		c.route = route{} // a parked or ended connection keeps no recipient alive
		if !park {
			c.end(code, text)
			return
		}
		if c.park() {
			return
		}
	}
}

// end closes the connection with code (after the writer has sent what it should), leaves the
// hub and releases everything.
func (c *conn) end(code int, text string) {
	if c.regTimer != nil {
		c.regTimer.Stop()
	}
	c.requestClose(code, text)
	c.inflight = nil // closing: the relays sent are not answered
	c.writerDone.Wait()
	c.cork.Close()
	c.frames.in.release()
	c.frames.fragmented = false
	c.frames.releaseMsg()
	c.bg.Wait()
	c.s.hub.unregister(c) // spec §5.9 [GSV-3]
	c.s.metrics.Connections.Dec()
	c.log.Debug("disconnected", "user", c.registeredName(), "code", c.closeCode)
	c.s.untrack(c)
}

// registeredName returns the username the connection registered, or "" before registration.
func (c *conn) registeredName() string {
	if p := c.name.Load(); p != nil {
		return *p
	}
	return ""
}

// readLoop reads and handles messages until the connection fails or, once it is closing, until
// the client answers the close frame. It returns the close code for the failure, if any, or
// park when the connection has been idle long enough to park.
func (c *conn) readLoop() (code int, text string, park bool) {
	for {
		if err := c.awaitMessage(); err != nil {
			if err == errPark {
				return 0, "", true
			}
			code, text = c.readFailed(err)
			return code, text, false
		}
		op, data, escaped, err := c.readMessage()
		if err != nil {
			code, text = c.readFailed(err)
			return code, text, false
		}
		if escaped {
			continue // a ping or pong was handled (and extended the deadline)
		}
		// When the message's last bytes were read: the read's own clock reading serves the
		// deadline, the rate limit and the latency metric, so a message costs no other.
		received := c.cork.readAt
		if received.IsZero() { // it came with the upgrade request, before any read
			received = time.Now()
		}
		c.lastData = received
		c.extendReadDeadlineAt(received)
		if c.isClosing() {
			continue // discard until the client's close frame, so that it reads ours (no RST)
		}
		switch {
		case op != ws.OpText:
			// spec §4.2 [WS-3]: binary messages close with 1003, after the error (ERR-2).
			c.failAndClose("", "", errBadMessage, "binary WebSocket messages are not allowed", closeUnsupportedData)
		case !utf8.Valid(data):
			// spec §4.2 [WS-4], §2.4 [ENC-9]: invalid UTF-8 closes with 1007, after the error.
			c.failAndClose("", "", errBadMessage, "the message is not valid UTF-8", closeInvalidPayload)
		default:
			c.handle(data, received)
		}
	}
}

// readFailed maps a read error to the close to send, and lingers where the client may still be
// sending so that it receives the close frame instead of a reset.
func (c *conn) readFailed(err error) (int, string) {
	var closed *peerClosed
	var failure *wsFailure
	var ne net.Error
	switch {
	case errors.As(err, &closed):
		// The client closed: the writer answers with its code after what is queued (RFC 6455
		// §5.5.1), unless the close frame it answers is ours.
		c.answerClose(closed.code)
		return closeNoFrame, ""
	case errors.As(err, &failure):
		// spec §4.2 [WS-5] (1009) and RFC 6455 §7.1.7 (1002, 1007): the close frame goes out
		// while what the client is still sending is discarded.
		c.requestClose(failure.code, failure.text)
		c.drain()
		return closeNoFrame, ""
	case errors.Is(err, errOverBudget):
		// spec §5.10 [ABU-5]: frames or bytes beyond the budget; no message explains it. The
		// close frame goes out while what the client still sends is discarded (for at most
		// CloseGrace), so that it reads the close rather than a reset.
		code := closePolicy
		if c.state == stateRegistered {
			code = CloseRateLimited
		}
		c.requestClose(code, "frame budget exceeded")
		c.cork.budget = nil // only a corkConn has one
		c.drain()
		return closeNoFrame, ""
	case errors.As(err, &ne) && ne.Timeout() && !c.isClosing():
		// spec §4.2 [WS-7]: no frame for PongTimeout.
		return closePolicyViolation, "keepalive timeout"
	default:
		return closeNoFrame, ""
	}
}

// drain reads and discards whatever the client still sends, for at most CloseGrace.
func (c *conn) drain() {
	c.frames.in.release()
	_ = c.cork.SetReadDeadline(time.Now().Add(c.s.cfg.CloseGrace))
	_, _ = io.Copy(io.Discard, io.LimitReader(c.cork, 64<<20))
}

// extendReadDeadline restarts the keepalive timer of spec §4.2 [WS-7] after any frame; once the
// connection is closing, the close deadline stays. Moving a deadline costs a timer update, so
// it moves at most once per keepaliveSlack, to PongTimeout+keepaliveSlack from then: the
// connection still closes between PongTimeout and PongTimeout+keepaliveSlack after its last
// frame, never before. It runs on the reader goroutine (the ping and pong handlers too).
func (c *conn) extendReadDeadline() { c.extendReadDeadlineAt(time.Now()) }

// extendReadDeadlineAt is extendReadDeadline at now.
func (c *conn) extendReadDeadlineAt(now time.Time) {
	if now.Before(c.nextExtend) {
		return
	}
	slack := c.keepaliveSlack()
	c.nextExtend = now.Add(slack)
	c.deadlineMu.Lock()
	defer c.deadlineMu.Unlock()
	if !c.closing.Load() {
		c.readDeadline = now.Add(c.s.cfg.PongTimeout + slack)
		_ = c.cork.SetReadDeadline(c.readDeadline)
	}
}

// keepaliveSlack is how late the keepalive close may come: a second, or a sixteenth of
// PongTimeout when that is shorter.
func (c *conn) keepaliveSlack() time.Duration { return min(time.Second, c.s.cfg.PongTimeout/16) }

func (c *conn) isClosing() bool { return c.closing.Load() }

// requestClose asks the connection to close with code (closeNoFrame: without a close frame).
// It never blocks and may be called from any goroutine; the first call wins. The writer sends
// what is already queued (except for 4002) and then the close frame; the reader waits for the
// client's answer for at most WriteTimeout+CloseGrace.
func (c *conn) requestClose(code int, text string) { c.closeWith(code, text, false) }

// answerClose answers the client's close frame with its code (closeNoStatus: an empty close
// frame), after what is queued. It is not a close of the relay's: it is neither counted nor
// logged as one.
func (c *conn) answerClose(code int) { c.closeWith(code, "", true) }

func (c *conn) closeWith(code int, text string, answer bool) {
	c.closeOnce.Do(func() {
		if len(text) > maxCloseReasonSize {
			text = text[:maxCloseReasonSize]
		}
		c.closeCode, c.closeText = code, text
		// Leave the hub now rather than when the client answers the close frame, so that
		// nothing more is forwarded to or from this connection and its groups hear of it at
		// once (GSV-3). In a goroutine: requestClose may run under the hub's lock. Started
		// before quit is closed: the writer, woken by quit, waits for it (finish) before the
		// close frame, and a WaitGroup's Add must come before its Wait.
		c.bg.Go(func() { c.s.hub.unregister(c) })
		c.deadlineMu.Lock()
		c.closing.Store(true)
		c.readDeadline = time.Now().Add(c.s.cfg.WriteTimeout + c.s.cfg.CloseGrace)
		_ = c.cork.SetReadDeadline(c.readDeadline)
		c.deadlineMu.Unlock()
		close(c.quit)
		if code != closeNoFrame && !answer {
			c.s.metrics.Close(code)
			c.log.Info("closing", "user", c.registeredName(), "code", code, "reason", text)
		}
		// The writer sends what is queued and the close frame (finish); a parked reader
		// resumes to read the client's answer.
		c.stopPings()
		c.kick()
		c.wake()
	})
}

// abort drops the connection at once, without a close frame.
func (c *conn) abort() {
	c.requestClose(closeNoFrame, "")
	c.cork.Close()
}

// closeNow sends a close frame and drops a connection that was never served.
func (c *conn) closeNow(code int, text string) {
	_ = c.cork.SetWriteDeadline(time.Now().Add(c.s.cfg.WriteTimeout))
	c.cork.cork()
	_ = c.writeControlFrame(ws.OpClose, closeFrameBody(code, text))
	_ = c.cork.uncork()
	c.cork.Close()
}

// registrationExpired closes a connection that has not registered in time (spec §4.2 [WS-9]).
// From then on its challenge is no longer accepted (spec §5.2 [REG-2]).
func (c *conn) registrationExpired() {
	if c.reg.CompareAndSwap(regPending, regExpired) {
		c.s.metrics.Registrations.WithLabelValues("timeout").Inc()
		c.requestClose(closePolicyViolation, "registration timeout")
	}
}
