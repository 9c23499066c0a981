package gen

import (
	"crypto/sha512"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/blindpost/blindpost/impl/e2ee/trust"
	"github.com/blindpost/blindpost/vectors"
)

// digits30 is one party's half of a safety number (spec §6.6), written
// from the spec: d = 0x00 0x00 || key || id, then d = SHA-512(d || key)
// iterations times, then each 5-byte chunk of d[0:30] mod 100000.
func digits30(key, id []byte, iterations int) string {
	d := cat([]byte{0, 0}, key, id)
	for range iterations {
		sum := sha512.Sum512(cat(d, key))
		d = sum[:]
	}
	var b strings.Builder
	for i := 0; i < 30; i += 5 {
		var v uint64
		for _, c := range d[i : i+5] {
			v = v<<8 | uint64(c)
		}
		fmt.Fprintf(&b, "%05d", v%100000)
	}
	return b.String()
}

// combine puts the smaller half first.
func combine(a, b string) string {
	if b < a {
		a, b = b, a
	}
	return a + b
}

// display shows 60 digits in 12 groups of 5.
func display(d string) string {
	var groups []string
	for i := 0; i < len(d); i += 5 {
		groups = append(groups, d[i:i+5])
	}
	return strings.Join(groups, " ")
}

// libsignal's NumericFingerprintGeneratorTest, testVectorsVersion1 (and
// fingerprint_test_v1 of libsignal's Rust fingerprint.rs): the published
// inputs and displayable fingerprint.
const (
	libsignalAliceKey = "0506863bc66d02b40d27b8d49ca7c09e9239236f9d7d25d6fcca5ce13c7064d868"
	libsignalBobKey   = "05f781b6fb32fed9ba1cf2de978d4d5da28dc34046ae814402b5c0dbd96fda907b"
	libsignalAliceID  = "+14152222222"
	libsignalBobID    = "+14153333333"
	libsignalDisplay  = "300354477692869396892869876765458257569162576843440918079131"
)

// safetyVectors generates safety_numbers.json.
func safetyVectors() *vectors.SafetyNumbers {
	out := &vectors.SafetyNumbers{Meta: meta("safety_numbers",
		"Safety numbers (spec §6.6): each party's hash input and 30 digits, the 60-digit number and how it is shown; "+
			"and libsignal's published NumericFingerprint case with its own inputs, which the same algorithm reproduces.")}
	half := func(name, user string) vectors.SafetyParty {
		ik := []byte(idOf(name).Public())
		return vectors.SafetyParty{User: user, IdentityKey: ik, HashInput: cat([]byte{0, 0}, ik, []byte(user)), Digits: digits30(ik, []byte(user), 5200)}
	}
	for _, c := range []struct {
		id, comment string
		a, b        vectors.SafetyParty
	}{
		{"alice-bob", "alice and bob.", half("alice", "alice"), half("bob", "bob")},
		{"max-length-usernames", "Two 32-character usernames.", half(name32("i"), name32("i")), half(name32("r"), name32("r"))},
		{"one-key-two-names", "The same identity key under two usernames: the username is part of the hash input.", half("carol", "carol"), half("carol", "carol2")},
		{"carol-dave", "carol and dave.", half("carol", "carol"), half("dave", "dave")},
	} {
		d := combine(c.a.Digits, c.b.Digits)
		got := must(trust.SafetyNumber(c.a.User, c.a.IdentityKey, c.b.User, c.b.IdentityKey))
		check(got == d && trust.FormatSafetyNumber(d) == display(d), "%s: safety number differs from impl/e2ee/trust", c.id)
		out.Pairs = append(out.Pairs, vectors.SafetyPair{ID: c.id, Comment: c.comment, Rules: []string{"TRUST-4", "TRUST-5"},
			A: c.a, B: c.b, Digits: d, Display: display(d)})
	}
	ak, bk := must(hex.DecodeString(libsignalAliceKey)), must(hex.DecodeString(libsignalBobKey))
	a, b := digits30(ak, []byte(libsignalAliceID), 5200), digits30(bk, []byte(libsignalBobID), 5200)
	check(combine(a, b) == libsignalDisplay, "libsignal's fingerprint is not reproduced")
	out.Libsignal = vectors.LibsignalVector{
		Comment: "libsignal's NumericFingerprintGeneratorTest (testVectorsVersion1; fingerprint_test_v1 in libsignal's fingerprint.rs): " +
			"the published inputs and displayable fingerprint, not Blindpost inputs. Run the per-party algorithm of spec §6.6 with key " +
			"(33 bytes with the 0x05 type byte) in place of IK_public and stable_id in place of the username.",
		Rules: []string{"TRUST-5"}, Iterations: 5200,
		A:      vectors.LibsignalParty{StableID: libsignalAliceID, Key: ak, Digits: a},
		B:      vectors.LibsignalParty{StableID: libsignalBobID, Key: bk, Digits: b},
		Digits: libsignalDisplay,
	}
	return out
}
