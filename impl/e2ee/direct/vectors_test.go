package direct

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/blindpost/blindpost/impl/e2ee"
	"github.com/blindpost/blindpost/impl/e2ee/canonical"
	"github.com/blindpost/blindpost/impl/e2ee/identity"
	"github.com/blindpost/blindpost/impl/e2ee/internal/suite"
	"github.com/blindpost/blindpost/impl/wire"
	"github.com/blindpost/blindpost/schemas"
	"github.com/blindpost/blindpost/vectors"
)

// TestHandshakeVectors runs vectors/handshake.json through this package
// (spec §8, VEC-1): every complete handshake through both state machines,
// fed with the messages decoded from the vector's wire JSON, reproducing
// every value of the Trace (spec §6.2, §6.3); every negative vector through
// the side it tests, with the outcome and rule of each step (HS-6 to
// HS-9, HS-11, REC-11, and the signatures VEC-3 rejects); and every malformed
// payload through impl/wire.
func TestHandshakeVectors(t *testing.T) {
	var v vectors.Handshake
	if err := vectors.Load("handshake", &v); err != nil {
		t.Fatal(err)
	}
	for _, c := range v.Handshakes {
		t.Run("handshake/"+c.ID, func(t *testing.T) { runHandshakeVector(t, c) })
	}
	for _, c := range v.Negative {
		t.Run("negative/"+c.ID, func(t *testing.T) { runHandshakeNegative(t, c) })
	}
	for _, c := range v.Malformed {
		t.Run("malformed/"+c.ID, func(t *testing.T) { checkMalformedPayload(t, c) })
	}
}

// vecIdentity returns the identity of a vector party and checks its key.
func vecIdentity(t *testing.T, p vectors.Party) *identity.PrivateKey {
	t.Helper()
	id, err := identity.FromSeed(p.Seed)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(id.Public(), p.IdentityKey) {
		t.Fatalf("identity key of %s differs from its seed's", p.User)
	}
	return id
}

// vecConfigs returns both sides' configurations for the inputs in, each
// pinning the other's key, with their ephemerals injected.
func vecConfigs(t *testing.T, in vectors.HandshakeInputs, ti, tr *Trace) (Config, Config) {
	idI, idR := vecIdentity(t, in.Initiator), vecIdentity(t, in.Responder)
	ci := Config{SessionID: in.SessionID, Initiator: in.Initiator.User, Responder: in.Responder.User, Identity: idI,
		PeerIdentityKey: idR.Public(), Suites: in.SuitesOffered, Rand: bytes.NewReader(in.InitiatorEphemeral.Private), Trace: ti}
	cr := Config{SessionID: in.SessionID, Initiator: in.Initiator.User, Responder: in.Responder.User, Identity: idR,
		PeerIdentityKey: idI.Public(), Suites: in.SuitesSupported, Rand: bytes.NewReader(in.ResponderEphemeral.Private), Trace: tr}
	return ci, cr
}

// supporting makes this package pretend, until the returned function is
// called, that it supports the suites offered: the initiator of a vector
// may offer a suite that version 1 does not have.
func supporting(offered []string) (restore func()) {
	saved := supportedSuites
	supportedSuites = slices.Clone(saved)
	for _, s := range offered {
		if !slices.Contains(supportedSuites, s) {
			supportedSuites = append(supportedSuites, s)
		}
	}
	return func() { supportedSuites = saved }
}

