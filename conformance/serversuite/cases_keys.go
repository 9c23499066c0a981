package serversuite

import (
	"bytes"
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/sha512"
	"encoding/binary"
	"encoding/hex"

	"filippo.io/edwards25519"
	"github.com/gorilla/websocket"

	"github.com/blindpost/blindpost/conformance/harness"
	"github.com/blindpost/blindpost/impl/wire"
)

// Identity keys the server must refuse at registration (spec §3.1 KEY-7).
func init() {
	add(harness.Case{ID: "registration/small-order-key", Rules: []string{"KEY-7", "REG-4", "ERR-2"},
		Description: "a register whose identity key is the neutral point (small order), with the constant group key signature and " +
			"proof 01 00…00 ‖ 0^32 that a cofactorless verifier accepts for every message, gets error bad_proof, then close 1008",
		Run: smallOrderKey})
	add(harness.Case{ID: "registration/mixed-order-key", Rules: []string{"KEY-7", "REG-3", "ERR-2"},
		Description: "a register whose identity key is a genuine key plus a point of order 8 (mixed order), with a group key " +
			"signature and a proof that a cofactorless verifier accepts, gets error bad_proof, then close 1008",
		Run: mixedOrderKey})
	add(harness.Case{ID: "groups/commit-keys-from-directory", Rules: []string{"GSV-4", "ERR-1"},
		Description: "a commit that lists, for a member, another identity key, group key or group key signature than the " +
			"directory holds (a member planting a key for a joiner to pin) gets bad_members and is not forwarded; the " +
			"commit with the directory's keys is then acked",
		Run: commitKeysFromDirectory})
}

func commitKeysFromDirectory(t *harness.T) {
	alice, bob := Register(t, "alice"), Register(t, "bob")
	needGroupOf(t, alice, 2) // a member's keys planted for another member
	mallory := Key(t, Name(t, "mallory"), 0)
	g := NewGroup(t, "g")
	g.Join("GSV-1", alice)
	g.Join("GSV-1", bob)
	for _, tc := range []struct {
		why   string
		spoil func(m *wire.CommitMember)
	}{
		{"another identity key for bob, with its own valid group key signature", func(m *wire.CommitMember) {
			m.IdentityKey, m.GroupKey, m.GroupKeySig = mallory.Public(), mallory.GroupPublic(), mallory.GroupKeySig(m.User)
		}},
		{"another group key for bob", func(m *wire.CommitMember) { m.GroupKey = mallory.GroupPublic() }},
		{"another group key signature for bob", func(m *wire.CommitMember) { m.GroupKeySig = bob.Key.Sign([]byte("not the group key")) }},
	} {
		cm := testCommit(t, g.Name, g.Epoch+1, alice.Name, g.Members)
		for i := range cm.Members {
			if cm.Members[i].User == bob.Name {
				tc.spoil(&cm.Members[i])
			}
		}
		id := alice.ID()
		alice.Send(&wire.GroupCommit{ID: id, Commit: cm})
		f := alice.ExpectError("GSV-4", id, "bad_members", "group_commit")
		t.Logf("%s: %s", tc.why, f.Str("message"))
	}
	bob.Quiet("GSV-4", "a commit with keys the directory does not hold was forwarded")
	g.Commit("GSV-4", alice)
}

// neutralKey is the canonical encoding of the neutral point of Edwards25519 (y = 1, x = 0):
// under it the signature (R = neutral point, S = 0) verifies for every message when the
// verifier does not refuse small-order keys.
var neutralKey = append([]byte{1}, make([]byte, 31)...)

func smallOrderKey(t *harness.T) {
	c := Dial(t, "mallory")
	c.Hello(Name(t, "mallory"))
	constant := append(bytes.Clone(neutralKey), make([]byte, 32)...)
	id := c.ID()
	gk, _ := GroupKeyWithSig(t, Key(t, c.Name, 0), c.Name)
	c.Send(&wire.Register{ID: id, IdentityKey: neutralKey, GroupKey: gk, GroupKeySig: constant, Proof: constant})
	c.ExpectErrorThenClose("KEY-7", id, "bad_proof", websocket.ClosePolicyViolation)
}

// order8 is a point of order 8 of Edwards25519, as the small-order blocklists write it.
var order8 = func() *edwards25519.Point {
	b, _ := hex.DecodeString("c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a")
	p, err := new(edwards25519.Point).SetBytes(b)
	if err != nil {
		panic("serversuite: the order-8 point does not decode")
	}
	return p
}()

// mixedKey is a key A + T, A = [a]B genuine and T of order 8: of mixed order (KEY-7).
type mixedKey struct {
	pub []byte
	a   *edwards25519.Scalar
}

func newMixedKey(seed []byte) mixedKey {
	h := sha512.Sum512(seed)
	a, err := new(edwards25519.Scalar).SetBytesWithClamping(h[:32])
	if err != nil {
		panic(err)
	}
	pub := new(edwards25519.Point).Add(new(edwards25519.Point).ScalarBaseMult(a), order8).Bytes()
	return mixedKey{pub: pub, a: a}
}

// sign makes a signature of msg that a cofactorless verifier (crypto/ed25519) accepts under the
// mixed key: R = [r]B + [j]T and S = r + k·a, for the first r and j with [j]T + [k]T neutral,
// where k = SHA-512(R || A + T || msg) mod L.
func (k mixedKey) sign(t *harness.T, msg []byte) []byte {
	neutral := edwards25519.NewIdentityPoint()
	for r := uint64(1); r < 1000; r++ {
		var rb [32]byte
		binary.LittleEndian.PutUint64(rb[:], r)
		rs, _ := new(edwards25519.Scalar).SetCanonicalBytes(rb[:])
		tj := edwards25519.NewIdentityPoint()
		for range 8 {
			rEnc := new(edwards25519.Point).Add(new(edwards25519.Point).ScalarBaseMult(rs), tj).Bytes()
			hk := sha512.Sum512(append(append(append([]byte(nil), rEnc...), k.pub...), msg...))
			c, _ := new(edwards25519.Scalar).SetUniformBytes(hk[:])
			if new(edwards25519.Point).Add(new(edwards25519.Point).ScalarMult(c, order8), tj).Equal(neutral) == 1 {
				s := new(edwards25519.Scalar).MultiplyAdd(c, k.a, rs)
				sig := append(rEnc, s.Bytes()...)
				if !ed25519.Verify(k.pub, msg, sig) {
					t.Fatalf("serversuite: crypto/ed25519 refuses the mixed-order signature")
				}
				return sig
			}
			tj.Add(tj, order8)
		}
	}
	t.Fatalf("serversuite: no mixed-order signature found")
	return nil
}

func mixedOrderKey(t *harness.T) {
	c := Dial(t, "mallory")
	c.Hello(Name(t, "mallory"))
	k := newMixedKey(Random(t, 32))
	priv, err := ecdh.X25519().NewPrivateKey(Random(t, 32))
	if err != nil {
		t.Fatalf("serversuite: %v", err)
	}
	gk := priv.PublicKey().Bytes()
	gks := k.sign(t, append([]byte("blindpost/1 group key"), append(encText(c.Name), encBytes(gk)...)...))
	proof := k.sign(t, registerInput(c.Challenge, c.Pin, c.Name, k.pub, gk))
	id := c.ID()
	c.Send(&wire.Register{ID: id, IdentityKey: k.pub, GroupKey: gk, GroupKeySig: gks, Proof: proof})
	c.ExpectErrorThenClose("KEY-7", id, "bad_proof", websocket.ClosePolicyViolation)
}
