package client

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/gorilla/websocket"
	"golang.org/x/time/rate"

	"github.com/blindpost/blindpost/impl/client/tlstrust"
	"github.com/blindpost/blindpost/impl/e2ee"
	"github.com/blindpost/blindpost/impl/wire"
	"github.com/blindpost/blindpost/internal/tlspin"
)

// Timers of one connection.
const (
	writeTimeout     = 10 * time.Second // one frame write
	handshakeTimeout = 15 * time.Second // TLS and WebSocket upgrade
	registerTimeout  = 10 * time.Second // hello to register_ack (the relay's deadline, WS-9)
	// idleTimeout closes a connection on which nothing, not even a ping, arrived for this long;
	// the relay pings every 30 seconds (WS-7).
	idleTimeout = 75 * time.Second
	closeGrace  = 2 * time.Second // wait for the relay's close frame after ours
	outQueue    = 1024            // messages waiting for the writer
)

// closeAbnormal is the code reported when the connection dropped without a close frame.
const closeAbnormal = websocket.CloseAbnormalClosure // 1006

// limits are the relay's announced limits (spec §5.8).
type limits struct {
	maxMessage, rate, burst, maxGroups, maxGroupMembers int
}

// reply is what answered a request: the response, or the error (a *ServerError when the relay
// refused, ErrNotConnected when the connection ended first).
type replyFunc func(m inbound, err error)

// outItem is one message waiting for the writer, or (closing) the close frame that ends a
// deliberate close after everything queued before it.
type outItem struct {
	data    []byte
	closing bool
}

// conn is one registered connection to the relay. A reader goroutine decodes every message and
// either completes the request it answers or hands it to the client's dispatcher, in arrival
// order; a writer goroutine sends queued messages in order within the announced rate (LIM-6).
type conn struct {
	ws       *websocket.Conn
	verified tlstrust.Verified
	server   string
	limits   limits
	log      *slog.Logger
	limiter  *rate.Limiter

	out    chan outItem
	pong   chan string   // the data of the latest ping not yet answered; the writer answers it
	done   chan struct{} // closed when the reader has exited and every request is completed
	stopWr chan struct{} // closed to stop the writer

	mu      sync.Mutex
	nextID  uint64
	pending map[string]pendingReq
	ended   bool
	code    int    // close code, once ended
	reason  string // close reason
	err     error  // what ended the connection
	byUs    bool   // we closed it deliberately
	closing bool   // we sent a close frame because the relay broke the protocol
}

type pendingReq struct {
	typ     string
	onReply replyFunc
}

// dialResult is a connection after TLS, the WebSocket upgrade and registration.
type dialResult struct {
	ws       *websocket.Conn
	verified tlstrust.Verified
}

// dialWS opens the TLS connection and upgrades it with the blindpost.v1 subprotocol. The TLS
// verification follows policy (spec §4.1); the returned pin is the one the verifier accepted for
// this very connection, which the registration proof carries (REG-11).
func dialWS(ctx context.Context, url string, policy tlstrust.Policy) (dialResult, error) {
	hostport, err := tlstrust.HostPort(url)
	if err != nil {
		return dialResult{}, fmt.Errorf("client: %w", err)
	}
	cfg, v, err := policy.Config(hostport)
	if err != nil {
		return dialResult{}, fmt.Errorf("client: %w", err)
	}
	d := tlspin.NewDialer(cfg, handshakeTimeout) // offers the subprotocol of spec §4.2 [WS-1]
	ws, resp, err := d.DialContext(ctx, url, nil)
	if err != nil {
		err = tlstrust.Explain(hostport, err)
		if resp != nil && resp.StatusCode != http.StatusSwitchingProtocols {
			err = fmt.Errorf("%w (HTTP %d)", err, resp.StatusCode)
		}
		return dialResult{}, fmt.Errorf("client: connect %s: %w", hostport, err)
	}
	if ws.Subprotocol() != wire.Subprotocol { // spec §4.2 [WS-1]
		ws.Close()
		return dialResult{}, fmt.Errorf("client: %s did not select the %s subprotocol", hostport, wire.Subprotocol)
	}
	verified, ok := v.Result()
	tlsConn, isTLS := ws.NetConn().(*tls.Conn)
	if !ok || !isTLS {
		ws.Close()
		return dialResult{}, fmt.Errorf("client: %s: no verified certificate", hostport)
	}
	// spec §5.2 [REG-11]: the pin signed is the pin of the certificate of this connection.
	if certs := tlsConn.ConnectionState().PeerCertificates; len(certs) == 0 || tlspin.Of(certs[0]) != verified.Pin {
		ws.Close()
		return dialResult{}, fmt.Errorf("client: %s: the verified certificate is not the connection's", hostport)
	}
	return dialResult{ws: ws, verified: verified}, nil
}

