package profile

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/blindpost/blindpost/impl/e2ee/identity"
)

// IdentityPub is the public half of the identity, beside the seed as ssh keeps id_ed25519.pub
// (spec Appendix C): whoami reads it without the passphrase.
const IdentityPub = "identity.pub"

// ErrNoPublic means the profile has no identity.pub yet: identities created before it existed
// get one on their next unlock.
var ErrNoPublic = errors.New("profile: no identity.pub")

// publicLine is the content of identity.pub: one line in the form of a known_peers entry,
// USERNAME sha256:FINGERPRINT BASE64-IDENTITY-KEY, so that a peer can pin it as it is.
func publicLine(user string, pub ed25519.PublicKey) []byte {
	return fmt.Appendf(nil, "%s %s %s\n", user, identity.Fingerprint(pub), base64.StdEncoding.EncodeToString(pub))
}

// WritePublic stores pub in identity.pub unless the file already says exactly that; it is
// public, so readable by all (mode 0644), and replaced atomically.
func (p Profile) WritePublic(pub ed25519.PublicKey) error {
	want := publicLine(p.User, pub)
	if have, err := os.ReadFile(p.Path(IdentityPub)); err == nil && bytes.Equal(have, want) {
		return nil
	}
	tmp, err := os.CreateTemp(p.Dir, ".identity.pub-*")
	if err != nil {
		return fmt.Errorf("profile: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(want); err != nil {
		tmp.Close()
		return fmt.Errorf("profile: %w", err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return fmt.Errorf("profile: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("profile: %w", err)
	}
	if err := os.Rename(tmp.Name(), p.Path(IdentityPub)); err != nil {
		return fmt.Errorf("profile: %w", err)
	}
	return nil
}

// LoadPublic reads identity.pub: ErrNoPublic when it is absent, an error when it names another
// user, its key is not 32 bytes or its fingerprint does not match the key.
func (p Profile) LoadPublic() (ed25519.PublicKey, error) {
	data, err := os.ReadFile(p.Path(IdentityPub))
	if errors.Is(err, os.ErrNotExist) {
		return nil, ErrNoPublic
	}
	if err != nil {
		return nil, fmt.Errorf("profile: %w", err)
	}
	f := strings.Fields(string(data))
	if len(f) != 3 || f[0] != p.User {
		return nil, fmt.Errorf("profile: %s: want %s sha256:FINGERPRINT BASE64-IDENTITY-KEY", p.Path(IdentityPub), p.User)
	}
	key, err := base64.StdEncoding.Strict().DecodeString(f[2])
	if err != nil || len(key) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("profile: %s: the key is not 32 bytes of base64", p.Path(IdentityPub))
	}
	if identity.Fingerprint(key) != f[1] {
		return nil, fmt.Errorf("profile: %s: the fingerprint does not match the key", p.Path(IdentityPub))
	}
	return key, nil
}
