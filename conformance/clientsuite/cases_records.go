package clientsuite

import (
	"bytes"

	"github.com/blindpost/blindpost/conformance/harness"
	"github.com/blindpost/blindpost/impl/e2ee/direct"
	"github.com/blindpost/blindpost/impl/wire"
)

// The record cases: spec §6.4 and §6.5 on a secured session.
func init() {
	harness.Register(
		harness.Case{ID: "client/records/tampered", Rules: []string{"REC-5", "REC-6", "REC-8", "REC-12"},
			Description: "records whose ciphertext, tag, counter or kind was altered, or that belong to another session, are " +
				"rejected with bad_tag, never delivered, and end the session: a later valid record is unexpected_message",
			Run: tamperedRecords},
		harness.Case{ID: "client/records/replayed", Rules: []string{"REC-3"},
			Description: "a record replayed by the relay is rejected with replayed_counter, delivered once, and the session goes on",
			Run:         replayedRecord},
		harness.Case{ID: "client/records/reordered", Rules: []string{"REC-3"},
			Description: "records 1 then 0: record 0 is rejected with replayed_counter and never delivered; the session goes on",
			Run:         reorderedRecords},
		harness.Case{ID: "client/records/reflected", Rules: []string{"REC-4", "REC-3"},
			Description: "the relay sends the client its own record back: with a fresh counter it is reflected_record, with a " +
				"counter already passed replayed_counter; neither is delivered and the session goes on",
			Run: reflectedRecords},
		harness.Case{ID: "client/records/bad-content", Rules: []string{"REC-7"},
			Description: "records whose plaintext is not a content object (not JSON, a missing member, an extra member) are " +
				"rejected with bad_content and never delivered",
			Run: badContent},
		harness.Case{ID: "client/records/before-handshake-confirmed", Rules: []string{"HS-10", "HS-11"},
			Description: "the client responds; a record sealed with the session's keys arrives before hs3: unexpected_message, " +
				"not delivered; after hs3 the session works",
			Run: recordBeforeConfirmed},
		harness.Case{ID: "client/records/unknown-session", Rules: []string{"REC-12"},
			Description: "a record and a chat_terminate for a session the client never heard of: unexpected_message",
			Run:         unknownSession},
		harness.Case{ID: "client/records/after-close", Rules: []string{"REC-10", "REC-12"},
			Description: "after the peer's valid close record the session is ended, and a record for it is unexpected_message",
			Run:         afterClose},
		harness.Case{ID: "client/records/forged-from", Rules: []string{"REC-12", "SRV-1"},
			Description: "the relay stamps a record of the peer's session with another user's name: unexpected_message, not " +
				"delivered; the same record from the peer is then delivered",
			Run: forgedFromRecord},
		harness.Case{ID: "client/records/unverified-termination", Rules: []string{"REC-11"},
			Description: "chat_terminate without a close record, on a secured session and during a handshake: unverified_end " +
				"and the session reported ended_unverified",
			Run: unverifiedTermination},
		harness.Case{ID: "client/records/integer-forms", Rules: []string{"ENC-8"},
			Description: "record counters written 0.0, 1E0 and 20e-1 are integers and must be accepted",
			Run:         integerForms},
	)
}

// sealRecord seals text as the peer's next record, as a direct.Record the case may alter.
func (c *Chat) sealRecord(text string) direct.Record {
	rec, err := c.Sess.Seal(nil, Content(text))
	if err != nil {
		c.w.T.Fatalf("clientsuite: seal: %v", err)
	}
	return rec
}

func payloadOf(r direct.Record) wire.Payload {
	if r.Kind == direct.KindClose {
		return &wire.CloseRecord{N: int64(r.N), Ct: r.CT}
	}
	return &wire.MsgRecord{N: int64(r.N), Ct: r.CT}
}

// tamperVariant makes a record the client must reject with bad_tag (bad, carrying text) and a
// valid record for the same session (next, carrying nextText) that must then be refused because
// the session ended.
type tamperVariant struct {
	what string
	make func(c, other *Chat, text, nextText string) (bad, next direct.Record)
}

// altered seals text, then alters the record; next is sealed after it.
func altered(alter func(r *direct.Record)) func(c, other *Chat, text, nextText string) (direct.Record, direct.Record) {
	return func(c, _ *Chat, text, nextText string) (direct.Record, direct.Record) {
		bad := c.sealRecord(text)
		alter(&bad)
		return bad, c.sealRecord(nextText)
	}
}

