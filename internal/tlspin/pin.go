// Package tlspin holds the TLS plumbing that the relay, the client, the benchmarks and the
// conformance runner share: the server pin of spec §4.1 (SHA-256 of the DER SubjectPublicKeyInfo
// of the leaf certificate, written "sha256:" followed by 64 lowercase hex digits), self-signed
// certificates and the store that keeps the relay's across restarts ([TLS-5]), and WebSocket
// dialers that offer the subprotocol of spec §4.2 [WS-1] over TLS 1.3, pinned or not.
//
// A pin is public (the relay prints it, known_servers stores it), so pins are compared with ==.
package tlspin

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"strings"
)

// Prefix introduces the hex SHA-256 of a pin in text (spec §4.1).
const Prefix = "sha256:"

// Pin is the server pin of spec §4.1: SHA-256 of the DER SubjectPublicKeyInfo of the leaf
// certificate.
type Pin [sha256.Size]byte

// Of returns the pin of cert.
func Of(cert *x509.Certificate) Pin { return sha256.Sum256(cert.RawSubjectPublicKeyInfo) }

// String returns "sha256:" followed by 64 lowercase hex digits.
func (p Pin) String() string { return Prefix + hex.EncodeToString(p[:]) }

// Bytes returns a copy of the 32 bytes of the pin, as the registration proof encodes them (spec
// §5.2).
func (p Pin) Bytes() []byte { return append([]byte(nil), p[:]...) }

// Parse parses the text form of spec §4.1 exactly: "sha256:" and 64 lowercase hex digits, with
// nothing around them. Configuration that a program wrote (the relay's --public-pin, a
// conformance run's --pin) is read this way.
func Parse(s string) (Pin, error) {
	var p Pin
	rest, ok := strings.CutPrefix(s, Prefix)
	if !ok || len(rest) != 2*len(p) || strings.ToLower(rest) != rest {
		return p, fmt.Errorf("tlspin: pin %q is not %q followed by 64 lowercase hex digits", s, Prefix)
	}
	if _, err := hex.Decode(p[:], []byte(rest)); err != nil {
		return p, fmt.Errorf("tlspin: pin %q: %w", s, err)
	}
	return p, nil
}

// ParseLenient parses a pin a person typed or pasted: surrounding white space is ignored and
// upper-case hex digits are accepted (String writes the canonical form back); anything else
// is an error that says what is wrong.
func ParseLenient(s string) (Pin, error) {
	var p Pin
	rest, ok := strings.CutPrefix(strings.TrimSpace(s), Prefix)
	if !ok {
		return p, fmt.Errorf("tlspin: pin %q does not start with %q", s, Prefix)
	}
	if len(rest) != 2*len(p) {
		return p, fmt.Errorf("tlspin: pin %q: want %d hex digits, got %d", s, 2*len(p), len(rest))
	}
	if _, err := hex.Decode(p[:], []byte(rest)); err != nil {
		return p, fmt.Errorf("tlspin: pin %q: %w", s, err)
	}
	return p, nil
}
