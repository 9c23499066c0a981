package gen

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha512"
	"math/big"
	"slices"
)

// This file is a small Edwards25519 written from RFC 8032 §5.1 on math/big, for the VEC-3
// vectors: it makes signatures that a lax verifier accepts and RFC 8032 §5.1.7 rejects (an S
// not below the group order, an R that is a non-canonical encoding), and checks both halves of
// that claim independently of crypto/ed25519. It is slow and not constant time: test values only.

var (
	edP = new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 255), big.NewInt(19))
	// edL is the order of the base point: 2^252 + 27742317777372353535851937790883648493.
	edL, _ = new(big.Int).SetString("7237005577332262213973186563042994240857116359379907606001950938285454250989", 10)
	edD    = modP(new(big.Int).Mul(big.NewInt(-121665), inv(big.NewInt(121666))))
	// edSqrtM1 is a square root of -1: 2^((p-1)/4).
	edSqrtM1 = new(big.Int).Exp(big.NewInt(2), new(big.Int).Rsh(new(big.Int).Sub(edP, big.NewInt(1)), 2), edP)
	edB      = mustDecode(append([]byte{0x58}, bytes.Repeat([]byte{0x66}, 31)...)) // y = 4/5, x even
	edZero   = edPoint{big.NewInt(0), big.NewInt(1)}
)

// edPoint is a point of Edwards25519 in affine coordinates.
type edPoint struct{ x, y *big.Int }

func modP(v *big.Int) *big.Int { return v.Mod(v, edP) }

func inv(v *big.Int) *big.Int { return new(big.Int).ModInverse(new(big.Int).Mod(v, edP), edP) }

// le and fromLE convert between little-endian bytes and integers.
func le(v *big.Int, n int) []byte {
	b := make([]byte, n)
	v.FillBytes(b)
	slices.Reverse(b)
	return b
}

func fromLE(b []byte) *big.Int {
	c := bytes.Clone(b)
	slices.Reverse(c)
	return new(big.Int).SetBytes(c)
}

// edDecode decodes a point as RFC 8032 §5.1.3 does when strict, and as a lax decoder does
// otherwise: y is taken modulo p, and x = 0 with the sign bit set is read as x = 0.
func edDecode(b []byte, strict bool) (edPoint, bool) {
	if len(b) != 32 {
		return edPoint{}, false
	}
	c := bytes.Clone(b)
	sign := uint(c[31] >> 7)
	c[31] &= 0x7f
	y := fromLE(c)
	if y.Cmp(edP) >= 0 {
		if strict {
			return edPoint{}, false
		}
		y.Sub(y, edP)
	}
	y2 := modP(new(big.Int).Mul(y, y))
	u := modP(new(big.Int).Sub(y2, big.NewInt(1)))
	v := modP(new(big.Int).Add(new(big.Int).Mul(edD, y2), big.NewInt(1)))
	x2 := modP(new(big.Int).Mul(u, inv(v)))
	x := new(big.Int).Exp(x2, new(big.Int).Rsh(new(big.Int).Add(edP, big.NewInt(3)), 3), edP)
	if modP(new(big.Int).Mul(x, x)).Cmp(x2) != 0 {
		x = modP(x.Mul(x, edSqrtM1))
	}
	if modP(new(big.Int).Mul(x, x)).Cmp(x2) != 0 {
		return edPoint{}, false
	}
	if x.Sign() == 0 && sign == 1 && strict {
		return edPoint{}, false
	}
	if x.Bit(0) != sign && x.Sign() != 0 {
		x.Sub(edP, x)
	}
	return edPoint{x, y}, true
}

func mustDecode(b []byte) edPoint {
	p, ok := edDecode(b, true)
	if !ok {
		panic("gen: bad point constant")
	}
	return p
}

// encode is the canonical encoding of RFC 8032 §5.1.2.
func (p edPoint) encode() []byte {
	b := le(p.y, 32)
	b[31] |= byte(p.x.Bit(0)) << 7
	return b
}

func (p edPoint) equal(q edPoint) bool { return p.x.Cmp(q.x) == 0 && p.y.Cmp(q.y) == 0 }

// add is the twisted Edwards addition law with a = -1.
func (p edPoint) add(q edPoint) edPoint {
	xx, yy := new(big.Int).Mul(p.x, q.x), new(big.Int).Mul(p.y, q.y)
	dxy := modP(new(big.Int).Mul(edD, modP(new(big.Int).Mul(xx, yy))))
	x := new(big.Int).Add(new(big.Int).Mul(p.x, q.y), new(big.Int).Mul(p.y, q.x))
	x = modP(x.Mul(x, inv(new(big.Int).Add(big.NewInt(1), dxy))))
	y := new(big.Int).Add(yy, xx)
	y = modP(y.Mul(y, inv(new(big.Int).Sub(big.NewInt(1), dxy))))
	return edPoint{x, y}
}

