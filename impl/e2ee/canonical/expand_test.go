package canonical

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"testing"
)

// rfc5869Expand is an independent, test-only transcription of RFC 5869 §2.3
// used as an oracle for Expand's info layout.
func rfc5869Expand(prk, info []byte, n int) []byte {
	var out, t []byte
	for i := byte(1); len(out) < n; i++ {
		m := hmac.New(sha256.New, prk)
		m.Write(t)
		m.Write(info)
		m.Write([]byte{i})
		t = m.Sum(nil)
		out = append(out, t...)
	}
	return out[:n]
}

// TestExpandInfo checks the info layout enc(uint64 n, text "blindpost/1 " ||
// label, bytes ctx) of spec §2.2 [ENC-3].
func TestExpandInfo(t *testing.T) {
	got := ExpandInfo(ExpandConfirm, []byte{0xaa}, 32)
	want := "0000000000000020" + "00000013" + hex.EncodeToString([]byte("blindpost/1 confirm")) + "00000001aa"
	if hex.EncodeToString(got) != want {
		t.Fatalf("info = %x, want %s", got, want)
	}
	// The info is never empty, even with an empty context. spec §2.2
	if len(ExpandInfo(ExpandI2RKey, nil, 12)) == 0 {
		t.Fatal("empty info")
	}
}

// TestExpand checks Expand against the RFC 5869 oracle for every label and the
// lengths the protocol uses, and that labels and lengths separate outputs.
// spec §2.2 [ENC-3] [ENC-4]
func TestExpand(t *testing.T) {
	secret := bytes.Repeat([]byte{7}, 32)
	ctx := []byte("context")
	seen := map[string]string{}
	for _, label := range ExpandLabels() {
		for _, n := range []int{12, 32} {
			got, err := Expand(secret, label, ctx, n)
			if err != nil {
				t.Fatal(err)
			}
			want := rfc5869Expand(secret, ExpandInfo(label, ctx, n), n)
			if !bytes.Equal(got, want) {
				t.Errorf("Expand(%q, %d) = %x, want %x", label, n, got, want)
			}
			key := hex.EncodeToString(got[:12])
			if prev, dup := seen[key]; dup {
				t.Errorf("ENC-4: %q/%d collides with %s", label, n, prev)
			}
			seen[key] = string(label)
		}
	}
}

// TestExpandRejects checks the preconditions of spec §2.2: a secret of at least
// 32 bytes and a sane length.
func TestExpandRejects(t *testing.T) {
	tests := []struct {
		name   string
		secret []byte
		n      int
	}{
		{"short secret", make([]byte, 31), 32},
		{"zero length", make([]byte, 32), 0},
		{"negative length", make([]byte, 32), -1},
		{"too long", make([]byte, 32), 255*32 + 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Expand(tt.secret, ExpandConfirm, nil, tt.n); err == nil {
				t.Fatal("accepted")
			}
		})
	}
}

// TestExtract checks Extract against HMAC-SHA256(salt, ikm) (RFC 5869 §2.2).
func TestExtract(t *testing.T) {
	salt, ikm := []byte("salt"), []byte("input keying material")
	got, err := Extract(salt, ikm)
	if err != nil {
		t.Fatal(err)
	}
	m := hmac.New(sha256.New, salt)
	m.Write(ikm)
	if !bytes.Equal(got, m.Sum(nil)) {
		t.Fatal("Extract differs from HMAC(salt, ikm)")
	}
}
