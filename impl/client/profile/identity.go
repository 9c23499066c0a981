package profile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/blindpost/blindpost/impl/e2ee/identity"
	"github.com/blindpost/blindpost/impl/e2ee/keyfile"
)

// ErrExists means the profile already holds an identity; init never overwrites one.
var ErrExists = errors.New("profile: an identity already exists")

// ErrNoIdentity means the profile holds no identity yet.
var ErrNoIdentity = errors.New("profile: no identity")

// CreateOptions says how a new identity is stored.
type CreateOptions struct {
	// Passphrase encrypts the seed in identity.age. It must not be empty unless NoPassphrase.
	Passphrase string
	// NoPassphrase stores the raw seed in identity.key, for bots and tests (spec Appendix C).
	NoPassphrase bool
	// Seed, when set, is the seed to store instead of a fresh random one (tests, DRV-5).
	Seed []byte
	// Keyfile tunes the age encryption (tests lower the scrypt work factor).
	Keyfile *keyfile.Options
}

// CreateIdentity generates an identity (spec §3.1 [KEY-1]) and stores it in the profile,
// readable by its owner only ([KEY-3]). It refuses when the profile already has one.
func (p Profile) CreateIdentity(opts CreateOptions) (*identity.PrivateKey, error) {
	if p.HasIdentity() {
		return nil, fmt.Errorf("%w in %s; remove it first to start over", ErrExists, p.Dir)
	}
	if !opts.NoPassphrase && opts.Passphrase == "" {
		return nil, errors.New("profile: empty passphrase (use --no-passphrase for an unencrypted key)")
	}
	var key *identity.PrivateKey
	var err error
	if opts.Seed != nil {
		key, err = identity.FromSeed(opts.Seed)
	} else {
		key, err = identity.Generate(nil)
	}
	if err != nil {
		return nil, fmt.Errorf("profile: %w", err)
	}
	if err := os.MkdirAll(p.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("profile: %w", err)
	}
	seed := key.Seed()
	defer clear(seed)
	if opts.NoPassphrase {
		err = keyfile.WriteRaw(p.Path(IdentityKey), seed)
	} else {
		err = keyfile.WriteEncrypted(p.Path(IdentityAge), seed, opts.Passphrase, opts.Keyfile)
	}
	if errors.Is(err, fs.ErrExist) {
		return nil, fmt.Errorf("%w in %s", ErrExists, p.Dir)
	}
	if err != nil {
		return nil, fmt.Errorf("profile: %w", err)
	}
	if err := p.WritePublic(key.Public()); err != nil {
		key.Erase()
		return nil, err
	}
	return key, nil
}

// Encrypted reports whether the profile's identity is passphrase-encrypted, and ErrNoIdentity
// when it has none.
func (p Profile) Encrypted() (bool, error) {
	if _, err := os.Lstat(p.Path(IdentityAge)); err == nil {
		return true, nil
	}
	if _, err := os.Lstat(p.Path(IdentityKey)); err == nil {
		return false, nil
	}
	return false, fmt.Errorf("%w for %s in %s; run: blindpost init --user %s", ErrNoIdentity, p.User, p.Dir, p.User)
}

// LoadIdentity reads the profile's identity. passphrase is called only when the seed is
// encrypted. Errors wrap the keyfile errors (wrong passphrase, corrupt file, insecure
// permissions) and ErrNoIdentity.
func (p Profile) LoadIdentity(passphrase func() (string, error)) (*identity.PrivateKey, error) {
	encrypted, err := p.Encrypted()
	if err != nil {
		return nil, err
	}
	var seed []byte
	if encrypted {
		pass, perr := passphrase()
		if perr != nil {
			return nil, fmt.Errorf("profile: passphrase: %w", perr)
		}
		seed, err = keyfile.ReadEncrypted(p.Path(IdentityAge), pass)
	} else {
		seed, err = keyfile.ReadRaw(p.Path(IdentityKey))
	}
	if err != nil {
		return nil, fmt.Errorf("profile: %w", err)
	}
	defer clear(seed)
	key, err := identity.FromSeed(seed)
	if err != nil {
		return nil, fmt.Errorf("profile: %w", err)
	}
	// Profiles created before identity.pub existed get it now; a profile directory that cannot
	// take it still unlocks (whoami then asks for the passphrase again).
	_ = p.WritePublic(key.Public())
	return key, nil
}
