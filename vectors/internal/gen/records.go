package gen

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"encoding/json"
	"strconv"

	"github.com/blindpost/blindpost/impl/e2ee/direct"
	"github.com/blindpost/blindpost/impl/wire"
	"github.com/blindpost/blindpost/vectors"
)

// record is one record of a session, computed from spec §6.4.
type record struct {
	dir, kind         string
	n                 int
	sender, recipient string
	key, iv           []byte
	nonce, ad         []byte
	pt, ct            []byte
}

// nonceOf is iv XOR (0x00000000 || uint64_be(n)).
func nonceOf(iv []byte, n uint64) []byte {
	out := bytes.Clone(iv)
	binary.BigEndian.PutUint64(out[4:], binary.BigEndian.Uint64(iv[4:])^n)
	return out
}

// gcmSeal is AES-256-GCM-Seal.
func gcmSeal(key, nonce, pt, ad []byte) []byte {
	g := must(cipher.NewGCM(must(aes.NewCipher(key))))
	return g.Seal(nil, nonce, pt, ad)
}

// record seals pt as record n of kind in direction dir of session r. ad, when
// not nil, replaces the associated data the spec gives, to play a sender
// that authenticated something else.
func (r *hsRun) record(dir, kind string, n int, pt, ad []byte) record {
	rec := record{dir: dir, kind: kind, n: n, pt: pt,
		sender: r.in.Initiator.User, recipient: r.in.Responder.User, key: r.keys.I2RKey, iv: r.keys.I2RIV}
	if dir == "r2i" {
		rec.sender, rec.recipient, rec.key, rec.iv = rec.recipient, rec.sender, r.keys.R2IKey, r.keys.R2IIV
	}
	rec.nonce = nonceOf(rec.iv, uint64(n))
	rec.ad = encode(fText("blindpost/1 "+kind), fBytes(r.h), fText(rec.sender), fText(rec.recipient), fUint(uint64(n)))
	if ad == nil {
		ad = rec.ad
	}
	rec.ct = gcmSeal(rec.key, rec.nonce, pt, ad)
	return rec
}

// recordPayload is the record as a relay payload.
func recordPayload(kind string, n int, ct []byte) json.Marshaler {
	if kind == "close" {
		return &wire.CloseRecord{N: int64(n), Ct: ct}
	}
	return &wire.MsgRecord{N: int64(n), Ct: ct}
}

func (rec record) vector(id, comment string, rules ...string) vectors.RecordVector {
	return vectors.RecordVector{ID: id, Comment: comment, Rules: append([]string{"ENC-1", "ENC-2", "REC-1", "REC-8", "VEC-4"}, rules...),
		Direction: rec.dir, Sender: rec.sender, Recipient: rec.recipient, Kind: rec.kind, N: rec.n,
		Key: rec.key, IV: rec.iv, Nonce: rec.nonce, AD: rec.ad, Size: len(rec.pt), Plaintext: string(rec.pt), CT: rec.ct,
		Payload: encodeJSON(recordPayload(rec.kind, rec.n, rec.ct))}
}

// checkSessions seals the first record of each direction of r through
// impl/e2ee/direct and fails unless it equals the formula's.
func (r *hsRun) checkSessions() {
	i, hs1 := must2(direct.NewInitiator(r.config(true, nil)))
	resp, hs2 := must2(direct.NewResponder(r.config(false, nil), hs1))
	si, hs3 := must2(i.ReadHS2(hs2))
	sr := must(resp.ReadHS3(hs3))
	for _, c := range []struct {
		s   *direct.Session
		dir string
	}{{si, "i2r"}, {sr, "r2i"}} {
		pt := []byte(content("records check "+c.dir, 40))
		got := must(c.s.Seal(nil, pt))
		check(bytes.Equal(got.CT, r.record(c.dir, "msg", 0, pt, nil).ct), "%s: %s record 0 differs from direct's", r.id, c.dir)
	}
}

