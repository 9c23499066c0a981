package clientsuite

import (
	"bytes"

	"github.com/blindpost/blindpost/conformance/harness"
	"github.com/blindpost/blindpost/impl/e2ee/direct"
	"github.com/blindpost/blindpost/impl/wire"
)

// Handshake messages out of order, for the wrong session or from the wrong user (spec §6.1,
// §6.3 HS-3, HS-4, HS-11).
func init() {
	harness.Register(
		harness.Case{ID: "client/handshake/hs1-before-accept", Rules: []string{"HS-11", "HS-3", "DRV-3"},
			Description: "hs1 for a requested session the client has not accepted: unexpected_message, and no hs2",
			Run:         hs1BeforeAccept},
		harness.Case{ID: "client/handshake/hs2-to-responder", Rules: []string{"HS-11"},
			Description: "the client responds and receives hs2 instead of hs1: unexpected_message; the honest handshake then completes",
			Run:         hs2ToResponder},
		harness.Case{ID: "client/handshake/hs3-to-initiator", Rules: []string{"HS-11"},
			Description: "the client initiates and receives hs3 before hs2: unexpected_message; the honest handshake then completes",
			Run:         hs3ToInitiator},
		harness.Case{ID: "client/handshake/second-hs1", Rules: []string{"HS-11"},
			Description: "the relay replays the peer's hs1 after the client answered it: unexpected_message, no second hs2, " +
				"and the first handshake then completes",
			Run: secondHS1},
		harness.Case{ID: "client/handshake/second-hs2", Rules: []string{"HS-11"},
			Description: "the relay replays hs2 on a secured session: unexpected_message, and the session still works",
			Run:         secondHS2},
		harness.Case{ID: "client/handshake/unknown-session", Rules: []string{"HS-11", "REC-12"},
			Description: "hs1 and chat_response for session ids the client never saw: unexpected_message",
			Run:         handshakeUnknownSession},
		harness.Case{ID: "client/handshake/forged-from", Rules: []string{"HS-11", "SRV-1"},
			Description: "the relay stamps the peer's hs2 with another user's name: unexpected_message; the genuine hs2 then " +
				"secures the session",
			Run: forgedFromHS2},
		harness.Case{ID: "client/handshake/reused-session-id", Rules: []string{"HS-3"},
			Description: "a chat_request reusing the session id of another user's request: unexpected_message, not shown",
			Run:         reusedSessionID},
		harness.Case{ID: "client/handshake/declined", Rules: []string{"HS-4", "HS-11"},
			Description: "the peer declines: the client reports declined and sends no hs1; a late hs2 is unexpected_message",
			Run:         declined},
	)
}

// junkHS2 is a well-formed hs2 that belongs to no handshake.
func (w *World) junkHS2() *wire.HS2 {
	return &wire.HS2{Suite: direct.Suite, E: w.Ephemeral().PublicKey().Bytes(), Sig: w.RandBytes(64), Fin: w.RandBytes(32)}
}

func hs1BeforeAccept(t *harness.T) {
	w := Start(t)
	alice := w.NewPeer("alice")
	c := w.PeerChats(alice)
	c.ForgeHS1(HS1Forge{})
	w.ExpectReject(Reject{What: "hs1 for a session the client did not accept", Code: "unexpected_message",
		Rules: []string{"HS-11", "HS-3"}, Session: c.ID, Accepted: SessionState(c.ID, "handshaking", "secured")})
	c.ExpectAborted("HS-3")
	for _, m := range alice.Pending() {
		if r, ok := m.(*wire.ChatResponse); ok && r.Accepted {
			t.Mismatch("DRV-3", "no acceptance without the driver's accept", "chat_response accepted")
		}
	}
}

func hs2ToResponder(t *harness.T) {
	w := Start(t)
	alice := w.NewPeer("alice")
	c := w.PeerChats(alice)
	c.ClientAccepts()
	alice.Relay(c.SID, w.junkHS2())
	w.ExpectReject(Reject{What: "hs2 sent to the responder", Code: "unexpected_message", Rules: []string{"HS-11"}, Session: c.ID})
	c.SendHS1()
	c.ConfirmInitiator()
	c.PeerSends(w.Text("the session is unharmed"))
}

func secondHS1(t *harness.T) {
	w := Start(t)
	alice := w.NewPeer("alice")
	c := w.PeerChats(alice)
	c.ClientAccepts()
	c.SendHS1()
	hs2 := c.AwaitHS2()
	alice.Relay(c.SID, c.HS1)
	w.ExpectReject(Reject{What: "the peer's hs1 replayed after the client answered it", Code: "unexpected_message",
		Rules: []string{"HS-11"}, Session: c.ID})
	c.ConfirmInitiatorWith(hs2)
	w.Sync()
	for _, m := range alice.Pending() {
		if r, ok := m.(*wire.Relay); ok && bytes.Equal(r.Session, c.SID) && r.Payload.PayloadKind() == "hs2" {
			t.Mismatch("HS-11", "one hs2 for session "+c.ID, "a second hs2, answering the replayed hs1")
		}
	}
	c.PeerSends(w.Text("the session is unharmed"))
}

