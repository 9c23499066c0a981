package identity

import (
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"testing"

	"filippo.io/edwards25519"
	"pgregory.net/rapid"

	"github.com/blindpost/blindpost/impl/e2ee"
)

// TestValidKeyFromSeed checks KEY-7's promise that every key made from a seed is valid, and that
// the key checks of KEY-5 and REG-3 let it through.
func TestValidKeyFromSeed(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		seed := rapid.SliceOfN(rapid.Byte(), SeedSize, SeedSize).Draw(t, "seed")
		pub := ed25519.NewKeyFromSeed(seed).Public().(ed25519.PublicKey)
		if !ValidKey(pub) {
			t.Fatalf("KEY-7: the key of seed %x is refused", seed)
		}
	})
}

// TestValidKeySmallOrder checks KEY-7 on the eight small-order points (the blocklist Ed25519
// libraries share) and on a mixed-order key: the constant signature verifies under the neutral
// key with crypto/ed25519, and the group key signature check refuses it under KEY-7.
func TestValidKeySmallOrder(t *testing.T) {
	small := []string{
		"0100000000000000000000000000000000000000000000000000000000000000",
		"ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
		"0000000000000000000000000000000000000000000000000000000000000000",
		"0000000000000000000000000000000000000000000000000000000000000080",
		"26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
		"26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85",
		"c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
		"c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
	}
	for _, h := range small {
		key, _ := hex.DecodeString(h)
		if ValidKey(key) {
			t.Errorf("KEY-7: small-order key %s accepted", h)
		}
		err := VerifyGroupKeySig("mallory", key, make([]byte, GroupKeySize), make([]byte, SignatureSize))
		var e *e2ee.Error
		if !errors.As(err, &e) || !errors.Is(err, e2ee.BadSignature) || e.Rule != "KEY-7" {
			t.Errorf("KEY-7: group key signature under %s: %v, want bad_signature [KEY-7]", h, err)
		}
	}
	neutral, _ := hex.DecodeString(small[0])
	constant := append(append([]byte(nil), neutral...), make([]byte, 32)...)
	if !ed25519.Verify(neutral, []byte("any message"), constant) {
		t.Fatal("crypto/ed25519 refuses the constant signature: KEY-7's premise changed")
	}
	// A genuine key plus a point of order 8: mixed order.
	genuine, err := new(edwards25519.Point).SetBytes(mustKey(t, 7).Public())
	if err != nil {
		t.Fatal(err)
	}
	torsion, _ := hex.DecodeString(small[6])
	tp, err := new(edwards25519.Point).SetBytes(torsion)
	if err != nil {
		t.Fatal(err)
	}
	mixed := new(edwards25519.Point).Add(genuine, tp).Bytes()
	if !CanonicalKey(mixed) || ValidKey(mixed) {
		t.Errorf("KEY-7: mixed-order key %x accepted", mixed)
	}
}
