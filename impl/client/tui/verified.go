package tui

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/blindpost/blindpost/impl/e2ee/trust"
)

// VerifiedFile is the name of the file, next to known_peers, that lists the safety numbers the
// user marked verified: one line per peer, "USERNAME sha256:FINGERPRINT".
const VerifiedFile = "verified_peers"

// Verifications are the safety numbers the user compared and marked verified (spec §6.6
// [TRUST-4]). A mark holds for one identity key: when the peer's pin changes, the peer is no
// longer verified.
type Verifications struct {
	mu   sync.Mutex
	path string            // empty: memory only
	keys map[string]string // username → the fingerprint verified
}

// NewVerifications returns an empty store kept in memory.
func NewVerifications() *Verifications {
	return &Verifications{keys: map[string]string{}}
}

// OpenVerifications reads the store at path; a missing file is an empty store.
func OpenVerifications(path string) (*Verifications, error) {
	v := &Verifications{path: path, keys: map[string]string{}}
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return v, nil
	}
	if err != nil {
		return nil, fmt.Errorf("tui: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 || strings.HasPrefix(fields[0], "#") {
			continue
		}
		if len(fields) != 2 || !trust.ValidUsername(fields[0]) || !strings.HasPrefix(fields[1], "sha256:") {
			return nil, fmt.Errorf("tui: %s:%d: want USERNAME sha256:FINGERPRINT", path, n)
		}
		v.keys[fields[0]] = fields[1]
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("tui: %s: %w", path, err)
	}
	return v, nil
}

// IsVerified reports whether the user verified peer's key with fingerprint fp.
func (v *Verifications) IsVerified(peer, fp string) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	return fp != "" && v.keys[peer] == fp
}

// Mark records that the user verified peer's key with fingerprint fp, and saves the store.
func (v *Verifications) Mark(peer, fp string) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.keys[peer] = fp
	return v.saveLocked()
}

// saveLocked writes the store atomically, mode 0600.
func (v *Verifications) saveLocked() error {
	if v.path == "" {
		return nil
	}
	names := make([]string, 0, len(v.keys))
	for name := range v.keys {
		names = append(names, name)
	}
	slices.Sort(names)
	var b strings.Builder
	for _, name := range names {
		fmt.Fprintf(&b, "%s %s\n", name, v.keys[name])
	}
	if err := os.MkdirAll(filepath.Dir(v.path), 0o700); err != nil {
		return fmt.Errorf("tui: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(v.path), VerifiedFile+".*")
	if err != nil {
		return fmt.Errorf("tui: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.WriteString(b.String()); err != nil {
		tmp.Close()
		return fmt.Errorf("tui: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("tui: %w", err)
	}
	if err := os.Rename(tmp.Name(), v.path); err != nil {
		return fmt.Errorf("tui: %w", err)
	}
	return nil
}
