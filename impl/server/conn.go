package server

import (
	"errors"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/gorilla/websocket"
)

// The close codes of spec §4.2 that gorilla/websocket has no name for.
const (
	CloseReplaced     = 4001 // a newer connection registered the same identity (REG-7)
	CloseSlowConsumer = 4002 // the send queue overflowed (LIM-2)
	CloseRateLimited  = 4003 // the rate limit was exceeded persistently (LIM-4)
)

const (
	// closePolicy (1008): registration failed or timed out, or a message came before it.
	closePolicy   = websocket.ClosePolicyViolation
	closeInternal = websocket.CloseInternalServerErr
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

// conn is one client connection. Its reader goroutine (serve) runs the state machine of spec §5:
// it decodes every message and answers it in order (SRV-13). Its writer goroutine drains the
// bounded send queue, to which any goroutine may append without ever blocking (LIM-1).
type conn struct {
	s      *Server
	ws     *websocket.Conn
	id     uint64
	log    *slog.Logger
	remote string

	send       chan []byte   // the bounded send queue of encoded messages
	quit       chan struct{} // closed by requestClose
	writerDone chan struct{}
	closeOnce  sync.Once
	closeCode  int // written once before quit is closed
	closeText  string

	dlMu    sync.Mutex // orders read-deadline changes against requestClose
	closing bool       // guarded by dlMu

	reg      atomic.Int32
	regTimer *time.Timer
	name     atomic.Pointer[string] // the registered username, set once at registration
	bg       sync.WaitGroup         // the early hub exit started by requestClose

	// Used by the reader goroutine only.
	state     connState
	user      string // from hello; the registered name once state is stateRegistered
	challenge []byte // the single-use challenge of this connection (REG-2)
	flow      *flowControl

	// Guarded by hub.mu.
	groups map[string]*group
}

func newConn(s *Server, ws *websocket.Conn, remote string) *conn {
	id := s.nextID.Add(1)
	return &conn{
		s:          s,
		ws:         ws,
		id:         id,
		log:        s.log.With("conn", id),
		remote:     remote,
		send:       make(chan []byte, s.cfg.Queue),
		quit:       make(chan struct{}),
		writerDone: make(chan struct{}),
		flow:       newFlowControl(&s.cfg),
		groups:     make(map[string]*group),
	}
}

// serve runs the connection until it ends, then leaves the hub and releases everything.
func (c *conn) serve() {
	m := c.s.metrics
	m.Connections.Inc()
	m.ConnectionsTotal.Inc()
	defer m.Connections.Dec()
	c.log.Debug("connected", "remote", c.remote)

	// spec §4.2 [WS-5]: gorilla closes with 1009 when a message exceeds the limit.
	c.ws.SetReadLimit(int64(c.s.cfg.MaxMessage))
	c.ws.SetPongHandler(func(string) error { c.extendReadDeadline(); return nil })
	pong := c.ws.PingHandler()
	c.ws.SetPingHandler(func(d string) error { c.extendReadDeadline(); return pong(d) })
	// spec §4.2 [WS-9]: registration must complete within RegisterTimeout of the upgrade.
	c.regTimer = time.AfterFunc(c.s.cfg.RegisterTimeout, c.registrationExpired)

	go c.writeLoop()
	code, text := c.readLoop()
	c.regTimer.Stop()
	c.requestClose(code, text)
	<-c.writerDone
	c.ws.Close()
	c.bg.Wait()
	c.s.hub.unregister(c) // spec §5.9 [GSV-3]
	c.log.Debug("disconnected", "user", c.registeredName(), "code", c.closeCode)
}

// registeredName returns the username the connection registered, or "" before registration.
func (c *conn) registeredName() string {
	if p := c.name.Load(); p != nil {
		return *p
	}
	return ""
}

// readLoop reads and handles messages until the connection fails or, once it is closing, until
// the client answers the close frame. It returns the close code for the failure, if any.
func (c *conn) readLoop() (int, string) {
	for {
		c.extendReadDeadline()
		typ, data, err := c.ws.ReadMessage()
		if err != nil {
			return c.readFailed(err)
		}
		if c.isClosing() {
			continue // discard until the client's close frame, so that it reads ours (no RST)
		}
		received := time.Now()
		switch {
		case typ != websocket.TextMessage:
			// spec §4.2 [WS-3]: binary messages close with 1003, after the error (ERR-2).
			c.failAndClose("", "", errBadMessage, "binary WebSocket messages are not allowed", websocket.CloseUnsupportedData)
		case !utf8.Valid(data):
			// spec §4.2 [WS-4], §2.4 [ENC-9]: invalid UTF-8 closes with 1007, after the error.
			c.failAndClose("", "", errBadMessage, "the message is not valid UTF-8", websocket.CloseInvalidFramePayloadData)
		default:
			c.handle(data, received)
		}
	}
}

// readFailed maps a read error to the close to send, and lingers where the client may still be
// sending so that it receives the close frame instead of a reset.
func (c *conn) readFailed(err error) (int, string) {
	var ce *websocket.CloseError
	var ne net.Error
	switch {
	case errors.As(err, &ce):
		return closeNoFrame, "" // the client closed; gorilla answered its close frame
	case errors.Is(err, websocket.ErrReadLimit):
		// spec §4.2 [WS-5]: gorilla has sent 1009; drain what the client is still sending.
		c.s.metrics.Close(websocket.CloseMessageTooBig)
		c.log.Info("closing", "user", c.registeredName(), "code", websocket.CloseMessageTooBig, "reason", "message too large")
		c.requestClose(closeNoFrame, "")
		c.drain()
		return closeNoFrame, ""
	case errors.As(err, &ne) && ne.Timeout() && !c.isClosing():
		// spec §4.2 [WS-7]: no frame for PongTimeout.
		return websocket.ClosePolicyViolation, "keepalive timeout"
	default:
		return closeNoFrame, ""
	}
}

// drain reads and discards whatever the client still sends, for at most CloseGrace.
func (c *conn) drain() {
	nc := c.ws.NetConn()
	_ = nc.SetReadDeadline(time.Now().Add(c.s.cfg.CloseGrace))
	_, _ = io.Copy(io.Discard, io.LimitReader(nc, 64<<20))
}

// extendReadDeadline restarts the keepalive timer of spec §4.2 [WS-7] after any frame; once the
// connection is closing, the close deadline stays.
func (c *conn) extendReadDeadline() {
	c.dlMu.Lock()
	defer c.dlMu.Unlock()
	if !c.closing {
		_ = c.ws.SetReadDeadline(time.Now().Add(c.s.cfg.PongTimeout))
	}
}

func (c *conn) isClosing() bool {
	c.dlMu.Lock()
	defer c.dlMu.Unlock()
	return c.closing
}

// requestClose asks the connection to close with code (closeNoFrame: without a close frame).
// It never blocks and may be called from any goroutine; the first call wins. The writer sends
// what is already queued (except for 4002) and then the close frame; the reader waits for the
// client's answer for at most WriteTimeout+CloseGrace.
func (c *conn) requestClose(code int, text string) {
	c.closeOnce.Do(func() {
		if len(text) > maxCloseReasonSize {
			text = text[:maxCloseReasonSize]
		}
		c.closeCode, c.closeText = code, text
		c.dlMu.Lock()
		c.closing = true
		_ = c.ws.SetReadDeadline(time.Now().Add(c.s.cfg.WriteTimeout + c.s.cfg.CloseGrace))
		c.dlMu.Unlock()
		close(c.quit)
		if code != closeNoFrame {
			c.s.metrics.Close(code)
			c.log.Info("closing", "user", c.registeredName(), "code", code, "reason", text)
		}
		// Leave the hub now rather than when the client answers the close frame, so that
		// nothing more is forwarded to or from this connection and its groups hear of it at
		// once (GSV-3). In a goroutine: requestClose may run under the hub's lock.
		c.bg.Go(func() { c.s.hub.unregister(c) })
	})
}

// abort drops the connection at once, without a close frame.
func (c *conn) abort() {
	c.requestClose(closeNoFrame, "")
	c.ws.Close()
}

// closeNow sends a close frame and drops a connection that was never served.
func (c *conn) closeNow(code int, text string) {
	_ = c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, text), time.Now().Add(c.s.cfg.WriteTimeout))
	c.ws.Close()
}