// vecInitiator starts the initiator of in.
func vecInitiator(t *testing.T, cfg Config) (*Initiator, HS1) {
	t.Helper()
	defer supporting(cfg.Suites)()
	i, hs1, err := NewInitiator(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return i, hs1
}

// checkForms checks that p encodes to the payload, relay and forwarded
// relay JSON of f, and returns the payload decoded from f's JSON, which the
// test then feeds to the receiving side.
func checkForms(t *testing.T, f vectors.WireForms, p wire.Payload, from, to string, sid []byte) wire.Payload {
	t.Helper()
	got, err := p.(interface{ MarshalJSON() ([]byte, error) }).MarshalJSON()
	if err != nil || string(got) != f.Payload {
		t.Fatalf("payload encodes to %s, %v; want %s", got, err, f.Payload)
	}
	if out, err := wire.Encode(&wire.Relay{To: to, Session: sid, Payload: p}); err != nil || string(out) != f.Relay {
		t.Errorf("relay encodes to %s, %v", out, err)
	}
	if out, err := wire.Encode(&wire.IncomingRelay{From: from, Session: sid, Payload: p}); err != nil || string(out) != f.Forwarded {
		t.Errorf("forwarded relay encodes to %s, %v", out, err)
	}
	decoded, err := wire.DecodePayload([]byte(f.Payload))
	if err != nil || !reflect.DeepEqual(decoded, p) {
		t.Fatalf("payload decodes to %#v, %v", decoded, err)
	}
	m, err := wire.Decode(wire.FromClient, []byte(f.Relay))
	if r, ok := m.(*wire.Relay); err != nil || !ok || r.To != to || !bytes.Equal(r.Session, sid) || !reflect.DeepEqual(r.Payload, p) {
		t.Errorf("relay decodes to %#v, %v", m, err)
	}
	m, err = wire.Decode(wire.FromServer, []byte(f.Forwarded))
	if r, ok := m.(*wire.IncomingRelay); err != nil || !ok || r.From != from || !bytes.Equal(r.Session, sid) || !reflect.DeepEqual(r.Payload, p) {
		t.Errorf("forwarded relay decodes to %#v, %v", m, err)
	}
	return decoded
}

func runHandshakeVector(t *testing.T, c vectors.HandshakeVector) {
	var ti, tr Trace
	ci, cr := vecConfigs(t, c.HandshakeInputs, &ti, &tr)
	uI, uR, sid := c.Initiator.User, c.Responder.User, c.SessionID

	// Step 1: the initiator sends hs1; the responder reads it from JSON.
	i, hs1 := vecInitiator(t, ci)
	p := checkForms(t, c.HS1, &wire.HS1{Suites: hs1.Suites, E: hs1.E}, uI, uR, sid).(*wire.HS1)
	// Step 2.
	r, hs2, err := NewResponder(cr, HS1{Suites: p.Suites, E: p.E})
	if err != nil {
		t.Fatal(err)
	}
	p2 := checkForms(t, c.HS2, &wire.HS2{Suite: hs2.Suite, E: hs2.E, Sig: hs2.Sig, Fin: hs2.Fin}, uR, uI, sid).(*wire.HS2)
	// Step 3.
	si, hs3, err := i.ReadHS2(HS2{Suite: p2.Suite, E: p2.E, Sig: p2.Sig, Fin: p2.Fin})
	if err != nil {
		t.Fatal(err)
	}
	p3 := checkForms(t, c.HS3, &wire.HS3{Sig: hs3.Sig, Fin: hs3.Fin}, uI, uR, sid).(*wire.HS3)
	// Step 4.
	sr, err := r.ReadHS3(HS3{Sig: p3.Sig, Fin: p3.Fin})
	if err != nil {
		t.Fatal(err)
	}

	// Every value of both traces.
	keys := c.Keys
	for side, tc := range map[string]*Trace{"initiator": &ti, "responder": &tr} {
		want := []struct {
			name      string
			got, want []byte
		}{
			{"h0", tc.H0, c.H0}, {"h", tc.H, c.H}, {"dh", tc.DH, c.DH}, {"prk", tc.PRK, c.PRK},
			{"i2r_key", tc.KeyI2R, keys.I2RKey}, {"i2r_iv", tc.IVI2R, keys.I2RIV},
			{"r2i_key", tc.KeyR2I, keys.R2IKey}, {"r2i_iv", tc.IVR2I, keys.R2IIV},
			{"initiator_finished_key", tc.FinishedKeyI, keys.InitiatorFinishedKey},
			{"responder_finished_key", tc.FinishedKeyR, keys.ResponderFinishedKey},
			{"sig_r", tc.SigR, c.SigR}, {"fin_r", tc.FinR, c.FinR}, {"sig_i", tc.SigI, c.SigI}, {"fin_i", tc.FinI, c.FinI},
		}
		own, peer := c.InitiatorEphemeral, c.ResponderEphemeral
		if side == "responder" {
			own, peer = peer, own
		}
		want = append(want, struct {
			name      string
			got, want []byte
		}{"own ephemeral private", tc.EphemeralPrivate, own.Private}, struct {
			name      string
			got, want []byte
		}{"own ephemeral public", tc.EphemeralPublic, own.Public}, struct {
			name      string
			got, want []byte
		}{"peer ephemeral", tc.PeerEphemeral, peer.Public})
		for _, w := range want {
			if !bytes.Equal(w.got, w.want) {
				t.Errorf("VEC-1: %s %s is %x, want %x", side, w.name, w.got, w.want)
			}
		}
		if tc.Suite != c.Suite || len(tc.Transcript) != len(c.Transcript) {
			t.Fatalf("%s: suite %s, %d transcript steps", side, tc.Suite, len(tc.Transcript))
		}
		for k, step := range c.Transcript {
			if step.Step != k+1 || !bytes.Equal(tc.Transcript[k], step.H) {
				t.Errorf("VEC-1: %s transcript step %d differs", side, k+1)
			}
		}
	}

	// The transcript fields as the table of spec §6.2 encodes them.
	fields := [][]byte{
		canonical.AppendBytes(nil, sid), canonical.AppendText(nil, uI), canonical.AppendText(nil, uR),
		canonical.AppendBytes(nil, c.Initiator.IdentityKey), canonical.AppendBytes(nil, c.Responder.IdentityKey),
		canonical.AppendTextList(nil, c.SuitesOffered), canonical.AppendText(nil, c.Suite),
		canonical.AppendBytes(nil, c.InitiatorEphemeral.Public), canonical.AppendBytes(nil, c.ResponderEphemeral.Public),
	}
	steps := specTranscript(sid, uI, uR, c.Initiator.IdentityKey, c.Responder.IdentityKey, c.SuitesOffered, c.Suite,
		c.InitiatorEphemeral.Public, c.ResponderEphemeral.Public)
	for k, step := range c.Transcript {
		if !bytes.Equal(fields[k], step.Encoded) || !bytes.Equal(steps[k], step.H) {
			t.Errorf("ENC-1, ENC-2: transcript step %d (%s) differs from spec §6.2", k+1, step.Field)
		}
	}
	if !bytes.Equal(signed(canonical.LabelResponder, c.H), c.SigRInput) || !bytes.Equal(signed(canonical.LabelInitiator, c.H), c.SigIInput) {
		t.Error("HS-8: signature inputs differ")
	}
	if !bytes.Equal(si.TranscriptHash(), c.H) || !bytes.Equal(sr.TranscriptHash(), c.H) {
		t.Error("sessions hold another h")
	}
}

// reportedRule is the rule this package names for a rejection that a vector attributes to rule.
// A signature VEC-3 rejects (spec §8: S not below the group order, a non-canonical encoding) is
// reported by the check that verified it, check: HS-8 for a handshake signature
// (vectors/README.md, "VEC-3").
func reportedRule(rule, check string) string {
	if rule == "VEC-3" {
		return check
	}
	return rule
}

// wantOutcomeOf checks err against a vector step's expect and rule.
func wantOutcomeOf(t *testing.T, where string, err error, expect, rule string) {
	t.Helper()
	if expect == "ok" {
		if err != nil {
			t.Fatalf("%s: VEC-1: got %v, want ok", where, err)
		}
		return
	}
	var e *e2ee.Error
	if !errors.As(err, &e) {
		t.Fatalf("%s: VEC-1: got %v, want %s [%s]", where, err, expect, rule)
	}
	if o, _ := e2ee.OutcomeOf(err); string(o) != expect || e.Rule != rule {
		t.Fatalf("%s: VEC-1: got %s [%s] (%v), want %s [%s]", where, o, e.Rule, err, expect, rule)
	}
}

// decodedPayload decodes a step's payload JSON, when it has one, and
// checks it against the step's hex form.
func decodedPayload(t *testing.T, payload string, want wire.Payload) {
	t.Helper()
	if payload == "" {
		return
	}
	got, err := wire.DecodePayload([]byte(payload))
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("payload %s decodes to %#v, %v; the step says %#v", payload, got, err, want)
	}
}

