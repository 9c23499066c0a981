package profile

import (
	"bytes"
	"errors"
	"os"
	"testing"

	"github.com/blindpost/blindpost/impl/e2ee/trust"
)

// TestPublicFile: init writes identity.pub in the form of a known_peers line, whoami's source
// without the passphrase; an identity without it gets it on its next unlock; a tampered one is
// refused (spec Appendix C).
func TestPublicFile(t *testing.T) {
	p, err := Open(t.TempDir(), "alice")
	if err != nil {
		t.Fatal(err)
	}
	key, err := p.CreateIdentity(CreateOptions{Passphrase: "a long passphrase", Keyfile: fast})
	if err != nil {
		t.Fatal(err)
	}
	pub, err := p.LoadPublic()
	if err != nil || !bytes.Equal(pub, key.Public()) {
		t.Fatalf("LoadPublic after init = %x, %v; want %x", pub, err, key.Public())
	}
	// A peer can pin the line as it is: it parses as a known_peers entry.
	line, _ := os.ReadFile(p.Path(IdentityPub))
	peers := p.Path("peers")
	if err := os.WriteFile(peers, line, 0o600); err != nil {
		t.Fatal(err)
	}
	if s, err := trust.Open(peers); err != nil {
		t.Fatalf("identity.pub is not a known_peers line: %v", err)
	} else if got, ok := s.Lookup("alice"); !ok || !bytes.Equal(got, key.Public()) {
		t.Fatalf("known_peers from identity.pub: %x, %v", got, ok)
	}

	os.Remove(p.Path(IdentityPub))
	if _, err := p.LoadPublic(); !errors.Is(err, ErrNoPublic) {
		t.Fatalf("LoadPublic without the file: %v, want ErrNoPublic", err)
	}
	if _, err := p.LoadIdentity(func() (string, error) { return "a long passphrase", nil }); err != nil {
		t.Fatal(err)
	}
	if pub, err := p.LoadPublic(); err != nil || !bytes.Equal(pub, key.Public()) {
		t.Fatalf("LoadPublic after unlock = %x, %v", pub, err)
	}

	for _, bad := range []string{
		"bob " + string(line[len("alice "):]), // another user
		string(line[:len(line)-4]) + "AAA=\n", // another key, the old fingerprint
		"alice sha256:00 AAAA\n",              // a short key
		"alice\n",                             // no key at all
	} {
		os.WriteFile(p.Path(IdentityPub), []byte(bad), 0o644)
		if _, err := p.LoadPublic(); err == nil || errors.Is(err, ErrNoPublic) {
			t.Errorf("LoadPublic accepted %q: %v", bad, err)
		}
	}
}
