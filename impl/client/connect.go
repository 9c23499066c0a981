package client

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gorilla/websocket"

	"github.com/blindpost/blindpost/impl/client/tlstrust"
	"github.com/blindpost/blindpost/impl/e2ee"
	"github.com/blindpost/blindpost/impl/e2ee/identity"
)

// Close codes after which the client does not reconnect (spec §4.2).
const (
	closeReplaced = 4001 // a newer login of the same identity took over
	closePolicy   = 1008 // registration failed or timed out
)

// connect dials, verifies and registers one connection. When the certificate is unknown and
// ConfirmServer says yes, the pin is stored and the dial is repeated (spec §4.1 [TLS-4]).
func (c *Client) connect(ctx context.Context, first bool) (*conn, error) {
	dr, err := dialWS(ctx, c.opts.URL, c.opts.TLS)
	var unknown *tlstrust.UnknownServerError
	if errors.As(err, &unknown) && c.opts.ConfirmServer != nil {
		ok, cerr := c.opts.ConfirmServer(ctx, unknown.HostPort, unknown.Pin)
		if cerr != nil {
			return nil, fmt.Errorf("client: confirm server: %w", cerr)
		}
		if !ok {
			return nil, err
		}
		if aerr := c.opts.TLS.Known.Add(unknown.HostPort, unknown.Pin); aerr != nil {
			return nil, fmt.Errorf("client: %w", aerr)
		}
		// The second dial is verified against the stored pin: a relay that changed its
		// certificate in between is refused.
		dr, err = dialWS(ctx, c.opts.URL, c.opts.TLS)
	}
	if err != nil {
		return nil, err
	}
	ack, err := register(ctx, dr, c.user, c.id, c.opts.Invite)
	if err != nil {
		dr.ws.Close()
		return nil, err
	}
	c.log.Debug("client: registered", "server", ack.server, "pin", dr.verified.Pin.String(), "trust", string(dr.verified.Method))
	return newConn(dr, ack, c.log, c.dispatch), nil
}

// register runs hello and register on a fresh connection (spec §5.2). The proof is bound to the
// pin the verifier accepted on this connection (REG-11).
func register(ctx context.Context, dr dialResult, user string, id *identity.PrivateKey, invite string) (helloAck, error) {
	ws := dr.ws
	deadline := time.Now().Add(registerTimeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	ws.SetReadDeadline(deadline)
	ws.SetWriteDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { ws.Close() })
	defer stop()

	data, err := encodeHello("h1", user)
	if err != nil {
		return helloAck{}, err
	}
	m, err := exchange(ws, data, "hello")
	if err != nil {
		return helloAck{}, err
	}
	ack, ok := m.(helloAck)
	if !ok || ack.id != "h1" {
		return helloAck{}, fmt.Errorf("client: relay answered hello with %T", m)
	}
	proof, err := id.RegisterProof(ack.challenge, dr.verified.Pin.Bytes(), user) // spec §5.2 [REG-11]
	if err != nil {
		return helloAck{}, fmt.Errorf("client: %w", err)
	}
	data, err = encodeRegister("r1", id.Public(), id.GroupPublic(), id.GroupKeySig(user), proof, invite) // spec §3.2 [KEY-4], §5.2.1
	if err != nil {
		return helloAck{}, err
	}
	m, err = exchange(ws, data, "register")
	if err != nil {
		return helloAck{}, err
	}
	rack, ok := m.(registerAck)
	if !ok || rack.id != "r1" {
		return helloAck{}, fmt.Errorf("client: relay answered register with %T", m)
	}
	if rack.user != user || rack.fingerprint != identity.Fingerprint(id.Public()) {
		return helloAck{}, fmt.Errorf("client: relay registered %s with %s, not %s with our key", rack.user, rack.fingerprint, user)
	}
	ws.SetReadDeadline(time.Time{})
	ws.SetWriteDeadline(time.Time{})
	return ack, nil
}

// exchange writes one request and reads its answer during registration.
func exchange(ws *websocket.Conn, data []byte, typ string) (inbound, error) {
	if err := ws.WriteMessage(websocket.TextMessage, data); err != nil {
		return nil, fmt.Errorf("client: send %s: %w", typ, err)
	}
	kind, msg, err := ws.ReadMessage()
	if err != nil {
		return nil, fmt.Errorf("client: waiting for the answer to %s: %w", typ, err)
	}
	if kind != websocket.TextMessage {
		return nil, fmt.Errorf("client: relay answered %s with a binary message", typ)
	}
	m, err := decodeInbound(msg)
	if err != nil {
		return nil, fmt.Errorf("client: relay answered %s with an invalid message: %w", typ, err)
	}
	if e, ok := m.(errorMsg); ok {
		return nil, &ServerError{For: typ, Code: normalizeCode(e.code), Message: e.message}
	}
	return m, nil
}

// permanent reports whether a connection error will not go away by retrying: the relay refused
// the registration or its certificate.
func permanent(err error) bool {
	var se *ServerError
	if errors.As(err, &se) && (se.Code == "bad_proof" || se.Code == "identity_mismatch" || se.Code == "bad_message") {
		return true
	}
	if errors.As(err, &se) && (se.Code == "invite_required" || se.Code == "bad_invite") {
		return true // spec §5.2.1: only another invite helps
	}
	var mismatch *tlstrust.PinMismatchError
	var unknown *tlstrust.UnknownServerError
	return errors.As(err, &mismatch) || errors.As(err, &unknown) || errors.Is(err, ErrBadArgument)
}