var tamperVariants = []tamperVariant{
	{"a record with one ciphertext bit flipped", altered(func(r *direct.Record) { r.CT = flip(r.CT, 5) })},
	{"a record with one tag bit flipped", altered(func(r *direct.Record) { r.CT = flip(r.CT, 8*len(r.CT)-1) })},
	{"a record whose counter was raised", altered(func(r *direct.Record) { r.N += 3 })},
	{"a close record relabelled msg", func(c, _ *Chat, _, nextText string) (direct.Record, direct.Record) {
		next := c.sealRecord(nextText) // sealed first: the close record ends the peer's side
		bad, err := c.Sess.SealClose(nil)
		if err != nil {
			c.w.T.Fatalf("clientsuite: seal close: %v", err)
		}
		bad.Kind = direct.KindMsg
		return bad, next
	}},
	{"a record of another session with the same peer", func(c, other *Chat, text, nextText string) (direct.Record, direct.Record) {
		return other.sealRecord(text), c.sealRecord(nextText)
	}},
}

func tamperedRecords(t *harness.T) {
	w := Start(t)
	bob := w.NewPeer("bob")
	for _, v := range tamperVariants {
		c := w.Initiated(bob)
		other := w.Initiated(bob)
		text, nextText := w.Text("tampered"), w.Text("after the failure")
		bad, next := v.make(c, other, text, nextText)
		bob.Relay(c.SID, payloadOf(bad))
		w.ExpectReject(Reject{What: v.what, Code: "bad_tag", Rules: []string{"REC-5"}, Session: c.ID, Accepted: MessageText(text)})
		bob.Relay(c.SID, payloadOf(next))
		w.ExpectReject(Reject{What: "a valid record sent after " + v.what + " (the session must have ended)", Code: "unexpected_message",
			Rules: []string{"REC-12", "HS-10"}, Session: c.ID, Accepted: MessageText(nextText)})
		w.Sync()
		w.Never("REC-6", "delivery of "+v.what, MessageText(text))
	}
}

func replayedRecord(t *harness.T) {
	w := Start(t)
	bob := w.NewPeer("bob")
	c := w.Initiated(bob)
	text := w.Text("once")
	rec := c.Seal(Content(text))
	bob.Relay(c.SID, rec)
	c.ExpectDelivered(text, rec.N)
	bob.Relay(c.SID, rec)
	w.ExpectReject(Reject{What: "a replayed record", Code: "replayed_counter", Rules: []string{"REC-3"}, Session: c.ID, Accepted: MessageText(text)})
	c.PeerSends(w.Text("the session goes on"))
}

func reorderedRecords(t *harness.T) {
	w := Start(t)
	bob := w.NewPeer("bob")
	c := w.Initiated(bob)
	first, second := w.Text("first"), w.Text("second")
	r0, r1 := c.Seal(Content(first)), c.Seal(Content(second))
	bob.Relay(c.SID, r1)
	c.ExpectDelivered(second, r1.N)
	bob.Relay(c.SID, r0)
	w.ExpectReject(Reject{What: "record 0 after record 1", Code: "replayed_counter", Rules: []string{"REC-3"}, Session: c.ID, Accepted: MessageText(first)})
	c.PeerSends(w.Text("the session goes on"))
}

func reflectedRecords(t *harness.T) {
	w := Start(t)
	bob := w.NewPeer("bob")
	c := w.Initiated(bob)
	var own []*wire.Relay
	var texts []string
	for _, s := range []string{"zero", "one", "two"} {
		texts = append(texts, w.Text(s))
		c.ClientSends(texts[len(texts)-1])
		own = append(own, c.last)
	}
	c.PeerSends(w.Text("bob's first"))
	// spec §6.4, the note after REC-4: only a fresh counter reaches the REC-4 check.
	bob.Relay(c.SID, own[2].Payload)
	w.ExpectReject(Reject{What: "the client's own record 2 sent back (counter above the highest accepted, 0)", Code: "reflected_record",
		Rules: []string{"REC-4"}, Session: c.ID, Accepted: MessageText(texts[2])})
	bob.Relay(c.SID, own[0].Payload)
	w.ExpectReject(Reject{What: "the client's own record 0 sent back (counter not above the highest accepted)", Code: "replayed_counter",
		Rules: []string{"REC-3"}, Session: c.ID, Accepted: MessageText(texts[0])})
	c.PeerSends(w.Text("the session goes on"))
}

func badContent(t *harness.T) {
	w := Start(t)
	bob := w.NewPeer("bob")
	marker := w.Text("bad content")
	variants := []struct{ what, plaintext string }{
		{"a plaintext that is not JSON", marker},
		{"a content object without sent_at", `{"text":"` + marker + `"}`},
		{"a content object with an unknown member", `{"text":"` + marker + `","sent_at":1,"from":"alice"}`},
	}
	for _, v := range variants {
		c := w.Initiated(bob)
		bob.Relay(c.SID, c.Seal([]byte(v.plaintext)))
		w.ExpectReject(Reject{What: "a record holding " + v.what, Code: "bad_content", Rules: []string{"REC-7"}, Session: c.ID,
			Accepted: func(l Line) bool { return l.Event() == "message" && l.Str("session") == c.ID }})
	}
}

