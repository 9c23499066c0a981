package serversuite

import (
	"bufio"
	"cmp"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/blindpost/blindpost/conformance/harness"
	"github.com/blindpost/blindpost/conformance/internal/wsframe"
	"github.com/blindpost/blindpost/impl/wire"
	"github.com/blindpost/blindpost/internal/tlspin"
)

// kindPong is a Frame of a wsConn: a pong from the server, its data in Data.
const kindPong = "pong"

// closeNoCode is the Code of a close frame without a payload (RFC 6455 §7.1.5 calls it 1005;
// it never appears on the wire).
const closeNoCode = 1005

// wsConn is a connection whose frames the case writes itself (package wsframe), for the ws/
// cases of RFC 6455 conformance (spec §4.2). A reader goroutine checks every frame the server
// sends (WS-16, and MSG-6 and ENC-7 for its messages), answers the server's pings with their
// data (WS-8), answers a close frame, and puts messages, pongs, the close and the end of the
// connection in a mailbox, in order.
type wsConn struct {
	t     *harness.T
	env   *Env
	label string
	tc    *tls.Conn
	br    *bufio.Reader
	inbox *mailbox
	wmu   sync.Mutex // one frame written at a time

	Name      string
	Challenge []byte
	Pin       []byte
	Limits    wire.Limits

	registered bool
	closeSent  atomic.Bool
	nextID     atomic.Int64
}

// openTLS opens a TLS connection to the server, as the suite's TLS configuration trusts it.
func openTLS(t *harness.T, tg *target) (*tls.Conn, error) {
	env := envOf(t)
	d := &net.Dialer{Timeout: env.cfg.Wait}
	tc := tg.tls.Clone()
	tc.NextProtos = []string{"http/1.1"}
	ctx, cancel := context.WithTimeout(t.Context(), env.cfg.Wait)
	defer cancel()
	raw, err := d.DialContext(ctx, "tcp", tg.hostPort())
	if err != nil {
		return nil, err
	}
	conn := tls.Client(raw, tc)
	if err := conn.HandshakeContext(ctx); err != nil {
		raw.Close()
		return nil, err
	}
	return conn, nil
}

// wsKey returns a fresh Sec-WebSocket-Key from the case's seeded source.
func wsKey(t *harness.T) string { return base64.StdEncoding.EncodeToString(Random(t, 16)) }

// upgradeRaw sends the upgrade request req (its Host and Key filled in when empty) on a new TLS
// connection and returns the response; the connection is closed when the case ends.
func upgradeRaw(t *harness.T, label string, req wsframe.Request) (*tls.Conn, *bufio.Reader, *http.Response, error) {
	env := envOf(t)
	tg := env.next(t)
	conn, err := openTLS(t, tg)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("%s: %w", tg.url, err)
	}
	t.Cleanup(func() { conn.Close() })
	if req.Host == "" {
		req.Host = tg.url.Host
	}
	if req.Path == "" {
		req.Path = tg.url.Path
	}
	if req.Key == "" {
		req.Key = wsKey(t)
	}
	_ = conn.SetDeadline(time.Now().Add(env.cfg.Wait))
	br := bufio.NewReaderSize(conn, 16<<10)
	t.Transcript().Notef(label, "upgrade to %s: %s %s, key %s, protocols %v, changed headers %v", tg.url, cmp.Or(req.Method, "GET"), req.Path, req.Key, req.Protocols, req.Header)
	resp, err := wsframe.Upgrade(conn, br, req)
	if err != nil {
		return nil, nil, nil, err
	}
	_ = conn.SetDeadline(time.Time{})
	t.Transcript().Notef(label, "upgrade answered: HTTP %d, Sec-WebSocket-Protocol %q, Sec-WebSocket-Extensions %q",
		resp.StatusCode, resp.Header.Get("Sec-WebSocket-Protocol"), resp.Header.Get("Sec-WebSocket-Extensions"))
	return conn, br, resp, nil
}

