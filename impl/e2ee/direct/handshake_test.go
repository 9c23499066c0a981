package direct

import (
	"bytes"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"reflect"
	"slices"
	"testing"

	"github.com/blindpost/blindpost/impl/e2ee"
	"github.com/blindpost/blindpost/impl/e2ee/canonical"
)

// TestHandshakeValues checks every intermediate value of a handshake against
// an independent computation from the formulas of spec §6.2 and §6.3, and
// that both sides agree on all of them.
func TestHandshakeValues(t *testing.T) {
	a, b := newParty(t, "alice", 1), newParty(t, "bob", 2)
	ci, cr := configs(a, b, 1)
	handshake(t, ci, cr)
	ti, tr := ci.Trace, cr.Trace

	// §6.2: h0 and the nine transcript steps, on both sides.
	steps := specTranscript(sid, "alice", "bob", a.id.Public(), b.id.Public(), []string{Suite}, Suite, ti.EphemeralPublic, tr.EphemeralPublic)
	h0 := sha256.Sum256([]byte("blindpost/1"))
	for _, tc := range []*Trace{ti, tr} {
		if !bytes.Equal(tc.H0, h0[:]) || len(tc.Transcript) != 9 {
			t.Fatalf("h0 or step count wrong: %d steps", len(tc.Transcript))
		}
		for i := range steps {
			if !bytes.Equal(tc.Transcript[i], steps[i]) {
				t.Fatalf("§6.2 step %d differs", i+1)
			}
		}
	}
	h := steps[8]

	// §6.3: dh, prk and the six keys.
	if !bytes.Equal(ti.DH, tr.DH) || !bytes.Equal(ti.PRK, tr.PRK) {
		t.Fatal("sides disagree on dh or prk")
	}
	prk := hmacSum(h, ti.DH) // HKDF-Extract(salt = h, ikm = dh)
	if !bytes.Equal(prk, ti.PRK) {
		t.Fatal("prk is not HKDF-Extract(h, dh)")
	}
	for _, k := range []struct {
		label  canonical.ExpandLabel
		n      int
		gi, gr []byte
	}{
		{canonical.ExpandI2RKey, 32, ti.KeyI2R, tr.KeyI2R},
		{canonical.ExpandI2RIV, 12, ti.IVI2R, tr.IVI2R},
		{canonical.ExpandR2IKey, 32, ti.KeyR2I, tr.KeyR2I},
		{canonical.ExpandR2IIV, 12, ti.IVR2I, tr.IVR2I},
		{canonical.ExpandInitiatorFinished, 32, ti.FinishedKeyI, tr.FinishedKeyI},
		{canonical.ExpandResponderFinished, 32, ti.FinishedKeyR, tr.FinishedKeyR},
	} {
		want, _ := canonical.Expand(prk, k.label, h, k.n)
		if !bytes.Equal(k.gi, want) || !bytes.Equal(k.gr, want) {
			t.Errorf("ENC-3: %q differs", k.label)
		}
	}

	// §6.3: signatures over label || h with the right keys, Finished MACs.
	if !ed25519.Verify(b.id.Public(), append([]byte("blindpost/1 responder"), h...), ti.SigR) ||
		!ed25519.Verify(a.id.Public(), append([]byte("blindpost/1 initiator"), h...), tr.SigI) {
		t.Fatal("HS-8: signatures are not over the spec's messages")
	}
	if !bytes.Equal(tr.FinR, hmacSum(tr.FinishedKeyR, h)) || !bytes.Equal(ti.FinI, hmacSum(ti.FinishedKeyI, h)) {
		t.Fatal("HS-9: Finished MACs are not HMAC(kf, h)")
	}
}

func hmacSum(key, msg []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write(msg)
	return m.Sum(nil)
}

