package client_test

import (
	"path/filepath"
	"testing"

	"github.com/blindpost/blindpost/impl/client"
	"github.com/blindpost/blindpost/impl/e2ee/identity"
	"github.com/blindpost/blindpost/impl/e2ee/trust"
)

// TestGroupMemberKeyChanged: carol comes back with a new identity key (the operator freed her
// name) and joins. Alice, who pinned carol's old key, is told key_changed naming carol, not
// bad_signature, and holds the epoch; once alice trusts the new key, carol's epoch is accepted
// and carol is readmitted without anyone leaving or rejoining. Rules: TRUST-2, TRUST-3, GRP-3.
func TestGroupMemberKeyChanged(t *testing.T) {
	alice, bob, carol := changedKeyGroup(t)

	if err := carol.c.JoinGroup(ctx(t), "g"); err != nil {
		t.Fatal(err)
	}
	bob.wait("carol's epoch", groupEpoch("g", "alice", "bob", "carol"))
	ev := alice.wait("key_changed", func(e client.Event) bool {
		s, ok := e.(client.SecurityEvent)
		return ok && s.Group == "g" && (s.Code == "key_changed" || s.Code == "bad_signature")
	}).(client.SecurityEvent)
	if ev.Code != "key_changed" || ev.Rule != "TRUST-2" || ev.Peer != "carol" {
		t.Fatalf("alice reported %+v, want key_changed [TRUST-2] for carol", ev)
	}
	if alice.saw(groupEpoch("g", "alice", "bob", "carol")) {
		t.Fatal("TRUST-2: alice accepted an epoch with carol's unpinned key")
	}

	if err := alice.c.Trust(ctx(t), "carol"); err != nil {
		t.Fatal(err)
	}
	alice.wait("carol readmitted", groupEpoch("g", "alice", "bob", "carol"))
	if _, _, err := carol.c.GroupSend(ctx(t), "g", "I am back"); err != nil {
		t.Fatal(err)
	}
	alice.wait("carol's message", groupMessage("g", "I am back"))
	bob.wait("carol's message", groupMessage("g", "I am back"))
	for _, p := range []*peer{alice, bob, carol} {
		if p.saw(func(e client.Event) bool { _, ok := e.(client.GroupLeftEvent); return ok }) {
			t.Fatalf("%s left the group", p.name)
		}
	}
}

// changedKeyGroup starts a relay where alice and bob are in group g, alice has pinned an older
// key of carol's (the one she lost), and carol is connected with her new key, not yet joined.
func changedKeyGroup(t *testing.T) (alice, bob, carol *peer) {
	t.Helper()
	srv := startServer(t)
	peersFile := filepath.Join(t.TempDir(), "known_peers")
	old, _ := identity.Generate(nil)
	store, err := trust.Open(peersFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := store.Trust("carol", old.Public()); err != nil {
		t.Fatal(err)
	}
	aliceKey, _ := identity.Generate(nil)
	alice = connectAs(t, srv, "alice", aliceKey, peersFile)
	bob = connect(t, srv, "bob")
	joinAll(t, "g", alice, bob)
	return alice, bob, connect(t, srv, "carol")
}
