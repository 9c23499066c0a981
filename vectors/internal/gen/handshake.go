package gen

import (
	"bytes"
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"slices"

	"github.com/blindpost/blindpost/impl/e2ee/direct"
	"github.com/blindpost/blindpost/impl/e2ee/identity"
	"github.com/blindpost/blindpost/impl/wire"
	"github.com/blindpost/blindpost/vectors"
)

// suite is the one cipher suite of version 1; futureSuite is a suite id no
// implementation of version 1 supports, for offered lists of two.
const (
	suite       = direct.Suite
	futureSuite = "x448-hkdf-sha512-chacha20poly1305"
)

// hsRun is one handshake: its inputs, the values the spec's formulas give,
// and the three messages.
type hsRun struct {
	id       string
	in       vectors.HandshakeInputs
	idI, idR *identity.PrivateKey
	chosen   string
	h0       []byte
	steps    []vectors.TranscriptStep
	h        []byte
	dh, prk  []byte
	keys     vectors.HandshakeKeys
	hs1      direct.HS1
	hs2      direct.HS2
	hs3      direct.HS3
}

// keyPair returns the X25519 key pair whose private bytes are the stream
// named label.
func keyPair(label string) vectors.KeyPair {
	priv := randBytes(label, 32)
	k := must(ecdh.X25519().NewPrivateKey(priv))
	return vectors.KeyPair{Private: priv, Public: k.PublicKey().Bytes()}
}

// handshakeInputs returns the inputs of the handshake named id.
func handshakeInputs(id, userI, userR string, offered, supported []string) vectors.HandshakeInputs {
	pI, pR := party(userI), party(userR)
	pI.Seed, pR.Seed = seedOf(userI), seedOf(userR)
	return vectors.HandshakeInputs{
		SessionID:          randBytes("handshake "+id+" session id", direct.SessionIDSize),
		Initiator:          pI,
		Responder:          pR,
		SuitesOffered:      offered,
		SuitesSupported:    supported,
		InitiatorEphemeral: keyPair("handshake " + id + " initiator ephemeral"),
		ResponderEphemeral: keyPair("handshake " + id + " responder ephemeral"),
	}
}

// runHandshake computes the handshake of in from the formulas of spec §6.2
// and §6.3, then runs it through impl/e2ee/direct and checks that both give
// the same bytes. An initiator that offers futureSuite cannot be run through
// direct (which supports version 1's suite only); its hs3 is computed.
func runHandshake(id string, in vectors.HandshakeInputs) *hsRun {
	r := &hsRun{id: id, in: in, idI: idOf(in.Initiator.User), idR: idOf(in.Responder.User)}
	for _, s := range in.SuitesOffered {
		if slices.Contains(in.SuitesSupported, s) {
			r.chosen = s
			break
		}
	}
	check(r.chosen != "", "%s: no common suite", id)
	eI, eR := in.InitiatorEphemeral.Public, in.ResponderEphemeral.Public

	// spec §6.2: h0 and the nine steps.
	h0 := sha256.Sum256([]byte("blindpost/1"))
	r.h0 = h0[:]
	h := r.h0
	var suites []field
	for _, s := range in.SuitesOffered {
		suites = append(suites, fText(s))
	}
	for i, f := range []struct {
		name string
		f    field
	}{
		{"the session id", fBytes(in.SessionID)},
		{"the initiator's username", fText(in.Initiator.User)},
		{"the responder's username", fText(in.Responder.User)},
		{"the initiator's identity key", fBytes(r.idI.Public())},
		{"the responder's identity key", fBytes(r.idR.Public())},
		{"the suites offered in hs1, in order", fList(suites...)},
		{"the suite chosen in hs2", fText(r.chosen)},
		{"the initiator's ephemeral public key eI", fBytes(eI)},
		{"the responder's ephemeral public key eR", fBytes(eR)},
	} {
		e := encode(f.f)
		sum := sha256.Sum256(cat(h, e))
		h = sum[:]
		r.steps = append(r.steps, vectors.TranscriptStep{Step: i + 1, Field: f.name, Encoded: e, H: h})
	}
	r.h = h

	// spec §6.3: dh, prk, the six keys, signatures and Finished MACs.
	privI := must(ecdh.X25519().NewPrivateKey(in.InitiatorEphemeral.Private))
	r.dh = must(privI.ECDH(must(ecdh.X25519().NewPublicKey(eR))))
	r.prk = must(hkdf.Extract(sha256.New, r.dh, h))
	r.keys = vectors.HandshakeKeys{
		I2RKey:               expand(r.prk, "i2r key", h, 32),
		I2RIV:                expand(r.prk, "i2r iv", h, 12),
		R2IKey:               expand(r.prk, "r2i key", h, 32),
		R2IIV:                expand(r.prk, "r2i iv", h, 12),
		InitiatorFinishedKey: expand(r.prk, "initiator finished", h, 32),
		ResponderFinishedKey: expand(r.prk, "responder finished", h, 32),
	}
	r.hs1 = direct.HS1{Suites: in.SuitesOffered, E: eI}
	r.hs2 = direct.HS2{Suite: r.chosen, E: eR,
		Sig: ed25519.Sign(ed25519.NewKeyFromSeed(in.Responder.Seed), sigInput("responder", h)),
		Fin: mac(r.keys.ResponderFinishedKey, h)}
	r.hs3 = direct.HS3{
		Sig: ed25519.Sign(ed25519.NewKeyFromSeed(in.Initiator.Seed), sigInput("initiator", h)),
		Fin: mac(r.keys.InitiatorFinishedKey, h)}
	r.crossCheck()
	return r
}