// TestEphemeralsFresh checks HS-5: every handshake uses a fresh ephemeral
// from the reader, and the initiator's ephemeral scalar is erased once used.
func TestEphemeralsFresh(t *testing.T) {
	a, b := newParty(t, "alice", 1), newParty(t, "bob", 2)
	ci, _ := configs(a, b, 1)
	ci.Rand = nil
	_, h1, _ := NewInitiator(ci)
	i, h2, _ := NewInitiator(ci)
	if bytes.Equal(h1.E, h2.E) {
		t.Fatal("HS-5: two handshakes share an ephemeral")
	}
	_, cr := configs(a, b, 1)
	cr.Trace = nil
	_, hs2, err := NewResponder(cr, h2)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := i.ReadHS2(hs2); err != nil {
		t.Fatal(err)
	}
	if i.eph != nil || !bytes.Equal(i.ephScalar, make([]byte, 32)) {
		t.Fatal("HS-5: ephemeral not erased after use")
	}
}

// lowOrder lists X25519 public values whose output is all zero for any
// scalar (RFC 7748 §6.1 and Wycheproof's LowOrderPublic cases).
var lowOrder = [][]byte{
	make([]byte, 32),
	append([]byte{1}, make([]byte, 31)...),
	mustHex("e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800"),
	mustHex("5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157"),
	mustHex("ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"),
}

// TestLowOrderPoint checks HS-6 on both sides: an ephemeral whose X25519
// output is all zero aborts with low_order_point.
func TestLowOrderPoint(t *testing.T) {
	a, b := newParty(t, "alice", 1), newParty(t, "bob", 2)
	for _, e := range lowOrder {
		ci, cr := configs(a, b, 1)
		_, _, err := NewResponder(cr, HS1{Suites: []string{Suite}, E: e})
		wantOutcome(t, err, e2ee.LowOrderPoint, "HS-6")

		i, _, _ := NewInitiator(ci)
		_, _, err = i.ReadHS2(HS2{Suite: Suite, E: e, Sig: make([]byte, 64), Fin: make([]byte, 32)})
		wantOutcome(t, err, e2ee.LowOrderPoint, "HS-6")
	}
}

// TestMalformedEphemeral checks that an ephemeral of the wrong length (which
// the schema refuses, MSG-1) is refused without a panic on both sides.
func TestMalformedEphemeral(t *testing.T) {
	a, b := newParty(t, "alice", 1), newParty(t, "bob", 2)
	for _, e := range [][]byte{nil, make([]byte, 31), make([]byte, 33)} {
		ci, cr := configs(a, b, 1)
		_, _, err := NewResponder(cr, HS1{Suites: []string{Suite}, E: e})
		wantOutcome(t, err, e2ee.Malformed, "MSG-1")
		i, _, _ := NewInitiator(ci)
		_, _, err = i.ReadHS2(HS2{Suite: Suite, E: e})
		wantOutcome(t, err, e2ee.Malformed, "MSG-1")
	}
}

// TestSuiteNegotiation checks HS-7.
func TestSuiteNegotiation(t *testing.T) {
	a, b := newParty(t, "alice", 1), newParty(t, "bob", 2)
	ci, cr := configs(a, b, 1)
	i, hs1, _ := NewInitiator(ci)

	for _, offered := range [][]string{nil, {}, {"x448-hkdf-sha512-chacha20"}} {
		_, _, err := NewResponder(cr, HS1{Suites: offered, E: hs1.E})
		wantOutcome(t, err, e2ee.BadSuite, "HS-7")
	}
	// The first offered suite that is supported wins.
	_, cr2 := configs(a, b, 1)
	_, hs2, err := NewResponder(cr2, HS1{Suites: []string{"future-suite", Suite}, E: hs1.E})
	if err != nil || hs2.Suite != Suite {
		t.Fatalf("HS-7: chose %q, %v", hs2.Suite, err)
	}
	// The initiator refuses a suite it did not offer.
	_, cr3 := configs(a, b, 1)
	_, hs2, _ = NewResponder(cr3, hs1)
	hs2.Suite = "future-suite"
	_, _, err = i.ReadHS2(hs2)
	wantOutcome(t, err, e2ee.BadSuite, "HS-7")
}