// dialWS opens a connection for role with a valid upgrade request offering blindpost.v1 and, in
// extra, more headers (an extension offered, say). It checks the switch (WS-13), the subprotocol
// (WS-1) and that no extension was accepted (WS-14), and stops the case when there is no
// WebSocket connection.
func dialWS(t *harness.T, role string, extra http.Header) *wsConn {
	env := envOf(t)
	label := fmt.Sprintf("%s#%d", role, connSeq.Add(1))
	key := wsKey(t)
	conn, br, resp, err := upgradeRaw(t, label, wsframe.Request{Key: key, Protocols: []string{wire.Subprotocol}, Header: extra})
	if err != nil {
		t.Fatalf("cannot open a WebSocket connection as %s: %v", role, err)
	}
	if bad := wsframe.CheckSwitch(resp, key); bad != "" {
		t.FatalMismatch("WS-13", "101 Switching Protocols with Upgrade, Connection and the Sec-WebSocket-Accept of RFC 6455 §4.2.2", bad)
	}
	if got := resp.Header.Get("Sec-WebSocket-Protocol"); got != wire.Subprotocol {
		t.Mismatch("WS-1", "the server selects subprotocol "+wire.Subprotocol, fmt.Sprintf("Sec-WebSocket-Protocol %q", got))
	}
	if ext := resp.Header.Values("Sec-WebSocket-Extensions"); len(ext) > 0 {
		t.Mismatch("WS-14", "no Sec-WebSocket-Extensions in the upgrade response", strings.Join(ext, ", "))
	}
	c := &wsConn{t: t, env: env, label: label, tc: conn, br: br, inbox: newMailbox(), Limits: defaultLimits}
	if cs := conn.ConnectionState(); len(cs.PeerCertificates) > 0 {
		c.Pin = tlspin.Of(cs.PeerCertificates[0]).Bytes()
	}
	go c.readLoop()
	t.Cleanup(c.close)
	return c
}

// openWS opens a connection for role and sends hello, so that its limits are known; with
// register it registers the case's username of that role too. A later connection of the same
// role replaces the earlier one (REG-7), which the ws/ cases have failed or closed by then.
func openWS(t *harness.T, role string, register bool) *wsConn {
	c := dialWS(t, role, nil)
	name := Name(t, role)
	c.hello(name)
	if register {
		c.register(name)
	}
	return c
}

// hello sends hello for name and takes the challenge and limits of hello_ack.
func (c *wsConn) hello(name string) {
	c.Name = name
	id := c.id()
	c.sendMsg(&wire.Hello{ID: id, Protocol: "blindpost/1", User: name})
	f := c.expectText("REG-1", "hello_ack")
	m, err := wire.Decode(wire.FromServer, f.Data)
	ack, ok := m.(*wire.HelloAck)
	if err != nil || !ok || ack.ID != id {
		c.t.FatalMismatch("REG-1", "hello_ack with id "+id, f.Short())
	}
	c.Challenge, c.Limits = ack.Challenge, ack.Limits
}

// register registers name with the case's key for it; what else comes first fails rule.
func (c *wsConn) register(name string) { c.registerFor("REG-3", name) }

func (c *wsConn) registerFor(rule, name string) {
	id := c.id()
	c.sendMsg(RegisterMsg(id, Key(c.t, name, 0), name, c.Challenge, c.Pin))
	c.expectResponse(rule, id, "register_ack", "register")
	c.registered = true
}

func (c *wsConn) id() string { return fmt.Sprintf("w%d", c.nextID.Add(1)) }

// sendMsg sends a message of the codec as one masked text frame.
func (c *wsConn) sendMsg(m wire.Message) {
	c.send(c.text(enc(m)))
}

// frame returns a masked frame with a fresh masking key from the case's source.
func (c *wsConn) frame(fin bool, op byte, payload []byte) wsframe.Frame {
	f := wsframe.Frame{Fin: fin, Opcode: op, Masked: true, Payload: payload}
	copy(f.Key[:], Random(c.t, 4))
	return f
}

// text is one masked text frame holding a whole message.
func (c *wsConn) text(data []byte) wsframe.Frame { return c.frame(true, wsframe.OpText, data) }

