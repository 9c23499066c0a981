package serversuite

import (
	"bytes"
	"cmp"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gorilla/websocket"
	"golang.org/x/time/rate"

	"github.com/blindpost/blindpost/conformance/harness"
	"github.com/blindpost/blindpost/impl/e2ee/identity"
	"github.com/blindpost/blindpost/impl/wire"
	"github.com/blindpost/blindpost/internal/tlspin"
)

// Client is one connection to the server under test, as a case sees it: it sends well-formed
// messages through the codec or raw frames, and reads the server's frames in order from a
// mailbox filled by a reader goroutine that records, validates and never blocks.
type Client struct {
	t     *harness.T
	env   *Env
	ws    *websocket.Conn
	label string // the connection in the transcript, for example "alice#2"
	inbox *mailbox

	Name      string // the username sent in hello
	Key       *identity.PrivateKey
	Pin       []byte      // the pin of the certificate the server presented (REG-11)
	Challenge []byte      // from hello_ack
	Limits    wire.Limits // from hello_ack (the spec's example values until then)

	pace   *rate.Limiter // keeps requests within the announced rate (LIM-6)
	silent atomic.Bool   // do not answer pings
	ended  atomic.Bool   // the connection has ended
	closed atomic.Bool   // the runner closed it
	gateMu sync.Mutex
	gate   chan struct{} // when not nil, the reader waits for it to close before reading on
	pings  atomic.Int64
	pongs  chan pongSeen // pongs received, for PingPong and AwaitPong; full: dropped
	texts  atomic.Int64  // text messages read so far
	skim   atomic.Bool   // text messages are passed on unparsed and unchecked (ResumeSkimming)
	sentMu sync.Mutex
	sent   []string // values this client sent that an error must not echo (ERR-4)
	nextID atomic.Int64

	// halfWritten is held while a frame is half written beneath the library (pendingRegister),
	// so that the pong to a ping does not land inside it.
	halfWritten sync.Mutex
}

// DialOptions change how a connection is opened.
type DialOptions struct {
	Subprotocols []string    // nil: blindpost.v1
	Header       http.Header // extra request headers, such as Origin
	WriteBuffer  int         // when > 0, the WebSocket write buffer: larger messages are fragmented
	TLS          *tls.Config // when set, replaces the suite's TLS configuration
	// ReadBuffer, when > 0, is the socket's receive buffer, set before the connection is made
	// (so that the window the client first advertises already fits it): a client that stops
	// reading then holds little in the kernel. A hint: the kernel may round it up.
	ReadBuffer int
}

var connSeq atomic.Int64

// defaultLimits are the example limits of spec §5.2, used until hello_ack says otherwise.
var defaultLimits = wire.Limits{MaxMessage: 65536, Rate: 50, Burst: 100, MaxGroups: 16, MaxGroupMembers: 100, PingIntervalMs: 30000, PongTimeoutMs: 60000, RegisterTimeoutMs: 10000}

// Dial opens a WebSocket connection for role (no hello yet). It stops the case when the
// connection cannot be opened.
func Dial(t *harness.T, role string) *Client {
	c, resp, err := DialWith(t, role, DialOptions{})
	if err != nil {
		t.Fatalf("cannot connect as %s: %v%s", role, err, statusText(resp))
	}
	return c
}

func statusText(resp *http.Response) string {
	if resp == nil {
		return ""
	}
	return fmt.Sprintf(" (HTTP %d)", resp.StatusCode)
}