// mul is [k]p by double and add.
func (p edPoint) mul(k *big.Int) edPoint {
	r := edZero
	for i := k.BitLen() - 1; i >= 0; i-- {
		r = r.add(r)
		if k.Bit(i) == 1 {
			r = r.add(p)
		}
	}
	return r
}

// edChallenge is k = SHA-512(R || A || M) mod L, with R and A as given.
func edChallenge(r, a, msg []byte) *big.Int {
	h := sha512.Sum512(cat(r, a, msg))
	return fromLE(h[:]).Mod(fromLE(h[:]), edL)
}

// laxVerify is the check [S]B = R + [k]A of RFC 8032 §5.1.7 made by a verifier that decodes R
// and A leniently and does not require S below L: what a VEC-3 vector must satisfy to be worth
// rejecting.
func laxVerify(pub, msg, sig []byte) bool {
	if len(sig) != 64 {
		return false
	}
	a, okA := edDecode(pub, false)
	r, okR := edDecode(sig[:32], false)
	if !okA || !okR {
		return false
	}
	s := fromLE(sig[32:])
	return edB.mul(s).equal(r.add(a.mul(edChallenge(sig[:32], pub, msg))))
}

// strictRejects reports whether RFC 8032 §5.1.7 rejects sig by pub before its equation: S not
// below L, or R or A not a canonical encoding.
func strictRejects(pub, sig []byte) bool {
	_, okA := edDecode(pub, true)
	_, okR := edDecode(sig[:32], true)
	return !okA || !okR || fromLE(sig[32:]).Cmp(edL) >= 0
}

// secretScalar is the clamped scalar s of RFC 8032 §5.1.5 for seed.
func secretScalar(seed []byte) *big.Int {
	h := sha512.Sum512(seed)
	s := bytes.Clone(h[:32])
	s[0] &= 248
	s[31] &= 127
	s[31] |= 64
	return fromLE(s)
}

// The two non-canonical encodings of the neutral point (0, 1) that a lax decoder reads: y = p+1
// (y not below p), and y = 1 with the sign bit of x set although x = 0. RFC 8032 §5.1.3 refuses
// both.
var (
	neutralYAboveP = append([]byte{0xee}, append(bytes.Repeat([]byte{0xff}, 30), 0x7f)...)
	neutralNegZero = append([]byte{0x01}, append(make([]byte, 30), 0x80)...)
	// neutralCanonical is the canonical encoding of the neutral point: y = 1.
	neutralCanonical = append([]byte{0x01}, make([]byte, 31)...)
)

// signWithR signs msg with seed's key using rEnc, an encoding of the neutral point, as R: S = k
// a mod L, so that [S]B = [k]A = R + [k]A. A lax verifier accepts the signature; RFC 8032
// rejects it when rEnc is not canonical.
func signWithR(seed, msg, rEnc []byte) []byte {
	pub := ed25519.NewKeyFromSeed(seed).Public().(ed25519.PublicKey)
	k := edChallenge(rEnc, pub, msg)
	s := new(big.Int).Mul(k, secretScalar(seed))
	return cat(rEnc, le(s.Mod(s, edL), 32))
}

// malleate returns the Ed25519 signature sig with L added to its S: the same R, an S that is
// not below the group order.
func malleate(sig []byte) []byte {
	s := fromLE(sig[32:])
	return cat(sig[:32], le(s.Add(s, edL), 32))
}

// vec3Sig is one VEC-3 variant of a genuine signature.
type vec3Sig struct {
	id, comment string
	sign        func(seed, msg []byte) []byte
}

// vec3Sigs are the signatures of msg by seed that VEC-3 requires a verifier to reject, each
// checked to be accepted by a lax verifier and rejected by RFC 8032 and by crypto/ed25519.
var vec3Sigs = []vec3Sig{
	{"s-not-reduced", "S + L in place of S, with the same R: S is not below the group order L",
		func(seed, msg []byte) []byte { return malleate(ed25519.Sign(ed25519.NewKeyFromSeed(seed), msg)) }},
	{"r-y-above-p", "R is the neutral point written with y = p + 1, a non-canonical encoding (y not below p), and S = k·a mod L",
		func(seed, msg []byte) []byte { return signWithR(seed, msg, neutralYAboveP) }},
	{"r-negative-zero", "R is the neutral point written with the sign bit of x set although x = 0, a non-canonical encoding, and S = k·a mod L",
		func(seed, msg []byte) []byte { return signWithR(seed, msg, neutralNegZero) }},
}

// sig returns the signature and checks what makes it a VEC-3 vector.
func (v vec3Sig) sig(seed, msg []byte) []byte {
	sig := v.sign(seed, msg)
	pub := ed25519.NewKeyFromSeed(seed).Public().(ed25519.PublicKey)
	check(laxVerify(pub, msg, sig) && strictRejects(pub, sig) && !ed25519.Verify(pub, msg, sig),
		"%s: not a signature that only a lax verifier accepts", v.id)
	return sig
}