// newLimiter mirrors the relay's token bucket (spec §5.8 [LIM-6]). The relay already took two
// tokens for hello and register, and one token is kept in reserve so that messages that arrive
// closer together than they were sent are not refused.
func newLimiter(l limits) *rate.Limiter {
	burst := max(l.burst-1, 1)
	lim := rate.NewLimiter(rate.Limit(float64(max(l.rate, 1))*0.95), burst)
	lim.ReserveN(time.Now(), min(2, burst))
	return lim
}

// newConn wraps a registered WebSocket and starts its reader and writer. dispatch receives every
// message that is not a response, in order, on the reader goroutine.
func newConn(dr dialResult, ack helloAck, log *slog.Logger, dispatch func(inbound)) *conn {
	c := &conn{
		ws:       dr.ws,
		verified: dr.verified,
		server:   ack.server,
		limits:   ack.limits,
		log:      log,
		limiter:  newLimiter(ack.limits),
		out:      make(chan outItem, outQueue),
		pong:     make(chan string, 1),
		done:     make(chan struct{}),
		stopWr:   make(chan struct{}),
		pending:  map[string]pendingReq{},
	}
	c.ws.SetReadLimit(int64(ack.limits.maxMessage))
	c.ws.SetPingHandler(func(data string) error {
		c.ws.SetReadDeadline(time.Now().Add(idleTimeout))
		c.answerPing(data)
		return nil
	})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); c.write() }()
	go func() {
		c.read(dispatch)
		close(c.stopWr)
		wg.Wait()
		c.ws.Close()
		c.failPending()
		close(c.done)
	}()
	return c
}

// read decodes messages until the connection ends.
func (c *conn) read(dispatch func(inbound)) {
	for {
		c.ws.SetReadDeadline(time.Now().Add(idleTimeout))
		typ, data, err := c.ws.ReadMessage()
		if err != nil {
			c.end(err)
			return
		}
		if c.isClosing() {
			continue // after our close frame, nothing more is handled
		}
		if typ != websocket.TextMessage { // spec §4.2 [WS-3]
			c.closeWith(websocket.CloseUnsupportedData, "binary message")
			continue
		}
		if !utf8.Valid(data) { // spec §4.2 [WS-4]
			c.closeWith(websocket.CloseInvalidFramePayloadData, "invalid UTF-8")
			continue
		}
		m, err := decodeInbound(data)
		if err != nil {
			dispatch(malformed{err: err})
			// spec §5.7 [ERR-5]: an error the client cannot accept (a code outside the closed
			// set) is malformed, and the request it answers has failed.
			if p, ok := c.take(errorReplyID(data)); ok {
				p.onReply(nil, e2ee.Wrap(e2ee.Malformed, malformedRule(err), err, "the relay answered %s with a malformed error", p.typ))
			}
			continue
		}
		if id := m.requestID(); id != "" {
			if p, ok := c.take(id); ok {
				var rerr error
				if e, isErr := m.(errorMsg); isErr {
					rerr = &ServerError{For: firstNonEmpty(e.forType, p.typ), Code: normalizeCode(e.code), Message: e.message}
					m = nil
				}
				p.onReply(m, rerr)
				continue
			}
		}
		dispatch(m)
	}
}

// answerPing hands the pong for a ping to the writer (spec §4.2 [WS-8]). The reader never
// waits for the socket: a pong written beside the writer would, behind a full socket, stop the
// reader, and its timeout would break the TLS connection. Only the latest ping needs its pong
// (RFC 6455 §5.5.3); only the reader calls this, so the replacement cannot race another.
func (c *conn) answerPing(data string) {
	select {
	case c.pong <- data:
	default:
		select {
		case <-c.pong:
		default:
		}
		c.pong <- data
	}
}

// write sends queued messages in order, within the relay's rate (spec §5.8 [LIM-6]), and the
// pongs the reader hands it (control frames take no token).
func (c *conn) write() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-c.stopWr
		cancel()
	}()
	for {
		select {
		case <-c.stopWr:
			return
		case data := <-c.pong:
			err := c.ws.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(writeTimeout))
			if err != nil && !errors.Is(err, websocket.ErrCloseSent) { // after our close, the relay's answer is awaited
				c.log.Debug("client: pong failed", "err", err)
				c.ws.Close()
				return
			}
		case item := <-c.out:
			if item.closing {
				c.sendClose(websocket.CloseNormalClosure, "bye")
				return
			}
			if err := c.limiter.Wait(ctx); err != nil {
				return
			}
			c.ws.SetWriteDeadline(time.Now().Add(writeTimeout))
			if err := c.ws.WriteMessage(websocket.TextMessage, item.data); err != nil {
				c.log.Debug("client: write failed", "err", err)
				c.ws.Close() // the reader sees the failure and ends the connection
				return
			}
		}
	}
}

