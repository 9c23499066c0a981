package clientsuite

import (
	"slices"

	"github.com/blindpost/blindpost/conformance/harness"
	"github.com/blindpost/blindpost/impl/e2ee/canonical"
	"github.com/blindpost/blindpost/impl/e2ee/direct"
	"github.com/blindpost/blindpost/impl/wire"
)

// hsCase is a handshake message the client must reject: a forged hs2 when it initiates, or a
// forged hs3 when it responds.
type hsCase struct {
	id, what string
	code     string
	rules    []string // the first is the rule that requires the rejection
	// reported are the rules the security event may name; the first rule when empty.
	reported []string
	hs2      func(w *World, c *Chat) HS2Forge
	hs3      func(w *World, c *Chat) HS3Forge
}

// otherSession sets the transcript's session id to a fresh one.
func otherSession(w *World) func(*Transcript) {
	sid := w.RandBytes(direct.SessionIDSize)
	return func(tr *Transcript) { tr.SessionID = sid }
}

// swapRoles exchanges the initiator's and the responder's names and keys in the transcript.
func swapRoles(tr *Transcript) {
	tr.Initiator, tr.Responder = tr.Responder, tr.Initiator
	tr.IKI, tr.IKR = tr.IKR, tr.IKI
}

var hsCases = []hsCase{
	{id: "forged-hs2-signature", what: "an hs2 whose signature has one bit flipped", code: "bad_signature", rules: []string{"HS-8"},
		hs2: func(w *World, c *Chat) HS2Forge { return HS2Forge{Msg: func(m *wire.HS2) { m.Sig = flip(m.Sig, 77) }} }},
	{id: "zero-hs2-signature", what: "an hs2 with an all-zero signature", code: "bad_signature", rules: []string{"HS-8"},
		hs2: func(w *World, c *Chat) HS2Forge { return HS2Forge{Msg: func(m *wire.HS2) { m.Sig = make([]byte, 64) }} }},
	{id: "hs2-signature-s-not-reduced", what: "an hs2 whose genuine signature has the group order added to its S (same R, S not below L)",
		code: "bad_signature", rules: []string{"VEC-3", "HS-8"}, reported: []string{"VEC-3", "HS-8"},
		hs2: func(w *World, c *Chat) HS2Forge {
			return HS2Forge{Msg: func(m *wire.HS2) { m.Sig = sNotReduced(m.Sig) }}
		}},
	{id: "hs2-signed-by-substituted-key", what: "an hs2 signed by a key other than the peer's pinned key", code: "bad_signature", rules: []string{"HS-8", "TRUST-3"},
		hs2: func(w *World, c *Chat) HS2Forge { return HS2Forge{Signer: w.NewKey()} }},
	{id: "misbound-hs2-session", what: "an hs2 signed by the peer over the transcript of another session id", code: "bad_signature", rules: []string{"HS-8"},
		hs2: func(w *World, c *Chat) HS2Forge { return HS2Forge{Sign: otherSession(w)} }},
	{id: "misbound-hs2-usernames", what: "an hs2 signed by the peer over a transcript naming another initiator", code: "bad_signature", rules: []string{"HS-8"},
		hs2: func(w *World, c *Chat) HS2Forge {
			return HS2Forge{Sign: func(tr *Transcript) { tr.Initiator = "mallory" }}
		}},
	{id: "misbound-hs2-roles", what: "an hs2 signed by the peer over the transcript with the roles swapped", code: "bad_signature", rules: []string{"HS-8"},
		hs2: func(w *World, c *Chat) HS2Forge { return HS2Forge{Sign: swapRoles} }},
	{id: "misbound-hs2-label", what: "an hs2 signed by the peer over the right transcript with the initiator's label", code: "bad_signature", rules: []string{"HS-8"},
		hs2: func(w *World, c *Chat) HS2Forge { return HS2Forge{Label: canonical.LabelInitiator} }},
	{id: "tampered-hs1-suites", what: "an hs2 answering an hs1 whose suites the relay altered (transcript mismatch)", code: "bad_signature", rules: []string{"HS-8", "HS-7"},
		hs2: func(w *World, c *Chat) HS2Forge {
			return HS2Forge{Offered: append(slices.Clone(c.HS1.Suites), OtherSuite)}
		}},
	{id: "tampered-hs2-ephemeral", what: "an hs2 whose ephemeral was swapped after signing", code: "bad_signature", rules: []string{"HS-8"},
		hs2: func(w *World, c *Chat) HS2Forge {
			other := w.Ephemeral().PublicKey().Bytes()
			return HS2Forge{Msg: func(m *wire.HS2) { m.E = other }}
		}},
	{id: "bad-hs2-finished", what: "an hs2 whose Finished MAC has one bit flipped", code: "bad_finished", rules: []string{"HS-9"},
		hs2: func(w *World, c *Chat) HS2Forge { return HS2Forge{Msg: func(m *wire.HS2) { m.Fin = flip(m.Fin, 3) }} }},
	{id: "hs2-unoffered-suite", what: "an hs2 choosing a suite the client did not offer (downgrade), signed and MACed", code: "bad_suite", rules: []string{"HS-7"},
		hs2: func(w *World, c *Chat) HS2Forge { return HS2Forge{Chosen: OtherSuite} }},

	{id: "forged-hs3-signature", what: "an hs3 whose signature has one bit flipped", code: "bad_signature", rules: []string{"HS-8"},
		hs3: func(w *World, c *Chat) HS3Forge { return HS3Forge{Msg: func(m *wire.HS3) { m.Sig = flip(m.Sig, 200) }} }},
	{id: "hs3-signature-s-not-reduced", what: "an hs3 whose genuine signature has the group order added to its S (same R, S not below L)",
		code: "bad_signature", rules: []string{"VEC-3", "HS-8"}, reported: []string{"VEC-3", "HS-8"},
		hs3: func(w *World, c *Chat) HS3Forge {
			return HS3Forge{Msg: func(m *wire.HS3) { m.Sig = sNotReduced(m.Sig) }}
		}},
	{id: "hs3-signed-by-substituted-key", what: "an hs3 signed by a key other than the peer's pinned key", code: "bad_signature", rules: []string{"HS-8", "TRUST-3"},
		hs3: func(w *World, c *Chat) HS3Forge { return HS3Forge{Signer: w.NewKey()} }},
	{id: "misbound-hs3-session", what: "an hs3 signed by the peer over the transcript of another session id", code: "bad_signature", rules: []string{"HS-8"},
		hs3: func(w *World, c *Chat) HS3Forge { return HS3Forge{Sign: otherSession(w)} }},
	{id: "misbound-hs3-usernames", what: "an hs3 signed by the peer over a transcript naming another responder", code: "bad_signature", rules: []string{"HS-8"},
		hs3: func(w *World, c *Chat) HS3Forge {
			return HS3Forge{Sign: func(tr *Transcript) { tr.Responder = "mallory" }}
		}},
	{id: "misbound-hs3-label", what: "an hs3 signed by the peer over the right transcript with the responder's label", code: "bad_signature", rules: []string{"HS-8"},
		hs3: func(w *World, c *Chat) HS3Forge { return HS3Forge{Label: canonical.LabelResponder} }},
	{id: "tampered-hs3-suites", what: "an hs3 signed over a transcript whose offered suites differ from the hs1 sent", code: "bad_signature", rules: []string{"HS-8"},
		hs3: func(w *World, c *Chat) HS3Forge {
			return HS3Forge{Sign: func(tr *Transcript) { tr.Offered = append(slices.Clone(tr.Offered), OtherSuite) }}
		}},
	{id: "tampered-hs3-ephemeral", what: "an hs3 signed over a transcript with another initiator ephemeral", code: "bad_signature", rules: []string{"HS-8"},
		hs3: func(w *World, c *Chat) HS3Forge {
			other := w.Ephemeral().PublicKey().Bytes()
			return HS3Forge{Sign: func(tr *Transcript) { tr.EI = other }}
		}},
	{id: "bad-hs3-finished", what: "an hs3 whose Finished MAC has one bit flipped", code: "bad_finished", rules: []string{"HS-9"},
		hs3: func(w *World, c *Chat) HS3Forge { return HS3Forge{Msg: func(m *wire.HS3) { m.Fin = flip(m.Fin, 100) }} }},
}