// sigInput is "blindpost/1 " || role || h, the message of a handshake
// signature.
func sigInput(role string, h []byte) []byte { return cat([]byte("blindpost/1 "+role), h) }

// mac is HMAC-SHA256.
func mac(key, msg []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write(msg)
	return m.Sum(nil)
}

// config returns the direct configuration of one side of r.
func (r *hsRun) config(initiator bool, tr *direct.Trace) direct.Config {
	c := direct.Config{SessionID: r.in.SessionID, Initiator: r.in.Initiator.User, Responder: r.in.Responder.User, Trace: tr}
	if initiator {
		c.Identity, c.PeerIdentityKey, c.Suites = r.idI, r.idR.Public(), r.in.SuitesOffered
		c.Rand = bytes.NewReader(r.in.InitiatorEphemeral.Private)
	} else {
		c.Identity, c.PeerIdentityKey, c.Suites = r.idR, r.idI.Public(), r.in.SuitesSupported
		c.Rand = bytes.NewReader(r.in.ResponderEphemeral.Private)
	}
	return c
}

// crossCheck runs r through impl/e2ee/direct and fails unless the reference
// implementation computes exactly the bytes of the formulas.
func (r *hsRun) crossCheck() {
	var ti, tr direct.Trace
	runsInitiator := true
	for _, s := range r.in.SuitesOffered {
		runsInitiator = runsInitiator && s == suite
	}
	var i *direct.Initiator
	if runsInitiator {
		var hs1 direct.HS1
		i, hs1 = must2(direct.NewInitiator(r.config(true, &ti)))
		check(slices.Equal(hs1.Suites, r.hs1.Suites) && bytes.Equal(hs1.E, r.hs1.E), "%s: hs1 differs", r.id)
	}
	resp, hs2 := must2(direct.NewResponder(r.config(false, &tr), r.hs1))
	check(equalHS2(hs2, r.hs2), "%s: hs2 differs", r.id)
	if runsInitiator {
		_, hs3 := must2(i.ReadHS2(hs2))
		check(bytes.Equal(hs3.Sig, r.hs3.Sig) && bytes.Equal(hs3.Fin, r.hs3.Fin), "%s: hs3 differs", r.id)
		check(bytes.Equal(ti.H, r.h) && bytes.Equal(ti.PRK, r.prk), "%s: initiator trace differs", r.id)
	}
	_ = must(resp.ReadHS3(r.hs3))
	check(bytes.Equal(tr.H0, r.h0) && bytes.Equal(tr.H, r.h) && bytes.Equal(tr.DH, r.dh) && bytes.Equal(tr.PRK, r.prk), "%s: responder trace differs", r.id)
	for k, step := range r.steps {
		check(bytes.Equal(tr.Transcript[k], step.H), "%s: transcript step %d differs", r.id, k+1)
	}
	check(bytes.Equal(tr.KeyI2R, r.keys.I2RKey) && bytes.Equal(tr.IVI2R, r.keys.I2RIV) &&
		bytes.Equal(tr.KeyR2I, r.keys.R2IKey) && bytes.Equal(tr.IVR2I, r.keys.R2IIV) &&
		bytes.Equal(tr.FinishedKeyI, r.keys.InitiatorFinishedKey) && bytes.Equal(tr.FinishedKeyR, r.keys.ResponderFinishedKey),
		"%s: keys differ", r.id)
}

func must2[A, B any](a A, b B, err error) (A, B) {
	if err != nil {
		fail("%w", err)
	}
	return a, b
}

