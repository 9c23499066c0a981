// Package storetest is the behavioural contract of directory.Store, run against every
// implementation: the bbolt directory of one relay and the key-value store of a cluster must
// answer every check here the same way (spec §5.2, §5.2.1, §5.9 [GSV-20]).
package storetest

import (
	"bytes"
	"encoding/json"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/blindpost/blindpost/impl/server/directory"
)

// Clock is a clock a test moves by hand.
type Clock struct{ unix atomic.Int64 }

// NewClock returns a Clock at a fixed time.
func NewClock() *Clock {
	c := &Clock{}
	c.unix.Store(1_700_000_000)
	return c
}

// Now returns the clock's time.
func (c *Clock) Now() time.Time { return time.Unix(c.unix.Load(), 0) }

// Advance moves the clock on by d.
func (c *Clock) Advance(d time.Duration) { c.unix.Add(int64(d / time.Second)) }

// Opener opens a fresh, empty store bounded to maxUsers bound names (0: none), on clock now.
type Opener func(t *testing.T, maxUsers int, now func() time.Time) directory.Store

// Entry returns a binding of user with identity key ik and group key gk (bytes repeated).
func Entry(user string, ik, gk byte) directory.Entry {
	return directory.Entry{User: user, IdentityKey: bytes.Repeat([]byte{ik}, 32),
		GroupKey: bytes.Repeat([]byte{gk}, 32), GroupKeySig: bytes.Repeat([]byte{gk ^ 0xff}, 64)}
}

// Run runs every check of the contract against stores from open, as subtests.
func Run(t *testing.T, open Opener) {
	for _, c := range []struct {
		name string
		fn   func(*testing.T, Opener)
	}{
		{"bind", bind},
		{"max-users-concurrent", maxUsersConcurrent},
		{"invites", invites},
		{"invite-single-use-concurrent", inviteSingleUse},
		{"touch-prune", touchPrune},
		{"groups", groups},
		{"group-epoch-race", groupEpochRace},
		{"group-bound", groupBound},
	} {
		t.Run(c.name, func(t *testing.T) { c.fn(t, open) })
	}
}

// ok returns v, failing the test given to it when err is not nil.
func ok[T any](v T, err error) func(*testing.T) T {
	return func(t *testing.T) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

// bind checks REG-5 (first key holds the name), REG-6 (another key is refused), REG-12 (the
// latest group key is kept) and REG-13 (a full store refuses a new name), with the reads.
func bind(t *testing.T, open Opener) {
	clock := NewClock()
	s := open(t, 2, clock.Now)
	steps := []struct {
		name    string
		e       directory.Entry
		want    directory.Result
		wantErr error
	}{
		{"first binding", Entry("alice", 1, 10), directory.Created, nil},
		{"same key same group key", Entry("alice", 1, 10), directory.Unchanged, nil},
		{"same key new group key", Entry("alice", 1, 11), directory.Updated, nil},
		{"other key", Entry("alice", 2, 12), 0, directory.ErrIdentityMismatch},
		{"second name", Entry("bob", 3, 13), directory.Created, nil},
		{"third name over the limit", Entry("carol", 4, 14), 0, directory.ErrFull},
		{"bound name still updates when full", Entry("bob", 3, 15), directory.Updated, nil},
	}
	for _, st := range steps {
		got, err := s.Bind(st.e, directory.Admission{})
		if !errors.Is(err, st.wantErr) || got != st.want {
			t.Fatalf("%s: Bind = %v, %v; want %v, %v", st.name, got, err, st.want, st.wantErr)
		}
	}
	alice := ok(s.Lookup("alice"))(t)
	if want := Entry("alice", 1, 11); !bytes.Equal(alice.IdentityKey, want.IdentityKey) || !bytes.Equal(alice.GroupKey, want.GroupKey) ||
		!bytes.Equal(alice.GroupKeySig, want.GroupKeySig) || !alice.BoundAt.Equal(clock.Now()) {
		t.Fatalf("Lookup(alice) = %+v", alice)
	}
	if held := ok(s.Holds(Entry("alice", 1, 11)))(t); !held {
		t.Fatal("Holds(alice with her latest keys) = false")
	}
	if held := ok(s.Holds(Entry("alice", 1, 10)))(t); held {
		t.Fatal("Holds(alice with her old group key) = true")
	}
	if i := ok(s.HoldsAll([]directory.Entry{Entry("alice", 1, 11), Entry("bob", 3, 15), Entry("carol", 4, 14)}))(t); i != 2 {
		t.Fatalf("HoldsAll = %d, want 2 (carol is not bound)", i)
	}
	if i := ok(s.HoldsAll([]directory.Entry{Entry("alice", 1, 11), Entry("bob", 3, 15)}))(t); i != -1 {
		t.Fatalf("HoldsAll = %d, want -1", i)
	}
	if _, err := s.Lookup("carol"); !errors.Is(err, directory.ErrNotFound) {
		t.Fatalf("Lookup(carol) = %v, want ErrNotFound", err)
	}
	if ok := ok(s.Exists("bob"))(t); !ok {
		t.Fatal("Exists(bob) = false")
	}
	checkNames(t, s, "alice", "bob")
	if err := s.Remove("alice"); err != nil {
		t.Fatal(err)
	}
	if err := s.Remove("alice"); !errors.Is(err, directory.ErrNotFound) {
		t.Fatalf("second Remove(alice) = %v, want ErrNotFound", err)
	}
	// The removed name is free again, for another key, and counts no more (REG-13).
	if got, err := s.Bind(Entry("alice", 2, 12), directory.Admission{}); err != nil || got != directory.Created {
		t.Fatalf("rebinding a removed name = %v, %v", got, err)
	}
	removed, missing := must2(t)(s.RemoveAll([]string{"bob", "zed"}))
	if !slices.Equal(removed, []string{"bob"}) || !slices.Equal(missing, []string{"zed"}) {
		t.Fatalf("RemoveAll = %v, %v", removed, missing)
	}
	checkNames(t, s, "alice")
}

func must2(t *testing.T) func(a, b []string, err error) ([]string, []string) {
	return func(a, b []string, err error) ([]string, []string) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return a, b
	}
}

