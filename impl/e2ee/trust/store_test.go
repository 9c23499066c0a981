package trust

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/blindpost/blindpost/impl/e2ee"
	"github.com/blindpost/blindpost/impl/e2ee/identity"
)

func key(b byte) ed25519.PublicKey {
	k, _ := identity.FromSeed(bytes.Repeat([]byte{b}, 32))
	return k.Public()
}

// TestPinOnFirstUse checks TRUST-1 and TRUST-2: the first key is pinned and
// reported new, the same key again is not new, a different key is
// key_changed and the old pin stays until Trust.
func TestPinOnFirstUse(t *testing.T) {
	path := filepath.Join(t.TempDir(), "known_peers")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if isNew, err := s.Pin("bob", key(1)); !isNew || err != nil {
		t.Fatalf("TRUST-1: first pin: %v %v", isNew, err)
	}
	if isNew, err := s.Pin("bob", key(1)); isNew || err != nil {
		t.Fatalf("TRUST-1: same key: %v %v", isNew, err)
	}
	_, err = s.Pin("bob", key(2))
	var e *e2ee.Error
	if !errors.As(err, &e) || e.Outcome != e2ee.KeyChanged || e.Rule != "TRUST-2" {
		t.Fatalf("TRUST-2: changed key: %v", err)
	}
	if k, _ := s.Lookup("bob"); !bytes.Equal(k, key(1)) {
		t.Fatal("TRUST-2: old pin not kept")
	}
	if err := s.Trust("bob", key(2)); err != nil {
		t.Fatal(err)
	}
	if isNew, err := s.Pin("bob", key(2)); isNew || err != nil {
		t.Fatalf("TRUST-2: after Trust: %v %v", isNew, err)
	}
	if err := s.Forget("bob"); err != nil {
		t.Fatal(err)
	}
	if _, ok := s.Lookup("bob"); ok {
		t.Fatal("Forget kept the pin")
	}
	if err := s.Forget("nobody"); err != nil {
		t.Fatal(err)
	}
}

// TestPersistence checks the Appendix C format, mode 0600 and that pins
// survive a reopen.
func TestPersistence(t *testing.T) {
	path := filepath.Join(t.TempDir(), "known_peers")
	s, _ := Open(path)
	s.Pin("carol", key(3))
	s.Pin("bob", key(2))
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	want := fmt.Sprintf("bob %s %s", identity.Fingerprint(key(2)), base64.StdEncoding.EncodeToString(key(2)))
	if len(lines) != 2 || lines[0] != want || !strings.HasPrefix(lines[1], "carol sha256:") {
		t.Fatalf("file:\n%s", data)
	}
	if info, _ := os.Stat(path); info.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v", info.Mode().Perm())
	}
	s2, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if k, ok := s2.Lookup("carol"); !ok || !bytes.Equal(k, key(3)) {
		t.Fatal("pin lost on reopen")
	}
	if got := s2.Users(); len(got) != 2 || got[0] != "bob" {
		t.Fatalf("users %v", got)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Fatalf("temporary files left: %v", entries)
	}
}

// TestParseErrors checks that a damaged known_peers file is refused with
// the line number, rather than silently losing or inventing pins.
func TestParseErrors(t *testing.T) {
	tests := map[string]string{
		"wrong fingerprint": fmt.Sprintf("bob %s %s", identity.Fingerprint(key(3)), b64(key(2))),
		"bad base64":        fmt.Sprintf("bob %s %s", identity.Fingerprint(key(2)), "!!!"),
		"short key":         fmt.Sprintf("bob %s %s", identity.Fingerprint(key(2)), "AAAA"),
		"two fields":        "bob sha256:00",
		"bad username":      fmt.Sprintf("Bob %s %s", identity.Fingerprint(key(2)), b64(key(2))),
		"duplicate":         line("bob", key(2)) + "\n" + line("bob", key(2)),
	}
	for name, content := range tests {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "known_peers")
			os.WriteFile(path, []byte(content+"\n"), 0o600)
			if _, err := Open(path); err == nil || !strings.Contains(err.Error(), "line") {
				t.Fatalf("got %v", err)
			}
		})
	}
	path := filepath.Join(t.TempDir(), "known_peers")
	os.WriteFile(path, []byte("# comment\n\n"+line("bob", key(2))+"\n"), 0o600)
	if s, err := Open(path); err != nil || len(s.Users()) != 1 {
		t.Fatalf("comments and blank lines: %v", err)
	}
}

func b64(k []byte) string { return base64.StdEncoding.EncodeToString(k) }

func line(user string, k ed25519.PublicKey) string {
	s := NewMemory()
	s.peers[user] = k
	return strings.TrimSpace(string(s.format()))
}

// TestBadEntries checks argument validation.
func TestBadEntries(t *testing.T) {
	s := NewMemory()
	if _, err := s.Pin("Bob", key(1)); err == nil {
		t.Error("bad username pinned")
	}
	if _, err := s.Pin("bob", key(1)[:31]); err == nil {
		t.Error("short key pinned")
	}
	if err := s.Trust("", key(1)); err == nil {
		t.Error("empty username trusted")
	}
	for _, ok := range []string{"a", "bob", "a.b-c_d", strings.Repeat("x", 32)} {
		if !ValidUsername(ok) {
			t.Errorf("%q refused", ok)
		}
	}
	for _, bad := range []string{"", "_a", "A", "a b", strings.Repeat("x", 33), "é"} {
		if ValidUsername(bad) {
			t.Errorf("%q accepted", bad)
		}
	}
}

// TestSaveFailure checks that a pin that cannot be saved is not kept.
func TestSaveFailure(t *testing.T) {
	dir := t.TempDir()
	s, _ := Open(filepath.Join(dir, "missing-dir", "known_peers"))
	if _, err := s.Pin("bob", key(1)); err == nil {
		t.Fatal("saved into a missing directory")
	}
	if _, ok := s.Lookup("bob"); ok {
		t.Fatal("unsaved pin kept")
	}
}

// TestConcurrentPins checks that concurrent pins are all kept and saved.
func TestConcurrentPins(t *testing.T) {
	path := filepath.Join(t.TempDir(), "known_peers")
	s, _ := Open(path)
	var wg sync.WaitGroup
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := s.Pin(fmt.Sprintf("user%d", i), key(byte(i))); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	s2, err := Open(path)
	if err != nil || len(s2.Users()) != 16 {
		t.Fatalf("%v, %d users", err, len(s2.Users()))
	}
}