// control is one masked control frame.
func (c *wsConn) control(op byte, data []byte) wsframe.Frame { return c.frame(true, op, data) }

// fragments splits data into a text message of fragments of the given sizes (the last takes
// the rest), masked.
func (c *wsConn) fragments(op byte, data []byte, sizes ...int) []wsframe.Frame {
	var out []wsframe.Frame
	for _, n := range sizes {
		n = min(n, len(data))
		out = append(out, c.frame(false, op, data[:n]))
		data, op = data[n:], wsframe.OpContinuation
	}
	return append(out, c.frame(true, op, data))
}

// send writes frames in one write, so that they reach the server together.
func (c *wsConn) send(frames ...wsframe.Frame) {
	var b []byte
	for _, f := range frames {
		c.record(f)
		b = wsframe.Append(b, f)
	}
	c.writeBytes(b)
}

// sendChopped writes frames one byte at a time, each byte a TLS record of its own, so that the
// server reads every frame header and payload in pieces (WS-19).
func (c *wsConn) sendChopped(frames ...wsframe.Frame) {
	var b []byte
	for _, f := range frames {
		c.record(f)
		b = wsframe.Append(b, f)
	}
	c.t.Transcript().Notef(c.label, "the %d bytes above written one byte per TLS record", len(b))
	// One lock for all of it: a pong the reader owes must not land inside a frame.
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_ = c.tc.SetWriteDeadline(time.Now().Add(c.env.cfg.Wait))
	for i := range b {
		if _, err := c.tc.Write(b[i : i+1]); err != nil {
			c.t.Transcript().Notef(c.label, "write failed: %v", err)
			return
		}
	}
}

// sendHeader writes a frame header alone, announcing length bytes that are not sent.
func (c *wsConn) sendHeader(fin bool, op byte, length uint64, form int) {
	key := [4]byte(Random(c.t, 4))
	c.t.Transcript().Add(c.label, harness.Out, wsframe.OpName(op)+" header", fmt.Appendf(nil, "fin %v, announces %d bytes (%d-bit form), no payload", fin, length, form))
	c.writeBytes(wsframe.AppendHeader(nil, fin, 0, op, true, key, length, form))
}

// writeBytes writes b; false when the connection is gone (which a case that expects the
// server to fail the connection may meet).
func (c *wsConn) writeBytes(b []byte) bool {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_ = c.tc.SetWriteDeadline(time.Now().Add(c.env.cfg.Wait))
	if _, err := c.tc.Write(b); err != nil {
		c.t.Transcript().Notef(c.label, "write failed: %v", err)
		return false
	}
	return true
}

// record puts a frame the runner sends in the transcript, its flags in the kind when they are
// unusual.
func (c *wsConn) record(f wsframe.Frame) {
	kind := wsframe.OpName(f.Opcode)
	if !f.Fin {
		kind += " (no FIN)"
	}
	if f.RSV != 0 {
		kind += fmt.Sprintf(" (RSV %03b)", f.RSV)
	}
	if !f.Masked {
		kind += " (unmasked)"
	}
	if f.LengthForm != wsframe.LengthMinimal && !f.MinimalLength() {
		kind += fmt.Sprintf(" (%d-bit length)", f.LengthForm)
	}
	c.t.Transcript().Add(c.label, harness.Out, kind, f.Payload)
}

// closeWrite ends the runner's side of the connection (a TLS close_notify): a server still
// waiting for bytes a frame announced reads the end instead.
func (c *wsConn) closeWrite() {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.t.Transcript().Notef(c.label, "close the runner's side of the connection (TLS close_notify)")
	_ = c.tc.CloseWrite()
}

// close sends a normal close frame, when none was sent, and closes the connection.
func (c *wsConn) close() {
	if !c.closeSent.Swap(true) {
		f := c.control(wsframe.OpClose, wsframe.ClosePayload(1000, ""))
		c.wmu.Lock()
		_ = c.tc.SetWriteDeadline(time.Now().Add(time.Second))
		_, _ = c.tc.Write(wsframe.Append(nil, f))
		c.wmu.Unlock()
	}
	c.tc.Close()
}