func hs3ToInitiator(t *harness.T) {
	w := Start(t)
	bob := w.NewPeer("bob")
	c := w.ClientChats(bob)
	c.Accept()
	bob.Relay(c.SID, &wire.HS3{Sig: w.RandBytes(64), Fin: w.RandBytes(32)})
	w.ExpectReject(Reject{What: "hs3 sent to the initiator before hs2", Code: "unexpected_message", Rules: []string{"HS-11"},
		Session: c.ID, Accepted: SessionState(c.ID, "secured")})
	c.Respond()
	c.ConfirmResponder()
	c.ClientSends(w.Text("the session is unharmed"))
}

func secondHS2(t *harness.T) {
	w := Start(t)
	bob := w.NewPeer("bob")
	c := w.ClientChats(bob)
	c.Accept()
	hs2 := c.ForgeHS2(HS2Forge{})
	bob.Relay(c.SID, hs2)
	w.Expect("", "session "+c.ID+" secured", SessionState(c.ID, "secured"))
	bob.Relay(c.SID, hs2)
	w.ExpectReject(Reject{What: "a second hs2 on a secured session", Code: "unexpected_message", Rules: []string{"HS-11"}, Session: c.ID})
	w.Sync()
	w.Never("HS-11", "a change of the secured session", func(l Line) bool {
		return l.Event() == "session" && l.Str("session") == c.ID && l.Str("state") != "secured" && l.Str("state") != "handshaking" && l.Str("state") != "requested"
	})
}

func handshakeUnknownSession(t *harness.T) {
	w := Start(t)
	bob := w.NewPeer("bob")
	stray := w.RandBytes(direct.SessionIDSize)
	bob.Relay(stray, &wire.HS1{Suites: []string{direct.Suite}, E: w.Ephemeral().PublicKey().Bytes()})
	w.ExpectReject(Reject{What: "hs1 for an unknown session", Code: "unexpected_message", Rules: []string{"HS-11", "REC-12"}, Session: b64(stray)})
	other := w.RandBytes(direct.SessionIDSize)
	bob.ChatResponse(other, true)
	w.ExpectReject(Reject{What: "chat_response for an unknown session", Code: "unexpected_message", Rules: []string{"HS-11", "REC-12"},
		Session: b64(other)})
	w.Sync()
	for _, m := range bob.Pending() {
		if r, ok := m.(*wire.Relay); ok {
			t.Mismatch("HS-11", "no answer to handshake messages of unknown sessions", r.Payload.PayloadKind()+" sent")
		}
	}
}

func forgedFromHS2(t *harness.T) {
	w := Start(t)
	bob := w.NewPeer("bob")
	mallory := w.NewPeer("mallory")
	c := w.ClientChats(bob)
	c.Accept()
	hs2 := c.ForgeHS2(HS2Forge{})
	mallory.Relay(c.SID, hs2)
	w.ExpectReject(Reject{What: "bob's hs2 stamped from mallory", Code: "unexpected_message", Rules: []string{"HS-11", "REC-12"},
		Accepted: SessionState(c.ID, "secured")})
	bob.Relay(c.SID, hs2)
	w.Expect("HS-11", "session "+c.ID+" secured by the genuine hs2", SessionState(c.ID, "secured"))
}

func reusedSessionID(t *harness.T) {
	w := Start(t)
	alice, carol := w.NewPeer("alice"), w.NewPeer("carol")
	c := w.PeerChats(alice)
	carol.ChatRequest(c.SID)
	w.ExpectReject(Reject{What: "a chat_request from carol reusing alice's session id", Code: "unexpected_message", Rules: []string{"HS-3"},
		Accepted: func(l Line) bool { return l.Event() == "chat_request" && l.Str("from") == carol.Name }})
	c.ClientAccepts()
	c.SendHS1()
	c.ConfirmInitiator()
}

func declined(t *harness.T) {
	w := Start(t)
	bob := w.NewPeer("bob")
	c := w.ClientChats(bob)
	bob.ChatResponse(c.SID, false)
	w.Expect("HS-4", "session "+c.ID+" declined", SessionState(c.ID, "declined"))
	w.Sync()
	if pendingRelay(bob, c.SID, "hs1") != nil {
		t.Mismatch("HS-4", "no hs1 for a declined session", "hs1 sent")
	}
	bob.Relay(c.SID, w.junkHS2())
	w.ExpectReject(Reject{What: "hs2 for a declined session", Code: "unexpected_message", Rules: []string{"HS-11", "REC-12"}, Session: c.ID,
		Accepted: SessionState(c.ID, "secured")})
}