// checkNames checks List (sorted) and Count against names.
func checkNames(t *testing.T, s directory.Store, names ...string) {
	t.Helper()
	var got []string
	for _, e := range ok(s.List())(t) {
		got = append(got, e.User)
	}
	if !slices.Equal(got, names) {
		t.Fatalf("List = %v, want %v", got, names)
	}
	if n := ok(s.Count())(t); n != len(names) {
		t.Fatalf("Count = %d, want %d", n, len(names))
	}
}

// maxUsersConcurrent checks REG-13 under concurrent registrations: never more names than the
// bound, and exactly the bound when more try.
func maxUsersConcurrent(t *testing.T, open Opener) {
	const bound, tries = 3, 8
	s := open(t, bound, time.Now)
	results := make([]error, tries)
	var wg sync.WaitGroup
	for i := range tries {
		wg.Go(func() {
			_, results[i] = s.Bind(Entry(string(rune('a'+i)), byte(i+1), 1), directory.Admission{})
		})
	}
	wg.Wait()
	created := 0
	for i, err := range results {
		switch {
		case err == nil:
			created++
		case !errors.Is(err, directory.ErrFull):
			t.Fatalf("Bind %d: %v", i, err)
		}
	}
	if created != bound {
		t.Fatalf("%d names bound of %d tries with --max-users %d", created, tries, bound)
	}
	if n := ok(s.Count())(t); n != bound {
		t.Fatalf("Count = %d, want %d", n, bound)
	}
}