// sendClose sends a close frame with payload (which may be anything) as the runner's close.
func (c *wsConn) sendClose(payload []byte) {
	c.closeSent.Store(true)
	c.send(c.control(wsframe.OpClose, payload))
}

// readLimit bounds what the runner reads of one frame or message of the server.
const readLimit = 16 << 20

// readLoop reads every frame of the server until the connection ends.
func (c *wsConn) readLoop() {
	defer c.inbox.close()
	var msg []byte
	var msgOp byte
	inMsg, closed := false, false
	for {
		f, err := wsframe.ReadFrame(c.br, readLimit)
		at := c.t.Elapsed()
		if err != nil {
			c.inbox.put(c.ended(err, at))
			return
		}
		c.checkFrame(f, inMsg, closed)
		switch {
		case f.Opcode == wsframe.OpPing:
			c.t.Transcript().Add(c.label, harness.In, "ping", f.Payload)
			if !closed && !c.closeSent.Load() {
				c.writeControl(wsframe.OpPong, f.Payload) // WS-8
			}
		case f.Opcode == wsframe.OpPong:
			c.t.Transcript().Add(c.label, harness.In, "pong", f.Payload)
			c.inbox.put(Frame{Kind: kindPong, Data: f.Payload, At: at})
		case f.Opcode == wsframe.OpClose:
			closed = true
			code, reason, _ := wsframe.ParseClose(f.Payload)
			c.t.Transcript().Add(c.label, harness.In, "close", fmt.Appendf(nil, "%d %q", code, reason))
			fr := Frame{Kind: KindClose, Code: int(code), Text: string(reason), At: at}
			if len(f.Payload) == 0 {
				fr.Code = closeNoCode
			}
			if !c.closeSent.Swap(true) { // RFC 6455 §5.5.1: answer the close
				var echo []byte
				if len(f.Payload) >= 2 {
					echo = wsframe.ClosePayload(code, "")
				}
				c.writeControl(wsframe.OpClose, echo)
			}
			// Both close frames are out: the runner's side ends (RFC 6455 §7.1.1 lets a client
			// close once it sent and received one), so that a server that lingers for the
			// client's last bytes after failing a connection reads the end at once.
			c.closeWrite()
			c.inbox.put(fr)
		case f.Opcode == wsframe.OpText || f.Opcode == wsframe.OpBinary || f.Opcode == wsframe.OpContinuation:
			if f.Opcode != wsframe.OpContinuation {
				msg, msgOp = nil, f.Opcode
			}
			msg = append(msg, f.Payload...)
			inMsg = !f.Fin
			if f.Fin && !closed {
				c.inbox.put(c.message(msgOp, msg, at))
				msg = nil
			}
		}
	}
}

// writeControl sends a control frame from the reader goroutine (a pong, the answering close).
func (c *wsConn) writeControl(op byte, data []byte) {
	f := c.control(op, data)
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_ = c.tc.SetWriteDeadline(time.Now().Add(c.env.cfg.Wait))
	if _, err := c.tc.Write(wsframe.Append(nil, f)); err == nil {
		c.t.Transcript().Add(c.label, harness.Out, wsframe.OpName(op), data)
	}
}

// message turns a whole message of the server into a Frame, with the checks every message
// gets: text only (WS-3), valid UTF-8 (WS-4), the schema (MSG-6), plain integers (ENC-7).
func (c *wsConn) message(op byte, data []byte, at time.Duration) Frame {
	if op == wsframe.OpBinary {
		c.t.Transcript().Add(c.label, harness.In, "binary", data)
		c.t.Mismatch("WS-3", "only text messages from the server", fmt.Sprintf("a binary message of %d bytes on %s", len(data), c.label))
		return Frame{Kind: KindBinary, Data: data, At: at}
	}
	c.t.Transcript().Add(c.label, harness.In, "text", data)
	if !utf8.Valid(data) {
		c.t.Mismatch("WS-4", "text messages of valid UTF-8 from the server", fmt.Sprintf("%d bytes that are not on %s", len(data), c.label))
	}
	f := textFrame(data, at)
	if v := validateServerMessage(data); v != "" {
		c.t.MismatchMsg("MSG-6", "a message that validates against schemas/server-message.json", v+": "+f.Short(),
			"the server sent an invalid message on %s", c.label)
	}
	if bad := nonPlainNumbers(data); len(bad) > 0 {
		c.t.MismatchMsg("ENC-7", "integers in plain decimal", strings.Join(bad, ", ")+" in "+f.Short(),
			"the server wrote a number that is not plain decimal on %s", c.label)
	}
	return f
}

