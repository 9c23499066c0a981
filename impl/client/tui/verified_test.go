package tui

import (
	"os"
	"path/filepath"
	"testing"
)

// TestVerifications: a mark holds for one key, survives a reopen, and the file is private
// [TRUST-4].
func TestVerifications(t *testing.T) {
	path := filepath.Join(t.TempDir(), "alice", VerifiedFile)
	v, err := OpenVerifications(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Mark("bob", fp("b")); err != nil {
		t.Fatal(err)
	}
	again, err := OpenVerifications(path)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		peer, fp string
		want     bool
	}{
		{"bob", fp("b"), true},
		{"bob", fp("c"), false}, // a changed key is not verified
		{"carol", fp("b"), false},
		{"bob", "", false},
	}
	for _, tt := range tests {
		if got := again.IsVerified(tt.peer, tt.fp); got != tt.want {
			t.Errorf("IsVerified(%s, %s) = %v, want %v", tt.peer, tt.fp, got, tt.want)
		}
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, want 0600", info.Mode().Perm())
	}
}

// TestVerificationsBadFile: a malformed file is refused with its line number.
func TestVerificationsBadFile(t *testing.T) {
	tests := []struct{ name, content string }{
		{"one field", "bob\n"},
		{"not a fingerprint", "bob md5:00\n"},
		{"bad username", "Bob sha256:00\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), VerifiedFile)
			if err := os.WriteFile(path, []byte("# comment\n"+tt.content), 0o600); err != nil {
				t.Fatal(err)
			}
			if _, err := OpenVerifications(path); err == nil {
				t.Fatal("accepted")
			}
		})
	}
}
