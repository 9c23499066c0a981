package gen

import (
	"crypto/ed25519"
	"encoding/hex"
	"math/big"
)

// This file makes the identity keys spec KEY-7 refuses, on the Edwards25519 arithmetic of
// ed25519.go: every encoding of a small-order point, and a mixed-order key (a genuine key plus a
// point of order 8), each with signatures that crypto/ed25519 accepts, so that a verifier
// without the KEY-7 check accepts the vector.

// edTorsion8 is a point of order 8, as the small-order blocklists of Ed25519 libraries write it;
// its multiples are the eight small-order points.
var edTorsion8 = mustDecode(must(hex.DecodeString("c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a")))

// smallOrderPoints returns the eight points whose order divides 8, [i]T for i = 0..7.
func smallOrderPoints() []edPoint {
	out := make([]edPoint, 8)
	for i := range out {
		out[i] = edTorsion8.mul(big.NewInt(int64(i)))
	}
	return out
}

// weakKey is one identity key KEY-7 refuses, with the secret scalar a of its prime-order part
// (A = [a]B + T, a = 0 for a small-order key).
type weakKey struct {
	id, comment string
	key         []byte
	a           *big.Int
	strict      bool // the encoding is canonical: only KEY-7 refuses it, not RFC 8032 §5.1.3
}

// weakKeys lists every encoding of a small-order point that a lax decoder reads (the eight
// canonical ones, and the non-canonical y = p, y = p + 1 and x = 0 with the sign bit set), and
// alice's key with a point of order 8 added.
func weakKeys() []weakKey {
	names := []string{"neutral", "order-8-a", "order-4-a", "order-8-b", "order-2", "order-8-c", "order-4-b", "order-8-d"}
	var out []weakKey
	for i, p := range smallOrderPoints() {
		check(p.mul(big.NewInt(8)).equal(edZero) && (i == 0 || !p.equal(edZero)), "torsion point %d is not of small order", i)
		out = append(out, weakKey{"small-order-" + names[i], "the identity key is a point of small order ([8]A is the neutral point), canonically encoded",
			p.encode(), big.NewInt(0), true})
	}
	p := edP
	nonCanonical := []struct {
		id, comment string
		key         []byte
	}{
		{"neutral-y-above-p-negative", "the neutral point written with y = p + 1 and the sign bit set", le(new(big.Int).Add(p, big.NewInt(1)), 32)},
		{"order-2-negative-zero", "the point of order 2 (y = p - 1, x = 0) written with the sign bit of x set", le(new(big.Int).Sub(p, big.NewInt(1)), 32)},
		{"order-4-y-p", "a point of order 4 (y = 0) written with y = p", le(p, 32)},
		{"order-4-y-p-negative", "the other point of order 4 (y = 0) written with y = p and the sign bit set", le(p, 32)},
	}
	for i, k := range nonCanonical {
		if i != 2 {
			k.key[31] |= 0x80
		}
		out = append(out, weakKey{"small-order-" + k.id, "the identity key is " + k.comment + ", a non-canonical encoding of a small-order point",
			k.key, big.NewInt(0), false})
	}
	alice := secretScalar(seedOf("alice"))
	mixed := edB.mul(alice).add(edTorsion8)
	out = append(out, weakKey{"mixed-order", "the identity key is alice's key plus a point of order 8 (mixed order: [L]A is not the neutral point)",
		mixed.encode(), alice, true})
	return out
}

// sign returns a signature of msg under k that crypto/ed25519 accepts: R = [r]B + T_j and
// S = r + k·a mod L, for the first r = 1, 2, … and j = 0..7 with T_j + [k]T_A neutral, where
// T_A is the small-order part of A (the equation [S]B = R + [k]A then holds).
func (k weakKey) sign(msg []byte) []byte {
	for r := int64(1); r < 1000; r++ {
		for _, t := range smallOrderPoints() {
			rEnc := edB.mul(big.NewInt(r)).add(t).encode()
			c := edChallenge(rEnc, k.key, msg)
			s := new(big.Int).Add(big.NewInt(r), new(big.Int).Mul(c, k.a))
			sig := cat(rEnc, le(s.Mod(s, edL), 32))
			if laxVerify(k.key, msg, sig) {
				check(ed25519.Verify(ed25519.PublicKey(k.key), msg, sig), "%s: crypto/ed25519 refuses the signature", k.id)
				return sig
			}
		}
	}
	fail("%s: no signature found", k.id)
	return nil
}
