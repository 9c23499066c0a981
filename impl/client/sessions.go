package client

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/blindpost/blindpost/impl/e2ee"
	"github.com/blindpost/blindpost/impl/e2ee/direct"
	"github.com/blindpost/blindpost/impl/e2ee/identity"
	"github.com/blindpost/blindpost/impl/e2ee/trust"
)

// sessionIncoming is the internal state of a received chat request not yet answered; the user
// sees a ChatRequestEvent instead of a SessionEvent for it.
const sessionIncoming SessionState = "incoming"

// maxText is the longest message text in characters (schemas/e2e/content.json).
const maxText = 4096

// session is one 1:1 session (spec §6), from the request to its end. Ended sessions stay, so
// that late records for them are rejected (REC-12) and their ids are never reused (HS-1, HS-3).
type session struct {
	id        SessionID
	peer      string
	initiator bool
	state     SessionState
	peerKey   ed25519.PublicKey // the pinned key checked before the session started (HS-2)
	ini       *direct.Initiator // initiator, after hs1
	resp      *direct.Responder // responder, after hs2
	sess      *direct.Session   // confirmed: the only holder of record keys (HS-10)
	timer     *time.Timer       // HS-13
	rcpt      receipts          // the messages sent and not yet covered by a receipt (§6.7)
	// terminated: this side sent chat_terminate for the session (REC-20 answers at most once).
	terminated bool
	// closedByPeer is set when a close record that authenticated ended the session, until the
	// one chat_terminate that follows it (REC-9) arrives: REC-12 exempts exactly that one.
	closedByPeer bool
}

// SessionInfo describes a session for a user interface.
type SessionInfo struct {
	Session         SessionID
	Peer            string
	State           SessionState // "incoming" for a request not yet answered
	Initiator       bool
	PeerFingerprint string
}

// Sessions lists the sessions that have not ended, and the requests not yet answered.
func (c *Client) Sessions() []SessionInfo {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []SessionInfo
	for _, s := range c.sessions {
		if s.state.Ended() {
			continue
		}
		out = append(out, s.info())
	}
	slices.SortFunc(out, func(a, b SessionInfo) int {
		return strings.Compare(a.Peer+a.Session.String(), b.Peer+b.Session.String())
	})
	return out
}

// changedLocked wakes WaitSession and WaitDelivered: a session or a delivery changed.
func (c *Client) changedLocked() {
	close(c.changed)
	c.changed = make(chan struct{})
}

// WaitSession waits until session sid is secured or has ended, and describes it then. It lets
// a caller that does not read Events (a control-socket request) follow one session.
func (c *Client) WaitSession(ctx context.Context, sid SessionID) (SessionInfo, error) {
	for {
		c.mu.Lock()
		s := c.sessions[sid]
		if s == nil {
			c.mu.Unlock()
			return SessionInfo{}, fmt.Errorf("client: session %s: %w", sid, ErrUnknownSession)
		}
		info, changed := s.info(), c.changed
		c.mu.Unlock()
		if info.State == SessionSecured || info.State.Ended() {
			return info, nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return info, fmt.Errorf("client: session %s is still %s: %w", sid, info.State, ctx.Err())
		case <-c.done:
			return info, ErrClosed
		}
	}
}

// Session describes one session, ended or not.
func (c *Client) Session(sid SessionID) (SessionInfo, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.sessions[sid]
	if s == nil {
		return SessionInfo{}, false
	}
	return s.info(), true
}

func (s *session) info() SessionInfo {
	fp := ""
	if s.peerKey != nil {
		fp = identity.Fingerprint(s.peerKey)
	}
	return SessionInfo{Session: s.id, Peer: s.peer, State: s.state, Initiator: s.initiator, PeerFingerprint: fp}
}

// setState moves s to state and reports it; the caller holds c.mu.
func (c *Client) setStateLocked(s *session, state SessionState, reason string) {
	s.state = state
	c.changedLocked()
	ev := SessionEvent{Session: s.id, Peer: s.peer, State: state, Initiator: s.initiator, Reason: reason}
	if s.peerKey != nil {
		ev.PeerFingerprint = identity.Fingerprint(s.peerKey)
	}
	c.emit(ev)
	if state.Ended() { // spec §9 [CLI-21]: what no receipt covered did not arrive
		c.failPendingLocked(s)
	}
}