func init() {
	for _, hc := range hsCases {
		role, run := "initiates", runHS2Case
		if hc.hs3 != nil {
			role, run = "responds", runHS3Case
		}
		harness.Register(harness.Case{
			ID:          "client/handshake/" + hc.id,
			Rules:       append(slices.Clone(hc.rules), "HS-12", "DRV-2", "CLI-2"),
			Description: "the client " + role + "; it must reject " + hc.what + " with " + hc.code + " and never report the session secured",
			Run:         func(t *harness.T) { run(t, hc) },
		})
	}
	harness.Register(
		harness.Case{ID: "client/handshake/replayed-hs2", Rules: []string{"HS-8", "HS-5"},
			Description: "the relay answers the client's second session with the hs2 of its first one: bad_signature",
			Run:         replayedHS2},
		harness.Case{ID: "client/handshake/replayed-hs3", Rules: []string{"HS-8", "HS-5"},
			Description: "the relay answers the client's hs2 with the hs3 of an earlier session: bad_signature",
			Run:         replayedHS3},
		harness.Case{ID: "client/handshake/fresh-ephemerals", Rules: []string{"HS-5"},
			Description: "two handshakes in each role: the ephemeral of every hs1 and hs2 the client sends differs from all the " +
				"others it sent",
			Run: freshEphemerals},
		harness.Case{ID: "client/handshake/low-order-hs2", Rules: []string{"HS-6", "VEC-2"},
			Description: "the client initiates; hs2 carries each low-order point as ephemeral, signed and MACed over the all-zero " +
				"secret: low_order_point every time",
			Run: lowOrderHS2},
		harness.Case{ID: "client/handshake/low-order-hs1", Rules: []string{"HS-6", "VEC-2"},
			Description: "the client responds; hs1 carries each low-order point as ephemeral: low_order_point every time, no hs2",
			Run:         lowOrderHS1},
		harness.Case{ID: "client/handshake/hs2-check-order", Rules: []string{"HS-7", "HS-6", "HS-8", "HS-9"},
			Description: "an hs2 with several defects is rejected for the first failing check, in the order HS-7, HS-6, HS-8, HS-9",
			Run:         hs2CheckOrder},
		harness.Case{ID: "client/handshake/hs1-no-common-suite", Rules: []string{"HS-7"},
			Description: "the client responds to an hs1 offering only a suite it does not support: bad_suite, no hs2",
			Run:         noCommonSuite},
		harness.Case{ID: "client/handshake/responder-skips-unknown-suite", Rules: []string{"HS-7", "HS-8", "HS-9"},
			Description: "the client responds to an hs1 offering an unknown suite first: it chooses " + direct.Suite +
				", and the handshake completes",
			Run: skipsUnknownSuite},
	)
}