// invites checks the registration policy of spec §5.2.1: INV-1 to INV-4 and INV-6 (expiry), and
// that a refused registration binds nothing and uses nothing.
func invites(t *testing.T, open Opener) {
	clock := NewClock()
	s := open(t, 0, clock.Now)
	invite := func(p directory.Policy, code string) directory.Admission {
		return directory.Admission{Policy: p, Invite: code}
	}
	if _, err := s.Bind(Entry("alice", 1, 1), invite(directory.PolicyOpen, "")); err != nil {
		t.Fatal(err)
	}
	code := must3(t)(s.CreateInvite(2, time.Hour))
	steps := []struct {
		name    string
		e       directory.Entry
		a       directory.Admission
		wantErr error
	}{
		{"closed", Entry("bob", 2, 2), invite(directory.PolicyClosed, code), directory.ErrClosed},
		{"invite policy without invite", Entry("bob", 2, 2), invite(directory.PolicyInvite, ""), directory.ErrInviteRequired},
		{"unknown invite", Entry("bob", 2, 2), invite(directory.PolicyInvite, "AAAAAAAAAAAAAAAAAAAAAAAA"), directory.ErrBadInvite},
		{"bound name needs no invite", Entry("alice", 1, 1), invite(directory.PolicyClosed, ""), nil},
		{"lost name uses no invite", Entry("alice", 9, 9), invite(directory.PolicyInvite, code), directory.ErrIdentityMismatch},
		{"first use", Entry("bob", 2, 2), invite(directory.PolicyInvite, code), nil},
		{"second use", Entry("carol", 3, 3), invite(directory.PolicyInvite, code), nil},
		{"used up", Entry("dave", 4, 4), invite(directory.PolicyInvite, code), directory.ErrBadInvite},
	}
	for _, st := range steps {
		if _, err := s.Bind(st.e, st.a); !errors.Is(err, st.wantErr) {
			t.Fatalf("%s: Bind = %v, want %v", st.name, err, st.wantErr)
		}
	}
	if ok := ok(s.Exists("dave"))(t); ok {
		t.Fatal("a refused registration bound its name")
	}
	// INV-6: an expired invite binds nothing.
	code2, inv2 := must3(t)(s.CreateInvite(1, time.Hour)), lastInvite(t, s)
	if inv2.Uses != 1 || !inv2.Expires.Equal(clock.Now().Add(time.Hour)) {
		t.Fatalf("Invites = %+v", inv2)
	}
	clock.Advance(time.Hour)
	if _, err := s.Bind(Entry("dave", 4, 4), invite(directory.PolicyInvite, code2)); !errors.Is(err, directory.ErrBadInvite) {
		t.Fatalf("expired invite: Bind = %v", err)
	}
	if list := ok(s.Invites())(t); len(list) != 0 {
		t.Fatalf("Invites lists used-up or expired invites: %+v", list)
	}
	// Revocation, by id and by code.
	code3 := must3(t)(s.CreateInvite(1, 0))
	inv3 := lastInvite(t, s)
	if err := s.RevokeInvite(inv3.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeInvite(inv3.ID); !errors.Is(err, directory.ErrNotFound) {
		t.Fatalf("second revoke = %v, want ErrNotFound", err)
	}
	if _, err := s.Bind(Entry("dave", 4, 4), invite(directory.PolicyInvite, code3)); !errors.Is(err, directory.ErrBadInvite) {
		t.Fatalf("revoked invite: Bind = %v", err)
	}
	code4 := must3(t)(s.CreateInvite(1, 0))
	if err := s.RevokeInvite(code4); err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeInvite("nothing"); !errors.Is(err, directory.ErrNotFound) {
		t.Fatalf("revoke unknown = %v, want ErrNotFound", err)
	}
}

func must3(t *testing.T) func(code string, _ directory.Invite, err error) string {
	return func(code string, _ directory.Invite, err error) string {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return code
	}
}

func lastInvite(t *testing.T, s directory.Store) directory.Invite {
	t.Helper()
	list := ok(s.Invites())(t)
	if len(list) == 0 {
		t.Fatal("Invites is empty")
	}
	return list[len(list)-1]
}

// inviteSingleUse checks INV-4 under concurrent registrations: an invite of one use binds one
// new name, whoever asks at once.
func inviteSingleUse(t *testing.T, open Opener) {
	const tries = 6
	s := open(t, 0, time.Now)
	code := must3(t)(s.CreateInvite(1, 0))
	errs := make([]error, tries)
	var wg sync.WaitGroup
	for i := range tries {
		wg.Go(func() {
			_, errs[i] = s.Bind(Entry(string(rune('a'+i)), byte(i+1), 1), directory.Admission{Policy: directory.PolicyInvite, Invite: code})
		})
	}
	wg.Wait()
	created := 0
	for i, err := range errs {
		switch {
		case err == nil:
			created++
		case !errors.Is(err, directory.ErrBadInvite):
			t.Fatalf("Bind %d: %v", i, err)
		}
	}
	if created != 1 {
		t.Fatalf("a one-use invite bound %d names", created)
	}
}

// touchPrune checks INV-7: a registration refreshes a name's last-seen time (to within
// SeenResolution), Prune removes the names unseen since the cutoff except those kept, and a
// pruned name counts no more against --max-users.
func touchPrune(t *testing.T, open Opener) {
	clock := NewClock()
	s := open(t, 3, clock.Now)
	for i, u := range []string{"alice", "bob", "carol"} {
		if _, err := s.Bind(Entry(u, byte(i+1), 1), directory.Admission{}); err != nil {
			t.Fatal(err)
		}
	}
	t0 := clock.Now()
	clock.Advance(2 * directory.SeenResolution)
	if _, err := s.Bind(Entry("alice", 1, 1), directory.Admission{}); err != nil { // unchanged: a touch
		t.Fatal(err)
	}
	if err := s.Touch("bob"); err != nil {
		t.Fatal(err)
	}
	if err := s.Touch("nobody"); err != nil {
		t.Fatalf("Touch of a name not bound = %v", err)
	}
	for u, want := range map[string]time.Time{"alice": clock.Now(), "bob": clock.Now(), "carol": t0} {
		if e := ok(s.Lookup(u))(t); !e.LastSeen.Equal(want) {
			t.Fatalf("LastSeen(%s) = %v, want %v", u, e.LastSeen, want)
		}
	}
	// Within SeenResolution, a touch need not move the time.
	clock.Advance(time.Minute)
	if err := s.Touch("bob"); err != nil {
		t.Fatal(err)
	}
	if e := ok(s.Lookup("bob"))(t); e.LastSeen.After(clock.Now()) || e.LastSeen.Before(clock.Now().Add(-directory.SeenResolution)) {
		t.Fatalf("LastSeen(bob) = %v, not within SeenResolution of %v", e.LastSeen, clock.Now())
	}
	if _, err := s.Bind(Entry("dave", 4, 1), directory.Admission{}); !errors.Is(err, directory.ErrFull) {
		t.Fatalf("Bind over the bound = %v, want ErrFull", err)
	}
	cutoff := t0.Add(directory.SeenResolution)
	removed := ok(s.Prune(cutoff, func(u string) bool { return u == "bob" }))(t)
	if !slices.Equal(removed, []string{"carol"}) {
		t.Fatalf("Prune = %v, want [carol]", removed)
	}
	removed = ok(s.Prune(clock.Now().Add(time.Hour), func(u string) bool { return u == "bob" }))(t)
	if !slices.Equal(removed, []string{"alice"}) {
		t.Fatalf("Prune = %v, want [alice] (bob is kept)", removed)
	}
	checkNames(t, s, "bob")
	for _, u := range []string{"carol", "dave"} {
		if got, err := s.Bind(Entry(u, 9, 1), directory.Admission{}); err != nil || got != directory.Created {
			t.Fatalf("Bind(%s) after Prune = %v, %v", u, got, err)
		}
	}
}

func commit(epoch int64, by string) directory.Group {
	raw, _ := json.Marshal(map[string]any{"epoch": epoch, "committer": by})
	return directory.Group{Epoch: epoch, LastCommit: raw, Updated: time.Unix(1_700_000_000+epoch, 0)}
}

func sameGroup(a, b directory.Group) bool {
	return a.Epoch == b.Epoch && bytes.Equal(a.LastCommit, b.LastCommit) && a.Updated.Equal(b.Updated)
}

// groups checks GSV-20 and the compare-and-set behind GSV-4/GSV-5: a group's epoch and commit
// are kept, and a save from an epoch that is no longer the recorded one is stale.
func groups(t *testing.T, open Opener) {
	s := open(t, 0, time.Now)
	if _, ok := must2g(t)(s.LoadGroup("g")); ok {
		t.Fatal("LoadGroup of a new group found a record")
	}
	steps := []struct {
		name string
		g    directory.Group
		prev int64
		want directory.GroupSave
	}{
		{"no record is epoch 0, not 1", commit(2, "a"), 1, directory.GroupStale},
		{"first commit", commit(1, "a"), 0, directory.GroupSaved},
		{"a second commit for epoch 1", commit(1, "b"), 0, directory.GroupStale},
		{"epoch 2", commit(2, "b"), 1, directory.GroupSaved},
		{"an old epoch", commit(2, "c"), 1, directory.GroupStale},
	}
	for _, st := range steps {
		if got := ok(s.SaveGroupIf("g", st.g, st.prev, 0))(t); got != st.want {
			t.Fatalf("%s: SaveGroupIf = %v, want %v", st.name, got, st.want)
		}
	}
	if g, ok := must2g(t)(s.LoadGroup("g")); !ok || !sameGroup(g, commit(2, "b")) {
		t.Fatalf("LoadGroup = %+v, %v; want epoch 2 by b", g, ok)
	}
	if kept := ok(s.SaveGroup("g", commit(5, "d"), 0))(t); !kept {
		t.Fatal("SaveGroup = false")
	}
	if g, _ := must2g(t)(s.LoadGroup("g")); !sameGroup(g, commit(5, "d")) {
		t.Fatalf("LoadGroup after SaveGroup = %+v", g)
	}
	// Names that are not keys in every store.
	for _, name := range []string{"a.b", "x..y", "ü", "*", ">"} {
		if got := ok(s.SaveGroupIf(name, commit(1, "a"), 0, 0))(t); got != directory.GroupSaved {
			t.Fatalf("SaveGroupIf(%q) = %v", name, got)
		}
		if g, ok := must2g(t)(s.LoadGroup(name)); !ok || !sameGroup(g, commit(1, "a")) {
			t.Fatalf("LoadGroup(%q) = %+v, %v", name, g, ok)
		}
	}
	if n := ok(s.GroupCount())(t); n != 6 {
		t.Fatalf("GroupCount = %d, want 6", n)
	}
	// GSV-20: groups unused since the cutoff go, unless kept.
	n := ok(s.PruneGroups(time.Unix(1_700_000_003, 0), func(name string) bool { return name == "a.b" }))(t)
	if n != 4 {
		t.Fatalf("PruneGroups = %d, want 4", n)
	}
	for name, want := range map[string]bool{"g": true, "a.b": true, "x..y": false} {
		if _, ok := must2g(t)(s.LoadGroup(name)); ok != want {
			t.Fatalf("after PruneGroups, LoadGroup(%q) found = %v, want %v", name, ok, want)
		}
	}
}

func must2g(t *testing.T) func(g directory.Group, ok bool, err error) (directory.Group, bool) {
	return func(g directory.Group, ok bool, err error) (directory.Group, bool) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return g, ok
	}
}