// Chat asks peer for a 1:1 session: it checks peer's key against the pin (HS-2), sends
// chat_request with a fresh session id (HS-1) and returns once the relay accepted it. A
// SessionEvent follows when peer answers; the handshake then runs on its own, up to
// SessionSecured.
func (c *Client) Chat(ctx context.Context, peer string) (SessionID, error) {
	if !trust.ValidUsername(peer) || peer == c.user {
		return SessionID{}, fmt.Errorf("client: cannot chat with %q: %w", peer, ErrBadArgument)
	}
	cn, err := c.needConn()
	if err != nil {
		return SessionID{}, err
	}
	keys, err := c.checkPeer(ctx, cn, peer) // spec §6.1 [HS-2]
	if err != nil {
		return SessionID{}, err
	}
	c.mu.Lock()
	sid := newSessionID()
	for c.used[sid] != "" { // spec §6.1 [HS-1]: never reuse a session id
		sid = newSessionID()
	}
	s := &session{id: sid, peer: peer, initiator: true, state: SessionRequested, peerKey: keys.identityKey}
	c.sessions[sid], c.used[sid] = s, peer
	w, err := cn.start("chat_request", encodeChatRequest(peer, sid), func(inbound) error {
		c.mu.Lock()
		defer c.mu.Unlock()
		if s.state == SessionRequested {
			c.setStateLocked(s, SessionRequested, "")
		}
		return nil
	})
	c.mu.Unlock()
	if err == nil {
		_, err = w.wait(ctx)
	}
	if err != nil {
		c.mu.Lock()
		if s.state == SessionRequested {
			s.state = SessionFailed
		}
		c.mu.Unlock()
		return SessionID{}, err
	}
	return sid, nil
}

// Accept accepts a chat request (the only way one is accepted: spec A.2 [DRV-3]). It checks
// the requester's key against the pin first (HS-2); a changed key is refused with key_changed and
// the request stays open, so that the user can Trust the new key and accept again.
func (c *Client) Accept(ctx context.Context, sid SessionID) error {
	s, cn, err := c.incoming(sid)
	if err != nil {
		return err
	}
	keys, err := c.checkPeer(ctx, cn, s.peer) // spec §6.1 [HS-2]
	if err != nil {
		return err
	}
	c.mu.Lock()
	if s.state != sessionIncoming {
		c.mu.Unlock()
		return fmt.Errorf("client: session %s is %s: %w", sid, s.state, ErrState)
	}
	s.peerKey = keys.identityKey
	c.setStateLocked(s, SessionHandshaking, "")
	c.startTimerLocked(s)
	w, err := cn.start("chat_response", encodeChatResponse(s.peer, sid, true), nil)
	c.mu.Unlock()
	if err == nil {
		_, err = w.wait(ctx)
	}
	if err != nil {
		c.mu.Lock()
		if s.state == SessionHandshaking {
			c.failLocked(s, "the acceptance did not reach the peer", false)
		}
		c.mu.Unlock()
	}
	return err
}

// Decline declines a chat request.
func (c *Client) Decline(ctx context.Context, sid SessionID) error {
	s, cn, err := c.incoming(sid)
	if err != nil {
		return err
	}
	c.mu.Lock()
	if s.state != sessionIncoming {
		c.mu.Unlock()
		return fmt.Errorf("client: session %s is %s: %w", sid, s.state, ErrState)
	}
	c.setStateLocked(s, SessionDeclined, "declined by you")
	w, err := cn.start("chat_response", encodeChatResponse(s.peer, sid, false), nil)
	c.mu.Unlock()
	if err != nil {
		return err
	}
	_, err = w.wait(ctx)
	return err
}

