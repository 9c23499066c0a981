package gen

import (
	"crypto/ed25519"
	"encoding/json"

	"github.com/blindpost/blindpost/impl/e2ee/direct"
	"github.com/blindpost/blindpost/impl/wire"
	"github.com/blindpost/blindpost/schemas"
	"github.com/blindpost/blindpost/vectors"
)

// payloadIfValid returns the payload JSON of p, or "" when p breaks its
// schema (then only the hex form of the step exists).
func payloadIfValid(p json.Marshaler) string {
	b, err := p.MarshalJSON()
	if err != nil {
		return ""
	}
	return string(b)
}

func readHS1(m direct.HS1, expect, rule string) vectors.HandshakeStep {
	return vectors.HandshakeStep{Action: "read_hs1", HS1: &vectors.HS1{Suites: m.Suites, E: m.E},
		Payload: payloadIfValid(wireHS1(m)), Expect: expect, Rule: rule}
}

func readHS2(m direct.HS2, expect, rule string) vectors.HandshakeStep {
	return vectors.HandshakeStep{Action: "read_hs2", HS2: &vectors.HS2{Suite: m.Suite, E: m.E, Sig: m.Sig, Fin: m.Fin},
		Payload: payloadIfValid(wireHS2(m)), Expect: expect, Rule: rule}
}

func readHS3(m direct.HS3, expect, rule string) vectors.HandshakeStep {
	return vectors.HandshakeStep{Action: "read_hs3", HS3: &vectors.HS3{Sig: m.Sig, Fin: m.Fin},
		Payload: payloadIfValid(wireHS3(m)), Expect: expect, Rule: rule}
}

func terminate(expect, rule string) vectors.HandshakeStep {
	return vectors.HandshakeStep{Action: "terminate", Expect: expect, Rule: rule}
}

// hsNegative returns a negative vector for the side role of r, pinning the
// peer's real identity key.
func hsNegative(id, comment, expect, rule, role string, r *hsRun, steps ...vectors.HandshakeStep) vectors.HandshakeNegative {
	pinned := r.in.Responder.IdentityKey
	if role == "responder" {
		pinned = r.in.Initiator.IdentityKey
	}
	return vectors.HandshakeNegative{ID: id, Comment: comment, Expect: expect, Rule: rule, Role: role,
		HandshakeInputs: r.in, PinnedPeerKey: pinned, Steps: steps}
}