// TestBadSignature checks HS-8 and TRUST-3: signatures are verified with the
// pinned key, never a key just received, and the label of the peer's role.
func TestBadSignature(t *testing.T) {
	a, b, m := newParty(t, "alice", 1), newParty(t, "bob", 2), newParty(t, "mallory", 3)
	t.Run("HS-8 responder key is not the pinned one", func(t *testing.T) {
		ci, cr := configs(a, b, 1)
		cr.Identity = m.id // the server substituted mallory for bob
		i, hs1, _ := NewInitiator(ci)
		_, hs2, _ := NewResponder(cr, hs1)
		_, _, err := i.ReadHS2(hs2)
		wantOutcome(t, err, e2ee.BadSignature, "HS-8")
	})
	t.Run("HS-8 initiator key is not the pinned one", func(t *testing.T) {
		ci, cr := configs(a, b, 1)
		ci.Identity = m.id
		ci.PeerIdentityKey = b.id.Public()
		i, hs1, _ := NewInitiator(ci)
		r, hs2, _ := NewResponder(cr, hs1)
		_, hs3, err := i.ReadHS2(hs2)
		if err == nil {
			_, err = r.ReadHS3(hs3)
		}
		wantOutcome(t, err, e2ee.BadSignature, "HS-8")
	})
	t.Run("HS-8 responder signs with the initiator label", func(t *testing.T) {
		ci, cr := configs(a, b, 1)
		i, hs1, _ := NewInitiator(ci)
		_, hs2, _ := NewResponder(cr, hs1)
		hs2.Sig = b.id.Sign(append([]byte("blindpost/1 initiator"), cr.Trace.H...))
		_, _, err := i.ReadHS2(hs2)
		wantOutcome(t, err, e2ee.BadSignature, "HS-8")
	})
	t.Run("HS-8 hs2 replayed from another session", func(t *testing.T) {
		ci, cr := configs(a, b, 1)
		cr.SessionID = bytes.Repeat([]byte{9}, 16)
		i, hs1, _ := NewInitiator(ci)
		_, hs2, _ := NewResponder(cr, hs1)
		_, _, err := i.ReadHS2(hs2)
		wantOutcome(t, err, e2ee.BadSignature, "HS-8")
	})
	t.Run("HS-8 truncated signature", func(t *testing.T) {
		ci, cr := configs(a, b, 1)
		i, hs1, _ := NewInitiator(ci)
		_, hs2, _ := NewResponder(cr, hs1)
		hs2.Sig = hs2.Sig[:10]
		_, _, err := i.ReadHS2(hs2)
		wantOutcome(t, err, e2ee.BadSignature, "HS-8")
	})
}

// TestBadFinished checks HS-9 on both sides.
func TestBadFinished(t *testing.T) {
	a, b := newParty(t, "alice", 1), newParty(t, "bob", 2)
	ci, cr := configs(a, b, 1)
	i, hs1, _ := NewInitiator(ci)
	r, hs2, _ := NewResponder(cr, hs1)
	good := hs2.Fin
	hs2.Fin = append(bytes.Clone(good[:31]), good[31]^1)
	_, _, err := i.ReadHS2(hs2)
	wantOutcome(t, err, e2ee.BadFinished, "HS-9")

	ci, cr = configs(a, b, 2)
	i, hs1, _ = NewInitiator(ci)
	r, hs2, _ = NewResponder(cr, hs1)
	_, hs3, err := i.ReadHS2(hs2)
	if err != nil {
		t.Fatal(err)
	}
	hs3.Fin = nil
	_, err = r.ReadHS3(hs3)
	wantOutcome(t, err, e2ee.BadFinished, "HS-9")
}