// recordVectors generates records.json.
func recordVectors() *vectors.Records {
	out := &vectors.Records{Meta: meta("records",
		"Message and close records of two sessions, in both directions, for counters 0, 1, 255, 2^24-2 and 2^24-1 (the close record's) "+
			"and plaintexts of 24 bytes (the smallest content object), 200 bytes, 4 KiB and 32750 bytes (the largest); "+
			"record sequences a receiver must reject, step by step; and record payloads that break their schema.")}
	one := []string{suite}
	s1 := runHandshake("rec-alice-bob", handshakeInputs("rec-alice-bob", "alice", "bob", one, one))
	s2 := runHandshake("rec-max-length-usernames", handshakeInputs("rec-max-length-usernames", name32("i"), name32("r"), one, one))
	for _, s := range []*hsRun{s1, s2} {
		s.checkSessions()
	}
	const last = 1<<24 - 2 // the last msg counter (REC-2)
	type spec struct {
		id, comment, dir, kind string
		n                      int
		pt                     string
		rules                  []string
	}
	for _, c := range []struct {
		s       *hsRun
		comment string
		recs    []spec
	}{
		{s1, "alice and bob.", []spec{
			{"alice-bob-i2r-0", "The first record from the initiator: the smallest content object (24 bytes).", "i2r", "msg", 0, `{"text":"x","sent_at":0}`, nil},
			{"alice-bob-i2r-1", "The second record from the initiator, 200 bytes.", "i2r", "msg", 1, content("rec 1", 200), nil},
			{"alice-bob-i2r-255", "Record 255 from the initiator, 4 KiB: the counter fills the last byte of the nonce.", "i2r", "msg", 255, content("rec 255", 4096), nil},
			{"alice-bob-i2r-last", "Record 2^24-2, the last msg record of a direction (REC-2), with the largest plaintext, 32750 bytes: " +
				"a valid content object whose text mixes surrogate-pair escapes and raw 4-byte UTF-8 to stay within 4096 characters.",
				"i2r", "msg", last, maxContent(), []string{"REC-2"}},
			{"alice-bob-r2i-0", "The first record from the responder, 200 bytes.", "r2i", "msg", 0, content("rec r0", 200), nil},
			{"alice-bob-r2i-1", "The second record from the responder, 4 KiB.", "r2i", "msg", 1, content("rec r1", 4096), nil},
			{"alice-bob-r2i-255", "Record 255 from the responder, 24 bytes.", "r2i", "msg", 255, `{"text":"y","sent_at":0}`, nil},
			{"alice-bob-r2i-2-receipt", "A receipt from the responder: a msg record whose plaintext is a receipt object covering the " +
				"initiator's records 0 and 1 (spec §6.7).", "r2i", "msg", 2, `{"receipt":1}`, []string{"RCP-1"}},
			{"alice-bob-r2i-last", "Record 2^24-2 from the responder, 200 bytes.", "r2i", "msg", last, content("rec rlast", 200), []string{"REC-2"}},
			{"alice-bob-i2r-close", "The initiator's close record after two messages: empty plaintext, ct is the tag (spec §6.5).", "i2r", "close", 2, "", []string{"REC-9", "REC-10"}},
			{"alice-bob-r2i-close-last", "The responder's close record numbered 2^24-1, the number REC-2 keeps free for it.", "r2i", "close", last + 1, "", []string{"REC-2", "REC-9", "REC-10"}},
		}},
		{s2, "Two users with 32-character usernames.", []spec{
			{"max-length-i2r-0", "The first record from the initiator, 200 bytes.", "i2r", "msg", 0, content("rec2 0", 200), nil},
			{"max-length-r2i-0", "The first record from the responder, 4 KiB.", "r2i", "msg", 0, content("rec2 r0", 4096), nil},
			{"max-length-i2r-close", "The initiator's close record as its first record.", "i2r", "close", 0, "", []string{"REC-9", "REC-10"}},
		}},
	} {
		sess := vectors.RecordSession{ID: c.s.id, Comment: c.comment, Handshake: c.s.in, H: c.s.h,
			Keys: vectors.RecordKeys{I2RKey: c.s.keys.I2RKey, I2RIV: c.s.keys.I2RIV, R2IKey: c.s.keys.R2IKey, R2IIV: c.s.keys.R2IIV}}
		for _, rs := range c.recs {
			rec := c.s.record(rs.dir, rs.kind, rs.n, []byte(rs.pt), nil)
			sess.Records = append(sess.Records, rec.vector(rs.id, rs.comment, rs.rules...))
		}
		out.Sessions = append(out.Sessions, sess)
	}
	out.Negative = recordNegatives(s1)
	out.Malformed = recordMalformed(s1)
	return out
}