// enqueue appends an encoded message to the send queue without blocking. When the queue is full
// the connection is a slow consumer: it is closed with 4002 and enqueue reports false, so that
// the sender can be told (spec §5.8 [LIM-1] [LIM-2]).
func (c *conn) enqueue(frame []byte) bool {
	select {
	case <-c.quit:
		return false
	default:
	}
	select {
	case c.send <- frame:
		return true
	default:
		// spec §5.8 [LIM-2]: a full queue closes the connection with 4002.
		c.s.metrics.QueueDrops.Inc()
		c.requestClose(CloseSlowConsumer, "slow consumer")
		return false
	}
}

// queueOwn appends a response to the connection's own queue. Unlike enqueue, which other
// connections use and which never waits, it waits up to WriteTimeout for the writer to make
// room: a client that sends requests faster than it reads the answers slows down only itself
// (spec §5.8 [LIM-1]); one that stops reading is closed with 4002 (LIM-2).
func (c *conn) queueOwn(frame []byte) {
	select {
	case c.send <- frame:
		return
	case <-c.quit:
		return
	default:
	}
	timer := time.NewTimer(c.s.cfg.WriteTimeout)
	defer timer.Stop()
	select {
	case c.send <- frame:
	case <-c.quit:
	case <-timer.C:
		c.s.metrics.QueueDrops.Inc()
		c.requestClose(CloseSlowConsumer, "slow consumer")
	}
}

