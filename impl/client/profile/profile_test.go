package profile

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/blindpost/blindpost/impl/e2ee/keyfile"
)

var fast = &keyfile.Options{WorkFactor: 10}

func TestRoot(t *testing.T) {
	t.Setenv(EnvDir, "")
	t.Setenv("XDG_CONFIG_HOME", "/xdg")
	tests := []struct{ override, env, want string }{
		{"/flag", "/env", "/flag"},
		{"", "/env", "/env"},
		{"", "", "/xdg/blindpost"},
	}
	for _, tc := range tests {
		t.Setenv(EnvDir, tc.env)
		got, err := Root(tc.override)
		if err != nil || got != tc.want {
			t.Errorf("Root(%q) with %s=%q = %q, %v; want %q", tc.override, EnvDir, tc.env, got, err, tc.want)
		}
	}
}

func TestOpenRejectsBadNames(t *testing.T) {
	for _, name := range []string{"", "Alice", "-x", "a/b", "..", string(bytes.Repeat([]byte("a"), 33))} {
		if _, err := Open("/r", name); err == nil {
			t.Errorf("Open(%q) succeeded", name)
		}
	}
}

// TestIdentityFiles checks the key file duties of the profile: encrypted by default, mode 0600,
// never overwritten, and a wrong passphrase, tampering or loose permissions refused.
// spec §3.1 [KEY-1] [KEY-3], Appendix C.
func TestIdentityFiles(t *testing.T) {
	root := t.TempDir()
	p, _ := Open(root, "alice")
	if _, err := p.LoadIdentity(nil); !errors.Is(err, ErrNoIdentity) {
		t.Fatalf("load before init: %v", err)
	}
	key, err := p.CreateIdentity(CreateOptions{Passphrase: "correct horse", Keyfile: fast})
	if err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(p.Path(IdentityAge))
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("identity.age mode %v, %v; want 0600", info.Mode().Perm(), err)
	}
	if _, err := p.CreateIdentity(CreateOptions{NoPassphrase: true}); !errors.Is(err, ErrExists) {
		t.Fatalf("second init: %v, want ErrExists", err)
	}
	got, err := p.LoadIdentity(func() (string, error) { return "correct horse", nil })
	if err != nil || !bytes.Equal(got.Public(), key.Public()) {
		t.Fatalf("load: %v", err)
	}
	if _, err := p.LoadIdentity(func() (string, error) { return "wrong", nil }); !errors.Is(err, keyfile.ErrWrongPassphrase) {
		t.Fatalf("wrong passphrase: %v", err)
	}
	users, err := Users(root)
	if err != nil || len(users) != 1 || users[0] != "alice" {
		t.Fatalf("users %v %v", users, err)
	}

	data, _ := os.ReadFile(p.Path(IdentityAge))
	data[len(data)-5] ^= 1
	os.WriteFile(p.Path(IdentityAge), data, 0o600)
	if _, err := p.LoadIdentity(func() (string, error) { return "correct horse", nil }); !errors.Is(err, keyfile.ErrCorrupt) {
		t.Fatalf("tampered file: %v", err)
	}
	os.Chmod(p.Path(IdentityAge), 0o644)
	if _, err := p.LoadIdentity(func() (string, error) { return "correct horse", nil }); !errors.Is(err, keyfile.ErrInsecurePermissions) {
		t.Fatalf("mode 0644: %v", err)
	}
}

func TestRawIdentity(t *testing.T) {
	p, _ := Open(t.TempDir(), "bot")
	seed := bytes.Repeat([]byte{7}, 32)
	key, err := p.CreateIdentity(CreateOptions{NoPassphrase: true, Seed: seed})
	if err != nil {
		t.Fatal(err)
	}
	if enc, err := p.Encrypted(); enc || err != nil {
		t.Fatalf("encrypted = %v, %v", enc, err)
	}
	got, err := p.LoadIdentity(func() (string, error) { t.Fatal("asked for a passphrase"); return "", nil })
	if err != nil || !bytes.Equal(got.Public(), key.Public()) {
		t.Fatalf("load raw: %v", err)
	}
	fresh, _ := Open(t.TempDir(), "bot2")
	if _, err := fresh.CreateIdentity(CreateOptions{Passphrase: ""}); err == nil || errors.Is(err, ErrExists) {
		t.Fatalf("empty passphrase: %v, want a refusal", err)
	}
	if fresh.HasIdentity() {
		t.Fatal("a refused init wrote a file")
	}
	if _, err := os.Stat(filepath.Join(p.Dir, IdentityAge)); err == nil {
		t.Fatal("identity.age written next to identity.key")
	}
}