// handshakeNegatives returns the handshakes a side must abort.
func handshakeNegatives() []vectors.HandshakeNegative {
	one := []string{suite}
	base := runHandshake("neg-base", handshakeInputs("neg-base", "alice", "bob", one, one))
	other := runHandshake("neg-other-session", handshakeInputs("neg-other-session", "alice", "bob", one, one))
	mallory := ed25519.NewKeyFromSeed(seedOf("mallory"))
	bob := ed25519.NewKeyFromSeed(seedOf("bob"))
	alice := ed25519.NewKeyFromSeed(seedOf("alice"))
	h := base.h

	// The hs2 a genuine responder sends when an attacker changed hs1 on
	// the way: its transcript differs from the initiator's.
	tampered := base.in
	tampered.SuitesOffered = []string{futureSuite, suite}
	suitesTampered := runHandshake("neg-suites-tampered", tampered)
	substituted := base.in
	substituted.InitiatorEphemeral = keyPair("handshake neg-eI-substituted attacker ephemeral")
	eISubstituted := runHandshake("neg-eI-substituted", substituted)

	withHS2 := func(f func(*direct.HS2)) direct.HS2 {
		m := base.hs2
		f(&m)
		return m
	}
	withHS3 := func(f func(*direct.HS3)) direct.HS3 {
		m := base.hs3
		f(&m)
		return m
	}
	okHS1 := readHS1(base.hs1, "ok", "")
	var out []vectors.HandshakeNegative
	add := func(v vectors.HandshakeNegative) { out = append(out, v) }

	// bad_signature (HS-8), on hs2 and on hs3.
	add(hsNegative("hs2-sig-flipped", "One bit of sig_R is flipped.", "bad_signature", "HS-8", "initiator", base,
		readHS2(withHS2(func(m *direct.HS2) { m.Sig = flip(m.Sig, 0) }), "bad_signature", "HS-8")))
	add(hsNegative("hs2-sig-wrong-key", "sig_R is a valid signature of the right message by mallory's key, not by the pinned key of bob: "+
		"a server that substitutes a key is caught (TRUST-3). fin_R is right.", "bad_signature", "HS-8", "initiator", base,
		readHS2(withHS2(func(m *direct.HS2) { m.Sig = ed25519.Sign(mallory, sigInput("responder", h)) }), "bad_signature", "HS-8")))
	add(hsNegative("hs2-sig-initiator-label", "bob signed h with the initiator's label: a signature is bound to its role.", "bad_signature", "HS-8", "initiator", base,
		readHS2(withHS2(func(m *direct.HS2) { m.Sig = ed25519.Sign(bob, sigInput("initiator", h)) }), "bad_signature", "HS-8")))
	add(hsNegative("hs2-sig-without-label", "bob signed h alone, without \"blindpost/1 responder\".", "bad_signature", "HS-8", "initiator", base,
		readHS2(withHS2(func(m *direct.HS2) { m.Sig = ed25519.Sign(bob, h) }), "bad_signature", "HS-8")))
	add(hsNegative("hs2-replayed-from-other-session", "The complete hs2 of another session between the same users: "+
		"its signature covers another session id and other ephemerals.", "bad_signature", "HS-8", "initiator", base,
		readHS2(other.hs2, "bad_signature", "HS-8")))
	add(hsNegative("hs2-after-suites-tampered", "An attacker prepended a suite to hs1 on its way; the genuine responder signed the transcript "+
		"of the list it saw, so the initiator's transcript differs (no downgrade goes unnoticed).", "bad_signature", "HS-8", "initiator", base,
		readHS2(suitesTampered.hs2, "bad_signature", "HS-8")))
	add(hsNegative("hs2-after-ei-substituted", "An attacker replaced eI in hs1; the genuine responder signed a transcript with the attacker's key.",
		"bad_signature", "HS-8", "initiator", base, readHS2(eISubstituted.hs2, "bad_signature", "HS-8")))
	add(hsNegative("hs3-sig-flipped", "One bit of sig_I is flipped.", "bad_signature", "HS-8", "responder", base,
		okHS1, readHS3(withHS3(func(m *direct.HS3) { m.Sig = flip(m.Sig, -1) }), "bad_signature", "HS-8")))
	add(hsNegative("hs3-sig-wrong-key", "sig_I is mallory's signature of the right message.", "bad_signature", "HS-8", "responder", base,
		okHS1, readHS3(withHS3(func(m *direct.HS3) { m.Sig = ed25519.Sign(mallory, sigInput("initiator", h)) }), "bad_signature", "HS-8")))
	add(hsNegative("hs3-sig-responder-label", "alice signed h with the responder's label.", "bad_signature", "HS-8", "responder", base,
		okHS1, readHS3(withHS3(func(m *direct.HS3) { m.Sig = ed25519.Sign(alice, sigInput("responder", h)) }), "bad_signature", "HS-8")))
	add(hsNegative("hs3-replayed-from-other-session", "The complete hs3 of another session between the same users.", "bad_signature", "HS-8", "responder", base,
		okHS1, readHS3(other.hs3, "bad_signature", "HS-8")))

	// bad_signature (VEC-3): the peer's own key over the right message, in a form that a lax
	// verifier accepts and RFC 8032 §5.1.7 rejects; the Finished MAC is right.
	for _, v := range vec3Sigs {
		add(hsNegative("hs2-sig-"+v.id, "sig_R is bob's signature of the right message, "+v.comment+" (RFC 8032 §5.1.7). fin_R is right.",
			"bad_signature", "VEC-3", "initiator", base,
			readHS2(withHS2(func(m *direct.HS2) { m.Sig = v.sig(seedOf("bob"), sigInput("responder", h)) }), "bad_signature", "VEC-3")))
		add(hsNegative("hs3-sig-"+v.id, "sig_I is alice's signature of the right message, "+v.comment+" (RFC 8032 §5.1.7). fin_I is right.",
			"bad_signature", "VEC-3", "responder", base,
			okHS1, readHS3(withHS3(func(m *direct.HS3) { m.Sig = v.sig(seedOf("alice"), sigInput("initiator", h)) }), "bad_signature", "VEC-3")))
	}

	// bad_finished (HS-9): the signature is right, the MAC is not.
	add(hsNegative("hs2-fin-flipped", "sig_R is right; one bit of fin_R is flipped.", "bad_finished", "HS-9", "initiator", base,
		readHS2(withHS2(func(m *direct.HS2) { m.Fin = flip(m.Fin, 7) }), "bad_finished", "HS-9")))
	add(hsNegative("hs2-fin-initiator-key", "fin_R is computed with kf_I instead of kf_R.", "bad_finished", "HS-9", "initiator", base,
		readHS2(withHS2(func(m *direct.HS2) { m.Fin = mac(base.keys.InitiatorFinishedKey, h) }), "bad_finished", "HS-9")))
	add(hsNegative("hs3-fin-flipped", "sig_I is right; one bit of fin_I is flipped.", "bad_finished", "HS-9", "responder", base,
		okHS1, readHS3(withHS3(func(m *direct.HS3) { m.Fin = flip(m.Fin, 0) }), "bad_finished", "HS-9")))
	add(hsNegative("hs3-fin-responder-key", "fin_I is computed with kf_R instead of kf_I.", "bad_finished", "HS-9", "responder", base,
		okHS1, readHS3(withHS3(func(m *direct.HS3) { m.Fin = mac(base.keys.ResponderFinishedKey, h) }), "bad_finished", "HS-9")))

	// bad_suite (HS-7).
	add(hsNegative("hs2-suite-not-offered", "hs2 names a suite the initiator did not offer.", "bad_suite", "HS-7", "initiator", base,
		readHS2(withHS2(func(m *direct.HS2) { m.Suite = futureSuite }), "bad_suite", "HS-7")))
	add(hsNegative("hs1-no-common-suite", "hs1 offers only a suite the responder does not support.", "bad_suite", "HS-7", "responder", base,
		readHS1(direct.HS1{Suites: []string{futureSuite}, E: base.hs1.E}, "bad_suite", "HS-7")))

	// low_order_point (HS-6): every low-order encoding as eR and as eI.
	names, points := lowOrderPoints()
	for i, p := range points {
		add(hsNegative("hs2-low-order-"+names[i], "eR is the low-order point "+names[i]+": X25519 gives all zero. "+
			"The rest of hs2 is the genuine one; HS-6 is checked before the signature.", "low_order_point", "HS-6", "initiator", base,
			readHS2(withHS2(func(m *direct.HS2) { m.E = p }), "low_order_point", "HS-6")))
	}
	for i, p := range points {
		add(hsNegative("hs1-low-order-"+names[i], "eI is the low-order point "+names[i]+": X25519 gives all zero.", "low_order_point", "HS-6", "responder", base,
			readHS1(direct.HS1{Suites: base.hs1.Suites, E: p}, "low_order_point", "HS-6")))
	}

	// unexpected_message (HS-11): a handshake message that is not the next one.
	add(hsNegative("hs2-twice", "The genuine hs2 arrives a second time after the handshake finished.", "unexpected_message", "HS-11", "initiator", base,
		readHS2(base.hs2, "ok", ""), readHS2(base.hs2, "unexpected_message", "HS-11")))
	add(hsNegative("hs2-after-abort", "A bad hs2 aborts the handshake; the genuine hs2 that follows is unexpected.", "unexpected_message", "HS-11", "initiator", base,
		readHS2(withHS2(func(m *direct.HS2) { m.Sig = flip(m.Sig, 3) }), "bad_signature", "HS-8"), readHS2(base.hs2, "unexpected_message", "HS-11")))
	add(hsNegative("hs3-twice", "The genuine hs3 arrives a second time after the handshake finished.", "unexpected_message", "HS-11", "responder", base,
		okHS1, readHS3(base.hs3, "ok", ""), readHS3(base.hs3, "unexpected_message", "HS-11")))
	add(hsNegative("hs3-after-abort", "A bad hs3 aborts the handshake; the genuine hs3 that follows is unexpected.", "unexpected_message", "HS-11", "responder", base,
		okHS1, readHS3(withHS3(func(m *direct.HS3) { m.Fin = flip(m.Fin, 1) }), "bad_finished", "HS-9"), readHS3(base.hs3, "unexpected_message", "HS-11")))

	// unverified_end (REC-11): chat_terminate during the handshake.
	add(hsNegative("terminate-before-hs2", "chat_terminate arrives while the initiator waits for hs2.", "unverified_end", "REC-11", "initiator", base,
		terminate("unverified_end", "REC-11")))
	add(hsNegative("terminate-before-hs3", "chat_terminate arrives while the responder waits for hs3.", "unverified_end", "REC-11", "responder", base,
		okHS1, terminate("unverified_end", "REC-11")))

	// malformed (MSG-1): an ephemeral key of the wrong length reaches the
	// handshake (its payload cannot pass the schema, so there is none).
	add(hsNegative("hs2-e-31-bytes", "eR is 31 bytes.", "malformed", "MSG-1", "initiator", base,
		readHS2(withHS2(func(m *direct.HS2) { m.E = m.E[:31] }), "malformed", "MSG-1")))
	add(hsNegative("hs1-e-33-bytes", "eI is 33 bytes.", "malformed", "MSG-1", "responder", base,
		readHS1(direct.HS1{Suites: base.hs1.Suites, E: append(append([]byte{}, base.hs1.E...), 0)}, "malformed", "MSG-1")))
	return out
}