// post queues a request built by encode with a fresh id. onReply runs later on the reader
// goroutine with the response, the relay's refusal, or ErrNotConnected when the connection ends
// first. post never blocks and never calls onReply itself: when the request cannot even be
// queued it returns the error instead.
func (c *conn) post(typ string, encode func(id string) ([]byte, error), onReply replyFunc) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ended {
		return ErrNotConnected
	}
	c.nextID++
	id := "c" + strconv.FormatUint(c.nextID, 10)
	data, err := encode(id)
	if err != nil {
		return err
	}
	if len(data) > c.limits.maxMessage { // spec §4.2 [WS-6]
		return fmt.Errorf("client: %s of %d bytes exceeds the relay's limit of %d: %w", typ, len(data), c.limits.maxMessage, ErrBadArgument)
	}
	select {
	case c.out <- outItem{data: data}:
		c.pending[id] = pendingReq{typ: typ, onReply: onReply}
		return nil
	default:
		return fmt.Errorf("client: send queue full: %w", ErrNotConnected)
	}
}

// fits reports, without posting, whether the message encode writes for the longest request id
// stays within the relay's announced limit (spec §4.2 [WS-6]).
func (c *conn) fits(typ string, encode func(id string) ([]byte, error)) error {
	data, err := encode("c" + strconv.FormatUint(math.MaxUint64, 10))
	if err != nil {
		return err
	}
	c.mu.Lock()
	max := c.limits.maxMessage
	c.mu.Unlock()
	if len(data) > max {
		return fmt.Errorf("client: %s of %d bytes exceeds the relay's limit of %d: %w", typ, len(data), max, ErrBadArgument)
	}
	return nil
}

// waiter is the reply of a posted request, for a caller that waits outside its locks.
type waiter struct {
	typ string
	ch  chan result
}

type result struct {
	m   inbound
	err error
}

// start posts a request whose reply the caller collects with wait. check, when not nil, runs on
// the reader goroutine with the response, in order with the other messages, and its error is
// the wait's error.
func (c *conn) start(typ string, encode func(id string) ([]byte, error), check func(inbound) error) (waiter, error) {
	w := waiter{typ: typ, ch: make(chan result, 1)}
	err := c.post(typ, encode, func(m inbound, err error) {
		if err == nil && check != nil {
			err = check(m)
		}
		w.ch <- result{m, err}
	})
	return w, err
}

// wait returns the reply of the request, or the context's error.
func (w waiter) wait(ctx context.Context) (inbound, error) {
	select {
	case r := <-w.ch:
		return r.m, r.err
	case <-ctx.Done():
		return nil, fmt.Errorf("client: waiting for the answer to %s: %w", w.typ, ctx.Err())
	}
}

// call posts a request and waits for its reply (see start).
func (c *conn) call(ctx context.Context, typ string, encode func(id string) ([]byte, error), check func(inbound) error) (inbound, error) {
	w, err := c.start(typ, encode, check)
	if err != nil {
		return nil, err
	}
	return w.wait(ctx)
}

func (c *conn) take(id string) (pendingReq, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	p, ok := c.pending[id]
	delete(c.pending, id)
	return p, ok
}

// failPending completes every outstanding request with ErrNotConnected.
func (c *conn) failPending() {
	c.mu.Lock()
	pending := c.pending
	c.pending = map[string]pendingReq{}
	c.mu.Unlock()
	for _, p := range pending {
		p.onReply(nil, ErrNotConnected)
	}
}

// end records why the connection ended: the relay's close code, or 1006 when it dropped.
func (c *conn) end(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ended {
		return
	}
	c.ended, c.err = true, err
	var ce *websocket.CloseError
	if errors.As(err, &ce) {
		c.code, c.reason = ce.Code, ce.Text
	} else if c.code == 0 {
		c.code = closeAbnormal
	}
}

// isClosing reports whether this side sent a close frame because the relay broke the protocol.
func (c *conn) isClosing() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closing
}

// closeWith ends the connection because the relay broke the protocol (WS-3, WS-4).
func (c *conn) closeWith(code int, reason string) {
	c.mu.Lock()
	c.closing = true
	c.mu.Unlock()
	c.sendClose(code, reason)
}

// sendClose sends a close frame with code; the reader returns once the relay answers or the
// grace period passes.
func (c *conn) sendClose(code int, reason string) {
	c.mu.Lock()
	if c.code == 0 {
		c.code, c.reason = code, reason
	}
	c.mu.Unlock()
	msg := websocket.FormatCloseMessage(code, reason)
	c.ws.WriteControl(websocket.CloseMessage, msg, time.Now().Add(writeTimeout))
	c.ws.SetReadDeadline(time.Now().Add(closeGrace))
}

// close ends the connection deliberately with 1000, after the messages already queued, and waits
// for the reader to finish.
func (c *conn) close() {
	c.mu.Lock()
	c.byUs = true
	c.mu.Unlock()
	select {
	case c.out <- outItem{closing: true}:
	default:
		c.sendClose(websocket.CloseNormalClosure, "bye")
	}
	t := time.NewTimer(writeTimeout + closeGrace)
	defer t.Stop()
	select {
	case <-c.done:
	case <-t.C:
		c.ws.Close()
		<-c.done
	}
}

// closeInfo returns how the connection ended, once done is closed.
func (c *conn) closeInfo() (code int, reason string, byUs bool, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.code, c.reason, c.byUs, c.err
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
