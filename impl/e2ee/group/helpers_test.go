package group

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"

	"github.com/blindpost/blindpost/impl/e2ee"
	"github.com/blindpost/blindpost/impl/e2ee/identity"
	"github.com/blindpost/blindpost/impl/e2ee/trust"
)

// tb is what the helpers need from *testing.T, *testing.B and *rapid.T.
type tb interface {
	Helper()
	Fatal(args ...any)
	Fatalf(format string, args ...any)
}

// client is one user with its identity, its pins and its state of the group.
type client struct {
	name string
	id   *identity.PrivateKey
	pins *trust.Store
	st   *State
}

func newClient(t tb, name string, seed byte) *client {
	t.Helper()
	id, err := identity.FromSeed(bytes.Repeat([]byte{seed}, 32))
	if err != nil {
		t.Fatal(err)
	}
	return &client{name: name, id: id, pins: trust.NewMemory()}
}

func (c *client) member() Member {
	return Member{User: c.name, IdentityKey: c.id.Public(), GroupKey: c.id.GroupPublic(), GroupKeySig: c.id.GroupKeySig(c.name)}
}

func (c *client) config(seed uint64) Config {
	return Config{Group: "broadcast", Self: c.name, Identity: c.id, Pins: c.pins,
		Rand: rand.NewChaCha8([32]byte{byte(seed), 7})}
}

// join makes c join at the given epoch and last commit.
func (c *client) join(t tb, epoch uint64, last *Commit) {
	t.Helper()
	st, err := Join(c.config(uint64(len(c.name))), epoch, last)
	if err != nil {
		t.Fatal(err)
	}
	c.st = st
}

// world is a group of clients that all joined and accepted one commit by
// the first client listing everyone.
type world struct {
	clients []*client
	commit  *Commit
}

func newWorld(t tb, names ...string) *world {
	t.Helper()
	w := &world{}
	for i, n := range names {
		c := newClient(t, n, byte(i+1))
		c.join(t, 0, nil)
		w.clients = append(w.clients, c)
	}
	w.recommit(t, w.clients[0])
	return w
}

// recommit has committer commit the next epoch for every client and every
// other client accept it.
func (w *world) recommit(t tb, committer *client) *Commit {
	t.Helper()
	var members []Member
	for _, c := range w.clients {
		members = append(members, c.member())
	}
	p, err := committer.st.CreateCommit(members)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := committer.st.Apply(p); err != nil {
		t.Fatal(err)
	}
	for _, c := range w.clients {
		if c == committer {
			continue
		}
		if _, err := c.st.ReceiveCommit(&p.Commit); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
	}
	w.commit = &p.Commit
	return &p.Commit
}

func (w *world) get(name string) *client {
	for _, c := range w.clients {
		if c.name == name {
			return c
		}
	}
	panic("no client " + name)
}

func wantOutcome(t tb, err error, o e2ee.Outcome, rule string) {
	t.Helper()
	var e *e2ee.Error
	if !errors.As(err, &e) {
		t.Fatalf("got %v, want %s [%s]", err, o, rule)
	}
	if e.Outcome != o || (rule != "" && e.Rule != rule) {
		t.Fatalf("got %s [%s] (%v), want %s [%s]", e.Outcome, e.Rule, err, o, rule)
	}
}

// cloneCommit deep-copies a commit so a test can change it.
func cloneCommit(c *Commit) *Commit {
	d := *c
	d.Prev = bytes.Clone(c.Prev)
	d.Members = slices.Clone(c.Members)
	d.Wraps = slices.Clone(c.Wraps)
	d.Confirm, d.Sig = bytes.Clone(c.Confirm), bytes.Clone(c.Sig)
	return &d
}

// resign recomputes confirm (from secret) and sig (by id) after a test
// changed a commit, so that later checks are reached.
func resign(t tb, c *Commit, id *identity.PrivateKey, secret []byte) {
	t.Helper()
	hash := CommitHash(c)
	confirm, err := ConfirmTag(secret, c.Group, c.Epoch, hash)
	if err != nil {
		t.Fatal(err)
	}
	c.Confirm = confirm
	c.Sig = id.Sign(CommitSignatureInput(hash, confirm))
}

// snapshot captures what GRP-10 says a rejected commit must not change.
func snapshot(st *State) string {
	st.mu.Lock()
	defer st.mu.Unlock()
	return fmt.Sprintf("%d %x %v %x %d", st.epoch, st.lastHash, st.members, st.secret, len(st.recv))
}