// reportedRules returns the rules the client's security event may name: a signature that
// VEC-3 rejects may be reported under VEC-3 or under the check that verified it, HS-8.
func (hc hsCase) reportedRules() []string {
	if len(hc.reported) > 0 {
		return hc.reported
	}
	return hc.rules[:1]
}

func runHS2Case(t *harness.T, hc hsCase) {
	w := Start(t)
	bob := w.NewPeer("bob")
	c := w.ClientChats(bob)
	c.Accept()
	bob.Relay(c.SID, c.ForgeHS2(hc.hs2(w, c)))
	w.ExpectReject(Reject{What: hc.what, Code: hc.code, Rules: hc.reportedRules(), Session: c.ID, Accepted: SessionState(c.ID, "secured")})
	c.ExpectAborted(hc.rules[0])
}

func runHS3Case(t *harness.T, hc hsCase) {
	w := Start(t)
	alice := w.NewPeer("alice")
	c := w.PeerChats(alice)
	c.ClientAccepts()
	fs := c.ForgeHS1(HS1Forge{})
	c.ReadHS2(fs)
	alice.Relay(c.SID, c.ForgeHS3(fs, hc.hs3(w, c)))
	w.ExpectReject(Reject{What: hc.what, Code: hc.code, Rules: hc.reportedRules(), Session: c.ID, Accepted: SessionState(c.ID, "secured")})
	c.ExpectAborted(hc.rules[0])
}

func replayedHS2(t *harness.T) {
	w := Start(t)
	bob := w.NewPeer("bob")
	first := w.ClientChats(bob)
	first.Accept()
	old := first.ForgeHS2(HS2Forge{})
	bob.Relay(first.SID, old)
	w.Expect("", "session "+first.ID+" secured", SessionState(first.ID, "secured"))
	second := w.ClientChats(bob)
	second.Accept()
	bob.Relay(second.SID, old)
	w.ExpectReject(Reject{What: "the hs2 of another session", Code: "bad_signature", Rules: []string{"HS-8"},
		Session: second.ID, Accepted: SessionState(second.ID, "secured")})
	second.ExpectAborted("HS-8")
}

func replayedHS3(t *harness.T) {
	w := Start(t)
	alice := w.NewPeer("alice")
	first := w.PeerChats(alice)
	first.ClientAccepts()
	fs := first.ForgeHS1(HS1Forge{})
	first.ReadHS2(fs)
	old := first.ForgeHS3(fs, HS3Forge{})
	alice.Relay(first.SID, old)
	w.Expect("", "session "+first.ID+" secured", SessionState(first.ID, "secured"))
	second := w.PeerChats(alice)
	second.ClientAccepts()
	second.ReadHS2(second.ForgeHS1(HS1Forge{}))
	alice.Relay(second.SID, old)
	w.ExpectReject(Reject{What: "the hs3 of another session", Code: "bad_signature", Rules: []string{"HS-8"},
		Session: second.ID, Accepted: SessionState(second.ID, "secured")})
	second.ExpectAborted("HS-8")
}

