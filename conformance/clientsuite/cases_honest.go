package clientsuite

import (
	"bytes"

	"github.com/blindpost/blindpost/conformance/harness"
	"github.com/blindpost/blindpost/impl/e2ee/identity"
	"github.com/blindpost/blindpost/impl/e2ee/trust"
	"github.com/blindpost/blindpost/impl/wire"
)

// The honest cases: what a correct client must accept and do (spec §6).
func init() {
	harness.Register(
		harness.Case{
			ID:    "client/handshake/honest-initiator",
			Rules: []string{"HS-1", "HS-2", "HS-4", "HS-10", "REC-1", "REC-8", "REC-9", "TRUST-1", "TRUST-4", "TRUST-5", "CLI-1", "CLI-4", "MSG-6", "KEY-4", "REG-11"},
			Description: "the client asks an honest peer for a session: it pins the peer's key on first use, sends hs1 only " +
				"after the acceptance, completes the handshake, exchanges messages both ways, shows the same safety number " +
				"as the peer computes, and ends the session with a close record before chat_terminate",
			Run: honestInitiator,
		},
		harness.Case{
			ID:    "client/handshake/honest-responder",
			Rules: []string{"HS-2", "HS-3", "HS-7", "HS-10", "REC-1", "REC-10", "TRUST-1", "TRUST-5", "DRV-3", "CLI-4", "MSG-6"},
			Description: "an honest peer asks the client for a session: the client waits for accept, pins the peer's key, " +
				"answers hs1, exchanges messages both ways, shows the right safety number, and reports the session ended " +
				"(verified) after the peer's close record",
			Run: honestResponder,
		},
	)
}

func honestInitiator(t *harness.T) {
	w := Start(t)
	bob := w.NewPeer("bob")
	c := w.ClientChats(bob)
	w.expectPinned(bob.Name, bob.Key.Public(), "first_use")
	w.Sync()
	if hs1 := pendingRelay(bob, c.SID, "hs1"); hs1 != nil {
		t.Mismatch("HS-4", "no hs1 before chat_response accepted the session", "hs1 sent before the acceptance")
	}
	c.Accept()
	c.Respond()
	c.ConfirmResponder()
	c.ClientSends(w.Text("hello bob"))
	c.ClientSends(w.Text("second record"))
	c.PeerSends(w.Text("hello client"))
	c.PeerSends(w.Text("and again"))
	w.checkSafetyNumber(bob)
	second := w.ClientChats(bob)
	if bytes.Equal(second.SID, c.SID) {
		t.Mismatch("HS-1", "a fresh session id for every session", "the id "+c.ID+" twice")
	}
	c.ClientEnds()
	w.Sync()
	w.NoSecurityEvents("")
}

func honestResponder(t *harness.T) {
	w := Start(t)
	alice := w.NewPeer("alice")
	c := w.PeerChats(alice)
	w.Sync()
	if len(alice.Pending()) > 0 {
		t.Mismatch("DRV-3", "no chat_response before the driver's accept", "the client answered on its own")
	}
	c.ClientAccepts()
	w.expectPinned(alice.Name, alice.Key.Public(), "first_use")
	c.SendHS1()
	c.ConfirmInitiator()
	c.PeerSends(w.Text("hello client"))
	c.ClientSends(w.Text("hello alice"))
	c.PeerSends(w.Text("bye soon"))
	c.ClientSends(w.Text("ok"))
	w.checkSafetyNumber(alice)
	c.PeerEnds()
	w.Sync()
	w.NoSecurityEvents("")
}

// expectPinned waits for the pinned event of peer's key (spec §6.6 [TRUST-1], [TRUST-2]).
func (w *World) expectPinned(peer string, key []byte, reason string) {
	fp := identity.Fingerprint(key)
	rule := "TRUST-1"
	if reason == "trusted" {
		rule = "TRUST-2"
	}
	l := w.Expect(rule, "the pinned event of "+peer+" ("+reason+")", func(l Line) bool {
		return l.Event() == "pinned" && l.Str("peer") == peer && (l.Str("reason") == reason || l.Str("fingerprint") == fp)
	})
	if l.Str("fingerprint") != fp || l.Str("reason") != reason {
		w.T.Mismatch(rule, "pinned "+peer+" "+fp+" "+reason, l.String())
	}
}

// checkSafetyNumber compares the client's safety number with peer with the one of spec §6.6
// (TRUST-4, TRUST-5).
func (w *World) checkSafetyNumber(p *Peer) {
	l := w.D.Do("safety_number", "peer", p.Name)
	if !l.OK() {
		w.D.unimplemented("safety_number", l)
		w.T.Mismatch("TRUST-4", "the safety number with "+p.Name, l.String())
		return
	}
	want, err := trust.SafetyNumber(w.Me.User, w.Me.IdentityKey, p.Name, p.Key.Public())
	if err != nil {
		w.T.Fatalf("clientsuite: safety number: %v", err)
	}
	if got := l.Str("digits"); got != want {
		w.T.Mismatch("TRUST-5", "safety number "+want, got)
	}
}

// pendingRelay returns the first relay payload of kind for sid that p received and nobody took.
func pendingRelay(p *Peer, sid []byte, kind string) *wire.Relay {
	for _, m := range p.Pending() {
		if r, ok := m.(*wire.Relay); ok && bytes.Equal(r.Session, sid) && r.Payload.PayloadKind() == kind {
			return r
		}
	}
	return nil
}