// DialWith opens a connection with options and returns the HTTP response of the upgrade, so
// that a case can look at a refusal. The connection is closed when the case ends.
func DialWith(t *harness.T, role string, o DialOptions) (*Client, *http.Response, error) {
	env := envOf(t)
	label := fmt.Sprintf("%s#%d", role, connSeq.Add(1))
	tg := env.next(t)
	d := tlspin.NewDialer(cmp.Or(o.TLS, tg.tls), env.cfg.Wait)
	d.WriteBufferSize = o.WriteBuffer
	if o.Subprotocols != nil {
		d.Subprotocols = o.Subprotocols
	}
	if o.ReadBuffer > 0 {
		nd := &net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
			var serr error
			err := rc.Control(func(fd uintptr) {
				serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, o.ReadBuffer)
			})
			return cmp.Or(err, serr)
		}}
		d.NetDialContext = nd.DialContext
	}
	ctx, cancel := context.WithTimeout(t.Context(), env.cfg.Wait)
	defer cancel()
	t.Transcript().Notef(label, "dial %s subprotocols %v", tg.url, d.Subprotocols)
	ws, resp, err := d.DialContext(ctx, tg.url.String(), o.Header)
	if err != nil {
		t.Transcript().Notef(label, "dial failed: %v%s", err, statusText(resp))
		return nil, resp, fmt.Errorf("%s: %w", tg.url, err)
	}
	c := &Client{t: t, env: env, ws: ws, label: label, inbox: newMailbox(), Limits: defaultLimits, pongs: make(chan pongSeen, 8)}
	if tc, ok := ws.NetConn().(*tls.Conn); ok {
		if cs := tc.ConnectionState(); len(cs.PeerCertificates) > 0 {
			c.Pin = tlspin.Of(cs.PeerCertificates[0]).Bytes()
		}
	}
	if got := ws.Subprotocol(); got != wire.Subprotocol && slices.Contains(d.Subprotocols, wire.Subprotocol) {
		t.Mismatch("WS-1", "the server selects subprotocol "+wire.Subprotocol, fmt.Sprintf("subprotocol %q", got))
	}
	c.setPace()
	ws.SetPingHandler(c.onPing)
	ws.SetPongHandler(func(data string) error {
		t.Transcript().Add(label, harness.In, "pong", []byte(data))
		select {
		case c.pongs <- pongSeen{data: data, texts: c.texts.Load()}:
		default:
		}
		return nil
	})
	go c.readLoop()
	t.Cleanup(c.Close)
	return c, resp, nil
}

// setPace keeps this client's requests within the announced rate and burst (LIM-6), leaving a
// margin for hello and register and for jitter between the client's clock and the server's.
// The pings and pongs the client sends take from the same bucket (ChargeControl), as the server
// charges them (spec §5.10 [ABU-5]). The limiter is changed in place, never replaced, as the
// reader goroutine charges the pongs it sends to it.
func (c *Client) setPace() {
	r := rate.Limit(float64(c.Limits.Rate) * 0.8)
	b := max(int(c.Limits.Burst)-4, 1)
	if c.pace == nil {
		c.pace = rate.NewLimiter(r, b)
		return
	}
	c.pace.SetLimit(r)
	c.pace.SetBurst(b)
}

// chargeControl takes a token of the client's pace for a ping or pong it sent, which the server
// counts as a message (spec §5.10 [ABU-5]). It never waits: a pong is owed at once (WS-8), and
// the messages sent after it wait instead.
func (c *Client) chargeControl() { c.pace.ReserveN(time.Now(), 1) }

// shrinkReadBuffer makes the socket's receive buffer small: a client that stops reading then
// holds little in the kernel, so the server's queue fills after fewer small messages. A hint
// only: the kernel may round it up.
func (c *Client) shrinkReadBuffer(n int) {
	if tc, ok := c.ws.NetConn().(*tls.Conn); ok {
		if tcp, ok := tc.NetConn().(*net.TCPConn); ok {
			_ = tcp.SetReadBuffer(n)
		}
	}
}

// emptyPace empties the client's pacing bucket, after messages sent past it (SendNow) have
// emptied the server's. The fraction of a token left is taken too (the bucket goes below
// empty by less than one token): kept, it let the next message go out as little as 15 ms
// later, before the server's bucket, emptied earlier, had refilled a whole token.
func (c *Client) emptyPace() {
	c.setPace()
	now := time.Now()
	if n := c.pace.TokensAt(now); n > 0 {
		c.pace.ReserveN(now, int(math.Ceil(n)))
	}
}

// pongSeen is a pong as the reader saw it: its data, and how many text messages came before it.
type pongSeen struct {
	data  string
	texts int64
}

// Label returns the connection's name in the transcript.
func (c *Client) Label() string { return c.label }

// onPing records a ping and answers it, unless the client is silent (WS-7 keepalive cases).
func (c *Client) onPing(data string) error {
	c.t.Transcript().Add(c.label, harness.In, "ping", []byte(data))
	c.pings.Add(1)
	if c.silent.Load() {
		return nil
	}
	c.halfWritten.Lock()
	defer c.halfWritten.Unlock()
	err := c.ws.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(time.Second))
	if err == nil {
		c.chargeControl()
		c.t.Transcript().Add(c.label, harness.Out, "pong", []byte(data))
	}
	if errors.Is(err, websocket.ErrCloseSent) {
		return nil
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return nil
	}
	return err
}

// Silence stops the client from answering pings (and it sends nothing unless told to).
func (c *Client) Silence() { c.silent.Store(true) }

// Pings returns how many pings the server has sent.
func (c *Client) Pings() int64 { return c.pings.Load() }