func freshEphemerals(t *harness.T) {
	w := Start(t)
	bob, alice := w.NewPeer("bob"), w.NewPeer("alice")
	sent := map[string]string{} // ephemeral: the message that carried it first
	check := func(what string, e []byte) {
		if first, seen := sent[string(e)]; seen {
			t.MismatchMsg("HS-5", "a fresh ephemeral in "+what, "the ephemeral of "+first,
				"the client used one ephemeral in two handshakes: %s and %s", first, what)
		}
		sent[string(e)] = what
	}
	for range 2 {
		c := w.Initiated(bob)
		check("the hs1 of session "+c.ID, c.HS1.E)
	}
	for range 2 {
		c := w.PeerChats(alice)
		c.ClientAccepts()
		fs := c.ForgeHS1(HS1Forge{})
		check("the hs2 of session "+c.ID, c.ReadHS2(fs).E)
		alice.Relay(c.SID, c.ForgeHS3(fs, HS3Forge{}))
		w.Expect("", "session "+c.ID+" secured", SessionState(c.ID, "secured"))
	}
}

func lowOrderHS2(t *harness.T) {
	w := Start(t)
	bob := w.NewPeer("bob")
	for _, p := range LowOrderPoints {
		c := w.ClientChats(bob)
		c.Accept()
		bob.Relay(c.SID, c.ForgeHS2(HS2Forge{E: p.Point}))
		w.ExpectReject(Reject{What: "an hs2 whose ephemeral is the low-order point " + p.Name, Code: "low_order_point",
			Rules: []string{"HS-6"}, Session: c.ID, Accepted: SessionState(c.ID, "secured")})
		c.ExpectAborted("HS-6")
	}
}

func lowOrderHS1(t *harness.T) {
	w := Start(t)
	alice := w.NewPeer("alice")
	for _, p := range LowOrderPoints {
		c := w.PeerChats(alice)
		c.ClientAccepts()
		c.ForgeHS1(HS1Forge{E: p.Point})
		w.ExpectReject(Reject{What: "an hs1 whose ephemeral is the low-order point " + p.Name, Code: "low_order_point",
			Rules: []string{"HS-6"}, Session: c.ID, Accepted: SessionState(c.ID, "secured")})
		c.ExpectAborted("HS-6")
	}
}

func hs2CheckOrder(t *harness.T) {
	w := Start(t)
	bob := w.NewPeer("bob")
	badSig := func(m *wire.HS2) { m.Sig = flip(m.Sig, 9) }
	steps := []struct {
		what, code, rule string
		forge            HS2Forge
	}{
		{"an unoffered suite, a low-order ephemeral and a bad signature", "bad_suite", "HS-7",
			HS2Forge{Chosen: OtherSuite, E: LowOrderPoints[0].Point, Msg: badSig}},
		{"a low-order ephemeral and a bad signature", "low_order_point", "HS-6", HS2Forge{E: LowOrderPoints[2].Point, Msg: badSig}},
		{"a bad signature and a bad Finished MAC", "bad_signature", "HS-8",
			HS2Forge{Msg: func(m *wire.HS2) { badSig(m); m.Fin = flip(m.Fin, 1) }}},
	}
	for _, s := range steps {
		c := w.ClientChats(bob)
		c.Accept()
		bob.Relay(c.SID, c.ForgeHS2(s.forge))
		w.ExpectReject(Reject{What: "an hs2 with " + s.what, Code: s.code, Rules: []string{s.rule}, Session: c.ID,
			Accepted: SessionState(c.ID, "secured")})
		c.ExpectAborted(s.rule)
	}
}

func noCommonSuite(t *harness.T) {
	w := Start(t)
	alice := w.NewPeer("alice")
	c := w.PeerChats(alice)
	c.ClientAccepts()
	c.ForgeHS1(HS1Forge{Suites: []string{OtherSuite}})
	w.ExpectReject(Reject{What: "an hs1 offering only " + OtherSuite, Code: "bad_suite", Rules: []string{"HS-7"}, Session: c.ID,
		Accepted: SessionState(c.ID, "secured")})
	c.ExpectAborted("HS-7")
}

func skipsUnknownSuite(t *harness.T) {
	w := Start(t)
	alice := w.NewPeer("alice")
	c := w.PeerChats(alice)
	c.ClientAccepts()
	fs := c.ForgeHS1(HS1Forge{Suites: []string{OtherSuite, direct.Suite}})
	c.ReadHS2(fs)
	alice.Relay(c.SID, c.ForgeHS3(fs, HS3Forge{}))
	w.Expect("HS-7", "session "+c.ID+" secured", SessionState(c.ID, "secured"))
	w.Sync()
	w.NoSecurityEvents("HS-7")
}