// open is the step that delivers rec; a plaintext is given when it opens.
func open(rec record, expect, rule string) vectors.RecordStep {
	n := rec.n
	st := vectors.RecordStep{Action: "open", Kind: rec.kind, N: &n, CT: rec.ct, Expect: expect, Rule: rule}
	st.Payload = payloadIfValid(recordPayload(rec.kind, rec.n, rec.ct))
	if expect == "ok" {
		pt := string(rec.pt)
		st.Plaintext = &pt
	}
	return st
}

// as returns rec delivered with another kind or counter than it was sealed
// with.
func (rec record) as(kind string, n int) record {
	rec.kind, rec.n = kind, n
	return rec
}

// withCT returns rec with another ciphertext.
func (rec record) withCT(ct []byte) record {
	rec.ct = ct
	return rec
}

// recordNegatives returns record sequences one side of s must reject.
func recordNegatives(s *hsRun) []vectors.RecordNegative {
	msg := func(dir string, n int) record {
		return s.record(dir, "msg", n, []byte(content("rec neg "+dir+" "+strconv.Itoa(n), 64)), nil)
	}
	raw := func(dir, kind string, n int, pt string) record { return s.record(dir, kind, n, []byte(pt), nil) }
	neg := func(id, comment, expect, rule, role string, steps ...vectors.RecordStep) vectors.RecordNegative {
		return vectors.RecordNegative{ID: id, Comment: comment, Expect: expect, Rule: rule, Session: s.id, Role: role, Steps: steps}
	}
	i0, i1, i2, i3 := msg("i2r", 0), msg("i2r", 1), msg("i2r", 2), msg("i2r", 3)
	r0 := msg("r2i", 0)
	badAD := encode(fText("blindpost/1 msg"), fBytes(s.h), fText(s.in.Initiator.User), fText("carol"), fUint(0))
	return []vectors.RecordNegative{
		neg("ct-flipped", "One bit of the ciphertext body is flipped: the record fails authentication and the session ends (REC-5); "+
			"the genuine next record is then for an ended session (REC-12).", "bad_tag", "REC-5", "responder",
			open(i0.withCT(flip(i0.ct, 0)), "bad_tag", "REC-5"), open(i1, "unexpected_message", "REC-12")),
		neg("tag-flipped", "One bit of the tag is flipped.", "bad_tag", "REC-5", "responder",
			open(i0.withCT(flip(i0.ct, -1)), "bad_tag", "REC-5")),
		neg("ad-other-recipient", "The sender authenticated an ad naming carol as the recipient instead of bob.", "bad_tag", "REC-5", "responder",
			open(s.record("i2r", "msg", 0, i0.pt, badAD), "bad_tag", "REC-5")),
		neg("close-delivered-as-msg", "A close record delivered with kind msg: the kind is in the ad.", "bad_tag", "REC-5", "responder",
			open(raw("i2r", "close", 0, "").as("msg", 0), "bad_tag", "REC-5")),
		neg("empty-msg-delivered-as-close", "A msg record with an empty plaintext delivered with kind close.", "bad_tag", "REC-5", "responder",
			open(raw("i2r", "msg", 0, "").as("close", 0), "bad_tag", "REC-5")),
		neg("counter-changed", "Record 1 delivered as record 2: the counter is in the nonce and the ad.", "bad_tag", "REC-5", "responder",
			open(i1.as("msg", 2), "bad_tag", "REC-5")),
		neg("initiator-tag-flipped", "The initiator receives a responder record with a flipped tag.", "bad_tag", "REC-5", "initiator",
			open(r0.withCT(flip(r0.ct, -2)), "bad_tag", "REC-5")),
		neg("replayed", "Record 0 arrives twice; the replay is rejected without harm and record 1 opens.", "replayed_counter", "REC-3", "responder",
			open(i0, "ok", ""), open(i0, "replayed_counter", "REC-3"), open(i1, "ok", "")),
		neg("reordered", "Record 1 arrives before record 0; record 0 is then rejected and record 2 opens.", "replayed_counter", "REC-3", "responder",
			open(i1, "ok", ""), open(i0, "replayed_counter", "REC-3"), open(i2, "ok", "")),
		neg("reflected", "The responder receives its own first record back; the session goes on.", "reflected_record", "REC-4", "responder",
			open(r0, "reflected_record", "REC-4"), open(i0, "ok", "")),
		neg("reflected-close", "The responder receives its own close record back; the session goes on.", "reflected_record", "REC-4", "responder",
			open(raw("r2i", "close", 0, ""), "reflected_record", "REC-4"), open(i0, "ok", "")),
		neg("reflected-stale-counter", "After record 3, the responder's own record 0 comes back: the counter check of REC-3 comes first.",
			"replayed_counter", "REC-3", "responder",
			open(i3, "ok", ""), open(r0, "replayed_counter", "REC-3")),
		neg("record-after-close", "A record after a valid close record.", "unexpected_message", "REC-12", "responder",
			open(raw("i2r", "close", 0, ""), "ok", ""), open(i1, "unexpected_message", "REC-12")),
		neg("terminate-without-close", "chat_terminate arrives without a close record (REC-11).", "unverified_end", "REC-11", "responder",
			open(i0, "ok", ""), vectors.RecordStep{Action: "terminate", Expect: "unverified_end", Rule: "REC-11"}),
		neg("terminate-after-close", "The chat_terminate that REC-9 sends after a valid close record is accepted silently; a second "+
			"one is for a session that has ended (REC-12).", "unexpected_message", "REC-12", "responder",
			open(raw("i2r", "close", 0, ""), "ok", ""), vectors.RecordStep{Action: "terminate", Expect: "ok"},
			vectors.RecordStep{Action: "terminate", Expect: "unexpected_message", Rule: "REC-12"}),
		neg("plaintext-one-byte", "A record whose plaintext, one byte, is not a content object; the session goes on.", "bad_content", "REC-7", "responder",
			open(raw("i2r", "msg", 0, "x"), "bad_content", "REC-7"), open(i1, "ok", "")),
		neg("plaintext-empty", "A msg record with an empty plaintext.", "bad_content", "REC-7", "responder",
			open(raw("i2r", "msg", 0, ""), "bad_content", "REC-7")),
		neg("plaintext-unknown-member", "A content object with a member its schema does not list.", "bad_content", "REC-7", "responder",
			open(raw("i2r", "msg", 0, `{"text":"hi","sent_at":1,"from":"bob"}`), "bad_content", "REC-7")),
	}
}

