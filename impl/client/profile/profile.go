// Package profile locates the local files of a Blindpost user (spec Appendix C): the identity
// seed at rest, the known_peers pins and the known_servers pins, in the user's configuration
// directory $XDG_CONFIG_HOME/blindpost/USER/.
package profile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"

	"github.com/blindpost/blindpost/impl/wire"
)

// EnvDir names the environment variable that replaces the configuration root
// ($XDG_CONFIG_HOME/blindpost).
const EnvDir = "BLINDPOST_CONFIG_DIR"

// The file names of spec Appendix C.
const (
	IdentityAge  = "identity.age"  // the seed, age-encrypted to a passphrase
	IdentityKey  = "identity.key"  // the raw seed, for bots that asked for no passphrase
	KnownPeers   = "known_peers"   // pinned peer identity keys
	KnownServers = "known_servers" // pinned server certificates
)

// ValidUsername reports whether name is a username of spec §5.1 (schemas/defs.json).
func ValidUsername(name string) bool { return wire.ValidUsername(name) }

// Root returns the configuration root: override when not empty, else $BLINDPOST_CONFIG_DIR, else
// the blindpost directory in the user configuration directory ($XDG_CONFIG_HOME on Linux).
func Root(override string) (string, error) {
	if override != "" {
		return override, nil
	}
	if env := os.Getenv(EnvDir); env != "" {
		return env, nil
	}
	base, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("profile: no configuration directory (set --config-dir or %s): %w", EnvDir, err)
	}
	return filepath.Join(base, "blindpost"), nil
}

// Profile is one user's directory under a configuration root.
type Profile struct {
	User string // the username
	Dir  string // ROOT/USER
}

// Open returns the profile of user under root. The directory need not exist yet.
func Open(root, user string) (Profile, error) {
	if !ValidUsername(user) {
		return Profile{}, fmt.Errorf("profile: %q is not a valid username (1 to 32 of a-z 0-9 _ . -, starting with a letter or digit)", user)
	}
	return Profile{User: user, Dir: filepath.Join(root, user)}, nil
}

// Path returns the path of the named file of the profile (IdentityAge, KnownPeers, …).
func (p Profile) Path(name string) string { return filepath.Join(p.Dir, name) }

// Users lists the users under root that have an identity, sorted.
func Users(root string) ([]string, error) {
	entries, err := os.ReadDir(root)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("profile: %w", err)
	}
	var users []string
	for _, e := range entries {
		if !e.IsDir() || !ValidUsername(e.Name()) {
			continue
		}
		p := Profile{User: e.Name(), Dir: filepath.Join(root, e.Name())}
		if p.HasIdentity() {
			users = append(users, e.Name())
		}
	}
	sort.Strings(users)
	return users, nil
}

// HasIdentity reports whether the profile holds an identity file of either kind.
func (p Profile) HasIdentity() bool {
	for _, name := range []string{IdentityAge, IdentityKey} {
		if _, err := os.Lstat(p.Path(name)); err == nil {
			return true
		}
	}
	return false
}