// incoming returns the unanswered request sid and the connection.
func (c *Client) incoming(sid SessionID) (*session, *conn, error) {
	cn, err := c.needConn()
	if err != nil {
		return nil, nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.sessions[sid]
	if s == nil {
		return nil, nil, fmt.Errorf("client: session %s: %w", sid, ErrUnknownSession)
	}
	if s.state != sessionIncoming {
		return nil, nil, fmt.Errorf("client: session %s is %s, not an open request: %w", sid, s.state, ErrState)
	}
	return s, cn, nil
}

// Send encrypts text as the next record of a secured session (spec §6.4) and returns its
// counter once the relay accepted it.
func (c *Client) Send(ctx context.Context, sid SessionID, text string) (uint64, error) {
	if err := checkText(text); err != nil {
		return 0, err
	}
	cn, err := c.needConn()
	if err != nil {
		return 0, err
	}
	now := time.Now()
	pt, err := encodeContent(text, now)
	if err != nil {
		return 0, err
	}
	defer clear(pt)
	c.mu.Lock()
	s := c.sessions[sid]
	if s == nil {
		c.mu.Unlock()
		return 0, fmt.Errorf("client: session %s: %w", sid, ErrUnknownSession)
	}
	if s.state != SessionSecured { // spec §6.3 [HS-10]
		c.mu.Unlock()
		return 0, fmt.Errorf("client: session %s is %s, not secured: %w", sid, s.state, ErrState)
	}
	// An oversize text is refused before Seal takes a counter for it, so the counters that go
	// out stay consecutive (spec §6.4 [REC-1]).
	probe := direct.Record{Kind: direct.KindMsg, N: s.sess.Sent(), CT: make([]byte, len(pt)+16)}
	if err := cn.fits("relay", encodeRelay(s.peer, sid, probe)); err != nil {
		c.mu.Unlock()
		return 0, err
	}
	rec, err := s.sess.Seal(nil, pt)
	if errors.Is(err, direct.ErrRecordLimit) { // spec §6.4 [REC-2]
		c.endSecuredLocked(cn, s, "the record limit was reached; start a new session")
		c.mu.Unlock()
		return 0, fmt.Errorf("client: %w", err)
	}
	if err != nil {
		c.mu.Unlock()
		return 0, fmt.Errorf("client: %w", err)
	}
	c.sentLocked(s, rec.N, text, now)
	// Records are queued under the lock, so they leave in counter order (REC-1).
	// The relay's answer decides relayed or failed, whether or not the caller still waits.
	done := make(chan error, 1)
	err = cn.post("relay", encodeRelay(s.peer, sid, rec), func(_ inbound, err error) {
		c.mu.Lock()
		c.relayedLocked(s, rec.N, err)
		c.mu.Unlock()
		done <- err
	})
	if err != nil {
		c.relayedLocked(s, rec.N, err)
		c.mu.Unlock()
		return rec.N, err
	}
	c.mu.Unlock()
	select {
	case err = <-done:
	case <-ctx.Done():
		err = fmt.Errorf("client: waiting for the answer to relay: %w", ctx.Err())
	}
	return rec.N, err
}

// checkText refuses a text that cannot be one message, before anything is sent; a text that is
// too long is never truncated (spec §9 [CLI-23]).
func checkText(text string) error {
	n := utf8.RuneCountInString(text)
	switch {
	case !utf8.ValidString(text) || n == 0:
		return fmt.Errorf("client: a message is 1 to %d characters of valid UTF-8: %w", maxText, ErrBadArgument)
	case n > maxText:
		return &TextTooLongError{Chars: n}
	}
	return nil
}

// End ends a session: a secured one with an encrypted close record and then chat_terminate,
// erasing its keys (spec §6.5 [REC-9]); one still in its handshake with chat_terminate; an
// unanswered request is declined.
func (c *Client) End(ctx context.Context, sid SessionID) error {
	cn, err := c.needConn()
	if err != nil {
		return err
	}
	c.mu.Lock()
	s := c.sessions[sid]
	if s == nil {
		c.mu.Unlock()
		return fmt.Errorf("client: session %s: %w", sid, ErrUnknownSession)
	}
	switch {
	case s.state == sessionIncoming:
		c.mu.Unlock()
		return c.Decline(ctx, sid)
	case s.state.Ended():
		c.mu.Unlock()
		return fmt.Errorf("client: session %s already %s: %w", sid, s.state, ErrState)
	case s.state == SessionSecured:
		c.endSecuredLocked(cn, s, "ended by you")
	default:
		c.abortLocked(s)
		c.setStateLocked(s, SessionEnded, "ended by you before it was secured")
	}
	s.terminated = true // REC-20: the peer hears of the end already
	w, err := cn.start("chat_terminate", encodeChatTerminate(s.peer, sid), nil)
	c.mu.Unlock()
	if err != nil {
		return err
	}
	_, err = w.wait(ctx)
	return err
}

// endSecuredLocked sends the close record of a secured session; SealClose erases the keys
// (spec §6.5 [REC-9]). The caller sends chat_terminate after it.
func (c *Client) endSecuredLocked(cn *conn, s *session, reason string) {
	rec, err := s.sess.SealClose(nil)
	if err == nil {
		err = cn.post("relay", encodeRelay(s.peer, s.id, rec), c.reportAsync("relay", s.peer, s.id, ""))
	}
	if err != nil {
		c.log.Debug("client: close record not sent", "err", err)
	}
	s.sess.Close()
	c.setStateLocked(s, SessionEnded, reason)
}

// endAllSessionsLocked ends every secured session on the way out (Close), and abandons the
// others.
func (c *Client) endAllSessionsLocked(cn *conn) {
	for _, s := range c.sessions {
		switch {
		case s.state.Ended():
		case s.state == SessionSecured && cn != nil:
			c.endSecuredLocked(cn, s, "the client closed")
			s.terminated = true // REC-20: the peer hears of the end already
			cn.post("chat_terminate", encodeChatTerminate(s.peer, s.id), func(inbound, error) {})
		default:
			c.abortLocked(s)
			if s.state != sessionIncoming && cn != nil {
				s.terminated = true // REC-20: the peer hears of the end already
				cn.post("chat_terminate", encodeChatTerminate(s.peer, s.id), func(inbound, error) {})
			}
			c.setStateLocked(s, SessionEnded, "the client closed")
		}
	}
}

// abortLocked erases whatever keys a session holds and stops its timer.
func (c *Client) abortLocked(s *session) {
	if s.timer != nil {
		s.timer.Stop()
		s.timer = nil
	}
	if s.ini != nil {
		s.ini.Abort()
		s.ini = nil
	}
	if s.resp != nil {
		s.resp.Abort()
		s.resp = nil
	}
	if s.sess != nil {
		s.sess.Close()
	}
}

// failLocked aborts a session that cannot continue: its keys are erased, the user is told, and
// the peer gets chat_terminate (spec §6.3 [HS-12]).
func (c *Client) failLocked(s *session, reason string, terminate bool) {
	c.abortLocked(s)
	c.setStateLocked(s, SessionFailed, reason)
	if !terminate {
		return
	}
	if cn := c.cn; cn != nil {
		s.terminated = true // REC-20: the peer hears of the end already
		cn.post("chat_terminate", encodeChatTerminate(s.peer, s.id), func(inbound, error) {})
	}
}

// startTimerLocked aborts the handshake of s if it is not secured in time (spec §6.3 [HS-13]).
func (c *Client) startTimerLocked(s *session) {
	s.timer = time.AfterFunc(c.opts.HandshakeTimeout, func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		if s.state == SessionHandshaking {
			c.failLocked(s, fmt.Sprintf("the handshake did not complete within %s (HS-13)", c.opts.HandshakeTimeout), true)
		}
	})
}

