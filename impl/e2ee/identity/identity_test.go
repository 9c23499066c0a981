package identity

import (
	"bytes"
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/blindpost/blindpost/impl/e2ee"
	"github.com/blindpost/blindpost/impl/e2ee/canonical"
)

func seedOf(b byte) []byte { return bytes.Repeat([]byte{b}, SeedSize) }

func mustKey(t testing.TB, b byte) *PrivateKey {
	t.Helper()
	k, err := FromSeed(seedOf(b))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestFromSeed checks §3.1: the identity is the RFC 8032 key of its seed, and
// §3.2: gk_private = Expand(seed, "group private key", IK_public, 32).
func TestFromSeed(t *testing.T) {
	seed := seedOf(3)
	k := mustKey(t, 3)
	if want := ed25519.NewKeyFromSeed(seed).Public().(ed25519.PublicKey); !bytes.Equal(k.Public(), want) {
		t.Fatal("KEY-1: public key is not the seed's")
	}
	scalar, err := canonical.Expand(seed, canonical.ExpandGroupKey, k.Public(), 32)
	if err != nil {
		t.Fatal(err)
	}
	gk, _ := ecdh.X25519().NewPrivateKey(scalar)
	if !bytes.Equal(k.GroupPublic(), gk.PublicKey().Bytes()) {
		t.Fatal("§3.2: group key is not Expand(seed, \"group key\", IK_public, 32)")
	}
	if !bytes.Equal(k.Seed(), seed) {
		t.Fatal("Seed() differs")
	}
	for _, n := range []int{0, 31, 33, 64} {
		if _, err := FromSeed(make([]byte, n)); err == nil {
			t.Errorf("%d-byte seed accepted", n)
		}
	}
}

// TestGenerate checks KEY-1: the seed comes from the reader given (crypto/rand
// when nil), and a short reader is an error.
func TestGenerate(t *testing.T) {
	k, err := Generate(bytes.NewReader(seedOf(5)))
	if err != nil || !bytes.Equal(k.Seed(), seedOf(5)) {
		t.Fatalf("KEY-1: %v", err)
	}
	a, _ := Generate(nil)
	b, _ := Generate(nil)
	if bytes.Equal(a.Seed(), b.Seed()) {
		t.Fatal("KEY-1: two random identities are equal")
	}
	if _, err := Generate(bytes.NewReader(seedOf(5)[:10])); err == nil {
		t.Fatal("short reader accepted")
	}
}

// TestAccessorsCopy checks that callers cannot change a key through the
// slices it returns.
func TestAccessorsCopy(t *testing.T) {
	k := mustKey(t, 1)
	k.Public()[0] ^= 1
	k.GroupPublic()[0] ^= 1
	k.Seed()[0] ^= 1
	if !bytes.Equal(k.Public(), mustKey(t, 1).Public()) || !bytes.Equal(k.GroupPublic(), mustKey(t, 1).GroupPublic()) {
		t.Fatal("accessor returned internal storage")
	}
}

// TestGroupKeySig checks KEY-4 and KEY-5: the signature over "blindpost/1
// group key" || enc(user, GK) verifies for the right user and key only.
func TestGroupKeySig(t *testing.T) {
	k, other := mustKey(t, 1), mustKey(t, 2)
	sig := k.GroupKeySig("alice")
	msg := append([]byte("blindpost/1 group key"), canonical.AppendBytes(canonical.AppendText(nil, "alice"), k.GroupPublic())...)
	if !ed25519.Verify(k.Public(), msg, sig) {
		t.Fatal("KEY-4: signature is not over the spec's message")
	}
	if err := VerifyGroupKeySig("alice", k.Public(), k.GroupPublic(), sig); err != nil {
		t.Fatalf("KEY-5: %v", err)
	}
	bad := []struct {
		name      string
		user      string
		ik, gk, s []byte
	}{
		{"other user", "bob", k.Public(), k.GroupPublic(), sig},
		{"other identity key", "alice", other.Public(), k.GroupPublic(), sig},
		{"other group key", "alice", k.Public(), other.GroupPublic(), sig},
		{"flipped signature", "alice", k.Public(), k.GroupPublic(), flip(sig, 5)},
		{"short signature", "alice", k.Public(), k.GroupPublic(), sig[:63]},
		{"short identity key", "alice", k.Public()[:31], k.GroupPublic(), sig},
		{"short group key", "alice", k.Public(), k.GroupPublic()[:31], sig},
	}
	for _, tt := range bad {
		t.Run("KEY-5 "+tt.name, func(t *testing.T) {
			err := VerifyGroupKeySig(tt.user, tt.ik, tt.gk, tt.s)
			if !errors.Is(err, e2ee.BadSignature) {
				t.Fatalf("got %v, want bad_signature", err)
			}
		})
	}
}

func flip(b []byte, i int) []byte {
	c := append([]byte(nil), b...)
	c[i%len(c)] ^= 1
	return c
}

// TestRegisterProof checks §5.2 (REG-3, REG-11): the proof covers challenge,
// server pin, user and both keys, and changing any of them breaks it.
func TestRegisterProof(t *testing.T) {
	k := mustKey(t, 1)
	challenge, pin := bytes.Repeat([]byte{0xc}, 32), bytes.Repeat([]byte{0xd}, 32)
	proof, err := k.RegisterProof(challenge, pin, "alice")
	if err != nil {
		t.Fatal(err)
	}
	ik, gk := k.Public(), k.GroupPublic()
	if err := VerifyRegisterProof(challenge, pin, "alice", ik, gk, proof); err != nil {
		t.Fatalf("REG-3: %v", err)
	}
	other := mustKey(t, 2)
	bad := []struct {
		name          string
		c, p          []byte
		user          string
		ik, gk, proof []byte
	}{
		{"other challenge", flip(challenge, 0), pin, "alice", ik, gk, proof},
		{"other server pin (REG-11)", challenge, flip(pin, 0), "alice", ik, gk, proof},
		{"other user", challenge, pin, "bob", ik, gk, proof},
		{"other identity key", challenge, pin, "alice", other.Public(), gk, proof},
		{"other group key", challenge, pin, "alice", ik, other.GroupPublic(), proof},
		{"flipped proof", challenge, pin, "alice", ik, gk, flip(proof, 9)},
		{"short challenge", challenge[:31], pin, "alice", ik, gk, proof},
		{"empty proof", challenge, pin, "alice", ik, gk, nil},
	}
	for _, tt := range bad {
		t.Run("REG-3 "+tt.name, func(t *testing.T) {
			err := VerifyRegisterProof(tt.c, tt.p, tt.user, tt.ik, tt.gk, tt.proof)
			var e *e2ee.Error
			if !errors.As(err, &e) || e.Outcome != e2ee.BadSignature || e.Rule != "REG-3" {
				t.Fatalf("got %v", err)
			}
		})
	}
	if _, err := k.RegisterProof(challenge[:5], pin, "alice"); err == nil {
		t.Fatal("short challenge signed")
	}
}

// TestFingerprint checks §3.3: "sha256:" and the lowercase hex of SHA-256(IK).
func TestFingerprint(t *testing.T) {
	k := mustKey(t, 1)
	sum := sha256.Sum256(k.Public())
	got := Fingerprint(k.Public())
	if got != "sha256:"+hex.EncodeToString(sum[:]) || got != strings.ToLower(got) || len(got) != 71 {
		t.Fatalf("fingerprint %q", got)
	}
}

// TestVerifyNeverPanics checks that hostile lengths give false, not a panic.
func TestVerifyNeverPanics(t *testing.T) {
	for _, n := range []int{0, 31, 33} {
		if Verify(make([]byte, n), nil, make([]byte, 64)) {
			t.Fatal("verified")
		}
	}
}

// TestGroupWrap checks that a wrap to a group key opens with that identity's
// key and the same info only (§7.1, GRP-8, KEY-6).
func TestGroupWrap(t *testing.T) {
	k, other := mustKey(t, 1), mustKey(t, 2)
	secret := bytes.Repeat([]byte{0x5e}, 32)
	wrap, err := SealGroupWrap(k.GroupPublic(), []byte("info"), secret)
	if err != nil {
		t.Fatal(err)
	}
	if len(wrap) != WrapSize {
		t.Fatalf("wrap is %d bytes", len(wrap))
	}
	got, err := k.OpenGroupWrap([]byte("info"), wrap)
	if err != nil || !bytes.Equal(got, secret) {
		t.Fatalf("open: %v", err)
	}
	for name, try := range map[string]func() ([]byte, error){
		"other key":  func() ([]byte, error) { return other.OpenGroupWrap([]byte("info"), wrap) },
		"other info": func() ([]byte, error) { return k.OpenGroupWrap([]byte("infO"), wrap) },
		"flipped":    func() ([]byte, error) { return k.OpenGroupWrap([]byte("info"), flip(wrap, 40)) },
		"truncated":  func() ([]byte, error) { return k.OpenGroupWrap([]byte("info"), wrap[:79]) },
	} {
		if _, err := try(); !errors.Is(err, e2ee.BadWrap) {
			t.Errorf("GRP-8 %s: got %v", name, err)
		}
	}
	if _, err := SealGroupWrap(make([]byte, 31), nil, secret); err == nil {
		t.Fatal("short group key accepted")
	}
}

// TestErase checks that an erased identity no longer opens wraps.
func TestErase(t *testing.T) {
	k := mustKey(t, 1)
	k.Erase()
	if !bytes.Equal(k.seed, make([]byte, 32)) {
		t.Fatal("seed not erased")
	}
	if _, err := k.OpenGroupWrap(nil, make([]byte, WrapSize)); err == nil {
		t.Fatal("erased key opened a wrap")
	}
}
