package client

import (
	"errors"

	"github.com/blindpost/blindpost/impl/e2ee"
	"github.com/blindpost/blindpost/impl/e2ee/direct"
)

// onRelay runs the handshake step or opens the record a relay carries (spec §6.3, §6.4). Every
// rejection is reported (CLI-2) and leaves the other sessions untouched.
func (c *Client) onRelay(m relayMsg) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.sessions[m.sid]
	if s != nil && s.peer != m.from {
		s = nil // a session id belongs to one peer
	}
	switch p := m.payload.(type) {
	case direct.HS1:
		c.onHS1Locked(s, m, p)
	case direct.HS2:
		c.onHS2Locked(s, m, p)
	case direct.HS3:
		c.onHS3Locked(s, m, p)
	case direct.Record:
		c.onRecordLocked(s, m, p)
	}
}

// unexpectedLocked reports a handshake message or record that its session does not expect.
func (c *Client) unexpectedLocked(m relayMsg, rule, what string) {
	c.security(SecurityEvent{Code: e2ee.UnexpectedMessage, Rule: rule, Peer: m.from, Session: m.sid, Detail: what})
}

// onHS1Locked answers hs1 for a session this side accepted, and no other (spec §6.1 [HS-3]).
func (c *Client) onHS1Locked(s *session, m relayMsg, hs1 direct.HS1) {
	if s == nil || s.initiator || s.state != SessionHandshaking || s.resp != nil { // spec §6.3 [HS-11]
		c.unexpectedLocked(m, "HS-11", "hs1 for a session this client did not accept, or a second hs1")
		return
	}
	r, hs2, err := direct.NewResponder(direct.Config{
		SessionID: s.id[:], Initiator: s.peer, Responder: c.user, Identity: c.id, PeerIdentityKey: s.peerKey,
	}, hs1)
	if err != nil {
		c.securityErr(err, s.peer, s.id, "")
		c.failLocked(s, "handshake rejected: "+err.Error(), true) // spec §6.3 [HS-12]
		return
	}
	s.resp = r
	c.relayLocked(s, hs2)
}

// onHS2Locked verifies hs2 as the initiator and answers hs3; the session is then secured
// (spec §6.3 step 3, HS-10).
func (c *Client) onHS2Locked(s *session, m relayMsg, hs2 direct.HS2) {
	if s == nil || !s.initiator || s.state != SessionHandshaking || s.ini == nil { // spec §6.3 [HS-11]
		c.unexpectedLocked(m, "HS-11", "hs2 for a session that is not waiting for one")
		return
	}
	sess, hs3, err := s.ini.ReadHS2(hs2)
	s.ini = nil
	if err != nil {
		c.securityErr(err, s.peer, s.id, "")
		c.failLocked(s, "handshake rejected: "+err.Error(), true) // spec §6.3 [HS-12]
		return
	}
	s.sess = sess
	c.relayLocked(s, hs3)
	c.securedLocked(s)
}

// onHS3Locked verifies hs3 as the responder; the session is then secured (spec §6.3 step 4).
func (c *Client) onHS3Locked(s *session, m relayMsg, hs3 direct.HS3) {
	if s == nil || s.initiator || s.state != SessionHandshaking || s.resp == nil { // spec §6.3 [HS-11]
		c.unexpectedLocked(m, "HS-11", "hs3 for a session that is not waiting for one")
		return
	}
	sess, err := s.resp.ReadHS3(hs3)
	s.resp = nil
	if err != nil {
		c.securityErr(err, s.peer, s.id, "")
		c.failLocked(s, "handshake rejected: "+err.Error(), true) // spec §6.3 [HS-12]
		return
	}
	s.sess = sess
	c.securedLocked(s)
}

func (c *Client) securedLocked(s *session) {
	if s.timer != nil {
		s.timer.Stop()
		s.timer = nil
	}
	c.setStateLocked(s, SessionSecured, "")
}

// onRecordLocked opens a msg or close record (spec §6.4, §6.5). The direct session enforces
// REC-3 to REC-6 and REC-10 to REC-12; this reports what it rejects and the state it leaves.
func (c *Client) onRecordLocked(s *session, m relayMsg, rec direct.Record) {
	if s == nil { // spec §6.5 [REC-12]
		c.unexpectedLocked(m, "REC-12", "record for an unknown session")
		c.answerUnknownLocked(m)
		return
	}
	if s.sess == nil { // spec §6.3 [HS-10]: no record before the handshake is confirmed
		c.unexpectedLocked(m, "HS-10", "record for a session whose handshake is not confirmed")
		return
	}
	pt, err := s.sess.Open(nil, rec)
	defer clear(pt)
	if err != nil {
		c.securityErr(err, s.peer, s.id, "")
		if errors.Is(err, e2ee.UnexpectedMessage) && s.state.Ended() { // spec §6.5 [REC-20]
			c.answerUnknownLocked(m)
		}
		if st := s.sess.State(); st != direct.StateOpen && s.state == SessionSecured {
			if st == direct.StateFailed { // spec §6.4 [REC-5]
				c.setStateLocked(s, SessionFailed, "a record failed authentication; keys erased")
			} else { // spec §6.5 [REC-10]: a close record that opens to a non-empty plaintext
				s.closedByPeer = true
				c.setStateLocked(s, SessionEnded, "ended by "+s.peer)
			}
		}
		return
	}
	if rec.Kind == direct.KindClose { // spec §6.5 [REC-10]
		s.closedByPeer = true
		c.setStateLocked(s, SessionEnded, "ended by "+s.peer)
		return
	}
	text, sentAt, upto, isReceipt, err := decodeRecordPlaintext(pt)
	if err != nil { // spec §6.4 [REC-7]: rejected, the session stays
		c.securityErr(direct.BadContent(rec.N, err.Error()), s.peer, s.id, "")
		return
	}
	if isReceipt { // spec §6.7: never answered with a receipt (RCP-1)
		c.onReceiptLocked(s, rec.N, upto)
		return
	}
	c.emit(MessageEvent{Session: s.id, From: s.peer, Text: text, N: rec.N, SentAt: sentAt})
	c.history().received(s.peer, s.id, rec.N, text, sentAt)
	c.sendReceiptLocked(s, rec.N) // spec §6.7 [RCP-1]
}

// maxAnswered bounds the unknown session ids remembered for REC-20, so that a flood of records
// for random session ids costs a bounded amount of memory (and of answers).
const maxAnswered = 4096

// answerUnknownLocked tells the sender of a record for a session this side does not hold that
// nobody holds it, once per session id (spec §6.5 [REC-20]); never in answer to chat_terminate.
func (c *Client) answerUnknownLocked(m relayMsg) {
	cn := c.cn
	if cn == nil || m.from == c.user {
		return
	}
	if s := c.sessions[m.sid]; s != nil {
		if s.peer != m.from || s.terminated {
			return // another peer's session id, or the peer was told already
		}
		s.terminated = true
	} else {
		if c.answered[m.sid] || len(c.answered) >= maxAnswered {
			return
		}
		c.answered[m.sid] = true
	}
	cn.post("chat_terminate", encodeChatTerminate(m.from, m.sid), func(inbound, error) {})
}
