// Package trust implements spec §6.6: the known_peers store that pins each
// peer's identity key on first use and refuses a changed key until the user
// trusts it explicitly, and the safety numbers users compare to verify each
// other. The store's file format is that of spec Appendix C.
package trust

import (
	"bufio"
	"bytes"
	"crypto/ed25519"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/blindpost/blindpost/impl/e2ee"
	"github.com/blindpost/blindpost/impl/e2ee/identity"
	"github.com/blindpost/blindpost/impl/wire"
)

// Store is the known_peers pin store. It is safe for concurrent use; every
// change is written to its file (if it has one) before the call returns.
type Store struct {
	mu    sync.Mutex
	path  string
	peers map[string]ed25519.PublicKey
}

// NewMemory returns a store that keeps its pins in memory only, for bots and
// tests.
func NewMemory() *Store {
	return &Store{peers: map[string]ed25519.PublicKey{}}
}

// Open loads the known_peers file at path; a missing file is an empty store
// that is created on the first pin.
func Open(path string) (*Store, error) {
	s := &Store{path: path, peers: map[string]ed25519.PublicKey{}}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return nil, fmt.Errorf("e2ee: known_peers: %w", err)
	}
	if err := s.parse(data); err != nil {
		return nil, fmt.Errorf("e2ee: known_peers %s: %w", path, err)
	}
	return s, nil
}

// parse reads lines "USERNAME sha256:FINGERPRINT BASE64-IDENTITY-KEY"
// (Appendix C); blank lines and lines starting with # are skipped.
func (s *Store) parse(data []byte) error {
	sc := bufio.NewScanner(bytes.NewReader(data))
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		user, key, err := parseLine(text)
		if err != nil {
			return fmt.Errorf("line %d: %w", line, err)
		}
		if _, dup := s.peers[user]; dup {
			return fmt.Errorf("line %d: %s is listed twice", line, user)
		}
		s.peers[user] = key
	}
	return sc.Err()
}

func parseLine(text string) (string, ed25519.PublicKey, error) {
	f := strings.Fields(text)
	if len(f) != 3 {
		return "", nil, errors.New("want USERNAME sha256:FINGERPRINT BASE64-IDENTITY-KEY")
	}
	if !ValidUsername(f[0]) {
		return "", nil, fmt.Errorf("bad username %q", f[0])
	}
	key, err := base64.StdEncoding.Strict().DecodeString(f[2])
	if err != nil || len(key) != identity.PublicKeySize {
		return "", nil, errors.New("identity key is not 32 bytes of base64")
	}
	if identity.Fingerprint(key) != f[1] {
		return "", nil, fmt.Errorf("fingerprint of %s does not match its key", f[0])
	}
	return f[0], key, nil
}

// ValidUsername reports whether name is a username of spec §5.1 (schemas/defs.json).
func ValidUsername(name string) bool { return wire.ValidUsername(name) }

// Lookup returns the pinned identity key of user.
func (s *Store) Lookup(user string) (ed25519.PublicKey, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k, ok := s.peers[user]
	return slices.Clone(k), ok
}

// Pin pins key for user on first use and reports whether it was new
// (TRUST-1: the caller tells the user). A key equal to the pin is accepted
// unchanged; a different key is refused with key_changed and the old pin is
// kept (TRUST-2) until [Store.Trust].
func (s *Store) Pin(user string, key ed25519.PublicKey) (bool, error) {
	if err := checkEntry(user, key); err != nil {
		return false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.peers[user]; ok {
		if subtle.ConstantTimeCompare(old, key) == 1 {
			return false, nil
		}
		return false, e2ee.Reject(e2ee.KeyChanged, "TRUST-2", "%s now presents %s, pinned %s",
			user, identity.Fingerprint(key), identity.Fingerprint(old))
	}
	return true, s.set(user, slices.Clone(key))
}

// Trust replaces user's pin with key: the user's explicit decision after a
// key change (TRUST-2).
func (s *Store) Trust(user string, key ed25519.PublicKey) error {
	if err := checkEntry(user, key); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.set(user, slices.Clone(key))
}

// Forget removes user's pin.
func (s *Store) Forget(user string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	old, ok := s.peers[user]
	if !ok {
		return nil
	}
	delete(s.peers, user)
	if err := s.save(); err != nil {
		s.peers[user] = old
		return err
	}
	return nil
}

// Users returns the pinned usernames, sorted.
func (s *Store) Users() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	users := make([]string, 0, len(s.peers))
	for u := range s.peers {
		users = append(users, u)
	}
	slices.Sort(users)
	return users
}

func checkEntry(user string, key ed25519.PublicKey) error {
	if !ValidUsername(user) {
		return fmt.Errorf("e2ee: bad username %q", user)
	}
	if len(key) != identity.PublicKeySize {
		return fmt.Errorf("e2ee: identity key of %s is %d bytes", user, len(key))
	}
	return nil
}

// set stores a pin and saves, undoing the change when the save fails.
func (s *Store) set(user string, key ed25519.PublicKey) error {
	old, had := s.peers[user]
	s.peers[user] = key
	if err := s.save(); err != nil {
		if had {
			s.peers[user] = old
		} else {
			delete(s.peers, user)
		}
		return err
	}
	return nil
}

// save writes the whole store atomically: a temporary file in the same
// directory, mode 0600, synced, then renamed over the file.
func (s *Store) save() error {
	if s.path == "" {
		return nil
	}
	tmp, err := os.CreateTemp(filepath.Dir(s.path), ".known_peers-*")
	if err != nil {
		return fmt.Errorf("e2ee: save known_peers: %w", err)
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	if err := writeSynced(tmp, s.format()); err != nil {
		return fmt.Errorf("e2ee: save known_peers: %w", err)
	}
	if err := os.Rename(tmp.Name(), s.path); err != nil {
		return fmt.Errorf("e2ee: save known_peers: %w", err)
	}
	return nil
}

func writeSynced(f *os.File, data []byte) error {
	err := f.Chmod(0o600)
	if err == nil {
		_, err = f.Write(data)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// format renders the store in the Appendix C format, sorted by username.
func (s *Store) format() []byte {
	var b bytes.Buffer
	users := make([]string, 0, len(s.peers))
	for u := range s.peers {
		users = append(users, u)
	}
	slices.Sort(users)
	for _, u := range users {
		k := s.peers[u]
		fmt.Fprintf(&b, "%s %s %s\n", u, identity.Fingerprint(k), base64.StdEncoding.EncodeToString(k))
	}
	return b.Bytes()
}
