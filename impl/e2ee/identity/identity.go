// Package identity implements the keys of spec §3: the Ed25519 identity key
// held as its 32-byte seed (§3.1), the X25519 group key derived from it and
// bound to it by the group key signature (§3.2), the registration proof of
// §5.2, and the fingerprint of §3.3.
//
// A [PrivateKey] signs only the messages this package and the protocol
// packages build (KEY-6); its group key is reachable only through
// [PrivateKey.OpenGroupWrap], the one use the spec allows it.
package identity

import (
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"

	"filippo.io/edwards25519"

	"github.com/blindpost/blindpost/impl/e2ee/canonical"
)

// Sizes of identity values.
const (
	SeedSize      = ed25519.SeedSize      // 32: the stored identity secret (§3.1)
	PublicKeySize = ed25519.PublicKeySize // 32: IK_public
	SignatureSize = ed25519.SignatureSize // 64
	GroupKeySize  = 32                    // GK_public, an X25519 public value (§3.2)
)

// PrivateKey is a user's identity key pair together with the group key
// derived from its seed (spec §3.2, the reference derivation).
type PrivateKey struct {
	seed     []byte
	priv     ed25519.PrivateKey
	pub      ed25519.PublicKey
	group    *ecdh.PrivateKey
	groupPub []byte
}

// Generate creates a new identity from 32 bytes of r, or of crypto/rand when
// r is nil. spec §3.1 [KEY-1]
func Generate(r io.Reader) (*PrivateKey, error) {
	if r == nil {
		r = rand.Reader
	}
	seed := make([]byte, SeedSize)
	if _, err := io.ReadFull(r, seed); err != nil {
		return nil, fmt.Errorf("e2ee: read identity seed: %w", err)
	}
	defer clear(seed)
	return FromSeed(seed)
}

// FromSeed returns the identity whose Ed25519 seed (RFC 8032 §5.1.5) is seed,
// with its group key derived as spec §3.2 gives:
//
//	gk_private = Expand(seed, "group private key", IK_public, 32)
func FromSeed(seed []byte) (*PrivateKey, error) {
	if len(seed) != SeedSize {
		return nil, fmt.Errorf("e2ee: identity seed is %d bytes, want %d", len(seed), SeedSize)
	}
	priv := ed25519.NewKeyFromSeed(seed)
	pub := priv.Public().(ed25519.PublicKey)
	scalar, err := canonical.Expand(seed, canonical.ExpandGroupKey, pub, GroupKeySize)
	if err != nil {
		return nil, err
	}
	defer clear(scalar)
	group, err := ecdh.X25519().NewPrivateKey(scalar)
	if err != nil {
		return nil, fmt.Errorf("e2ee: group key: %w", err)
	}
	return &PrivateKey{
		seed:     append([]byte(nil), seed...),
		priv:     priv,
		pub:      pub,
		group:    group,
		groupPub: group.PublicKey().Bytes(),
	}, nil
}

// Seed returns a copy of the 32-byte identity seed, for the key file only.
// It must never be sent anywhere. spec §3.1 [KEY-2]
func (k *PrivateKey) Seed() []byte { return append([]byte(nil), k.seed...) }

// Public returns a copy of IK_public.
func (k *PrivateKey) Public() ed25519.PublicKey { return append(ed25519.PublicKey(nil), k.pub...) }

// GroupPublic returns a copy of GK_public.
func (k *PrivateKey) GroupPublic() []byte { return append([]byte(nil), k.groupPub...) }

// Sign returns Sign(IK, msg). Callers pass only the messages the spec
// defines, each beginning with its label or its enc-encoded label. spec §3.2 [KEY-6]
func (k *PrivateKey) Sign(msg []byte) []byte { return ed25519.Sign(k.priv, msg) }

// Erase overwrites the seed and private key this value holds. The group key
// lives inside crypto/ecdh, out of reach; it is dropped instead.
func (k *PrivateKey) Erase() {
	clear(k.seed)
	clear(k.priv)
	k.group = nil
}

// Verify reports whether sig is a valid Ed25519 signature of msg by pub.
// Unlike ed25519.Verify it never panics: a public key or signature of the
// wrong length does not verify. crypto/ed25519 rejects S not below the group
// order and a non-canonical R (it compares R's encoding); it decodes the
// public key leniently, so Verify first refuses a key encoding that RFC 8032
// §5.1.3 rejects. spec §8 [VEC-3]
func Verify(pub, msg, sig []byte) bool {
	if len(pub) != PublicKeySize || len(sig) != SignatureSize || !CanonicalKey(pub) {
		return false
	}
	return ed25519.Verify(ed25519.PublicKey(pub), msg, sig)
}

// CanonicalKey reports whether pub, 32 bytes, encodes a point as RFC 8032
// §5.1.3 requires: y below p = 2^255-19, and no sign bit set on a point whose
// x is 0 (y = 1 or y = p-1). spec §8 [VEC-3]
func CanonicalKey(pub []byte) bool {
	if len(pub) != PublicKeySize {
		return false
	}
	y := [PublicKeySize]byte(pub)
	sign := y[31] >> 7
	y[31] &= 0x7f
	middleFF := true // bytes 1 to 30 are all 0xff, as in p and p-1
	for _, b := range y[1:31] {
		middleFF = middleFF && b == 0xff
	}
	high := middleFF && y[31] == 0x7f
	if high && y[0] >= 0xed { // y >= p
		return false
	}
	isOne := y[0] == 1 && y == [PublicKeySize]byte{1}
	isMinusOne := high && y[0] == 0xec
	return sign == 0 || !(isOne || isMinusOne)
}

// lMinusOne is the scalar L - 1, L the order of the Ed25519 base point; [L-1]P + P is [L]P.
var lMinusOne = func() *edwards25519.Scalar {
	b, _ := hex.DecodeString("ecd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010")
	s, err := new(edwards25519.Scalar).SetCanonicalBytes(b)
	if err != nil {
		panic("identity: L-1 is not a canonical scalar")
	}
	return s
}()

// ValidKey reports whether pub is an identity key spec KEY-7 lets a server register and a
// client pin: a canonical encoding (RFC 8032 §5.1.3) of a point that is neither of small order
// ([8]P is the neutral point: the eight points under which a constant signature verifies for
// every message) nor of mixed order (a small-order component added to a point of the prime-order
// subgroup, [L]P not neutral). Every key made from a seed (RFC 8032 §5.1.5) is valid.
//
// crypto/ed25519 exposes no point arithmetic, so the subgroup check uses filippo.io/edwards25519,
// the standard library's own implementation published as a module. spec §3.1 [KEY-7]
func ValidKey(pub []byte) bool {
	if !CanonicalKey(pub) {
		return false
	}
	p, err := new(edwards25519.Point).SetBytes(pub)
	if err != nil {
		return false
	}
	neutral := edwards25519.NewIdentityPoint()
	if new(edwards25519.Point).MultByCofactor(p).Equal(neutral) == 1 {
		return false // small order
	}
	q := new(edwards25519.Point).ScalarMult(lMinusOne, p)
	return q.Add(q, p).Equal(neutral) == 1 // [L]P: neutral exactly in the prime-order subgroup
}

// Fingerprint returns "sha256:" and the lowercase hex of SHA-256(IK_public).
// spec §3.3
func Fingerprint(ik []byte) string {
	sum := sha256.Sum256(ik)
	return "sha256:" + hex.EncodeToString(sum[:])
}
