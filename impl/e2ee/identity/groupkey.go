package identity

import (
	"crypto/ecdh"
	"crypto/hpke"
	"fmt"

	"github.com/blindpost/blindpost/impl/e2ee"
	"github.com/blindpost/blindpost/impl/e2ee/canonical"
)

// WrapSize is the size of a commit wrap: the 32-byte HPKE encapsulated key
// and the 32-byte epoch secret sealed with a 16-byte tag. spec §7.1
const WrapSize = 80

// groupKeyMessage is "blindpost/1 group key" || enc(text user, bytes GK_public).
func groupKeyMessage(user string, gk []byte) []byte {
	m := make([]byte, 0, len(canonical.LabelGroupKey)+8+len(user)+len(gk))
	m = append(m, canonical.LabelGroupKey...)
	m = canonical.AppendText(m, user)
	return canonical.AppendBytes(m, gk)
}

// GroupKeySig returns group_key_sig = Sign(IK, "blindpost/1 group key" ||
// enc(text user, bytes GK_public)) for this identity's group key.
// spec §3.2 [KEY-4]
func (k *PrivateKey) GroupKeySig(user string) []byte {
	return k.Sign(groupKeyMessage(user, k.groupPub))
}

// VerifyGroupKeySig checks the group key signature of user's group key gk
// against identity key ik, and returns bad_signature when it does not verify.
// Every identity key reaches a client or the server beside its group key
// signature (register, pubkey, a commit's members), so this is also where an
// invalid identity key is refused (KEY-7). spec §3.2 [KEY-5]
func VerifyGroupKeySig(user string, ik, gk, sig []byte) error {
	if err := checkKey(user, ik); err != nil {
		return err
	}
	if len(gk) != GroupKeySize {
		return e2ee.Reject(e2ee.BadSignature, "KEY-5", "group key of %q is %d bytes, not %d", user, len(gk), GroupKeySize)
	}
	if !Verify(ik, groupKeyMessage(user, gk), sig) {
		return e2ee.Reject(e2ee.BadSignature, "KEY-5", "group key signature of %q does not verify", user)
	}
	return nil
}

// checkKey refuses a canonically encoded identity key of small or mixed order (KEY-7); a
// non-canonical one is left to Verify, which refuses it under the rule of the signature it
// checks (VEC-3). spec §3.1 [KEY-7]
func checkKey(user string, ik []byte) error {
	if CanonicalKey(ik) && !ValidKey(ik) {
		return e2ee.Reject(e2ee.BadSignature, "KEY-7", "identity key of %q is of small or mixed order", user)
	}
	return nil
}

// The HPKE suite of spec §7.1: base mode, DHKEM(X25519, HKDF-SHA256),
// HKDF-SHA256, AES-256-GCM.
var (
	wrapKEM  = hpke.DHKEM(ecdh.X25519())
	wrapKDF  = hpke.HKDFSHA256()
	wrapAEAD = hpke.AES256GCM()
)

// SealGroupWrap wraps secret to the group key gk with the given HPKE info, in
// single-shot base mode with empty aad: enc || ct. spec §7.1
//
// HPKE draws its ephemeral from crypto/rand; test vectors make it
// deterministic with testing/cryptotest.SetGlobalRandom.
func SealGroupWrap(gk, info, secret []byte) ([]byte, error) {
	pk, err := wrapKEM.NewPublicKey(gk)
	if err != nil {
		return nil, fmt.Errorf("e2ee: group key: %w", err)
	}
	wrap, err := hpke.Seal(pk, wrapKDF, wrapAEAD, info, secret)
	if err != nil {
		return nil, fmt.Errorf("e2ee: seal wrap: %w", err)
	}
	return wrap, nil
}

// OpenGroupWrap opens a commit wrap with this identity's group key, the only
// use of the group key. spec §3.2 [KEY-6], §7.1 [GRP-8]
func (k *PrivateKey) OpenGroupWrap(info, wrap []byte) ([]byte, error) {
	if k.group == nil {
		return nil, fmt.Errorf("e2ee: identity erased")
	}
	if len(wrap) != WrapSize {
		return nil, e2ee.Reject(e2ee.BadWrap, "GRP-8", "wrap is %d bytes, not %d", len(wrap), WrapSize)
	}
	sk, err := hpke.NewDHKEMPrivateKey(k.group)
	if err != nil {
		return nil, fmt.Errorf("e2ee: group key: %w", err)
	}
	secret, err := hpke.Open(sk, wrapKDF, wrapAEAD, info, wrap)
	if err != nil {
		return nil, e2ee.Wrap(e2ee.BadWrap, "GRP-8", err, "wrap does not open with own group key")
	}
	return secret, nil
}