// TestUnexpectedMessage checks HS-11 and HS-12: a handshake reads each message
// once; after success, failure or abort, another one is unexpected_message,
// and an aborted handshake holds no keys.
func TestUnexpectedMessage(t *testing.T) {
	a, b := newParty(t, "alice", 1), newParty(t, "bob", 2)
	ci, cr := configs(a, b, 1)
	i, hs1, _ := NewInitiator(ci)
	r, hs2, _ := NewResponder(cr, hs1)
	_, hs3, err := i.ReadHS2(hs2)
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = i.ReadHS2(hs2)
	wantOutcome(t, err, e2ee.UnexpectedMessage, "HS-11")
	if _, err := r.ReadHS3(hs3); err != nil {
		t.Fatal(err)
	}
	_, err = r.ReadHS3(hs3)
	wantOutcome(t, err, e2ee.UnexpectedMessage, "HS-11")

	// After a failed hs2 the genuine one is refused too (HS-12: aborted).
	ci, cr = configs(a, b, 2)
	i, hs1, _ = NewInitiator(ci)
	r, hs2, _ = NewResponder(cr, hs1)
	bad := hs2
	bad.Sig = make([]byte, 64)
	if _, _, err := i.ReadHS2(bad); err == nil {
		t.Fatal("bad hs2 accepted")
	}
	_, _, err = i.ReadHS2(hs2)
	wantOutcome(t, err, e2ee.UnexpectedMessage, "HS-11")

	r.Abort()
	if r.k != nil {
		t.Fatal("HS-12: keys kept after abort")
	}
	_, err = r.ReadHS3(HS3{})
	wantOutcome(t, err, e2ee.UnexpectedMessage, "HS-11")
}

// TestNoRecordsBeforeConfirmed checks HS-10 by construction: the handshake
// types have no method that seals or opens a record.
func TestNoRecordsBeforeConfirmed(t *testing.T) {
	for _, v := range []any{&Initiator{}, &Responder{}} {
		typ := reflect.TypeOf(v)
		for m := range typ.Methods() {
			if slices.Contains([]string{"Seal", "Open", "SealClose"}, m.Name) {
				t.Errorf("HS-10: %v has %s", typ, m.Name)
			}
		}
	}
}

// TestNewSessionID checks HS-1: 16 bytes from a secure generator, fresh each
// time.
func TestNewSessionID(t *testing.T) {
	a, err := NewSessionID(nil)
	if err != nil || len(a) != SessionIDSize {
		t.Fatalf("HS-1: %x, %v", a, err)
	}
	if b, _ := NewSessionID(nil); bytes.Equal(a, b) {
		t.Fatal("HS-1: session id reused")
	}
	if _, err := NewSessionID(bytes.NewReader(make([]byte, 15))); err == nil {
		t.Fatal("short reader accepted")
	}
}

// TestConfigErrors checks that a bad configuration is refused up front.
func TestConfigErrors(t *testing.T) {
	a, b := newParty(t, "alice", 1), newParty(t, "bob", 2)
	mutate := map[string]func(*Config){
		"short session id":  func(c *Config) { c.SessionID = c.SessionID[:15] },
		"no initiator":      func(c *Config) { c.Initiator = "" },
		"same user":         func(c *Config) { c.Responder = c.Initiator },
		"no identity":       func(c *Config) { c.Identity = nil },
		"short peer key":    func(c *Config) { c.PeerIdentityKey = c.PeerIdentityKey[:31] },
		"empty suites":      func(c *Config) { c.Suites = []string{} },
		"unsupported suite": func(c *Config) { c.Suites = []string{"rot13"} },
	}
	for name, f := range mutate {
		t.Run(name, func(t *testing.T) {
			ci, cr := configs(a, b, 1)
			f(&ci)
			if _, _, err := NewInitiator(ci); err == nil {
				t.Error("initiator accepted")
			}
			f(&cr)
			if _, _, err := NewResponder(cr, HS1{Suites: []string{Suite}, E: make([]byte, 32)}); err == nil {
				t.Error("responder accepted")
			}
		})
	}
}

// TestHandshakeDeterministic checks what vector generation relies on: with
// injected ephemerals, a handshake is the same byte for byte.
func TestHandshakeDeterministic(t *testing.T) {
	a, b := newParty(t, "alice", 1), newParty(t, "bob", 2)
	run := func() (HS1, HS2, HS3) {
		ci, cr := configs(a, b, 5)
		i, hs1, _ := NewInitiator(ci)
		_, hs2, _ := NewResponder(cr, hs1)
		_, hs3, err := i.ReadHS2(hs2)
		if err != nil {
			t.Fatal(err)
		}
		return hs1, hs2, hs3
	}
	h1, h2, h3 := run()
	g1, g2, g3 := run()
	if !reflect.DeepEqual([]any{h1, h2, h3}, []any{g1, g2, g3}) {
		t.Fatal("handshake is not reproducible")
	}
}