func equalHS2(a, b direct.HS2) bool {
	return a.Suite == b.Suite && bytes.Equal(a.E, b.E) && bytes.Equal(a.Sig, b.Sig) && bytes.Equal(a.Fin, b.Fin)
}

// wireHS1 and its siblings are the wire forms of the handshake messages.
func wireHS1(m direct.HS1) *wire.HS1 { return &wire.HS1{Suites: m.Suites, E: m.E} }
func wireHS2(m direct.HS2) *wire.HS2 {
	return &wire.HS2{Suite: m.Suite, E: m.E, Sig: m.Sig, Fin: m.Fin}
}
func wireHS3(m direct.HS3) *wire.HS3 { return &wire.HS3{Sig: m.Sig, Fin: m.Fin} }

// forms returns a payload as it travels from one user to another.
func forms(p wire.Payload, from, to string, sid []byte) vectors.WireForms {
	return vectors.WireForms{
		Payload:   encodePayload(p),
		Relay:     encodeMessage(&wire.Relay{To: to, Session: sid, Payload: p}),
		Forwarded: encodeMessage(&wire.IncomingRelay{From: from, Session: sid, Payload: p}),
	}
}

// vector returns r as a positive handshake vector.
func (r *hsRun) vector(comment string) vectors.HandshakeVector {
	uI, uR, sid := r.in.Initiator.User, r.in.Responder.User, r.in.SessionID
	return vectors.HandshakeVector{
		ID: r.id, Comment: comment,
		Rules:           []string{"ENC-1", "ENC-2", "ENC-3", "HS-5", "HS-7", "HS-8", "HS-9", "TRUST-3"},
		HandshakeInputs: r.in,
		Suite:           r.chosen, H0: r.h0, Transcript: r.steps, H: r.h, DH: r.dh, PRK: r.prk, Keys: r.keys,
		SigRInput: sigInput("responder", r.h), SigR: r.hs2.Sig, FinR: r.hs2.Fin,
		SigIInput: sigInput("initiator", r.h), SigI: r.hs3.Sig, FinI: r.hs3.Fin,
		HS1: forms(wireHS1(r.hs1), uI, uR, sid),
		HS2: forms(wireHS2(r.hs2), uR, uI, sid),
		HS3: forms(wireHS3(r.hs3), uI, uR, sid),
	}
}

// lowOrderPoints returns every low-order encoding with its name, the high
// bit clear and set.
func lowOrderPoints() (names []string, points [][]byte) {
	for _, p := range vectors.LowOrderPoints() {
		names = append(names, p.Name)
		points = append(points, p.Point)
	}
	for i, p := range points {
		k := must(ecdh.X25519().NewPrivateKey(randBytes("low order check", 32)))
		_, err := k.ECDH(must(ecdh.X25519().NewPublicKey(p)))
		check(err != nil, "%s does not give the all-zero output", names[i])
	}
	return names, points
}

// handshakeVectors generates handshake.json.
func handshakeVectors() *vectors.Handshake {
	out := &vectors.Handshake{Meta: meta("handshake",
		"Complete 1:1 handshakes with every intermediate value of spec §6.2 and §6.3 and the exact wire JSON of hs1, hs2 and hs3; "+
			"handshakes the initiator or the responder must abort, step by step, with the outcome and rule of each step; "+
			"and handshake payloads that break their schema.")}
	one := []string{suite}
	for _, c := range []struct {
		id, comment, userI, userR string
		offered                   []string
	}{
		{"hs-alice-bob", "alice initiates with bob; one suite offered.", "alice", "bob", one},
		{"hs-bob-alice", "The same two identities with the roles swapped: another session id, other ephemerals, another transcript.", "bob", "alice", one},
		{"hs-max-length-usernames", "Both usernames have the maximum length of 32 characters.", name32("i"), name32("r"), one},
		{"hs-one-char-usernames", "Both usernames have the minimum length of one character.", "0", "z", one},
		{"hs-two-suites-offered", "The initiator offers a suite that does not exist in version 1 first, then x25519-hkdf-sha256-aes256gcm; " +
			"the responder supports only the latter and chooses it (HS-7). The offered list of two is hashed in step 6. " +
			"An initiator that supports only version 1's suite cannot send this hs1: reproduce the initiator side by pretending to support the first suite, or check hs3 against the values here.",
			"carol", "dave", []string{futureSuite, suite}},
	} {
		r := runHandshake(c.id, handshakeInputs(c.id, c.userI, c.userR, c.offered, one))
		out.Handshakes = append(out.Handshakes, r.vector(c.comment))
	}
	out.Negative = handshakeNegatives()
	out.Malformed = handshakeMalformed()
	return out
}