// reportAsync returns a reply handler that reports a refusal of a request nobody waits for.
func (c *Client) reportAsync(typ, peer string, sid SessionID, group string) replyFunc {
	return func(_ inbound, err error) {
		var se *ServerError
		if errors.As(err, &se) {
			c.emit(ServerErrorEvent{For: typ, Code: se.Code, Message: se.Message, Peer: peer, Session: sid, Group: group})
		}
	}
}

// onChatRequest records an incoming request and reports it; it is answered only through
// Accept or Decline (spec A.2 [DRV-3]).
func (c *Client) onChatRequest(m chatRequestMsg) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, used := c.used[m.sid]; used || m.from == c.user { // spec §6.1 [HS-3]
		c.security(SecurityEvent{Code: e2ee.UnexpectedMessage, Rule: "HS-3", Peer: m.from, Session: m.sid,
			Detail: "chat_request reuses a session id already in use"})
		return
	}
	s := &session{id: m.sid, peer: m.from, state: sessionIncoming}
	c.sessions[m.sid], c.used[m.sid] = s, m.from
	c.emit(ChatRequestEvent{From: m.from, Session: m.sid})
}

// onChatResponse starts the handshake of an accepted request (spec §6.1 [HS-4]).
func (c *Client) onChatResponse(m chatResponseMsg) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.sessions[m.sid]
	if s == nil || s.peer != m.from || !s.initiator || s.state != SessionRequested { // spec §6.3 [HS-11]
		c.security(SecurityEvent{Code: e2ee.UnexpectedMessage, Rule: "HS-11", Peer: m.from, Session: m.sid,
			Detail: "chat_response for a session that is not waiting for one"})
		return
	}
	if !m.accepted { // spec §6.1 [HS-4]: a declined session ends there
		c.setStateLocked(s, SessionDeclined, m.from+" declined")
		return
	}
	ini, hs1, err := direct.NewInitiator(direct.Config{
		SessionID: m.sid[:], Initiator: c.user, Responder: s.peer, Identity: c.id, PeerIdentityKey: s.peerKey,
	})
	if err != nil {
		c.failLocked(s, "cannot start the handshake: "+err.Error(), true)
		return
	}
	s.ini = ini
	c.setStateLocked(s, SessionHandshaking, "")
	c.startTimerLocked(s)
	c.relayLocked(s, hs1)
}

