// Package keyfile stores the 32-byte identity seed at rest (spec §3.1 KEY-3,
// Appendix C): normally in an age file encrypted to an scrypt passphrase
// recipient (identity.age), or, only when asked explicitly for bots and
// tests, as the raw seed (identity.key). Both are written with mode 0600,
// never over an existing file, and are refused on reading when other users
// could read them.
package keyfile

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"

	"filippo.io/age"
)

// SeedSize is the size of the stored identity seed.
const SeedSize = 32

// maxFileSize bounds what Read* reads: an age file holding 32 bytes is about
// 250 bytes, so anything much larger is not a key file.
const maxFileSize = 64 << 10

// Errors that callers branch on. Each is wrapped with the file's path.
var (
	// ErrWrongPassphrase means the passphrase does not open the file. A
	// tampered scrypt stanza is indistinguishable from a wrong passphrase.
	ErrWrongPassphrase = errors.New("e2ee: wrong passphrase")
	// ErrCorrupt means the file is truncated, tampered with, or not a key file.
	ErrCorrupt = errors.New("e2ee: key file is corrupt or tampered with")
	// ErrInsecurePermissions means users other than the owner can access the
	// file. spec §3.1 [KEY-3]
	ErrInsecurePermissions = errors.New("e2ee: key file is accessible by other users")
	// ErrNotEncrypted means an age file was expected and a raw seed was found.
	ErrNotEncrypted = errors.New("e2ee: key file is not passphrase-encrypted")
)

// Options tunes WriteEncrypted.
type Options struct {
	// WorkFactor is log2 of the scrypt cost N; 0 keeps age's default (18).
	// Only tests should lower it.
	WorkFactor int
}

// WriteEncrypted writes seed to a new file at path as an age file with an
// scrypt passphrase recipient, mode 0600. It refuses to overwrite an
// existing file: the error then wraps fs.ErrExist. spec §3.1 [KEY-3]
func WriteEncrypted(path string, seed []byte, passphrase string, opts *Options) error {
	if len(seed) != SeedSize {
		return fmt.Errorf("e2ee: seed is %d bytes, want %d", len(seed), SeedSize)
	}
	r, err := age.NewScryptRecipient(passphrase)
	if err != nil {
		return fmt.Errorf("e2ee: %w", err)
	}
	if opts != nil && opts.WorkFactor != 0 {
		if opts.WorkFactor < 1 || opts.WorkFactor > 30 {
			return fmt.Errorf("e2ee: scrypt work factor %d out of range", opts.WorkFactor)
		}
		r.SetWorkFactor(opts.WorkFactor)
	}
	var buf bytes.Buffer
	w, err := age.Encrypt(&buf, r)
	if err != nil {
		return fmt.Errorf("e2ee: encrypt key file: %w", err)
	}
	if _, err := w.Write(seed); err != nil {
		return fmt.Errorf("e2ee: encrypt key file: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("e2ee: encrypt key file: %w", err)
	}
	return writeNew(path, buf.Bytes())
}

// WriteRaw writes the unencrypted seed to a new file at path, mode 0600, for
// bots and tests that explicitly ask for no passphrase. It refuses to
// overwrite an existing file (the error wraps fs.ErrExist).
func WriteRaw(path string, seed []byte) error {
	if len(seed) != SeedSize {
		return fmt.Errorf("e2ee: seed is %d bytes, want %d", len(seed), SeedSize)
	}
	return writeNew(path, seed)
}

// writeNew creates path exclusively with mode 0600, writes data and syncs it;
// on any failure it removes what it created.
func writeNew(path string, data []byte) (err error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("e2ee: create key file: %w", err)
	}
	defer func() {
		if cerr := f.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("e2ee: write key file %s: %w", path, cerr)
		}
		if err != nil {
			os.Remove(path)
		}
	}()
	if _, err := f.Write(data); err != nil {
		return fmt.Errorf("e2ee: write key file %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("e2ee: write key file %s: %w", path, err)
	}
	return nil
}

// ReadEncrypted opens the age key file at path with passphrase and returns
// the seed. It returns ErrWrongPassphrase, ErrCorrupt, ErrNotEncrypted or
// ErrInsecurePermissions (wrapped) as the case may be.
func ReadEncrypted(path, passphrase string) ([]byte, error) {
	data, err := readPrivate(path)
	if err != nil {
		return nil, err
	}
	if !IsEncrypted(data) {
		if len(data) == SeedSize {
			return nil, fmt.Errorf("%w: %s holds a raw seed", ErrNotEncrypted, path)
		}
		return nil, fmt.Errorf("%w: %s is not an age file", ErrCorrupt, path)
	}
	id, err := age.NewScryptIdentity(passphrase)
	if err != nil {
		return nil, fmt.Errorf("e2ee: %w", err)
	}
	r, err := age.Decrypt(bytes.NewReader(data), id)
	if err != nil {
		return nil, classify(path, err)
	}
	seed, err := io.ReadAll(io.LimitReader(r, SeedSize+1))
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrCorrupt, path, err)
	}
	if len(seed) != SeedSize {
		return nil, fmt.Errorf("%w: %s: holds %d bytes, not a %d-byte seed", ErrCorrupt, path, len(seed), SeedSize)
	}
	return seed, nil
}

// classify maps an age.Decrypt error to this package's errors.
func classify(path string, err error) error {
	var noMatch *age.NoIdentityMatchError
	switch {
	case errors.As(err, &noMatch) && len(noMatch.StanzaTypes) == 1 && noMatch.StanzaTypes[0] == "scrypt":
		return fmt.Errorf("%w for %s", ErrWrongPassphrase, path)
	case errors.As(err, &noMatch):
		return fmt.Errorf("%w: %s has no passphrase stanza", ErrCorrupt, path)
	default:
		return fmt.Errorf("%w: %s: %w", ErrCorrupt, path, err)
	}
}

// ReadRaw returns the seed of an unencrypted key file.
func ReadRaw(path string) ([]byte, error) {
	data, err := readPrivate(path)
	if err != nil {
		return nil, err
	}
	if IsEncrypted(data) {
		return nil, fmt.Errorf("e2ee: %s is passphrase-encrypted; read it with ReadEncrypted", path)
	}
	if len(data) != SeedSize {
		return nil, fmt.Errorf("%w: %s: %d bytes, not a %d-byte seed", ErrCorrupt, path, len(data), SeedSize)
	}
	return data, nil
}

// IsEncrypted reports whether data begins like an age file.
func IsEncrypted(data []byte) bool {
	return bytes.HasPrefix(data, []byte("age-encryption.org/"))
}

// readPrivate reads a key file after checking that only its owner can access
// it. spec §3.1 [KEY-3]
func readPrivate(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("e2ee: open key file: %w", err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("e2ee: open key file: %w", err)
	}
	if !info.Mode().IsRegular() {
		return nil, fmt.Errorf("%w: %s is not a regular file", ErrCorrupt, path)
	}
	if runtime.GOOS != "windows" && info.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("%w: %s has mode %v; run chmod 600 %s", ErrInsecurePermissions, path, info.Mode().Perm(), filepath.Clean(path))
	}
	data, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("e2ee: read key file %s: %w", path, err)
	}
	if len(data) > maxFileSize {
		return nil, fmt.Errorf("%w: %s is larger than %d bytes", ErrCorrupt, path, maxFileSize)
	}
	return data, nil
}
