package clientsuite

import (
	"bytes"

	"github.com/blindpost/blindpost/impl/e2ee/direct"

	"github.com/blindpost/blindpost/conformance/harness"
	"github.com/blindpost/blindpost/impl/e2ee/trust"
	"github.com/blindpost/blindpost/impl/wire"
)

// Pinning (spec §6.6): the relay substitutes a pinned peer's key in the directory.
func init() {
	harness.Register(
		harness.Case{ID: "client/trust/key-changed-initiator", Rules: []string{"TRUST-2", "HS-2", "TRUST-3"},
			Description: "after a session with bob, the relay serves another key for bob: chat is refused with key_changed and " +
				"no chat_request leaves, the safety number still uses the pinned key; after trust the new key is pinned " +
				"(pinned, trusted) and a session works",
			Run: keyChangedInitiator},
		harness.Case{ID: "client/trust/key-changed-responder", Rules: []string{"TRUST-2", "HS-2"},
			Description: "bob, whose directory key changed, asks for a session: accept is refused with key_changed and neither " +
				"acceptance nor decline leaves (the request waits); after trust a session works",
			Run: keyChangedResponder},
	)
}

// changeKey gives p a new identity and makes the relay serve it: key substitution.
func (w *World) changeKey(p *Peer) []byte {
	old := p.Key.Public()
	p.Key = w.NewKey()
	w.Relay.ServeKey(p.Pubkey())
	return old
}

func keyChangedInitiator(t *harness.T) {
	w := Start(t)
	bob := w.NewPeer("bob")
	c := w.Initiated(bob)
	c.ClientEnds()
	pinned := w.changeKey(bob)
	resp := w.D.Do("chat", "peer", bob.Name)
	w.ExpectReject(Reject{What: "a directory key for bob that differs from the pin", Code: "key_changed", Rules: []string{"TRUST-2"}})
	w.Sync()
	if resp.OK() {
		t.Mismatch("TRUST-2", "chat refused while bob's key differs from the pin", resp.String())
	}
	for _, m := range bob.Pending() {
		if r, ok := m.(*wire.ChatRequest); ok && !bytes.Equal(r.Session, c.SID) {
			t.Mismatch("HS-2", "no chat_request to a peer whose key changed", "chat_request "+b64(r.Session))
		}
	}
	w.checkPinKept(bob, pinned)
	w.D.OK("trust", "peer", bob.Name)
	w.expectPinned(bob.Name, bob.Key.Public(), "trusted")
	n := w.Initiated(bob)
	n.PeerSends(w.Text("with the new key"))
}

func keyChangedResponder(t *harness.T) {
	w := Start(t)
	bob := w.NewPeer("bob")
	c := w.Responded(bob)
	c.PeerEnds()
	w.changeKey(bob)
	// spec §6.1 [HS-2]: the client checks the key when the request arrives or when it is
	// accepted, so key_changed may come before or after the accept command.
	early := w.peerChatsKeyCheck(bob)
	resp := w.D.Do("accept", "session", early.ID)
	if !early.rejected {
		w.ExpectReject(Reject{What: "a directory key for bob that differs from the pin", Code: "key_changed", Rules: []string{"TRUST-2"}})
	}
	w.Sync()
	if resp.OK() {
		t.Mismatch("TRUST-2", "accept refused while bob's key differs from the pin", resp.String())
	}
	for _, m := range bob.Pending() {
		cr, ok := m.(*wire.ChatResponse)
		switch {
		case ok && cr.Accepted:
			t.Mismatch("HS-2", "no acceptance of a session with a peer whose key changed", "chat_response accepted")
		case ok:
			// spec §6.1 [HS-2]: the refusal sends nothing; the request waits for the user.
			t.Mismatch("HS-2", "no decline of a request whose acceptance was refused for key_changed", "chat_response declined")
		}
	}
	w.D.OK("trust", "peer", bob.Name)
	w.expectPinned(bob.Name, bob.Key.Public(), "trusted")
	n := w.Responded(bob)
	n.ClientSends(w.Text("with the new key"))
}

// keyCheckedChat is a chat_request from a peer whose key changed, and whether the client already
// reported key_changed for it.
type keyCheckedChat struct {
	ID       string
	rejected bool
}

// peerChatsKeyCheck has p ask for a session and waits for the client's chat_request event or
// its key_changed report, whichever comes first (spec §6.1 [HS-2] allows the check on arrival).
func (w *World) peerChatsKeyCheck(p *Peer) keyCheckedChat {
	sid := w.RandBytes(direct.SessionIDSize)
	c := keyCheckedChat{ID: b64(sid)}
	p.ChatRequest(sid)
	l, ok := w.D.NextWithin("the chat_request event of session "+c.ID+", or key_changed", w.Wait, func(l Line) bool {
		request := l.Event() == "chat_request" && l.Str("session") == c.ID && l.Str("from") == p.Name
		return request || (IsSecurity(l) && l.Str("code") == "key_changed")
	})
	switch {
	case !ok:
		w.T.MismatchMsg("HS-2", "the chat_request event or key_changed", "nothing within "+w.Wait.String(),
			"timed out waiting for the chat_request of %s or its key_changed report", p.Name)
	case IsSecurity(l):
		if l.Str("rule") != "TRUST-2" && l.Str("rule") != "HS-2" {
			w.T.MismatchMsg("DRV-2", "key_changed naming TRUST-2", l.String(), "the key_changed report names rule %s", l.Str("rule"))
		}
		c.rejected = true
	}
	return c
}

// checkPinKept checks that the safety number still uses the pinned key, not the one the
// directory serves now (TRUST-2: the old pin stays until the user trusts the new key).
func (w *World) checkPinKept(p *Peer, pinned []byte) {
	l := w.D.Do("safety_number", "peer", p.Name)
	if !l.OK() {
		return // refusing a safety number while the key is in question is fine
	}
	want, err := trust.SafetyNumber(w.Me.User, w.Me.IdentityKey, p.Name, pinned)
	if err != nil {
		w.T.Fatalf("clientsuite: safety number: %v", err)
	}
	if l.Str("digits") != want {
		w.T.Mismatch("TRUST-2", "the safety number of the pinned key, kept until the user trusts the new one", l.Str("digits"))
	}
}