// checkFrame applies spec §4.2 [WS-16] to a frame of the server: unmasked, no RSV bit, an
// opcode of RFC 6455, control frames whole and short, lengths in the minimal form, close frames
// well-formed, fragments in order, and nothing after the close.
func (c *wsConn) checkFrame(f wsframe.Frame, inMsg, closed bool) {
	var bad []string
	if f.Masked {
		bad = append(bad, "masked")
	}
	if f.RSV != 0 {
		bad = append(bad, fmt.Sprintf("RSV bits %03b set", f.RSV))
	}
	if !f.MinimalLength() {
		bad = append(bad, fmt.Sprintf("a length of %d in the %d-bit form", len(f.Payload), f.LengthForm))
	}
	switch op := f.Opcode; {
	case op == wsframe.OpClose || op == wsframe.OpPing || op == wsframe.OpPong:
		if !f.Fin {
			bad = append(bad, "a fragmented control frame")
		}
		if len(f.Payload) > wsframe.MaxControlPayload {
			bad = append(bad, fmt.Sprintf("a control frame of %d bytes", len(f.Payload)))
		}
		if op == wsframe.OpClose {
			code, reason, ok := wsframe.ParseClose(f.Payload)
			switch {
			case !ok:
				bad = append(bad, "a close frame of one byte")
			case len(f.Payload) >= 2 && !wsframe.SendableCloseCode(code):
				bad = append(bad, fmt.Sprintf("close code %d, which RFC 6455 §7.4 keeps off the wire", code))
			case !utf8.Valid(reason):
				bad = append(bad, "a close reason that is not UTF-8")
			}
		}
	case op == wsframe.OpContinuation && !inMsg:
		bad = append(bad, "a continuation frame outside a fragmented message")
	case (op == wsframe.OpText || op == wsframe.OpBinary) && inMsg:
		bad = append(bad, "a new message inside a fragmented one")
	case op != wsframe.OpContinuation && op != wsframe.OpText && op != wsframe.OpBinary:
		bad = append(bad, fmt.Sprintf("reserved opcode %d", op))
	}
	if closed && f.Opcode != wsframe.OpClose {
		bad = append(bad, "a frame after the server's close frame")
	}
	if len(bad) > 0 {
		c.t.MismatchMsg("WS-16", "frames as RFC 6455 §5 has a server send them",
			fmt.Sprintf("%s frame: %s", wsframe.OpName(f.Opcode), strings.Join(bad, "; ")), "the server sent a frame RFC 6455 does not allow on %s", c.label)
	}
}

// ended turns the error that ended reading into the last frame.
func (c *wsConn) ended(err error, at time.Duration) Frame {
	what := err.Error()
	if errors.Is(err, io.EOF) {
		what = "the server closed the connection"
	}
	c.t.Transcript().Notef(c.label, "connection ended: %s", what)
	return Frame{Kind: KindDropped, Text: what, At: at}
}

// next returns the next thing the server did, or stops the case after the wait.
func (c *wsConn) next(what string) Frame {
	c.t.Waiting(what + " on " + c.label)
	defer c.t.Waiting("")
	f, ok := c.inbox.next(c.t.Context(), c.env.cfg.Wait)
	if !ok {
		c.t.Fatalf("timed out waiting for %s on %s (%s)", what, c.label, c.env.cfg.Wait)
	}
	return f
}

// expectText reads the next frame, which must be a message of type typ.
func (c *wsConn) expectText(rule, typ string) Frame {
	f := c.next(typ)
	if f.Kind != KindText || f.Type != typ {
		c.t.FatalMismatch(rule, typ+" on "+c.label, f.Short())
	}
	return f
}