func runHandshakeNegative(t *testing.T, c vectors.HandshakeNegative) {
	ci, cr := vecConfigs(t, c.HandshakeInputs, nil, nil)
	var i *Initiator
	var r *Responder
	switch c.Role {
	case "initiator":
		ci.PeerIdentityKey = ed25519.PublicKey(c.PinnedPeerKey)
		i, _ = vecInitiator(t, ci)
	case "responder":
		cr.PeerIdentityKey = ed25519.PublicKey(c.PinnedPeerKey)
	default:
		t.Fatalf("unknown role %q", c.Role)
	}
	seen := false
	for k, st := range c.Steps {
		var err error
		switch {
		case st.Action == "read_hs1" && r == nil && i == nil && st.HS1 != nil:
			decodedPayload(t, st.Payload, &wire.HS1{Suites: st.HS1.Suites, E: st.HS1.E})
			r, _, err = NewResponder(cr, HS1{Suites: st.HS1.Suites, E: st.HS1.E})
		case st.Action == "read_hs2" && i != nil && st.HS2 != nil:
			decodedPayload(t, st.Payload, &wire.HS2{Suite: st.HS2.Suite, E: st.HS2.E, Sig: st.HS2.Sig, Fin: st.HS2.Fin})
			var s *Session
			s, _, err = i.ReadHS2(HS2{Suite: st.HS2.Suite, E: st.HS2.E, Sig: st.HS2.Sig, Fin: st.HS2.Fin})
			if (s != nil) != (err == nil) {
				t.Fatalf("step %d: session %v with error %v", k, s, err)
			}
		case st.Action == "read_hs3" && r != nil && st.HS3 != nil:
			decodedPayload(t, st.Payload, &wire.HS3{Sig: st.HS3.Sig, Fin: st.HS3.Fin})
			var s *Session
			s, err = r.ReadHS3(HS3{Sig: st.HS3.Sig, Fin: st.HS3.Fin})
			if (s != nil) != (err == nil) {
				t.Fatalf("step %d: session %v with error %v", k, s, err)
			}
		case st.Action == "terminate" && i != nil:
			err = i.Terminate()
		case st.Action == "terminate" && r != nil:
			err = r.Terminate()
		default:
			t.Fatalf("step %d: %s cannot happen to the %s here", k, st.Action, c.Role)
		}
		wantOutcomeOf(t, "step "+st.Action, err, st.Expect, reportedRule(st.Rule, "HS-8"))
		seen = seen || st.Expect == c.Expect && st.Rule == c.Rule
	}
	if !seen {
		t.Fatalf("no step gives the vector's %s [%s]", c.Expect, c.Rule)
	}
}