// groupEpochRace checks GSV-4/GSV-5 under concurrent commits: of several saves from the same
// epoch exactly one is saved, and the record is the winner's.
func groupEpochRace(t *testing.T, open Opener) {
	const racers = 4
	s := open(t, 0, time.Now)
	for epoch := int64(1); epoch <= 3; epoch++ {
		res := make([]directory.GroupSave, racers)
		errs := make([]error, racers)
		var wg sync.WaitGroup
		for i := range racers {
			wg.Go(func() {
				res[i], errs[i] = s.SaveGroupIf("g", commit(epoch, string(rune('a'+i))), epoch-1, 0)
			})
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			t.Fatal(err)
		}
		winner := slices.Index(res, directory.GroupSaved)
		if winner < 0 || slices.Index(res[winner+1:], directory.GroupSaved) >= 0 {
			t.Fatalf("epoch %d: results %v, want exactly one saved", epoch, res)
		}
		if g, _ := must2g(t)(s.LoadGroup("g")); !sameGroup(g, commit(epoch, string(rune('a'+winner)))) {
			t.Fatalf("epoch %d: the record is not the winner's: %+v", epoch, g)
		}
	}
}

// groupBound checks GSV-20's bound: past max kept groups a new group is not recorded, a recorded
// one still is, and a pruned group frees its place.
func groupBound(t *testing.T, open Opener) {
	s := open(t, 0, time.Now)
	if got := ok(s.SaveGroupIf("a", commit(1, "x"), 0, 2))(t); got != directory.GroupSaved {
		t.Fatalf("SaveGroupIf(a) = %v", got)
	}
	if kept := ok(s.SaveGroup("b", commit(1, "x"), 2))(t); !kept {
		t.Fatal("SaveGroup(b) = false under the bound")
	}
	if got := ok(s.SaveGroupIf("c", commit(1, "x"), 0, 2))(t); got != directory.GroupNotKept {
		t.Fatalf("SaveGroupIf(c) over the bound = %v, want not-kept", got)
	}
	if kept := ok(s.SaveGroup("c", commit(1, "x"), 2))(t); kept {
		t.Fatal("SaveGroup(c) over the bound = true")
	}
	if got := ok(s.SaveGroupIf("a", commit(2, "x"), 1, 2))(t); got != directory.GroupSaved {
		t.Fatalf("SaveGroupIf(a) at the bound = %v, want saved (a is recorded)", got)
	}
	if n := ok(s.PruneGroups(time.Unix(1_700_000_002, 0), nil))(t); n != 1 {
		t.Fatalf("PruneGroups = %d, want 1 (b)", n)
	}
	if got := ok(s.SaveGroupIf("c", commit(1, "x"), 0, 2))(t); got != directory.GroupSaved {
		t.Fatalf("SaveGroupIf(c) after a prune = %v, want saved", got)
	}
}
