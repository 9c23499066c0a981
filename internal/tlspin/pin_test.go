package tlspin

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"
)

// TestParse checks the exact text form of spec §4.1: "sha256:" and 64 lowercase hex digits.
func TestParse(t *testing.T) {
	hex64 := strings.Repeat("ab", 32)
	tests := []struct {
		in string
		ok bool
	}{
		{"sha256:" + hex64, true},
		{"sha256:" + strings.ToUpper(hex64), false},
		{" sha256:" + hex64, false},
		{"sha256:" + hex64 + "\n", false},
		{"sha256:" + hex64[:62], false},
		{"sha256:" + hex64 + "00", false},
		{"sha1:" + hex64, false},
		{hex64, false},
		{"sha256:" + strings.Repeat("zz", 32), false},
		{"", false},
	}
	for _, tt := range tests {
		p, err := Parse(tt.in)
		if (err == nil) != tt.ok {
			t.Errorf("Parse(%q) err = %v, want ok=%v", tt.in, err, tt.ok)
			continue
		}
		if tt.ok && p.String() != tt.in {
			t.Errorf("Parse(%q).String() = %q", tt.in, p.String())
		}
		if tt.ok && hex.EncodeToString(p.Bytes()) != hex64 {
			t.Errorf("Bytes() = %x", p.Bytes())
		}
	}
}

// TestParseLenient checks what a person may type: white space around and upper-case digits are
// accepted and normalised, nothing else.
func TestParseLenient(t *testing.T) {
	hex64 := strings.Repeat("ab", 32)
	tests := []struct {
		in   string
		want string
		ok   bool
	}{
		{"sha256:" + hex64, "sha256:" + hex64, true},
		{"sha256:" + strings.ToUpper(hex64), "sha256:" + hex64, true},
		{"  sha256:" + hex64 + "\n", "sha256:" + hex64, true},
		{hex64, "", false},
		{"sha1:" + hex64, "", false},
		{"sha256:" + hex64[:62], "", false},
		{"sha256:" + hex64 + "00", "", false},
		{"sha256:" + strings.Repeat("zz", 32), "", false},
	}
	for _, tc := range tests {
		p, err := ParseLenient(tc.in)
		if (err == nil) != tc.ok {
			t.Errorf("ParseLenient(%q) error %v, want ok=%v", tc.in, err, tc.ok)
			continue
		}
		if tc.ok && p.String() != tc.want {
			t.Errorf("ParseLenient(%q) = %s, want %s", tc.in, p, tc.want)
		}
	}
}

// TestBytesCopies checks that Bytes hands out a copy: a caller that changes it cannot change the
// pin a connection was verified with (REG-11).
func TestBytesCopies(t *testing.T) {
	p := Pin(sha256.Sum256([]byte("x")))
	b := p.Bytes()
	b[0] ^= 0xff
	if p[0] == b[0] {
		t.Error("Bytes returned the pin's own array")
	}
}