// handshakeMalformed returns handshake payloads that break their schema.
func handshakeMalformed() []vectors.Malformed {
	base := runHandshake("malformed-base", handshakeInputs("malformed-base", "alice", "bob", []string{suite}, []string{suite}))
	hs1 := encodePayload(wireHS1(base.hs1))
	hs2 := encodePayload(wireHS2(base.hs2))
	hs3 := encodePayload(wireHS3(base.hs3))
	b64 := func(b []byte) string { return string(must(json.Marshal(b))) } // standard padded base64, quoted
	e := b64(base.hs1.E)
	return []vectors.Malformed{
		malformed("hs1-e-31-bytes", "eI encodes 31 bytes.", "e2e/payload.json",
			replace(hs1, e, b64(base.hs1.E[:31])), "/e", "pattern", "ENC-6"),
		malformed("hs1-e-unused-bits", "The last character of eI carries non-zero unused bits: not canonical base64.", "e2e/payload.json",
			replace(hs1, e, nonCanonical(e)), "/e", "pattern", "ENC-6"),
		malformed("hs1-e-unpadded", "eI without its padding.", "e2e/payload.json",
			replace(hs1, e, e[:len(e)-2]+`"`), "/e", "pattern", "ENC-6"),
		malformed("hs1-suites-empty", "No suite offered.", "e2e/payload.json",
			replace(hs1, `["`+suite+`"]`, `[]`), "/suites", "minItems", "MSG-1"),
		malformed("hs1-suites-repeated", "The same suite offered twice.", "e2e/payload.json",
			replace(hs1, `["`+suite+`"]`, `["`+suite+`","`+suite+`"]`), "/suites", "uniqueItems", "MSG-1"),
		malformed("hs2-sig-url-alphabet", "sig_R in the URL-safe alphabet.", "e2e/payload.json",
			urlSafe(hs2, b64(base.hs2.Sig)), "/sig", "pattern", "ENC-6"),
		malformed("hs2-unknown-member", "hs2 with a member the schema does not list.", "e2e/payload.json",
			hs2[:len(hs2)-1]+`,"from":"bob"}`, "", "additionalProperties", "MSG-1"),
		malformed("hs2-duplicate-member", "hs2 with fin twice.", "e2e/payload.json",
			hs2[:len(hs2)-1]+`,"fin":`+b64(base.hs2.Fin)+`}`, "/fin", "duplicateKey", "MSG-2"),
		malformed("hs3-missing-fin", "hs3 without fin.", "e2e/payload.json",
			replace(hs3, `,"fin":`+b64(base.hs3.Fin), ``), "", "required", "MSG-1"),
		malformed("payload-unknown-kind", "A payload of kind hs4.", "e2e/payload.json",
			replace(hs3, `"kind":"hs3"`, `"kind":"hs4"`), "/kind", "enum", "MSG-1"),
	}
}

