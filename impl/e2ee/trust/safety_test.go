package trust

import (
	"bytes"
	"crypto/sha512"
	"encoding/hex"
	"fmt"
	"math/big"
	"strings"
	"testing"

	"github.com/blindpost/blindpost/impl/e2ee/identity"
)

// libsignal's NumericFingerprintGeneratorTest (testVectorsVersion1, and
// fingerprint_test_v1 in libsignal's Rust fingerprint.rs): the identity keys
// with their 0x05 type byte, the stable ids, 5200 iterations, and the
// displayable fingerprint both parties see.
const (
	libsignalAlice   = "0506863bc66d02b40d27b8d49ca7c09e9239236f9d7d25d6fcca5ce13c7064d868"
	libsignalBob     = "05f781b6fb32fed9ba1cf2de978d4d5da28dc34046ae814402b5c0dbd96fda907b"
	libsignalAliceID = "+14152222222"
	libsignalBobID   = "+14153333333"
	libsignalDisplay = "300354477692869396892869876765458257569162576843440918079131"
)

// TestLibsignalNumericFingerprint checks TRUST-5: the generic algorithm under
// our safety numbers reproduces libsignal's published fingerprint.
func TestLibsignalNumericFingerprint(t *testing.T) {
	alice, _ := hex.DecodeString(libsignalAlice)
	bob, _ := hex.DecodeString(libsignalBob)
	a := NumericFingerprint(alice, []byte(libsignalAliceID), Iterations)
	b := NumericFingerprint(bob, []byte(libsignalBobID), Iterations)
	if got := CombineFingerprints(a, b); got != libsignalDisplay {
		t.Fatalf("TRUST-5: got %s, want %s", got, libsignalDisplay)
	}
	if CombineFingerprints(b, a) != libsignalDisplay {
		t.Fatal("TRUST-5: order of the parties matters")
	}
}

// specSafetyHalf transcribes §6.6 for one party, independently of
// NumericFingerprint.
func specSafetyHalf(ik []byte, user string) string {
	d := append(append([]byte{0, 0}, ik...), user...)
	for i := 0; i < 5200; i++ {
		s := sha512.Sum512(append(d, ik...))
		d = s[:]
	}
	var out string
	for i := 0; i < 6; i++ {
		v := new(big.Int).SetBytes(d[5*i : 5*i+5])
		out += fmt.Sprintf("%05d", new(big.Int).Mod(v, big.NewInt(100000)).Int64())
	}
	return out
}

// TestSafetyNumber checks §6.6 [TRUST-5]: the generic algorithm over
// (IK_public, username), the smaller half first, 60 digits in 12 groups as
// a client shows them (TRUST-4).
func TestSafetyNumber(t *testing.T) {
	a, _ := identity.FromSeed(bytes.Repeat([]byte{1}, 32))
	b, _ := identity.FromSeed(bytes.Repeat([]byte{2}, 32))
	got, err := SafetyNumber("alice", a.Public(), "bob", b.Public())
	if err != nil {
		t.Fatal(err)
	}
	ha, hb := specSafetyHalf(a.Public(), "alice"), specSafetyHalf(b.Public(), "bob")
	want := ha + hb
	if hb < ha {
		want = hb + ha
	}
	if got != want || len(got) != 60 {
		t.Fatalf("TRUST-5: got %s, want %s", got, want)
	}
	if other, _ := SafetyNumber("bob", b.Public(), "alice", a.Public()); other != got {
		t.Fatal("TRUST-5: the two users see different numbers")
	}
	c, _ := identity.FromSeed(bytes.Repeat([]byte{3}, 32))
	if sub, _ := SafetyNumber("alice", a.Public(), "bob", c.Public()); sub == got {
		t.Fatal("a substituted key gives the same number")
	}
	if renamed, _ := SafetyNumber("alice", a.Public(), "bobby", b.Public()); renamed == got {
		t.Fatal("the username is not bound")
	}
	shown := FormatSafetyNumber(got)
	if groups := strings.Fields(shown); len(groups) != 12 || len(groups[0]) != 5 || strings.Join(groups, "") != got {
		t.Fatalf("shown as %q", shown)
	}
	if _, err := SafetyNumber("a", a.Public()[:31], "b", b.Public()); err == nil {
		t.Fatal("short key accepted")
	}
}