// recordMalformed returns record payloads that break their schema.
func recordMalformed(s *hsRun) []vectors.Malformed {
	rec := s.record("i2r", "msg", 5, []byte(content("rec malformed", 40)), nil)
	msg := encodeJSON(recordPayload("msg", 5, rec.ct))
	ct := string(must(json.Marshal(rec.ct)))
	closeRec := s.record("i2r", "close", 5, nil, nil)
	cl := encodeJSON(recordPayload("close", 5, closeRec.ct))
	clCT := string(must(json.Marshal(closeRec.ct)))
	return []vectors.Malformed{
		malformed("msg-n-2-24", "A counter of 2^24.", "e2e/payload.json", replace(msg, `"n":5`, `"n":16777216`), "/n", "maximum", "MSG-1"),
		malformed("msg-n-negative", "A negative counter.", "e2e/payload.json", replace(msg, `"n":5`, `"n":-1`), "/n", "minimum", "MSG-1"),
		malformed("msg-n-fraction", "A counter that is not an integer.", "e2e/payload.json", replace(msg, `"n":5`, `"n":5.5`), "/n", "type", "ENC-8"),
		malformed("msg-ct-line-break", "The ciphertext's base64 broken by a line break.", "e2e/payload.json",
			replace(msg, ct, ct[:20]+`\n`+ct[20:]), "/ct", "pattern", "ENC-6"),
		malformed("msg-ct-15-bytes", "A ciphertext shorter than a tag.", "e2e/payload.json",
			replace(msg, ct, string(must(json.Marshal(rec.ct[:15])))), "/ct", "minLength", "ENC-6"),
		malformed("close-ct-17-bytes", "A close record whose ct is longer than the tag: a close record carries no plaintext.", "e2e/payload.json",
			replace(cl, clCT, string(must(json.Marshal(append(bytes.Clone(closeRec.ct), 0))))), "/ct", "pattern", "ENC-6"),
		malformed("msg-unknown-member", "A record with a member the schema does not list.", "e2e/payload.json",
			msg[:len(msg)-1]+`,"h":""}`, "", "additionalProperties", "MSG-1"),
		malformed("msg-missing-ct", "A record without ct.", "e2e/payload.json", replace(msg, `,"ct":`+ct, ``), "", "required", "MSG-1"),
	}
}