// readLoop reads every frame until the connection ends, records it, checks what the server sent
// (MSG-6, ENC-7, ERR-4) and delivers it to the mailbox. It never blocks on the case.
func (c *Client) readLoop() {
	defer c.inbox.close()
	defer c.ended.Store(true)
	for {
		c.waitGate()
		typ, data, err := c.ws.ReadMessage()
		at := c.t.Elapsed()
		if err != nil {
			c.inbox.put(c.endFrame(err, at))
			return
		}
		switch typ {
		case websocket.TextMessage:
			c.t.Transcript().Add(c.label, harness.In, "text", data)
			c.texts.Add(1)
			if c.skim.Load() {
				c.inbox.put(Frame{Kind: KindText, Data: data, At: at})
				continue
			}
			f := textFrame(data, at)
			c.check(f)
			c.inbox.put(f)
		default:
			c.t.Transcript().Add(c.label, harness.In, "binary", data)
			c.t.Mismatch("WS-3", "only text messages from the server", fmt.Sprintf("a binary message of %d bytes on %s", len(data), c.label))
			c.inbox.put(Frame{Kind: KindBinary, Data: data, At: at})
		}
	}
}

// Pause stops reading from the connection after the frame being read, so that the server's
// writes back up (a slow reader, LIM-1 and LIM-2).
func (c *Client) Pause() {
	c.gateMu.Lock()
	defer c.gateMu.Unlock()
	if c.gate == nil {
		c.gate = make(chan struct{})
		c.t.Transcript().Notef(c.label, "stop reading")
	}
}

// Resume reads again after Pause.
func (c *Client) Resume() {
	c.gateMu.Lock()
	defer c.gateMu.Unlock()
	if c.gate != nil {
		close(c.gate)
		c.gate = nil
		c.t.Transcript().Notef(c.label, "read again")
	}
}

// ResumeSkimming reads again after Pause as fast as the connection delivers: the text messages
// from then on are passed on neither parsed nor checked against the schemas (MSG-6), which takes
// milliseconds for a relay of 32 KB, and tens of milliseconds under the race detector. For a
// case that waits for the close behind a backlog: a server gives a slow reader only so long to
// take what was written before its close frame (the reference relay: WriteTimeout), and the
// backlog is several megabytes in the kernel's buffers.
func (c *Client) ResumeSkimming() {
	c.skim.Store(true)
	c.Resume()
}

func (c *Client) waitGate() {
	c.gateMu.Lock()
	g := c.gate
	c.gateMu.Unlock()
	if g == nil {
		return
	}
	select {
	case <-g:
	case <-c.t.Context().Done():
	}
}

// pingEvery sends a WebSocket ping every d until the returned function is called (idempotent),
// so that a client that does not read still shows it is alive.
func (c *Client) pingEvery(d time.Duration) (stop func()) {
	done := make(chan struct{})
	var once sync.Once
	go func() {
		tick := time.NewTicker(max(d, 10*time.Millisecond))
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-c.t.Context().Done():
				return
			case <-tick.C:
				if c.ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(time.Second)) == nil {
					c.t.Transcript().Add(c.label, harness.Out, "ping", nil)
				}
			}
		}
	}()
	return func() { once.Do(func() { close(done) }) }
}

// Ended reports whether the connection has ended (the reader saw a close or an error).
func (c *Client) Ended() bool { return c.ended.Load() }

// endFrame turns the error that ended reading into the last frame: a close or a drop.
func (c *Client) endFrame(err error, at time.Duration) Frame {
	var ce *websocket.CloseError
	if errors.As(err, &ce) {
		c.t.Transcript().Add(c.label, harness.In, "close", fmt.Appendf(nil, "%d %q", ce.Code, ce.Text))
		return Frame{Kind: KindClose, Code: ce.Code, Text: ce.Text, At: at}
	}
	if c.closed.Load() && errors.Is(err, net.ErrClosed) {
		c.t.Transcript().Notef(c.label, "closed by the runner")
	} else {
		c.t.Transcript().Notef(c.label, "connection ended without a close frame: %v", err)
	}
	return Frame{Kind: KindDropped, Text: err.Error(), At: at}
}

// check applies the checks every server message gets: the schema (MSG-6), integers written in
// plain decimal (ENC-7), and no echo of what this client sent in an error (ERR-4).
func (c *Client) check(f Frame) {
	if v := validateServerMessage(f.Data); v != "" {
		c.t.MismatchMsg("MSG-6", "a message that validates against schemas/server-message.json", v+": "+f.Short(),
			"the server sent an invalid message on %s", c.label)
	}
	if bad := nonPlainNumbers(f.Data); len(bad) > 0 {
		c.t.MismatchMsg("ENC-7", "integers in plain decimal", strings.Join(bad, ", ")+" in "+f.Short(),
			"the server wrote a number that is not plain decimal on %s", c.label)
	}
	if f.Type == "error" {
		msg, _ := f.Msg["message"].(string)
		for _, s := range c.sentValues() {
			if strings.Contains(msg, s) {
				c.t.MismatchMsg("ERR-4", "an error message with names and positions only", f.Short(),
					"the error on %s repeats a value the client sent: %q", c.label, s)
			}
		}
	}
}