// malformedRules are the rules Appendix A.4 gives for malformed.
var malformedRules = []string{"MSG-1", "MSG-2", "MSG-3", "MSG-4", "ENC-5", "ENC-6", "ENC-7", "ENC-8", "ENC-9", "ENC-10"}

// checkMalformedPayload checks that impl/wire and the schema oracle both
// reject a malformed payload where the vector says: a receiver treats it
// as malformed before any cryptography.
func checkMalformedPayload(t *testing.T, c vectors.Malformed) {
	if c.Schema != schemas.Payload || c.Expect != string(e2ee.Malformed) || !slices.Contains(malformedRules, c.Rule) {
		t.Fatalf("vector for %s expects %s [%s]", c.Schema, c.Expect, c.Rule)
	}
	p, err := wire.DecodePayload([]byte(c.JSON))
	var ve *wire.ValidationError
	if !errors.As(err, &ve) || p != nil {
		t.Fatalf("VEC-1: %s: decoded to %#v, %v", c.Rule, p, err)
	}
	if ve.Pointer != c.Pointer || ve.Keyword != c.Keyword {
		t.Errorf("VEC-1: wire rejects at %q with %s, the vector says %q %s", ve.Pointer, ve.Keyword, c.Pointer, c.Keyword)
	}
	violations, err := schemas.Check(c.Schema, []byte(c.JSON))
	if err != nil {
		t.Fatal(err)
	}
	var found []string
	for _, v := range violations {
		found = append(found, v.Pointer+" "+v.Keyword)
	}
	if !slices.Contains(found, c.Pointer+" "+c.Keyword) {
		t.Errorf("the schema oracle reports %s, not %q %s", strings.Join(found, ", "), c.Pointer, c.Keyword)
	}
}