// giveUpReason says, for people, why a reconnection cannot succeed and what to do next.
func giveUpReason(err error) string {
	var mismatch *tlstrust.PinMismatchError
	var unknown *tlstrust.UnknownServerError
	var se *ServerError
	switch {
	case errors.As(err, &mismatch):
		return fmt.Sprintf("possible attack: the relay at %s now presents certificate %s, not the pinned %s; "+
			"someone may be between you and the relay. Ask the relay's operator whether the certificate changed; "+
			"only if they confirm %s, run: blindpost servers forget %s, and connect again to trust it",
			mismatch.HostPort, mismatch.Got, mismatch.Want, mismatch.Got, mismatch.HostPort)
	case errors.As(err, &unknown):
		return fmt.Sprintf("the relay at %s presents certificate %s, which nothing trusts; check it with the relay's operator",
			unknown.HostPort, unknown.Pin)
	case errors.As(err, &se):
		return "the relay refused the registration: " + se.Code + ": " + se.Message
	}
	return err.Error()
}

// attach makes cn the current connection and tells the user.
func (c *Client) attach(cn *conn) {
	c.mu.Lock()
	c.cn = cn
	c.mu.Unlock()
	c.emit(ConnectionEvent{State: Connected, Server: cn.server, Pin: cn.verified.Pin})
	c.rejoinGroups(cn)
}

// supervise waits for each connection to end, reports it, and reconnects with backoff unless
// the end was deliberate or final (spec §9 [CLI-3]).
func (c *Client) supervise(cn *conn) {
	defer close(c.done)
	for {
		select {
		case <-cn.done:
		case <-c.ctx.Done():
			cn.close()
		}
		code, reason, byUs, err := cn.closeInfo()
		c.detach(cn)
		final := byUs || c.ctx.Err() != nil || c.opts.NoReconnect || code == closeReplaced || code == closePolicy
		c.emit(ConnectionEvent{State: Disconnected, Code: code, Reason: reason, Final: final, Err: err})
		if final {
			return
		}
		if cn = c.reconnect(code, reason); cn == nil {
			if c.ctx.Err() != nil { // closed while reconnecting
				c.emit(ConnectionEvent{State: Disconnected, Code: 1000, Reason: "closed", Final: true, Err: ErrClosed})
			}
			return
		}
	}
}

// reconnect tries until it succeeds, the policy gives up, an error is permanent, or the client
// is closed; it returns nil in the last three cases, after reporting the final disconnection.
func (c *Client) reconnect(code int, reason string) *conn {
	for attempt := 1; ; attempt++ {
		if c.opts.Backoff.GiveUp(attempt) {
			c.emit(ConnectionEvent{State: Disconnected, Code: code, Reason: reason, Final: true,
				Err: fmt.Errorf("client: gave up after %d attempts", attempt-1)})
			return nil
		}
		delay := c.opts.Backoff.Delay(attempt, nil)
		c.emit(ConnectionEvent{State: Reconnecting, Attempt: attempt, Delay: delay})
		if err := c.opts.Sleep(c.ctx, delay); err != nil {
			return nil // closed
		}
		ctx, cancel := context.WithTimeout(c.ctx, handshakeTimeout+registerTimeout)
		cn, err := c.connect(ctx, false)
		cancel()
		if err == nil {
			c.mu.Lock()
			closed := c.closed
			c.mu.Unlock()
			if closed {
				cn.close()
				return nil
			}
			c.attach(cn)
			return cn
		}
		if c.ctx.Err() != nil {
			return nil
		}
		c.log.Info("client: reconnection failed", "attempt", attempt, "err", err)
		if permanent(err) {
			// The reason is now why this client gives up, not why the last connection closed: a
			// certificate that changed is not a relay shutting down (spec §4.1 [TLS-2]).
			c.emit(ConnectionEvent{State: Disconnected, Code: code, Reason: giveUpReason(err), Final: true, Err: err})
			return nil
		}
	}
}

// detach forgets cn: group membership at the relay ended with it (spec §5.9).
func (c *Client) detach(cn *conn) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cn == cn {
		c.cn = nil
	}
	c.groupsDisconnectedLocked()
}

// dispatch handles every message that is not a response, on the reader goroutine, in order.
func (c *Client) dispatch(m inbound) {
	switch m := m.(type) {
	case chatRequestMsg:
		c.onChatRequest(m)
	case chatResponseMsg:
		c.onChatResponse(m)
	case chatTerminateMsg:
		c.onChatTerminate(m)
	case relayMsg:
		c.onRelay(m)
	case groupMembersMsg:
		c.onGroupMembers(m)
	case groupCommitMsg:
		c.onGroupCommit(m)
	case groupMessageMsg:
		c.onGroupMessage(m)
	case errorMsg:
		c.emit(ServerErrorEvent{For: m.forType, Code: normalizeCode(m.code), Message: m.message})
	case malformed:
		// spec §5.1: a message that does not validate is rejected, and reported (CLI-2).
		c.security(SecurityEvent{Code: e2ee.Malformed, Rule: malformedRule(m.err), Detail: m.err.Error()})
	default:
		c.log.Warn("client: unexpected message from the relay", "type", fmt.Sprintf("%T", m))
	}
}

// security reports a rejection (spec §9 [CLI-2]) on the event stream and in the log.
func (c *Client) security(e SecurityEvent) {
	c.log.Warn("client: rejected", "code", string(e.Code), "rule", e.Rule, "peer", e.Peer, "group", e.Group)
	c.emit(e)
}

// securityErr reports err when it is a protocol rejection and returns whether it was one.
func (c *Client) securityErr(err error, peer string, sid SessionID, group string) bool {
	var e *e2ee.Error
	if !errors.As(err, &e) {
		return false
	}
	c.security(SecurityEvent{Code: e.Outcome, Rule: e.Rule, Peer: peer, Session: sid, Group: group, Detail: e.Detail})
	return true
}
