package direct

import (
	"crypto/ecdh"
	"crypto/hmac"
	"crypto/sha256"

	"github.com/blindpost/blindpost/impl/e2ee"
	"github.com/blindpost/blindpost/impl/e2ee/canonical"
	"github.com/blindpost/blindpost/impl/e2ee/identity"
	"github.com/blindpost/blindpost/impl/e2ee/internal/suite"
)

// keys are the six values derived from dh and h. spec §6.3
type keys struct {
	keyI2R, keyR2I [suite.KeySize]byte
	ivI2R, ivR2I   [suite.NonceSize]byte
	finI, finR     [sha256.Size]byte
}

// deriveKeys runs the key schedule of spec §6.3: dh, prk and the six Expand
// outputs, erasing dh and prk before it returns (HS-5).
func deriveKeys(eph *ecdh.PrivateKey, peerE, h []byte, tr *Trace) (*keys, error) {
	dh, err := suite.X25519(eph, peerE) // spec §6.3 [HS-6]
	if err != nil {
		return nil, err
	}
	defer clear(dh)
	prk, err := canonical.Extract(h, dh)
	if err != nil {
		return nil, err
	}
	defer clear(prk)
	k := new(keys)
	outs := []struct {
		label canonical.ExpandLabel
		dst   []byte
	}{
		{canonical.ExpandI2RKey, k.keyI2R[:]},
		{canonical.ExpandI2RIV, k.ivI2R[:]},
		{canonical.ExpandR2IKey, k.keyR2I[:]},
		{canonical.ExpandR2IIV, k.ivR2I[:]},
		{canonical.ExpandInitiatorFinished, k.finI[:]},
		{canonical.ExpandResponderFinished, k.finR[:]},
	}
	for _, o := range outs {
		v, err := canonical.Expand(prk, o.label, h, len(o.dst)) // spec §2.2 [ENC-3]
		if err != nil {
			k.erase()
			return nil, err
		}
		copy(o.dst, v)
		clear(v)
	}
	if tr != nil {
		tr.DH, tr.PRK = clone(dh), clone(prk)
		tr.KeyI2R, tr.IVI2R = clone(k.keyI2R[:]), clone(k.ivI2R[:])
		tr.KeyR2I, tr.IVR2I = clone(k.keyR2I[:]), clone(k.ivR2I[:])
		tr.FinishedKeyI, tr.FinishedKeyR = clone(k.finI[:]), clone(k.finR[:])
	}
	return k, nil
}

func (k *keys) erase() {
	if k != nil {
		*k = keys{}
	}
}

// finishedMAC returns HMAC-SHA256(kf, h). spec §6.3
func finishedMAC(kf *[sha256.Size]byte, h []byte) []byte {
	m := hmac.New(sha256.New, kf[:])
	m.Write(h)
	return m.Sum(nil)
}

// checkFinished compares the peer's Finished MAC in constant time.
// spec §6.3 [HS-9]
func checkFinished(kf *[sha256.Size]byte, h, fin []byte, peer string) error {
	if !hmac.Equal(finishedMAC(kf, h), fin) {
		return e2ee.Reject(e2ee.BadFinished, "HS-9", "Finished MAC of %s differs", peer)
	}
	return nil
}

// signed returns label || h, the message of a handshake signature. spec §6.3
func signed(label string, h []byte) []byte {
	return append([]byte(label), h...)
}

// checkSignature verifies the peer's signature over label || h with its
// pinned identity key. spec §6.3 [HS-8], §6.6 [TRUST-3]
func checkSignature(pinned, sig []byte, label string, h []byte, peer string) error {
	if !identity.Verify(pinned, signed(label, h), sig) {
		return e2ee.Reject(e2ee.BadSignature, "HS-8", "signature of %s does not verify with its pinned key", peer)
	}
	return nil
}