// TestRecordVectors runs vectors/records.json through this package (spec
// §8, VEC-1): each session's handshake gives its h and keys; every record is
// sealed by a Session at its counter and opened by the peer's from its
// payload JSON (REC-1, REC-2, REC-8, REC-9, REC-10; ENC-2 for the ad, VEC-4
// for the nonce and tag sizes); every negative vector
// runs through the receiving Session with the outcome and rule of each step
// (REC-3 to REC-5, REC-7, REC-11, REC-12); every malformed payload through
// impl/wire.
func TestRecordVectors(t *testing.T) {
	var v vectors.Records
	if err := vectors.Load("records", &v); err != nil {
		t.Fatal(err)
	}
	sessions := map[string]vectors.RecordSession{}
	for _, s := range v.Sessions {
		sessions[s.ID] = s
		t.Run("session/"+s.ID, func(t *testing.T) {
			var ti, tr Trace
			ci, cr := vecConfigs(t, s.Handshake, &ti, &tr)
			handshake(t, ci, cr)
			if !bytes.Equal(ti.H, s.H) || !bytes.Equal(tr.KeyI2R, s.Keys.I2RKey) || !bytes.Equal(tr.IVI2R, s.Keys.I2RIV) ||
				!bytes.Equal(ti.KeyR2I, s.Keys.R2IKey) || !bytes.Equal(ti.IVR2I, s.Keys.R2IIV) {
				t.Fatal("VEC-1: the handshake gives another h or other keys")
			}
		})
		for _, rec := range s.Records {
			t.Run("record/"+rec.ID, func(t *testing.T) { runRecordVector(t, s, rec) })
		}
	}
	for _, c := range v.Negative {
		t.Run("negative/"+c.ID, func(t *testing.T) {
			s, ok := sessions[c.Session]
			if !ok {
				t.Fatalf("no session %q", c.Session)
			}
			runRecordNegative(t, s, c)
		})
	}
	for _, c := range v.Malformed {
		t.Run("malformed/"+c.ID, func(t *testing.T) { checkMalformedPayload(t, c) })
	}
}

// vecSessions runs the handshake of s and returns both confirmed sessions.
func vecSessions(t *testing.T, s vectors.RecordSession) (initiator, responder *Session) {
	ci, cr := vecConfigs(t, s.Handshake, nil, nil)
	return handshake(t, ci, cr)
}

