package canonical

import (
	"crypto/hkdf"
	"crypto/sha256"
	"errors"
	"fmt"
)

// MinSecretSize is the smallest secret Expand accepts: spec §2.2 requires a
// pseudorandom key of at least 32 bytes.
const MinSecretSize = 32

// maxExpand is the longest HKDF-SHA256 output (RFC 5869 §2.3).
const maxExpand = 255 * sha256.Size

// Expand is the single key-derivation helper of spec §2.2:
//
//	Expand(secret, label, ctx, n) = HKDF-Expand(secret, enc(uint64 n, text "blindpost/1 " || label, bytes ctx), n)
//
// The info is never empty because it always holds n and the label.
// spec §2.2 [ENC-3]
func Expand(secret []byte, label ExpandLabel, ctx []byte, n int) ([]byte, error) {
	if len(secret) < MinSecretSize {
		return nil, fmt.Errorf("e2ee: expand %q: secret is %d bytes, want at least %d", label, len(secret), MinSecretSize)
	}
	if n <= 0 || n > maxExpand {
		return nil, fmt.Errorf("e2ee: expand %q: length %d out of range", label, n)
	}
	return HKDFExpand(secret, ExpandInfo(label, ctx, n), n)
}

// ExpandInfo returns the HKDF info that [Expand] uses; test vectors show it.
func ExpandInfo(label ExpandLabel, ctx []byte, n int) []byte {
	info := make([]byte, 0, 8+4+len(Prefix)+len(label)+4+len(ctx))
	info = AppendUint64(info, uint64(n))
	info = AppendText(info, Prefix+string(label))
	return AppendBytes(info, ctx)
}

// Extract is HKDF-Extract with SHA-256 (RFC 5869 §2.2), as the handshake uses
// it: prk = HKDF-Extract(salt = h, ikm = dh). spec §6.3
func Extract(salt, ikm []byte) ([]byte, error) {
	prk, err := hkdf.Extract(sha256.New, ikm, salt)
	if err != nil {
		return nil, fmt.Errorf("e2ee: hkdf extract: %w", err)
	}
	return prk, nil
}

// HKDFExpand is HKDF-Expand with SHA-256 (RFC 5869 §2.3), the primitive under
// [Expand]. It is exported for the Wycheproof and vector tests; protocol
// code derives keys through Expand only (ENC-3).
func HKDFExpand(prk, info []byte, n int) ([]byte, error) {
	if n <= 0 || n > maxExpand {
		return nil, errors.New("e2ee: hkdf expand: invalid output length")
	}
	out, err := hkdf.Expand(sha256.New, prk, string(info), n)
	if err != nil {
		return nil, fmt.Errorf("e2ee: hkdf expand: %w", err)
	}
	return out, nil
}