// malformed builds a malformed vector and checks that both impl/wire and
// the schema oracle reject text at pointer with keyword.
func malformed(id, comment, schema, text, pointer, keyword, rule string) vectors.Malformed {
	checkMalformed(id, schema, text, pointer, keyword)
	return vectors.Malformed{ID: id, Comment: comment, Schema: schema, JSON: text, Pointer: pointer, Keyword: keyword, Expect: "malformed", Rule: rule}
}

// replace replaces the one occurrence of old in s.
func replace(s, old, new string) string {
	i := indexOnce(s, old)
	return s[:i] + new + s[i+len(old):]
}

// urlSafe rewrites the quoted base64 value b64 of s into the URL-safe
// alphabet, which must change it.
func urlSafe(s, b64 string) string {
	u := []byte(b64)
	changed := false
	for i, c := range u {
		switch c {
		case '+':
			u[i], changed = '-', true
		case '/':
			u[i], changed = '_', true
		}
	}
	check(changed, "base64 %s has no + or /", b64)
	return replace(s, b64, string(u))
}

// nonCanonical sets an unused low bit of the last data character of the
// quoted, padded base64 value b64.
func nonCanonical(b64 string) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	u := []byte(b64)
	i := len(u) - 2 // the closing quote
	for u[i] == '=' {
		i--
	}
	v := indexOnce(alphabet, string(u[i]))
	u[i] = alphabet[v|1]
	check(u[i] != b64[i], "no unused bit to set in %s", b64)
	return string(u)
}

// checkMalformed fails unless the decoder of impl/wire for schema rejects
// text at pointer with keyword.
func checkMalformed(id, schema, text, pointer, keyword string) {
	var err error
	switch schema {
	case "e2e/payload.json":
		_, err = wire.DecodePayload([]byte(text))
	case "e2e/commit.json":
		_, err = wire.DecodeCommit([]byte(text))
	case "e2e/group_msg.json":
		_, err = wire.DecodeGroupMsg([]byte(text))
	default:
		fail("%s: unknown schema %s", id, schema)
	}
	ve, ok := err.(*wire.ValidationError)
	check(ok && ve.Pointer == pointer && ve.Keyword == keyword, "%s: wire gives %v, want %q %s", id, err, pointer, keyword)
	found := false
	for _, v := range must(schemas.Check(schema, []byte(text))) {
		found = found || v.Pointer == pointer && v.Keyword == keyword
	}
	check(found, "%s: the schema oracle does not report %q %s", id, pointer, keyword)
}
