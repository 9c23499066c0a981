package client_test

import (
	"bytes"
	"crypto/ed25519"
	"testing"
	"time"

	"github.com/blindpost/blindpost/impl/client"
	"github.com/blindpost/blindpost/impl/client/wiretap"
	"github.com/blindpost/blindpost/impl/e2ee/direct"
	"github.com/blindpost/blindpost/impl/e2ee/identity"
	"github.com/blindpost/blindpost/impl/wire"
)

// mitm plays bob against alice: bob's client is connected (so alice can address him) but deaf,
// and the test answers alice with bob's identity key, through the relay's stream to alice.
type mitm struct {
	t     *testing.T
	tp    *tapped
	alice *peer
	bob   *peer
}

func newMITM(t *testing.T, aliceOpts ...peerOption) *mitm {
	tp := startTapped(t)
	m := &mitm{t: t, tp: tp, alice: tp.connect(t, "alice", aliceOpts...), bob: tp.connect(t, "bob")}
	bobConn := tp.Conn("bob")
	tp.DropWhen(func(f wiretap.Frame) bool { return f.Conn == bobConn && f.Direction == wiretap.ToClient })
	return m
}

// fromAlice returns the latest payload alice relayed for session sid.
func (m *mitm) fromAlice(sid client.SessionID, kind string) wire.Payload {
	m.t.Helper()
	var found wire.Payload
	for _, msg := range m.tp.Sent(m.t, wiretap.ToRelay) {
		if r, ok := msg.Msg.(*wire.Relay); ok && bytes.Equal(r.Session, sid[:]) && r.Payload.PayloadKind() == kind {
			found = r.Payload
		}
	}
	if found == nil {
		m.t.Fatalf("alice relayed no %s for %s", kind, sid)
	}
	return found
}

// awaitFromAlice waits until alice relayed a payload of kind for sid.
func (m *mitm) awaitFromAlice(sid client.SessionID, kind string) wire.Payload {
	m.t.Helper()
	deadline := time.Now().Add(waitFor)
	for time.Now().Before(deadline) {
		for _, msg := range m.tp.Sent(m.t, wiretap.ToRelay) {
			if r, ok := msg.Msg.(*wire.Relay); ok && bytes.Equal(r.Session, sid[:]) && r.Payload.PayloadKind() == kind {
				return m.fromAlice(sid, kind)
			}
		}
		time.Sleep(time.Millisecond) // polling the tap's record for a condition, not synchronising
	}
	m.t.Fatalf("alice relayed no %s", kind)
	return nil
}

func (m *mitm) inject(msg wire.Message) { m.tp.Inject(m.t, "alice", msg) }

func (m *mitm) relay(sid client.SessionID, p wire.Payload) {
	m.inject(&wire.IncomingRelay{From: "bob", Session: sid[:], Payload: p})
}

// startHandshake has alice ask bob, answers "accepted" as bob's connection, and returns alice's hs1.
func (m *mitm) startHandshake() (client.SessionID, direct.HS1) {
	m.t.Helper()
	sid, err := m.alice.c.Chat(ctx(m.t), "bob")
	if err != nil {
		m.t.Fatal(err)
	}
	// bob's connection accepts at the relay, which forwards relay messages only inside a chat
	// the recipient accepted (spec §5.5 [SES-2]), and passes the answer on to alice.
	m.tp.Send(m.t, "bob", &wire.ChatResponse{To: "alice", Session: sid[:], Accepted: true})
	m.alice.wait("handshaking", sessionState(sid, client.SessionHandshaking))
	hs1 := m.awaitFromAlice(sid, "hs1").(*wire.HS1)
	return sid, direct.HS1{Suites: hs1.Suites, E: hs1.E}
}

// responder answers hs1 as bob with key as bob's identity.
func (m *mitm) responder(sid client.SessionID, hs1 direct.HS1, key *identity.PrivateKey) (*direct.Responder, direct.HS2) {
	m.t.Helper()
	r, hs2, err := direct.NewResponder(direct.Config{
		SessionID: sid[:], Initiator: "alice", Responder: "bob", Identity: key,
		PeerIdentityKey: ed25519.PublicKey(m.alice.key.Public()),
	}, hs1)
	if err != nil {
		m.t.Fatal(err)
	}
	return r, hs2
}

func wireHS2(h direct.HS2) *wire.HS2 {
	return &wire.HS2{Suite: h.Suite, E: h.E, Sig: h.Sig, Fin: h.Fin}
}

// secure completes a session with alice as bob and returns bob's side.
func (m *mitm) secure() (client.SessionID, *direct.Session) {
	m.t.Helper()
	sid, hs1 := m.startHandshake()
	r, hs2 := m.responder(sid, hs1, m.bob.key)
	m.relay(sid, wireHS2(hs2))
	m.alice.wait("secured", sessionState(sid, client.SessionSecured))
	hs3 := m.awaitFromAlice(sid, "hs3").(*wire.HS3)
	s, err := r.ReadHS3(direct.HS3{Sig: hs3.Sig, Fin: hs3.Fin})
	if err != nil {
		m.t.Fatal(err)
	}
	return sid, s
}