func runRecordVector(t *testing.T, s vectors.RecordSession, rec vectors.RecordVector) {
	si, sr := vecSessions(t, s)
	sender, receiver, key, iv := si, sr, s.Keys.I2RKey, s.Keys.I2RIV
	if rec.Direction == "r2i" {
		sender, receiver, key, iv = sr, si, s.Keys.R2IKey, s.Keys.R2IIV
	}
	if sender.Self() != rec.Sender || sender.Peer() != rec.Recipient || !bytes.Equal(key, rec.Key) || !bytes.Equal(iv, rec.IV) {
		t.Fatal("the record's direction does not match its session")
	}
	n, kind := uint64(rec.N), Kind(rec.Kind)
	if !bytes.Equal(Nonce(iv, n), rec.Nonce) {
		t.Error("VEC-1: nonce differs")
	}
	if !bytes.Equal(AppendAD(nil, kind, s.H, rec.Sender, rec.Recipient, n), rec.AD) {
		t.Error("REC-8, ENC-2: ad differs")
	}
	if len(rec.Plaintext) != rec.Size {
		t.Errorf("plaintext is %d bytes, size says %d", len(rec.Plaintext), rec.Size)
	}
	aead, err := suite.NewAEAD(key)
	if err != nil {
		t.Fatal(err)
	}
	if aead.NonceSize() != 12 || aead.Overhead() != 16 || len(rec.Nonce) != 12 || len(rec.CT) != rec.Size+16 {
		t.Errorf("VEC-4: a %d-byte nonce and a %d-byte tag (AEAD %d and %d); want 12 and 16",
			len(rec.Nonce), len(rec.CT)-rec.Size, aead.NonceSize(), aead.Overhead())
	}
	if pt, err := aead.Open(nil, rec.Nonce, rec.CT, rec.AD); err != nil || string(pt) != rec.Plaintext {
		t.Errorf("AES-256-GCM of the vector's own values: %v", err)
	}

	// The sender, having sent n records in this direction, seals it.
	sender.send.next = n
	var got Record
	if kind == KindClose {
		got, err = sender.SealClose(nil)
	} else {
		got, err = sender.Seal(nil, []byte(rec.Plaintext))
	}
	if err != nil || got.Kind != kind || got.N != n || !bytes.Equal(got.CT, rec.CT) {
		t.Fatalf("VEC-1: sealed %s %d with another ciphertext, %v", got.Kind, got.N, err)
	}
	var p wire.Payload = &wire.MsgRecord{N: int64(n), Ct: got.CT}
	if kind == KindClose {
		p = &wire.CloseRecord{N: int64(n), Ct: got.CT}
	}
	if out, err := p.(interface{ MarshalJSON() ([]byte, error) }).MarshalJSON(); err != nil || string(out) != rec.Payload {
		t.Errorf("payload encodes to %s, %v", out, err)
	}

	// The receiver opens it from the payload JSON.
	r := recordFromPayload(t, rec.Payload)
	pt, err := receiver.Open(nil, r)
	if err != nil || string(pt) != rec.Plaintext {
		t.Fatalf("VEC-1: opened %q, %v", pt, err)
	}
	switch kind {
	case KindMsg:
		if _, err := wire.DecodeContent(pt); err != nil {
			if _, rerr := wire.DecodeReceipt(pt); rerr != nil { // spec §6.7 [RCP-1]
				t.Errorf("REC-7: plaintext is neither content nor a receipt: %v", err)
			}
		}
	case KindClose:
		if receiver.State() != StateEnded || sender.State() != StateEnded {
			t.Error("REC-9, REC-10: a close record did not end both sides")
		}
	}
}

// recordFromPayload decodes a record payload with impl/wire.
func recordFromPayload(t *testing.T, payload string) Record {
	t.Helper()
	p, err := wire.DecodePayload([]byte(payload))
	if err != nil {
		t.Fatal(err)
	}
	switch p := p.(type) {
	case *wire.MsgRecord:
		return Record{Kind: KindMsg, N: uint64(p.N), CT: p.Ct}
	case *wire.CloseRecord:
		return Record{Kind: KindClose, N: uint64(p.N), CT: p.Ct}
	}
	t.Fatalf("payload %s is not a record", payload)
	return Record{}
}

func runRecordNegative(t *testing.T, s vectors.RecordSession, c vectors.RecordNegative) {
	si, sr := vecSessions(t, s)
	receiver := sr
	if c.Role == "initiator" {
		receiver = si
	}
	seen := false
	for k, st := range c.Steps {
		var err error
		switch {
		case st.Action == "open" && st.N != nil:
			r := Record{Kind: Kind(st.Kind), N: uint64(*st.N), CT: st.CT}
			if st.Payload != "" {
				if got := recordFromPayload(t, st.Payload); !reflect.DeepEqual(got, r) {
					t.Fatalf("step %d: payload %s differs from the step's record", k, st.Payload)
				}
			}
			var pt []byte
			pt, err = receiver.Open(nil, r)
			if err != nil && pt != nil {
				t.Fatalf("step %d: REC-6: plaintext released with %v", k, err)
			}
			if err == nil && r.Kind == KindMsg {
				if _, cerr := wire.DecodeContent(pt); cerr != nil { // the client's check of REC-7
					err = BadContent(r.N, cerr.Error())
				}
			}
			if err == nil && st.Plaintext != nil && string(pt) != *st.Plaintext {
				t.Fatalf("step %d: opened %q, want %q", k, pt, *st.Plaintext)
			}
		case st.Action == "terminate":
			err = receiver.Terminate()
		default:
			t.Fatalf("step %d: unknown action %q", k, st.Action)
		}
		wantOutcomeOf(t, "step "+st.Action, err, st.Expect, st.Rule)
		seen = seen || st.Expect == c.Expect && st.Rule == c.Rule
	}
	if !seen {
		t.Fatalf("no step gives the vector's %s [%s]", c.Expect, c.Rule)
	}
}