// relayLocked sends a handshake payload or record to the session's peer; a refusal fails the
// handshake.
func (c *Client) relayLocked(s *session, payload any) {
	cn := c.cn
	if cn == nil {
		c.failLocked(s, "disconnected during the handshake", false)
		return
	}
	err := cn.post("relay", encodeRelay(s.peer, s.id, payload), func(_ inbound, err error) {
		if err == nil {
			return
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		if s.state == SessionHandshaking {
			c.failLocked(s, "the handshake message did not reach "+s.peer+": "+err.Error(), false)
		}
	})
	if err != nil {
		c.failLocked(s, "cannot send the handshake: "+err.Error(), false)
	}
}

// onChatTerminate ends a session the peer ended. Without a valid close record first the end is
// unverified (spec §6.5 [REC-11]).
func (c *Client) onChatTerminate(m chatTerminateMsg) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.sessions[m.sid]
	if s == nil || s.peer != m.from {
		c.security(SecurityEvent{Code: e2ee.UnexpectedMessage, Rule: "REC-12", Peer: m.from, Session: m.sid,
			Detail: "chat_terminate for an unknown session"})
		return
	}
	if s.state.Ended() {
		if s.closedByPeer { // spec §6.5 [REC-12]: the chat_terminate REC-9 sends after the close record
			s.closedByPeer = false
			return
		}
		c.security(SecurityEvent{Code: e2ee.UnexpectedMessage, Rule: "REC-12", Peer: m.from, Session: m.sid,
			Detail: "chat_terminate for a session that has ended"})
		return
	}
	if m.reason != "" {
		// spec §5.5: the relay's own notice that the peer's connection is gone. It is not the
		// peer's word, but ending is always safe: keys erased, the session leaves the secured
		// state with the reason, and what no receipt covered is failed (CLI-20, CLI-21).
		c.abortLocked(s)
		c.setStateLocked(s, SessionEndedUnverified, m.reason)
		return
	}
	var err error
	if s.sess != nil {
		err = s.sess.Terminate() // erases the keys
	} else {
		err = e2ee.Reject(e2ee.UnverifiedEnd, "REC-11", "%s ended the session before it was secured", m.from)
	}
	c.abortLocked(s)
	c.securityErr(err, s.peer, s.id, "")
	c.setStateLocked(s, SessionEndedUnverified, m.from+" ended the session without a close record")
}