func recordBeforeConfirmed(t *harness.T) {
	w := Start(t)
	alice := w.NewPeer("alice")
	c := w.PeerChats(alice)
	c.ClientAccepts()
	c.SendHS1()
	hs2 := c.AwaitHS2()
	sess, hs3, err := c.ini.ReadHS2(direct.HS2{Suite: hs2.Suite, E: hs2.E, Sig: hs2.Sig, Fin: hs2.Fin})
	if err != nil {
		c.fatalPeer("an hs2 that verifies", err)
	}
	c.Sess = sess
	early := w.Text("too early")
	alice.Relay(c.SID, c.Seal(Content(early)))
	w.ExpectReject(Reject{What: "a record before hs3", Code: "unexpected_message", Rules: []string{"HS-10"},
		Session: c.ID, Accepted: MessageText(early)})
	alice.Relay(c.SID, &wire.HS3{Sig: hs3.Sig, Fin: hs3.Fin})
	w.Expect("HS-11", "session "+c.ID+" secured after hs3", SessionState(c.ID, "secured"))
	c.PeerSends(w.Text("now in order"))
	w.Sync()
	w.Never("HS-10", "delivery of the early record", MessageText(early))
}

func unknownSession(t *harness.T) {
	w := Start(t)
	bob := w.NewPeer("bob")
	c := w.Initiated(bob)
	stray := w.RandBytes(direct.SessionIDSize)
	text := w.Text("stray")
	bob.Relay(stray, c.Seal(Content(text)))
	w.ExpectReject(Reject{What: "a record for an unknown session", Code: "unexpected_message", Rules: []string{"REC-12", "HS-11"},
		Session: b64(stray), Accepted: MessageText(text)})
	bob.Terminate(stray)
	w.ExpectReject(Reject{What: "a chat_terminate for an unknown session", Code: "unexpected_message", Rules: []string{"REC-12"},
		Session: b64(stray)})
	c.PeerSends(w.Text("the real session is untouched"))
}

func afterClose(t *harness.T) {
	w := Start(t)
	bob := w.NewPeer("bob")
	c := w.Initiated(bob)
	late := w.Text("late")
	held := c.Seal(Content(late))
	c.PeerEnds()
	bob.Relay(c.SID, held)
	w.ExpectReject(Reject{What: "a record for a session that ended", Code: "unexpected_message", Rules: []string{"REC-12"},
		Session: c.ID, Accepted: MessageText(late)})
}

func forgedFromRecord(t *harness.T) {
	w := Start(t)
	bob := w.NewPeer("bob")
	mallory := w.NewPeer("mallory")
	c := w.Initiated(bob)
	text := w.Text("from bob")
	rec := c.Seal(Content(text))
	mallory.Relay(c.SID, rec)
	w.ExpectReject(Reject{What: "bob's record stamped from mallory", Code: "unexpected_message", Rules: []string{"REC-12", "HS-11"},
		Accepted: MessageText(text)})
	bob.Relay(c.SID, rec)
	c.ExpectDelivered(text, rec.N)
}

func unverifiedTermination(t *harness.T) {
	w := Start(t)
	bob := w.NewPeer("bob")
	c := w.Initiated(bob)
	c.PeerSends(w.Text("before the end"))
	bob.Terminate(c.SID)
	w.ExpectReject(Reject{What: "chat_terminate without a close record on a secured session", Code: "unverified_end",
		Rules: []string{"REC-11"}, Session: c.ID, Accepted: SessionState(c.ID, "ended")})
	w.Expect("REC-11", "session "+c.ID+" ended_unverified", SessionState(c.ID, "ended_unverified"))

	h := w.ClientChats(bob)
	h.Accept()
	bob.Terminate(h.SID)
	w.ExpectReject(Reject{What: "chat_terminate without a close record during the handshake", Code: "unverified_end",
		Rules: []string{"REC-11"}, Session: h.ID, Accepted: SessionState(h.ID, "ended", "secured")})
	w.Expect("REC-11", "session "+h.ID+" ended_unverified", SessionState(h.ID, "ended_unverified"))
}

func integerForms(t *harness.T) {
	w := Start(t)
	bob := w.NewPeer("bob")
	c := w.Initiated(bob)
	for _, form := range []string{"0.0", "1E0", "20e-1"} {
		text := w.Text("counter " + form)
		rec := c.Seal(Content(text))
		data, err := wire.Encode(&wire.IncomingRelay{From: bob.Name, Session: c.SID, Payload: rec})
		if err != nil {
			t.Fatalf("clientsuite: %v", err)
		}
		plain := []byte(`"n":` + itoa(int(rec.N)) + `,`)
		if !bytes.Contains(data, plain) {
			t.Fatalf("clientsuite: no %s in %s", plain, data)
		}
		w.Relay.SendRaw(textFrame, bytes.Replace(data, plain, []byte(`"n":`+form+`,`), 1))
		c.ExpectDelivered(text, rec.N)
	}
}
