package keyfile

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// testOpts keeps scrypt cheap in tests only.
var testOpts = &Options{WorkFactor: 4}

var seed = bytes.Repeat([]byte{0x42}, SeedSize)

func writeEncrypted(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "identity.age")
	if err := WriteEncrypted(path, seed, "correct horse", testOpts); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestEncryptedRoundTrip checks KEY-3: the age file opens with its
// passphrase, is mode 0600 and does not contain the seed in clear.
func TestEncryptedRoundTrip(t *testing.T) {
	path := writeEncrypted(t)
	got, err := ReadEncrypted(path, "correct horse")
	if err != nil || !bytes.Equal(got, seed) {
		t.Fatalf("KEY-3: %x, %v", got, err)
	}
	data, _ := os.ReadFile(path)
	if bytes.Contains(data, seed) || !IsEncrypted(data) {
		t.Fatal("KEY-3: seed stored in clear")
	}
	checkMode(t, path)
}

func checkMode(t *testing.T, path string) {
	t.Helper()
	if runtime.GOOS == "windows" {
		return
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Fatalf("KEY-3: mode %v, want 0600", info.Mode().Perm())
	}
}

// TestWrongPassphrase checks that a wrong passphrase gives ErrWrongPassphrase.
func TestWrongPassphrase(t *testing.T) {
	path := writeEncrypted(t)
	if _, err := ReadEncrypted(path, "wrong horse"); !errors.Is(err, ErrWrongPassphrase) {
		t.Fatalf("got %v", err)
	}
}

// TestTampered flips every bit of the file in turn (with -short, one bit of
// every byte): the result is always ErrWrongPassphrase or ErrCorrupt, never a
// seed; flips in the MAC and the payload are always ErrCorrupt.
func TestTampered(t *testing.T) {
	path := writeEncrypted(t)
	orig, _ := os.ReadFile(path)
	macLine := bytes.Index(orig, []byte("\n---")) + 1
	payload := bytes.IndexByte(orig[macLine:], '\n') + macLine + 1
	for i := range orig {
		for bit := 0; bit < 8; bit++ {
			if testing.Short() && bit != i%8 {
				continue
			}
			data := bytes.Clone(orig)
			data[i] ^= 1 << bit
			p := rewrite(t, path, data)
			got, err := ReadEncrypted(p, "correct horse")
			if err == nil {
				// Some header bytes are not authenticated as bytes (e.g. the
				// base64 padding bits age tolerates); the seed must still be right.
				if !bytes.Equal(got, seed) {
					t.Fatalf("byte %d bit %d: opened to a different seed", i, bit)
				}
				continue
			}
			if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrWrongPassphrase) {
				t.Fatalf("byte %d bit %d: unclassified error %v", i, bit, err)
			}
			if i >= payload && !errors.Is(err, ErrCorrupt) {
				t.Fatalf("byte %d (payload) bit %d: got %v, want ErrCorrupt", i, bit, err)
			}
		}
	}
}

// rewrite replaces the file with data, keeping mode 0600.
func rewrite(t *testing.T, path string, data []byte) string {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestTruncated checks that every truncation of the file is ErrCorrupt.
func TestTruncated(t *testing.T) {
	path := writeEncrypted(t)
	orig, _ := os.ReadFile(path)
	for n := 0; n < len(orig); n++ {
		_, err := ReadEncrypted(rewrite(t, path, orig[:n]), "correct horse")
		if !errors.Is(err, ErrCorrupt) {
			t.Fatalf("truncated to %d bytes: got %v, want ErrCorrupt", n, err)
		}
	}
}

// TestRefuseOverwrite checks that neither writer replaces an existing file.
func TestRefuseOverwrite(t *testing.T) {
	path := writeEncrypted(t)
	before, _ := os.ReadFile(path)
	if err := WriteEncrypted(path, seed, "other", testOpts); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("WriteEncrypted over a file: %v", err)
	}
	if err := WriteRaw(path, seed); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("WriteRaw over a file: %v", err)
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
		t.Fatal("file changed")
	}
}

// TestRaw checks the explicit unencrypted mode: 0600, round trip, and
// that raw and encrypted files are not confused.
func TestRaw(t *testing.T) {
	path := filepath.Join(t.TempDir(), "identity.key")
	if err := WriteRaw(path, seed); err != nil {
		t.Fatal(err)
	}
	checkMode(t, path)
	got, err := ReadRaw(path)
	if err != nil || !bytes.Equal(got, seed) {
		t.Fatalf("%x, %v", got, err)
	}
	if _, err := ReadEncrypted(path, "x"); !errors.Is(err, ErrNotEncrypted) {
		t.Fatalf("raw file read as encrypted: %v", err)
	}
	if _, err := ReadRaw(writeEncrypted(t)); err == nil {
		t.Fatal("encrypted file read as raw")
	}
	short := filepath.Join(t.TempDir(), "short.key")
	os.WriteFile(short, seed[:31], 0o600)
	if _, err := ReadRaw(short); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("short raw file: %v", err)
	}
}

// TestInsecurePermissions checks KEY-3: a key file that group or others can
// read is refused.
func TestInsecurePermissions(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no unix permissions")
	}
	for _, name := range []string{"identity.age", "identity.key"} {
		path := filepath.Join(t.TempDir(), name)
		var err error
		if name == "identity.age" {
			err = WriteEncrypted(path, seed, "pw", testOpts)
		} else {
			err = WriteRaw(path, seed)
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(path, 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := ReadRaw(path); !errors.Is(err, ErrInsecurePermissions) {
			t.Errorf("%s ReadRaw: %v", name, err)
		}
		if _, err := ReadEncrypted(path, "pw"); !errors.Is(err, ErrInsecurePermissions) {
			t.Errorf("%s ReadEncrypted: %v", name, err)
		}
	}
}

// TestBadInputs checks argument validation.
func TestBadInputs(t *testing.T) {
	dir := t.TempDir()
	if err := WriteEncrypted(filepath.Join(dir, "a"), seed[:31], "pw", testOpts); err == nil {
		t.Error("short seed written")
	}
	if err := WriteEncrypted(filepath.Join(dir, "b"), seed, "", testOpts); err == nil {
		t.Error("empty passphrase accepted")
	}
	if err := WriteEncrypted(filepath.Join(dir, "c"), seed, "pw", &Options{WorkFactor: 31}); err == nil {
		t.Error("work factor 31 accepted")
	}
	if err := WriteRaw(filepath.Join(dir, "d"), seed[:1]); err == nil {
		t.Error("short raw seed written")
	}
	if _, err := os.Stat(filepath.Join(dir, "a")); !errors.Is(err, fs.ErrNotExist) {
		t.Error("failed write left a file")
	}
	if _, err := ReadRaw(filepath.Join(dir, "missing")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}
