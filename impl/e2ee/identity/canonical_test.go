package identity

import (
	"crypto/ed25519"
	"math/big"
	"testing"
)

// le encodes v as 32 little-endian bytes.
func le(v *big.Int) []byte {
	b := v.FillBytes(make([]byte, 32))
	for i, j := 0, 31; i < j; i, j = i+1, j-1 {
		b[i], b[j] = b[j], b[i]
	}
	return b
}

// TestCanonicalKey checks the key encodings RFC 8032 §5.1.3 rejects: y at or
// above p, and a sign bit on a point whose x is 0. spec §8 [VEC-3]
func TestCanonicalKey(t *testing.T) {
	p := new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 255), big.NewInt(19))
	add := func(v *big.Int, d int64) *big.Int { return new(big.Int).Add(v, big.NewInt(d)) }
	signed := func(b []byte) []byte { b[31] |= 0x80; return b }
	pub, _, _ := ed25519.GenerateKey(nil)
	tests := []struct {
		name string
		key  []byte
		want bool
	}{
		{"a real key", pub, true},
		{"y = 1 (neutral point)", le(big.NewInt(1)), true},
		{"y = p-1", le(add(p, -1)), true},
		{"y = p-20", le(add(p, -20)), true},
		{"y = p", le(p), false},
		{"y = p+1 (neutral point written long)", le(add(p, 1)), false},
		{"y = 2^255-1", le(add(p, 18)), false},
		{"y = 1 with the sign bit", signed(le(big.NewInt(1))), false},
		{"y = p-1 with the sign bit", signed(le(add(p, -1))), false},
		{"y = 2 with the sign bit", signed(le(big.NewInt(2))), true},
		{"short", pub[:31], false},
	}
	for _, tc := range tests {
		if got := CanonicalKey(tc.key); got != tc.want {
			t.Errorf("%s: CanonicalKey = %v, want %v", tc.name, got, tc.want)
		}
	}
	// crypto/ed25519 (Go 1.26) accepts the signature (R = neutral point, S = 0)
	// under the long encoding of the neutral point; Verify must refuse it.
	sig := append(le(big.NewInt(1)), make([]byte, 32)...)
	if Verify(le(add(p, 1)), []byte("m"), sig) {
		t.Error("VEC-3: a signature under a non-canonical key verified")
	}
}
