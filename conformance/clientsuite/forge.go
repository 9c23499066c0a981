package clientsuite

import (
	"crypto/ecdh"
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
	"math/big"
	"slices"

	"github.com/blindpost/blindpost/impl/e2ee/canonical"
	"github.com/blindpost/blindpost/impl/e2ee/identity"
	"github.com/blindpost/blindpost/vectors"
)

// This file computes the handshake of spec §6.2 and §6.3 field by field, so that a case can
// produce what the honest state machines of impl/e2ee/direct never would: a valid signature
// over another transcript, a Finished MAC for an all-zero shared secret, a suite that was not
// offered. forge_test.go checks it against direct and the published vectors.

// Transcript holds the nine fields the transcript hash absorbs (spec §6.2).
type Transcript struct {
	SessionID            []byte
	Initiator, Responder string
	IKI, IKR             []byte
	Offered              []string
	Chosen               string
	EI, ER               []byte
}

// Hash returns h: h0 = SHA-256("blindpost/1"), then h = SHA-256(h || enc(field)) for each field.
func (tr Transcript) Hash() []byte {
	h := sha256.Sum256([]byte(canonical.Protocol))
	fields := [][]byte{
		canonical.AppendBytes(nil, tr.SessionID),
		canonical.AppendText(nil, tr.Initiator),
		canonical.AppendText(nil, tr.Responder),
		canonical.AppendBytes(nil, tr.IKI),
		canonical.AppendBytes(nil, tr.IKR),
		canonical.AppendTextList(nil, tr.Offered),
		canonical.AppendText(nil, tr.Chosen),
		canonical.AppendBytes(nil, tr.EI),
		canonical.AppendBytes(nil, tr.ER),
	}
	for _, f := range fields {
		h = sha256.Sum256(append(h[:], f...))
	}
	return h[:]
}

// HSKeys are the six values of the key schedule of spec §6.3.
type HSKeys struct {
	KeyI2R, IVI2R, KeyR2I, IVR2I, FinI, FinR []byte
}

// DeriveHSKeys runs the key schedule: prk = HKDF-Extract(h, dh), then the six Expand outputs.
func DeriveHSKeys(dh, h []byte) (HSKeys, error) {
	prk, err := canonical.Extract(h, dh)
	if err != nil {
		return HSKeys{}, fmt.Errorf("clientsuite: extract: %w", err)
	}
	var k HSKeys
	outs := []struct {
		label canonical.ExpandLabel
		dst   *[]byte
		n     int
	}{
		{canonical.ExpandI2RKey, &k.KeyI2R, 32}, {canonical.ExpandI2RIV, &k.IVI2R, 12},
		{canonical.ExpandR2IKey, &k.KeyR2I, 32}, {canonical.ExpandR2IIV, &k.IVR2I, 12},
		{canonical.ExpandInitiatorFinished, &k.FinI, 32}, {canonical.ExpandResponderFinished, &k.FinR, 32},
	}
	for _, o := range outs {
		if *o.dst, err = canonical.Expand(prk, o.label, h, o.n); err != nil {
			return HSKeys{}, fmt.Errorf("clientsuite: expand %s: %w", o.label, err)
		}
	}
	return k, nil
}

// FinishedMAC returns HMAC-SHA256(kf, h).
func FinishedMAC(kf, h []byte) []byte {
	m := hmac.New(sha256.New, kf)
	m.Write(h)
	return m.Sum(nil)
}

// SignHS returns Sign(IK, label || h), a handshake signature.
func SignHS(key *identity.PrivateKey, label string, h []byte) []byte {
	return key.Sign(append([]byte(label), h...))
}

// VerifyHS verifies a handshake signature.
func VerifyHS(ik []byte, label string, h, sig []byte) bool {
	return identity.Verify(ik, append([]byte(label), h...), sig)
}

// Ephemeral returns a fresh X25519 key pair from the case's random source.
func (w *World) Ephemeral() *ecdh.PrivateKey {
	k, err := ecdh.X25519().NewPrivateKey(w.RandBytes(32))
	if err != nil {
		w.T.Fatalf("clientsuite: ephemeral: %v", err)
	}
	return k
}

// DH returns X25519(priv, peer); crypto/ecdh refuses an all-zero output.
func DH(priv *ecdh.PrivateKey, peer []byte) ([]byte, error) {
	pub, err := ecdh.X25519().NewPublicKey(peer)
	if err != nil {
		return nil, fmt.Errorf("clientsuite: X25519 public key: %w", err)
	}
	dh, err := priv.ECDH(pub)
	if err != nil {
		return nil, fmt.Errorf("clientsuite: X25519: %w", err)
	}
	return dh, nil
}

// LowOrderPoint is an X25519 public value for which X25519 gives the all-zero output with every
// private key (spec §6.3 HS-6, VEC-2).
type LowOrderPoint = vectors.LowOrderPoint

// LowOrderPoints are the points of the published vectors (vectors/handshake.json, the HS-6
// negatives): 0, 1, the two points of order 8, p-1, p and p+1, each also with the ignored high
// bit set.
var LowOrderPoints = vectors.LowOrderPoints()

// flip returns a copy of b with one bit changed.
// groupOrder is L, the order of the Ed25519 base point (RFC 8032 §5.1).
var groupOrder, _ = new(big.Int).SetString("7237005577332262213973186563042994240857116359379907606001950938285454250989", 10)

// sNotReduced returns the Ed25519 signature sig with L added to its S: the same R, and an S that
// is not below the group order, which a verifier that skips that check accepts (spec §8 VEC-3,
// RFC 8032 §5.1.7).
func sNotReduced(sig []byte) []byte {
	if len(sig) != 64 {
		return sig
	}
	le := slices.Clone(sig[32:])
	slices.Reverse(le)
	s := new(big.Int).Add(new(big.Int).SetBytes(le), groupOrder)
	out := s.FillBytes(make([]byte, 32))
	slices.Reverse(out)
	return append(slices.Clone(sig[:32]), out...)
}

func flip(b []byte, bit int) []byte {
	out := append([]byte(nil), b...)
	if len(out) > 0 {
		out[(bit/8)%len(out)] ^= 1 << (bit % 8)
	}
	return out
}
