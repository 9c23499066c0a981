// Package suite holds the primitives of the one cipher suite of spec §6.2,
// x25519-hkdf-sha256-aes256gcm, as the 1:1 and group protocols call them:
// ephemeral X25519 keys and the X25519 step with its all-zero check (HS-6,
// VEC-2), and AES-256-GCM with 12-byte counter nonces and 16-byte tags
// (§6.4, §7.2, VEC-4). Both protocols share this code so that the Wycheproof
// tests exercise the exact path they use.
package suite

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"io"

	"github.com/blindpost/blindpost/impl/e2ee"
)

// Sizes of the suite's values.
const (
	KeySize   = 32 // AES-256 key, X25519 scalar and public value
	NonceSize = 12 // AES-GCM nonce and record IV
	TagSize   = 16 // AES-GCM tag
)

// NewEphemeral creates an X25519 key pair from 32 bytes of rand (nil means
// crypto/rand). It reads the scalar itself because ecdh's GenerateKey ignores
// its reader since Go 1.26, and tests and vectors inject ephemerals. The
// caller erases the returned scalar bytes once the key is no longer needed.
func NewEphemeral(r io.Reader) (*ecdh.PrivateKey, []byte, error) {
	if r == nil {
		r = rand.Reader
	}
	scalar := make([]byte, KeySize)
	if _, err := io.ReadFull(r, scalar); err != nil {
		return nil, nil, fmt.Errorf("e2ee: read ephemeral randomness: %w", err)
	}
	priv, err := ecdh.X25519().NewPrivateKey(scalar)
	if err != nil {
		return nil, nil, fmt.Errorf("e2ee: ephemeral key: %w", err)
	}
	return priv, scalar, nil
}

// X25519 computes X25519(priv, peer). Every 32-byte peer value is accepted
// (RFC 7748: the high bit is ignored) and only an all-zero output is
// rejected, as low_order_point. spec §6.3 [HS-6], §8 [VEC-2]
func X25519(priv *ecdh.PrivateKey, peer []byte) ([]byte, error) {
	if len(peer) != KeySize {
		return nil, e2ee.Reject(e2ee.Malformed, "MSG-1", "ephemeral public key is %d bytes, not %d", len(peer), KeySize)
	}
	pub, err := ecdh.X25519().NewPublicKey(peer)
	if err != nil {
		return nil, e2ee.Wrap(e2ee.Malformed, "MSG-1", err, "ephemeral public key")
	}
	// crypto/ecdh returns an error exactly when the output is all zero.
	shared, err := priv.ECDH(pub)
	if err != nil {
		return nil, e2ee.Wrap(e2ee.LowOrderPoint, "HS-6", err, "X25519 output is all zero")
	}
	return shared, nil
}

// NewAEAD returns AES-256-GCM with the standard 12-byte nonce and 16-byte
// tag for a 32-byte key. Other key sizes are refused, so AES-128 or AES-192
// can never be selected by a short key. spec §8 [VEC-4]
func NewAEAD(key []byte) (cipher.AEAD, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("e2ee: aead key is %d bytes, want %d", len(key), KeySize)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("e2ee: aes: %w", err)
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("e2ee: gcm: %w", err)
	}
	return gcm, nil
}

// Nonce writes iv XOR (0x00000000 || uint64_be(n)) into dst, the counter
// nonce of spec §6.4 and §7.2.
func Nonce(dst, iv *[NonceSize]byte, n uint64) {
	copy(dst[:4], iv[:4])
	binary.BigEndian.PutUint64(dst[4:], binary.BigEndian.Uint64(iv[4:])^n)
}

// Erase overwrites b with zeros. Go may have copied a secret elsewhere (the
// key schedules inside crypto/aes and crypto/ecdh cannot be reached), so this
// erases what the package holds and drops the rest to the garbage collector.
func Erase(b []byte) {
	clear(b)
}
