package directory

import (
	"bytes"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
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
		got, err := d.Bind(s.e, Admission{})
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
	if _, err := d.Bind(entry("alice", 1, 10), Admission{}); err != nil {
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
			_, err := d.Bind(entry(fmt.Sprintf("user%d", i), byte(i), 1), Admission{})
			errs <- err
		}()
		go func() {
			_, err := d.Bind(entry("shared", byte(i), 1), Admission{}) // one of them wins the name
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
		if _, err := d.Bind(e, Admission{}); err != nil {
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
	if _, err := d.Bind(entry("alice", 9, 10), Admission{}); !errors.Is(err, ErrIdentityMismatch) {
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
	if got, err := d.Bind(entry("alice", 9, 10), Admission{}); err != nil || got != Created {
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

// TestMaxUsersUnderRace checks REG-13 under concurrency: registrations of new names that race
// each other (and share bbolt transactions) never bind more than MaxUsers names.
func TestMaxUsersUnderRace(t *testing.T) {
	d := open(t, filepath.Join(t.TempDir(), FileName), Options{MaxUsers: 5})
	const n = 40
	var wg sync.WaitGroup
	start := make(chan struct{})
	var created atomic.Int64
	for i := range n {
		wg.Go(func() {
			<-start
			res, err := d.Bind(entry(fmt.Sprintf("racer%d", i), byte(i), 1), Admission{})
			switch {
			case err == nil && res == Created:
				created.Add(1)
			case !errors.Is(err, ErrFull):
				t.Errorf("Bind = %v, %v; want Created or ErrFull", res, err)
			}
		})
	}
	close(start)
	wg.Wait()
	if c, err := d.Count(); err != nil || c != 5 || created.Load() != 5 {
		t.Fatalf("Count = %d (%v), %d created; want exactly 5 (REG-13)", c, err, created.Load())
	}
	// The kept count follows removals: the freed slots take exactly as many new names.
	var all []string
	for i := range n {
		all = append(all, fmt.Sprintf("racer%d", i))
	}
	removed, missing, err := d.RemoveAll(all)
	if err != nil || len(removed) != 5 || len(missing) != n-5 {
		t.Fatalf("RemoveAll = %d removed, %d missing, %v", len(removed), len(missing), err)
	}
	for i := range 6 {
		_, err := d.Bind(entry(fmt.Sprintf("late%d", i), 99, 1), Admission{})
		if i < 5 && err != nil || i == 5 && !errors.Is(err, ErrFull) {
			t.Fatalf("new name %d after freeing 5 slots: %v", i, err)
		}
	}
}

// clock is a settable time for the tests that age names and invites.
type clock struct{ t atomic.Int64 }

func (c *clock) now() time.Time          { return time.Unix(c.t.Load(), 0) }
func (c *clock) advance(d time.Duration) { c.t.Add(int64(d / time.Second)) }

// TestRegistrationPolicy checks INV-1 to INV-4 at the directory: closed refuses new names,
// invite needs a valid invite, an invite is checked whatever the policy, used once (or --uses
// times), expires, can be revoked, and a bound name needs none of it.
func TestRegistrationPolicy(t *testing.T) {
	c := &clock{}
	c.t.Store(1_700_000_000)
	d := open(t, filepath.Join(t.TempDir(), FileName), Options{Now: c.now})
	if _, err := d.Bind(entry("alice", 1, 1), Admission{}); err != nil {
		t.Fatal(err)
	}
	once, _, err := d.CreateInvite(1, 0)
	if err != nil {
		t.Fatal(err)
	}
	twice, inv2, err := d.CreateInvite(2, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if len(once) < 16 || len(once) > 64 || once == twice {
		t.Fatalf("invite codes %q, %q", once, twice)
	}
	revoked, inv3, _ := d.CreateInvite(1, 0)
	if err := d.RevokeInvite(inv3.ID); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name string
		user string
		a    Admission
		want error
	}{
		{"closed refuses a new name (INV-1)", "bob", Admission{Policy: PolicyClosed, Invite: once}, ErrClosed},
		{"closed still lets a bound name register", "alice", Admission{Policy: PolicyClosed}, nil},
		{"invite policy without invite (INV-2)", "bob", Admission{Policy: PolicyInvite}, ErrInviteRequired},
		{"unknown invite (INV-3)", "bob", Admission{Policy: PolicyInvite, Invite: "AAAAAAAAAAAAAAAAAAAAAAAA"}, ErrBadInvite},
		{"revoked invite (INV-3)", "bob", Admission{Policy: PolicyInvite, Invite: revoked}, ErrBadInvite},
		{"bad invite on an open relay (INV-3)", "bob", Admission{Invite: "AAAAAAAAAAAAAAAAAAAAAAAA"}, ErrBadInvite},
		{"single-use invite binds (INV-4)", "bob", Admission{Policy: PolicyInvite, Invite: once}, nil},
		{"single-use invite used up (INV-4)", "carol", Admission{Policy: PolicyInvite, Invite: once}, ErrBadInvite},
		{"two-use invite, first", "carol", Admission{Policy: PolicyInvite, Invite: twice}, nil},
		{"a bound name consumes no invite", "carol", Admission{Policy: PolicyInvite}, nil},
	}
	for _, s := range steps {
		ik := byte(len(s.user))
		if s.user == "alice" {
			ik = 1
		}
		if _, err := d.Bind(entry(s.user, ik, 2), s.a); !errors.Is(err, s.want) {
			t.Fatalf("%s: Bind = %v, want %v", s.name, err, s.want)
		}
	}
	list, err := d.Invites()
	if err != nil || len(list) != 1 || list[0].ID != inv2.ID || list[0].Uses != 1 {
		t.Fatalf("Invites = %+v, %v; want the two-use invite with one use left", list, err)
	}
	c.advance(time.Hour) // INV-4: an invite expires
	if _, err := d.Bind(entry("dave", 4, 2), Admission{Policy: PolicyInvite, Invite: twice}); !errors.Is(err, ErrBadInvite) {
		t.Fatalf("expired invite: %v, want ErrBadInvite", err)
	}
	if list, _ := d.Invites(); len(list) != 0 {
		t.Fatalf("Invites after expiry = %+v", list)
	}
}

// TestSingleUseInviteUnderRace checks INV-4 under concurrency: racing registrations of new
// names with one single-use invite bind exactly one name.
func TestSingleUseInviteUnderRace(t *testing.T) {
	d := open(t, filepath.Join(t.TempDir(), FileName), Options{})
	code, _, err := d.CreateInvite(1, 0)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var created atomic.Int64
	for i := range 20 {
		wg.Go(func() {
			_, err := d.Bind(entry(fmt.Sprintf("u%d", i), byte(i), 1), Admission{Policy: PolicyInvite, Invite: code})
			if err == nil {
				created.Add(1)
			} else if !errors.Is(err, ErrBadInvite) {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if created.Load() != 1 {
		t.Fatalf("%d names bound with one single-use invite, want 1", created.Load())
	}
}

// TestNameRelease checks INV-7 at the directory: a registration records when a name was last
// seen (at most once per SeenResolution), Prune releases the names not seen since the cutoff
// except those kept (online), and the kept count follows.
func TestNameRelease(t *testing.T) {
	c := &clock{}
	c.t.Store(1_700_000_000)
	path := filepath.Join(t.TempDir(), FileName)
	d := open(t, path, Options{Now: c.now, MaxUsers: 3})
	for _, u := range []string{"old", "online", "fresh"} {
		if _, err := d.Bind(entry(u, byte(len(u)), 1), Admission{}); err != nil {
			t.Fatal(err)
		}
	}
	c.advance(40 * 24 * time.Hour)
	if _, err := d.Bind(entry("fresh", 5, 1), Admission{}); err != nil { // unchanged: touches
		t.Fatal(err)
	}
	if e, _ := d.Lookup("fresh"); !e.LastSeen.Equal(c.now()) {
		t.Fatalf("fresh last seen %v, want %v", e.LastSeen, c.now())
	}
	c.advance(40 * 24 * time.Hour)
	removed, err := d.Prune(c.now().Add(-60*24*time.Hour), func(u string) bool { return u == "online" })
	if err != nil || !slices.Equal(removed, []string{"old"}) {
		t.Fatalf("Prune = %v, %v; want [old]", removed, err)
	}
	if _, err := d.Bind(entry("new", 9, 1), Admission{}); err != nil {
		t.Fatalf("a released slot takes a new name: %v", err)
	}
	if _, err := d.Bind(entry("more", 8, 1), Admission{}); !errors.Is(err, ErrFull) {
		t.Fatalf("over MaxUsers after release: %v", err)
	}
}

// TestGroupState checks GSV-20 at the directory: a group's epoch and last commit survive a
// restart.
func TestGroupState(t *testing.T) {
	path := filepath.Join(t.TempDir(), FileName)
	d, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok, err := d.LoadGroup("broadcast"); ok || err != nil {
		t.Fatalf("LoadGroup before any commit = %v, %v", ok, err)
	}
	want := Group{Epoch: 4, LastCommit: []byte(`{"group":"broadcast","epoch":4}`)}
	if kept, err := d.SaveGroup("broadcast", want, 2); err != nil || !kept {
		t.Fatal(kept, err)
	}
	if kept, err := d.SaveGroup("second", want, 2); err != nil || !kept {
		t.Fatal(kept, err)
	}
	// Beyond the bound a new group is not kept; a kept one still is.
	if kept, err := d.SaveGroup("third", want, 2); err != nil || kept {
		t.Fatalf("third group kept = %v, %v; want false", kept, err)
	}
	if kept, err := d.SaveGroup("broadcast", want, 2); err != nil || !kept {
		t.Fatal(kept, err)
	}
	d.Close()
	d = open(t, path, Options{})
	got, ok, err := d.LoadGroup("broadcast")
	if err != nil || !ok || got.Epoch != 4 || string(got.LastCommit) != string(want.LastCommit) {
		t.Fatalf("LoadGroup after restart = %+v, %v, %v", got, ok, err)
	}
}
