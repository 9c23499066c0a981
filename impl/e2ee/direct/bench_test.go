package direct

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
	"testing"
)

// Each protocol benchmark has a baseline sub-benchmark beside it that makes
// the same standard-library primitive calls with fixed inputs, so the ratio
// of the two (measured in the same run) is the protocol's overhead.

// BenchmarkHandshake runs both sides of a full handshake.
func BenchmarkHandshake(b *testing.B) {
	a, r := newParty(b, "alice", 1), newParty(b, "bob", 2)
	ci, cr := configs(a, r, 1)
	ci.Trace, cr.Trace = nil, nil
	ci.Rand, cr.Rand = bytes.NewReader(nil), bytes.NewReader(nil)
	eph := bytes.Repeat([]byte{0x77}, 32)
	b.Run("protocol", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			ci.Rand, cr.Rand = bytes.NewReader(eph), bytes.NewReader(eph)
			handshake(b, ci, cr)
		}
	})
	b.Run("baseline", func(b *testing.B) {
		privI, privR := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{1}, 32)), ed25519.NewKeyFromSeed(bytes.Repeat([]byte{2}, 32))
		b.ReportAllocs()
		for b.Loop() {
			baselineHandshake(b, privI, privR, eph)
		}
	})
}

// baselineHandshake makes the primitive calls of one handshake, both sides:
// 2 X25519 key generations, 18 SHA-256 transcript steps, 2 X25519, 2
// HKDF-Extract, 12 HKDF-Expand, 2 Ed25519 signatures and verifications, 4
// HMACs and 4 AES-GCM instances.
func baselineHandshake(b *testing.B, privI, privR ed25519.PrivateKey, eph []byte) {
	eI, _ := ecdh.X25519().NewPrivateKey(eph)
	eR, _ := ecdh.X25519().NewPrivateKey(eph)
	pubI, pubR := eI.PublicKey(), eR.PublicKey()
	_, _ = pubI.Bytes(), pubR.Bytes()
	h := sha256.Sum256([]byte("blindpost/1"))
	for i := 0; i < 18; i++ {
		h = sha256.Sum256(append(h[:], make([]byte, 40)...))
	}
	for _, pair := range [][2]any{{eR, pubI}, {eI, pubR}} {
		dh, _ := pair[0].(*ecdh.PrivateKey).ECDH(pair[1].(*ecdh.PublicKey))
		prk, _ := hkdf.Extract(sha256.New, dh, h[:])
		for i := 0; i < 6; i++ {
			hkdf.Expand(sha256.New, prk, "0123456789012345678901234567890123456789012345678901234567890", 32)
		}
	}
	for _, p := range []struct {
		priv ed25519.PrivateKey
	}{{privR}, {privI}} {
		sig := ed25519.Sign(p.priv, h[:])
		if !ed25519.Verify(p.priv.Public().(ed25519.PublicKey), h[:], sig) {
			b.Fatal("verify")
		}
		for i := 0; i < 2; i++ {
			m := hmac.New(sha256.New, h[:])
			m.Write(h[:])
			m.Sum(nil)
		}
	}
	for i := 0; i < 4; i++ {
		block, _ := aes.NewCipher(h[:])
		cipher.NewGCM(block)
	}
}

var recordSizes = []int{200, 4096}

// BenchmarkSeal seals one msg record.
func BenchmarkSeal(b *testing.B) {
	for _, size := range recordSizes {
		si, _, ci, _ := pair(b)
		pt := make([]byte, size)
		dst := make([]byte, 0, size+64)
		b.Run(fmt.Sprintf("%dB/protocol", size), func(b *testing.B) {
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				if si.send.next >= MaxRecords-2 {
					si.send.next = 0
				}
				if _, err := si.Seal(dst, pt); err != nil {
					b.Fatal(err)
				}
			}
		})
		aead, nonce, ad := rawAEAD(ci.Trace.KeyI2R, ci.Trace.IVI2R, ci.Trace.H)
		b.Run(fmt.Sprintf("%dB/baseline", size), func(b *testing.B) {
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				aead.Seal(dst, nonce, pt, ad)
			}
		})
	}
}

// BenchmarkOpen opens one msg record (the same record, its counter reset
// between iterations, so the replay check passes).
func BenchmarkOpen(b *testing.B) {
	for _, size := range recordSizes {
		si, sr, ci, _ := pair(b)
		rec, _ := si.Seal(nil, make([]byte, size))
		dst := make([]byte, 0, size+64)
		b.Run(fmt.Sprintf("%dB/protocol", size), func(b *testing.B) {
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				sr.recv.any = false
				if _, err := sr.Open(dst, rec); err != nil {
					b.Fatal(err)
				}
			}
		})
		aead, nonce, ad := rawAEAD(ci.Trace.KeyI2R, ci.Trace.IVI2R, ci.Trace.H)
		b.Run(fmt.Sprintf("%dB/baseline", size), func(b *testing.B) {
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := aead.Open(dst, nonce, rec.CT, ad); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// rawAEAD is the bare AES-256-GCM of the i2r direction with the nonce and
// associated data of record 0.
func rawAEAD(key, iv, h []byte) (cipher.AEAD, []byte, []byte) {
	block, _ := aes.NewCipher(key)
	aead, _ := cipher.NewGCM(block)
	return aead, Nonce(iv, 0), AppendAD(nil, KindMsg, h, "alice", "bob", 0)
}
