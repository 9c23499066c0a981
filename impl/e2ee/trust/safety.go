package trust

import (
	"crypto/sha512"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"

	"github.com/blindpost/blindpost/impl/e2ee/identity"
)

// Iterations is the number of SHA-512 iterations of a safety number.
// spec §6.6 [TRUST-5]
const Iterations = 5200

// fingerprintVersion is the 2-byte version that starts the hash input: 0, as
// in Signal's NumericFingerprint (whose hash version is 0 in every
// displayable-fingerprint version).
var fingerprintVersion = []byte{0x00, 0x00}

// NumericFingerprint is Signal's NumericFingerprint for one party, the
// generic algorithm under safety numbers (spec §6.6):
//
//	d = 0x00 0x00 || key || id
//	repeat iterations times: d = SHA-512(d || key)
//	digits = for each of the six 5-byte chunks of d[0:30]: uint40_be(chunk) mod 100000, as 5 digits
//
// It returns the party's 30 digits. Blindpost calls it with the 32-byte
// IK_public and the username; libsignal's tests call it with a 33-byte
// 0x05-prefixed key and a phone number.
func NumericFingerprint(key, id []byte, iterations int) string {
	d := make([]byte, 0, sha512.Size+len(key))
	d = append(append(append(d, fingerprintVersion...), key...), id...)
	var sum [sha512.Size]byte
	h := sha512.New()
	for i := 0; i < iterations; i++ {
		h.Reset()
		h.Write(d)
		h.Write(key)
		h.Sum(sum[:0])
		d = sum[:]
	}
	var b strings.Builder
	for i := 0; i < 30; i += 5 {
		var chunk [8]byte
		copy(chunk[3:], d[i:i+5])
		fmt.Fprintf(&b, "%05d", binary.BigEndian.Uint64(chunk[:])%100000)
	}
	return b.String()
}

// CombineFingerprints joins two parties' 30 digits, the smaller string
// (compared as text) first, into the 60 displayable digits. spec §6.6
func CombineFingerprints(a, b string) string {
	if b < a {
		a, b = b, a
	}
	return a + b
}

// SafetyNumber returns the 60-digit safety number of two users: the generic
// algorithm over (IK_public, username) for each. Both users compute the same
// number. spec §6.6 [TRUST-5]
func SafetyNumber(userA string, ikA []byte, userB string, ikB []byte) (string, error) {
	if len(ikA) != identity.PublicKeySize || len(ikB) != identity.PublicKeySize {
		return "", errors.New("e2ee: safety number: identity keys must be 32 bytes")
	}
	return CombineFingerprints(
		NumericFingerprint(ikA, []byte(userA), Iterations),
		NumericFingerprint(ikB, []byte(userB), Iterations),
	), nil
}

// FormatSafetyNumber shows 60 digits as 12 groups of 5 separated by spaces.
func FormatSafetyNumber(digits string) string {
	var groups []string
	for len(digits) > 5 {
		groups = append(groups, digits[:5])
		digits = digits[5:]
	}
	return strings.Join(append(groups, digits), " ")
}
