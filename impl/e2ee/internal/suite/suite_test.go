package suite

import (
	"bytes"
	"errors"
	"testing"

	"github.com/blindpost/blindpost/impl/e2ee"
)

// TestNonce checks nonce = iv XOR (0^32 || uint64_be(n)) of spec §6.4 [REC-1].
func TestNonce(t *testing.T) {
	iv := [NonceSize]byte{0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0x0f}
	var got [NonceSize]byte
	Nonce(&got, &iv, 0x0102)
	want := [NonceSize]byte{0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0x01, 0x0d}
	if got != want {
		t.Fatalf("nonce = %x, want %x", got, want)
	}
	Nonce(&got, &iv, 0)
	if got != iv {
		t.Fatal("nonce(0) != iv")
	}
}

// TestNewAEADKeySizes checks VEC-4: only 32-byte keys make an AEAD.
func TestNewAEADKeySizes(t *testing.T) {
	for _, n := range []int{0, 16, 24, 31, 33} {
		if _, err := NewAEAD(make([]byte, n)); err == nil {
			t.Errorf("VEC-4: %d-byte key accepted", n)
		}
	}
	a, err := NewAEAD(make([]byte, 32))
	if err != nil || a.NonceSize() != NonceSize || a.Overhead() != TagSize {
		t.Fatalf("VEC-4: aead %v, %v", a, err)
	}
}

// TestX25519ZeroOutput checks HS-6: a low-order peer value gives
// low_order_point, and a wrong length is refused without a panic.
func TestX25519ZeroOutput(t *testing.T) {
	priv, _, err := NewEphemeral(bytes.NewReader(bytes.Repeat([]byte{1}, 32)))
	if err != nil {
		t.Fatal(err)
	}
	_, err = X25519(priv, make([]byte, 32))
	if !errors.Is(err, e2ee.LowOrderPoint) {
		t.Fatalf("HS-6: zero point gave %v", err)
	}
	if _, err := X25519(priv, make([]byte, 31)); err == nil {
		t.Fatal("short public value accepted")
	}
}

// TestNewEphemeralReader checks that ephemerals come from the injected reader
// (vectors) and fail cleanly when it runs dry.
func TestNewEphemeralReader(t *testing.T) {
	seed := bytes.Repeat([]byte{9}, 32)
	a, _, err := NewEphemeral(bytes.NewReader(seed))
	if err != nil {
		t.Fatal(err)
	}
	b, _, _ := NewEphemeral(bytes.NewReader(seed))
	if !a.Equal(b) {
		t.Fatal("same reader bytes gave different keys")
	}
	if _, _, err := NewEphemeral(bytes.NewReader(seed[:5])); err == nil {
		t.Fatal("short reader accepted")
	}
}