func wireRecord(r direct.Record) wire.Payload {
	if r.Kind == direct.KindClose {
		return &wire.CloseRecord{N: int64(r.N), Ct: r.CT}
	}
	return &wire.MsgRecord{N: int64(r.N), Ct: r.CT}
}

func seal(t *testing.T, s *direct.Session, text string) direct.Record {
	t.Helper()
	rec, err := s.Seal(nil, []byte(`{"text":"`+text+`","sent_at":1}`))
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

// TestHandshakeRejections plays a malicious relay or peer during alice's handshake as the
// initiator: every forged hs2 is rejected with its outcome and rule, the session fails with its
// keys erased, and alice sends chat_terminate. Rules: HS-6, HS-7, HS-8, HS-9, HS-12, TRUST-3,
// CLI-2.
func TestHandshakeRejections(t *testing.T) {
	other, _ := identity.Generate(nil)
	tests := []struct {
		name, code, rule string
		forge            func(m *mitm, hs2 direct.HS2) *wire.HS2
	}{
		{"signature by another key [HS-8] [TRUST-3]", "bad_signature", "HS-8", nil},
		{"bad finished [HS-9]", "bad_finished", "HS-9", func(m *mitm, h direct.HS2) *wire.HS2 {
			h.Fin = append([]byte(nil), h.Fin...)
			h.Fin[0] ^= 1
			return wireHS2(h)
		}},
		{"low-order point [HS-6]", "low_order_point", "HS-6", func(m *mitm, h direct.HS2) *wire.HS2 {
			h.E = make([]byte, 32)
			return wireHS2(h)
		}},
		{"suite not offered [HS-7]", "bad_suite", "HS-7", func(m *mitm, h direct.HS2) *wire.HS2 {
			h.Suite = "chacha-unoffered"
			return wireHS2(h)
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := newMITM(t)
			sid, hs1 := m.startHandshake()
			key := m.bob.key
			if tc.forge == nil {
				key = other // a signature the pinned key does not verify
			}
			_, hs2 := m.responder(sid, hs1, key)
			forged := wireHS2(hs2)
			if tc.forge != nil {
				forged = tc.forge(m, hs2)
			}
			m.relay(sid, forged)
			m.alice.wait(tc.code, security(tc.code, tc.rule))
			m.alice.wait("failed [HS-12]", sessionState(sid, client.SessionFailed))
			m.awaitTerminate(sid)
			if _, err := m.alice.c.Send(ctx(t), sid, "x"); err == nil {
				t.Fatal("send on a failed handshake")
			}
		})
	}
}

// awaitTerminate waits until alice sent chat_terminate for sid (HS-12).
func (m *mitm) awaitTerminate(sid client.SessionID) {
	m.t.Helper()
	deadline := time.Now().Add(waitFor)
	for time.Now().Before(deadline) {
		for _, msg := range m.tp.Sent(m.t, wiretap.ToRelay) {
			if ct, ok := msg.Msg.(*wire.ChatTerminate); ok && bytes.Equal(ct.Session, sid[:]) {
				return
			}
		}
		time.Sleep(time.Millisecond) // polling the tap's record for a condition, not synchronising
	}
	m.t.Fatal("alice sent no chat_terminate after aborting [HS-12]")
}

// TestUnexpectedHandshakeMessages checks that handshake messages and records that their session
// does not expect are rejected without changing any session: HS-3, HS-10, HS-11, REC-12.
func TestUnexpectedHandshakeMessages(t *testing.T) {
	m := newMITM(t)
	var unknown client.SessionID
	unknown[0] = 9
	m.relay(unknown, &wire.HS2{Suite: direct.Suite, E: make([]byte, 32), Sig: make([]byte, 64), Fin: make([]byte, 32)})
	m.alice.wait("hs2 for an unknown session", security("unexpected_message", "HS-11"))
	m.relay(unknown, &wire.MsgRecord{N: 0, Ct: make([]byte, 17)})
	m.alice.wait("record for an unknown session", security("unexpected_message", "REC-12"))

	sid, hs1 := m.startHandshake()
	m.relay(sid, &wire.MsgRecord{N: 0, Ct: make([]byte, 17)})
	m.alice.wait("record before the handshake is confirmed", security("unexpected_message", "HS-10"))
	m.relay(sid, &wire.HS1{Suites: []string{direct.Suite}, E: hs1.E})
	m.alice.wait("hs1 to the initiator", security("unexpected_message", "HS-11"))
	m.inject(&wire.IncomingChatRequest{From: "bob", Session: sid[:]})
	m.alice.wait("request reusing a session id", security("unexpected_message", "HS-3"))
	m.inject(&wire.IncomingChatResponse{From: "bob", Session: sid[:], Accepted: true})
	m.alice.wait("second chat_response", security("unexpected_message", "HS-11"))

	// The session is unharmed: the real hs2 still secures it.
	r, hs2 := m.responder(sid, hs1, m.bob.key)
	_ = r
	m.relay(sid, wireHS2(hs2))
	m.alice.wait("secured after the noise", sessionState(sid, client.SessionSecured))
}

// TestHandshakeTimeout checks that an accepted session whose handshake does not complete is
// aborted: spec §6.3 [HS-13] [HS-12].
func TestHandshakeTimeout(t *testing.T) {
	m := newMITM(t, func(o *client.Options) { o.HandshakeTimeout = 50 * time.Millisecond })
	var sid client.SessionID
	sid[0] = 42
	m.inject(&wire.IncomingChatRequest{From: "bob", Session: sid[:]})
	m.alice.wait("request", chatRequest("bob"))
	if err := m.alice.c.Accept(ctx(t), sid); err != nil {
		t.Fatal(err)
	}
	ev := m.alice.wait("timed out", sessionState(sid, client.SessionFailed)).(client.SessionEvent)
	if ev.Reason == "" {
		t.Fatal("no reason given for the failure")
	}
	m.awaitTerminate(sid)
}

// TestRecordRejections plays bob, with bob's keys, against alice's secured session: replayed,
// reflected, malformed and tampered records are rejected as the record layer requires, and
// reported. Rules: REC-3, REC-4, REC-5, REC-6, REC-7, REC-8, REC-10, REC-11, REC-12, CLI-2.
func TestRecordRejections(t *testing.T) {
	m := newMITM(t)
	sid, bs := m.secure()
	first := seal(t, bs, "one")
	m.relay(sid, wireRecord(first))
	m.alice.wait("message", message("one"))

	m.relay(sid, wireRecord(first)) // spec §6.4 [REC-3]
	m.alice.wait("replay", security("replayed_counter", "REC-3"))

	// Alice's second record has a counter above the highest she accepted, so that it passes the
	// replay check and is recognised as her own (REC-4 runs after REC-3).
	for _, text := range []string{"mine 0", "mine 1"} {
		if _, err := m.alice.c.Send(ctx(t), sid, text); err != nil {
			t.Fatal(err)
		}
	}
	mine := m.fromAlice(sid, "msg").(*wire.MsgRecord)
	if mine.N != 2 { // record 0 is alice's receipt for "one" (RCP-1)
		t.Fatalf("alice's last record is %d", mine.N)
	}
	m.relay(sid, mine) // spec §6.4 [REC-4]
	m.alice.wait("reflection", security("reflected_record", "REC-4"))

	bad, err := bs.Seal(nil, []byte("not a content object"))
	if err != nil {
		t.Fatal(err)
	}
	m.relay(sid, wireRecord(bad)) // spec §6.4 [REC-7]
	m.alice.wait("bad content", security("bad_content", "REC-7"))
	m.relay(sid, wireRecord(seal(t, bs, "still open")))
	m.alice.wait("the session survived REC-3, REC-4 and REC-7", message("still open"))

	tampered := seal(t, bs, "tampered")
	tampered.CT[0] ^= 1
	m.relay(sid, wireRecord(tampered)) // spec §6.4 [REC-5] [REC-6]
	m.alice.wait("bad tag", security("bad_tag", "REC-5"))
	m.alice.wait("failed", sessionState(sid, client.SessionFailed))
	if m.alice.saw(message("tampered")) {
		t.Fatal("plaintext of a tampered record released [REC-6]")
	}
	m.relay(sid, wireRecord(seal(t, bs, "after")))
	m.alice.wait("record after the end", security("unexpected_message", "REC-12"))

	// A verified close, then an unverified end of another session.
	sid2, bs2 := m.secure()
	closeRec, err := bs2.SealClose(nil)
	if err != nil {
		t.Fatal(err)
	}
	m.relay(sid2, wireRecord(closeRec)) // spec §6.5 [REC-10]
	m.alice.wait("closed", sessionState(sid2, client.SessionEnded))
	m.inject(&wire.IncomingChatTerminate{From: "bob", Session: sid2[:]})

	// spec §6.4 [REC-8]: the counter is bound by the nonce and the associated data, so a record
	// relabelled with another counter does not authenticate.
	sid4, bs4 := m.secure()
	moved := seal(t, bs4, "moved")
	moved.N++
	m.relay(sid4, wireRecord(moved))
	m.alice.wait("relabelled counter", func(e client.Event) bool {
		s, ok := e.(client.SecurityEvent)
		return ok && s.Session == sid4 && s.Code == "bad_tag"
	})

	sid3, _ := m.secure()
	m.inject(&wire.IncomingChatTerminate{From: "bob", Session: sid3[:]}) // spec §6.5 [REC-11]
	m.alice.wait("unverified end", security("unverified_end", "REC-11"))
	m.alice.wait("ended unverified", sessionState(sid3, client.SessionEndedUnverified))
	for _, s := range m.alice.securityEvents() {
		if s.Session == sid2 {
			t.Fatalf("chat_terminate after a close record reported %+v", s)
		}
	}
}