// expectResponse reads the next frame, which must be a message of type typ echoing id.
func (c *wsConn) expectResponse(rule, id, typ, what string) Frame {
	f := c.next(typ + " answering " + what)
	if f.Kind != KindText || f.Type != typ || f.Str("id") != id {
		c.t.FatalMismatch(rule, fmt.Sprintf("%s with id %q answering %s", typ, id, what), f.Short())
	}
	return f
}

// listUsers is a list_users request with a fresh id, and the id.
func (c *wsConn) listUsers() ([]byte, string) {
	id := c.id()
	return enc(&wire.ListUsers{ID: id}), id
}

// alive checks that the connection still serves messages, and that nothing came before the
// answer: list_users gets its user_list; before registration, register gets its register_ack.
func (c *wsConn) alive(rule, after string) {
	if !c.registered {
		c.registerFor(rule, c.Name)
		return
	}
	data, id := c.listUsers()
	c.send(c.text(data))
	c.expectResponse(rule, id, "user_list", "list_users after "+after)
}

// expectPong reads the next frame, which must be a pong carrying data.
func (c *wsConn) expectPong(rule string, data []byte, after string) {
	f := c.next("the pong answering " + after)
	if f.Kind != kindPong || string(f.Data) != string(data) {
		c.t.Mismatch(rule, fmt.Sprintf("a pong carrying the %d bytes of %s", len(data), after), describeWS(f))
	}
}

// describeWS is Frame.Short, with pongs.
func describeWS(f Frame) string {
	if f.Kind == kindPong {
		text, _ := harness.Printable(f.Data, 80)
		return fmt.Sprintf("a pong of %d bytes: %s", len(f.Data), text)
	}
	return f.Short()
}

// expectFailed checks spec §4.2 [WS-12]: after what the case sent, the server fails the
// connection: a close frame with one of codes (1002 unless a rule allows others), or the end
// of the connection without one; nothing before it (no message handled, no pong), and the end
// of the connection after the close frame. RFC 6455 §7.1.7 lets a server close the TCP
// connection with or without a close frame, and a server may fail at the offending frame or
// after reading it whole: both pass.
func (c *wsConn) expectFailed(rule, what string, codes ...int) {
	if len(codes) == 0 {
		codes = []int{1002}
	}
	want := fmt.Sprintf("the connection failed for %s: close %s, or closed without a close frame", what, joinCodes(codes))
	for {
		f := c.next("the server to fail the connection for " + what)
		switch f.Kind {
		case KindDropped:
			return
		case KindClose:
			if !containsCode(codes, f.Code) {
				c.t.Mismatch(rule, want, describeWS(f))
			}
			c.expectEnd(rule, what)
			return
		default:
			c.t.MismatchMsg("WS-12", want, describeWS(f), "the server went on after %s on %s", what, c.label)
			if f.Kind != KindText && f.Kind != kindPong {
				return
			}
		}
	}
}

// expectEnd reads until the connection ends, which must come within the wait after the close.
func (c *wsConn) expectEnd(rule, what string) {
	for {
		f, ok := c.inbox.next(c.t.Context(), c.env.cfg.Wait)
		if !ok {
			if !c.inboxClosed() && c.t.Context().Err() == nil {
				c.t.Mismatch(rule, fmt.Sprintf("the TCP connection closed after the close frame for %s", what), "still open after "+c.env.cfg.Wait.String())
			}
			return
		}
		if f.Kind == KindDropped {
			return
		}
		// Anything else came after the close: checkFrame has reported it (WS-16).
	}
}

func (c *wsConn) inboxClosed() bool {
	c.inbox.mu.Lock()
	defer c.inbox.mu.Unlock()
	return c.inbox.closed
}

func containsCode(codes []int, code int) bool {
	for _, x := range codes {
		if x == code {
			return true
		}
	}
	return false
}

func joinCodes(codes []int) string {
	s := make([]string, len(codes))
	for i, c := range codes {
		s[i] = fmt.Sprint(c)
	}
	return strings.Join(s, " or ")
}