// Send encodes a well-formed message with the codec and sends it, paced to the announced rate.
func (c *Client) Send(m wire.Message) {
	data, err := wire.Encode(m)
	if err != nil {
		c.t.Fatalf("the suite built an invalid %s: %v", m.MessageType(), err)
	}
	c.SendRaw(data)
}

// SendRaw sends data as one text frame, paced to the announced rate, whatever it holds.
func (c *Client) SendRaw(data []byte) {
	if err := c.pace.Wait(c.t.Context()); err != nil {
		c.t.Fatalf("timed out pacing a message on %s to the server's rate: %v", c.label, err)
	}
	c.write(websocket.TextMessage, data)
}

// SendNow sends data as one text frame at once, ignoring the announced rate (floods).
func (c *Client) SendNow(data []byte) error { return c.writeErr(websocket.TextMessage, data) }

// SendBinary sends data as one binary frame.
func (c *Client) SendBinary(data []byte) { c.write(websocket.BinaryMessage, data) }

func (c *Client) write(typ int, data []byte) {
	if err := c.writeErr(typ, data); err != nil {
		c.t.Logf("%s: write failed: %v", c.label, err)
	}
}

func (c *Client) writeErr(typ int, data []byte) error {
	kind := "text"
	if typ == websocket.BinaryMessage {
		kind = "binary"
	}
	c.t.Transcript().Add(c.label, harness.Out, kind, data)
	c.remember(data)
	_ = c.ws.SetWriteDeadline(time.Now().Add(c.env.cfg.Wait))
	return c.ws.WriteMessage(typ, data)
}

// writeControl sends a ping carrying data, for floods (ABU-5); it is not in the transcript.
func (c *Client) writeControl(data []byte) error {
	return c.ws.WriteControl(websocket.PingMessage, data, time.Now().Add(c.env.cfg.Wait))
}

// writeRaw writes bytes that the case framed itself (whole frames) beneath the WebSocket
// library, for frames it would not send (ABU-5); they are not in the transcript.
func (c *Client) writeRaw(frames []byte) error {
	nc := c.ws.NetConn()
	_ = nc.SetWriteDeadline(time.Now().Add(c.env.cfg.Wait))
	_, err := nc.Write(frames)
	return err
}

// ID returns a fresh request id for this connection.
func (c *Client) ID() string { return fmt.Sprintf("r%d", c.nextID.Add(1)) }

// Close sends a normal close frame and drops the connection; it is idempotent.
func (c *Client) Close() {
	if c.sendClose() {
		c.ws.Close()
	}
}

// sendClose sends the close frame once; it reports false when the client was already closed.
func (c *Client) sendClose() bool {
	if c.closed.Swap(true) {
		return false
	}
	err := c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
	if err == nil {
		c.t.Transcript().Add(c.label, harness.Out, "close", []byte("1000"))
	}
	return true
}

// Drop closes the TCP connection without a close frame.
func (c *Client) Drop() {
	c.closed.Store(true)
	c.t.Transcript().Notef(c.label, "drop the connection")
	c.ws.Close()
}

// CloseAndWait closes normally and waits (for at most the wait) for the server's answering close
// frame or the end of the connection, so that the server has read the close; then it drops the
// connection.
func (c *Client) CloseAndWait() {
	if !c.sendClose() {
		return
	}
	defer c.ws.Close()
	for {
		f, ok := c.inbox.next(c.t.Context(), c.env.cfg.Wait)
		if !ok || f.Kind == KindClose || f.Kind == KindDropped {
			return
		}
	}
}

// remember keeps the long string values of a sent message that are not names, which an error
// must not repeat (ERR-4).
func (c *Client) remember(data []byte) {
	var vals []string
	dec := json.NewDecoder(bytes.NewReader(data))
	for {
		tok, err := dec.Token()
		if err != nil {
			break
		}
		if s, ok := tok.(string); ok && len(s) >= 16 && !nameLike.MatchString(s) && !strings.Contains(s, "\uFFFD") {
			vals = append(vals, s)
		}
	}
	if len(vals) == 0 {
		return
	}
	c.sentMu.Lock()
	defer c.sentMu.Unlock()
	c.sent = append(c.sent, vals...)
	if len(c.sent) > 4096 {
		c.sent = c.sent[len(c.sent)-4096:]
	}
}

func (c *Client) sentValues() []string {
	c.sentMu.Lock()
	defer c.sentMu.Unlock()
	return append([]string(nil), c.sent...)
}
