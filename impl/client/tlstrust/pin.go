// Package tlstrust decides whether the client trusts a relay's TLS certificate (spec §4.1): by
// the system roots, by a CA file the user supplied, by a pinned SPKI fingerprint, or by a pin the
// user confirmed on first use and stored in a known_servers file (spec Appendix C), as SSH's
// known_hosts. It never switches verification off (TLS-3) and reports the pin of the certificate
// it verified, which the registration proof must carry (REG-11).
package tlstrust

import "github.com/blindpost/blindpost/internal/tlspin"

// Pin is the server pin of spec §4.1: SHA-256 of the DER SubjectPublicKeyInfo of the leaf
// certificate, written "sha256:" followed by 64 lowercase hex digits.
//
// It is internal/tlspin.Pin, the one pin type of this module. The alias is the name the client
// library's API gives it (Policy, Verified, KnownServers, client.Options.ConfirmServer): a program
// outside this module cannot import an internal package, yet must be able to name the pin it
// passes and receives.
type Pin = tlspin.Pin

// ParsePin parses a pin the user typed or pasted: "sha256:" followed by 64 hex digits, white
// space around it ignored and upper-case digits accepted (tlspin.ParseLenient). It is here for
// the same reason as Pin.
func ParsePin(s string) (Pin, error) { return tlspin.ParseLenient(s) }
