package directory

import (
	"bytes"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

func key(b byte, n int) []byte { return bytes.Repeat([]byte{b}, n) }

func entry(user string, ik, gk byte) Entry {
	return Entry{User: user, IdentityKey: key(ik, 32), GroupKey: key(gk, 32), GroupKeySig: key(gk^0xff, 64)}
}

func open(t *testing.T, path string, opts Options) *Directory {
	t.Helper()
	d, err := Open(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// TestBind checks REG-5 (first key holds the name), REG-6 (another key is refused), REG-12 (the
// latest group key is kept) and REG-13 (a full directory refuses a new name).
func TestBind(t *testing.T) {
	steps := []struct {
		name    string
		e       Entry
		want    Result
		wantErr error
	}{
		{"first binding", entry("alice", 1, 10), Created, nil},
		{"same key same group key", entry("alice", 1, 10), Unchanged, nil},
		{"same key new group key", entry("alice", 1, 11), Updated, nil},
		{"other key", entry("alice", 2, 12), 0, ErrIdentityMismatch},
		{"second name", entry("bob", 3, 13), Created, nil},
		{"third name over the limit", entry("carol", 4, 14), 0, ErrFull},
		{"bound name still updates when full", entry("bob", 3, 15), Updated, nil},
	}
	d := open(t, filepath.Join(t.TempDir(), FileName), Options{MaxUsers: 2})
	for _, s := range steps {
		got, err := d.Bind(s.e)
		if !errors.Is(err, s.wantErr) || got != s.want {
			t.Fatalf("%s: Bind = %v, %v; want %v, %v", s.name, got, err, s.want, s.wantErr)
		}
	}
	alice, err := d.Lookup("alice")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(alice.IdentityKey, key(1, 32)) || !bytes.Equal(alice.GroupKey, key(11, 32)) {
		t.Errorf("alice = %x / %x, want the first identity key and the latest group key", alice.IdentityKey, alice.GroupKey)
	}
	if n, err := d.Count(); err != nil || n != 2 {
		t.Errorf("Count = %d, %v; want 2", n, err)
	}
}

// TestHolds checks the read-only test Bind and the relay use to skip work that would change
// nothing: exactly the stored keys and signature hold, anything else does not.
func TestHolds(t *testing.T) {
	d := open(t, filepath.Join(t.TempDir(), FileName), Options{})
	if _, err := d.Bind(entry("alice", 1, 10)); err != nil {
		t.Fatal(err)
	}
	var raw []byte
	d.db.View(func(tx *bolt.Tx) error {
		raw = append(raw, tx.Bucket(bucketUsers).Get([]byte("alice"))...)
		return nil
	})
	if !bytes.HasPrefix(raw, keysPrefix(entry("alice", 1, 10))) {
		t.Fatalf("the stored record %s does not start with the keys' prefix", raw)
	}
	sig := entry("alice", 1, 10)
	sig.GroupKeySig = key(1, 64)
	for _, tt := range []struct {
		name string
		e    Entry
		want bool
	}{
		{"the stored binding", entry("alice", 1, 10), true},
		{"another group key", entry("alice", 1, 11), false},
		{"another signature", sig, false},
		{"another identity key", entry("alice", 2, 10), false},
		{"an unbound name", entry("bob", 1, 10), false},
	} {
		if got, err := d.Holds(tt.e); err != nil || got != tt.want {
			t.Errorf("%s: Holds = %v, %v; want %v", tt.name, got, err, tt.want)
		}
	}
}

// TestConcurrentBinds checks that bindings made at the same time (batched into shared
// transactions) each get the right result, and all persist.
func TestConcurrentBinds(t *testing.T) {
	path := filepath.Join(t.TempDir(), FileName)
	d := open(t, path, Options{})
	const n = 50
	errs := make(chan error, 2*n)
	for i := range n {
		go func() {
			_, err := d.Bind(entry(fmt.Sprintf("user%d", i), byte(i), 1))
			errs <- err
		}()
		go func() {
			_, err := d.Bind(entry("shared", byte(i), 1)) // one of them wins the name
			if errors.Is(err, ErrIdentityMismatch) {
				err = nil
			}
			errs <- err
		}()
	}
	for range 2 * n {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if c, err := d.Count(); err != nil || c != n+1 {
		t.Fatalf("Count = %d, %v; want %d", c, err, n+1)
	}
}

// TestPersistence checks REG-5: bindings survive a restart; Remove frees a name.
func TestPersistence(t *testing.T) {
	path := filepath.Join(t.TempDir(), FileName)
	d, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range []Entry{entry("bob", 2, 20), entry("alice", 1, 10)} {
		if _, err := d.Bind(e); err != nil {
			t.Fatal(err)
		}
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}

	d = open(t, path, Options{})
	list, err := d.List()
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].User != "alice" || list[1].User != "bob" {
		t.Fatalf("List = %+v, want alice and bob in order", list)
	}
	if list[0].BoundAt.IsZero() || time.Since(list[0].BoundAt) > time.Hour {
		t.Errorf("BoundAt = %v", list[0].BoundAt)
	}
	if _, err := d.Bind(entry("alice", 9, 10)); !errors.Is(err, ErrIdentityMismatch) {
		t.Fatalf("rebind after restart: %v, want ErrIdentityMismatch", err)
	}
	if err := d.Remove("alice"); err != nil {
		t.Fatal(err)
	}
	if err := d.Remove("alice"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second Remove = %v, want ErrNotFound", err)
	}
	if _, err := d.Lookup("alice"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Lookup after Remove = %v, want ErrNotFound", err)
	}
	if ok, err := d.Exists("bob"); !ok || err != nil {
		t.Fatalf("Exists(bob) = %v, %v", ok, err)
	}
	if got, err := d.Bind(entry("alice", 9, 10)); err != nil || got != Created {
		t.Fatalf("bind a freed name = %v, %v; want Created", got, err)
	}
}

// TestLocked checks that a second opener (an operator command next to a running server) is
// refused with ErrLocked instead of waiting or corrupting the file.
func TestLocked(t *testing.T) {
	path := filepath.Join(t.TempDir(), FileName)
	open(t, path, Options{})
	for _, ro := range []bool{false, true} {
		_, err := Open(path, Options{LockTimeout: 20 * time.Millisecond, ReadOnly: ro})
		if !errors.Is(err, ErrLocked) {
			t.Fatalf("ReadOnly=%v: second Open = %v, want ErrLocked", ro, err)
		}
	}
}

func TestResultString(t *testing.T) {
	for r, want := range map[Result]string{Created: "created", Updated: "updated", Unchanged: "unchanged", 0: "Result(0)"} {
		if r.String() != want {
			t.Errorf("%d.String() = %q, want %q", int(r), r.String(), want)
		}
	}
}
