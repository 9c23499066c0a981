// Package tlstrust decides whether the client trusts a relay's TLS certificate (spec §4.1): by
// the system roots, by a CA file the user supplied, by a pinned SPKI fingerprint, or by a pin the
// user confirmed on first use and stored in a known_servers file (spec Appendix C), as SSH's
// known_hosts. It never switches verification off (TLS-3) and reports the pin of the certificate
// it verified, which the registration proof must carry (REG-11).
package tlstrust

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"strings"
)

// pinPrefix introduces the hex SHA-256 of a pin in text (spec §4.1).
const pinPrefix = "sha256:"

// Pin is the server pin of spec §4.1: SHA-256 of the DER SubjectPublicKeyInfo of the leaf
// certificate.
type Pin [sha256.Size]byte

// PinOf returns the pin of cert.
func PinOf(cert *x509.Certificate) Pin {
	return sha256.Sum256(cert.RawSubjectPublicKeyInfo)
}

// ParsePin parses the text form "sha256:" followed by 64 hex digits. Upper-case digits are
// accepted and normalised; anything else is an error.
func ParsePin(s string) (Pin, error) {
	var p Pin
	rest, ok := strings.CutPrefix(strings.TrimSpace(s), pinPrefix)
	if !ok {
		return p, fmt.Errorf("tlstrust: pin %q does not start with %q", s, pinPrefix)
	}
	if len(rest) != 2*len(p) {
		return p, fmt.Errorf("tlstrust: pin %q: want %d hex digits, got %d", s, 2*len(p), len(rest))
	}
	if _, err := hex.Decode(p[:], []byte(rest)); err != nil {
		return p, fmt.Errorf("tlstrust: pin %q: %w", s, err)
	}
	return p, nil
}

// String returns the text form "sha256:" followed by 64 lowercase hex digits.
func (p Pin) String() string { return pinPrefix + hex.EncodeToString(p[:]) }

// Bytes returns the 32 bytes of the pin, as the registration proof encodes them (spec §5.2).
func (p Pin) Bytes() []byte { return append([]byte(nil), p[:]...) }