// writeLoop writes queued messages and keepalive pings until the connection closes.
func (c *conn) writeLoop() {
	defer close(c.writerDone)
	// spec §4.2 [WS-7]: a ping every PingInterval.
	ping := time.NewTicker(c.s.cfg.PingInterval)
	defer ping.Stop()
	for {
		select {
		case <-c.quit:
			c.finishWrites()
			return
		default:
		}
		select {
		case <-c.quit:
		case frame := <-c.send:
			if err := c.writeFrame(frame, time.Now().Add(c.s.cfg.WriteTimeout)); err != nil {
				c.abort()
				return
			}
		case <-ping.C:
			if err := c.ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(c.s.cfg.WriteTimeout)); err != nil {
				c.abort()
				return
			}
		}
	}
}

// finishWrites sends what is queued, then the close frame. spec §5.7 [ERR-2]: the error that
// explains a close is queued before it, so it is written first. A slow consumer (4002) gets
// only the close frame.
func (c *conn) finishWrites() {
	if c.closeCode == closeNoFrame {
		return
	}
	deadline := time.Now().Add(c.s.cfg.WriteTimeout)
	if c.closeCode != CloseSlowConsumer {
		for drained := false; !drained; {
			select {
			case frame := <-c.send:
				if c.writeFrame(frame, deadline) != nil {
					return
				}
			default:
				drained = true
			}
		}
	}
	_ = c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(c.closeCode, c.closeText), deadline)
}

func (c *conn) writeFrame(frame []byte, deadline time.Time) error {
	_ = c.ws.SetWriteDeadline(deadline)
	return c.ws.WriteMessage(websocket.TextMessage, frame)
}

// registrationExpired closes a connection that has not registered in time (spec §4.2 [WS-9]).
// From then on its challenge is no longer accepted (spec §5.2 [REG-2]).
func (c *conn) registrationExpired() {
	if c.reg.CompareAndSwap(regPending, regExpired) {
		c.s.metrics.Registrations.WithLabelValues("timeout").Inc()
		c.requestClose(websocket.ClosePolicyViolation, "registration timeout")
	}
}
