package client_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/blindpost/blindpost/impl/client"
)

// groupSecured matches the moment a client shows group secured with exactly with, nobody
// missing: a GroupEvent or GroupSecuredEvent (spec §9 [CLI-31]).
func groupSecured(group string, with ...string) func(client.Event) bool {
	want := strings.Join(with, ",")
	return func(e client.Event) bool {
		switch g := e.(type) {
		case client.GroupEvent:
			return g.Group == group && strings.Join(g.SecuredWith, ",") == want && len(g.Missing) == 0
		case client.GroupSecuredEvent:
			return g.Group == group && strings.Join(g.SecuredWith, ",") == want && len(g.Missing) == 0
		}
		return false
	}
}

// othersOf returns names without self.
func othersOf(self string, names []string) []string {
	return slices.DeleteFunc(slices.Clone(names), func(n string) bool { return n == self })
}

// waitSecured waits, after the group event ev of an epoch, until the client shows the group
// secured with exactly with (spec §9 [CLI-31]).
func (p *peer) waitSecured(ev client.Event, group string, with ...string) {
	p.t.Helper()
	if match := groupSecured(group, with...); !match(ev) {
		p.wait("secured with "+strings.Join(with, ", ")+" in "+group, match)
	}
}

// TestGroupChangedMemberNotSecured: carol comes back with a new identity key and commits epoch
// 3. bob, who never pinned carol, accepts it and acknowledges; alice, who pinned carol's old
// key, reports key_changed and sends nothing in epoch 3. carol's client holds the epoch but
// claims to be secured with bob only and names alice as missing, until alice trusts the new key:
// then alice accepts the held commit, acknowledges it, counts bob's acknowledgement that came
// while the commit was held, and both sides are secured with everyone, nobody having left or
// joined again. Rules: GRP-21, GRP-22, CLI-25, CLI-31, TRUST-2.
func TestGroupChangedMemberNotSecured(t *testing.T) {
	alice, bob, carol := changedKeyGroup(t)
	if err := carol.c.JoinGroup(ctx(t), "g"); err != nil {
		t.Fatal(err)
	}

	ev := carol.wait("carol's own epoch", groupEpoch("g", "alice", "bob", "carol")).(client.GroupEvent)
	if len(ev.SecuredWith) != 0 || strings.Join(ev.Missing, ",") != "alice,bob" {
		t.Fatalf("CLI-31: carol's new epoch claims %v, missing %v; want nobody yet, alice and bob missing", ev.SecuredWith, ev.Missing)
	}
	carol.wait("bob's acknowledgement", groupSecuredWith("g", []string{"bob"}, []string{"alice"}))
	alice.wait("key_changed", security("key_changed", "TRUST-2"))
	bob.wait("bob secured with carol only", groupSecuredWith("g", []string{"carol"}, []string{"alice"}))
	for _, g := range carol.c.Groups() {
		if g.Name == "g" && (strings.Join(g.SecuredWith, ",") != "bob" || strings.Join(g.Missing, ",") != "alice") {
			t.Fatalf("CLI-31: carol's group shows secured with %v, missing %v; want bob, missing alice", g.SecuredWith, g.Missing)
		}
	}

	if err := alice.c.Trust(ctx(t), "carol"); err != nil {
		t.Fatal(err)
	}
	ev = alice.wait("carol readmitted", groupEpoch("g", "alice", "bob", "carol")).(client.GroupEvent)
	alice.waitSecured(ev, "g", "bob", "carol") // carol by her commit, bob by his held acknowledgement
	carol.wait("alice's acknowledgement", groupSecured("g", "alice", "bob"))
	bob.wait("alice's acknowledgement", groupSecured("g", "alice", "carol"))
	if carol.saw(func(e client.Event) bool {
		s, ok := e.(client.GroupSecuredEvent)
		return ok && slices.Contains(s.SecuredWith, "alice") && slices.Contains(s.Missing, "bob")
	}) {
		t.Fatal("CLI-31: carol counted alice before alice acknowledged")
	}
	if _, _, err := carol.c.GroupSend(ctx(t), "g", "I am back"); err != nil {
		t.Fatal(err)
	}
	alice.wait("carol's message", groupMessage("g", "I am back"))
	for _, p := range []*peer{alice, bob, carol} {
		if p.saw(func(e client.Event) bool { _, ok := e.(client.GroupLeftEvent); return ok }) {
			t.Fatalf("%s left the group", p.name)
		}
	}
	if got := alice.securityEvents(); len(got) != 1 {
		t.Fatalf("alice reported %v; want only the key change", got)
	}
}

// groupSecuredWith matches a group event that shows exactly with as holding the epoch and
// missing as not (spec §9 [CLI-31]).
func groupSecuredWith(group string, with, missing []string) func(client.Event) bool {
	w, m := strings.Join(with, ","), strings.Join(missing, ",")
	return func(e client.Event) bool {
		switch g := e.(type) {
		case client.GroupEvent:
			return g.Group == group && strings.Join(g.SecuredWith, ",") == w && strings.Join(g.Missing, ",") == m
		case client.GroupSecuredEvent:
			return g.Group == group && strings.Join(g.SecuredWith, ",") == w && strings.Join(g.Missing, ",") == m
		}
		return false
	}
}

// TestGroupChangedMemberLowestCommits: carol comes back with a new key and commits epoch 3,
// which alice holds back (key_changed); then bob leaves. alice is the lowest-named member left,
// so she must rekey bob out, and carol's changed key stops her. Once alice trusts the new key,
// carol's commit is verified against the announcement it was made for, and alice commits epoch
// 4 for alice and carol by herself: carol is readmitted, each side is secured with the other,
// and neither left nor joined again. Rules: CLI-25, CLI-31, GRP-21, TRUST-2, spec §7.1 "Who
// commits".
func TestGroupChangedMemberLowestCommits(t *testing.T) {
	alice, bob, carol := changedKeyGroup(t)
	if err := carol.c.JoinGroup(ctx(t), "g"); err != nil {
		t.Fatal(err)
	}
	alice.wait("key_changed", security("key_changed", "TRUST-2"))
	carol.wait("bob's acknowledgement", groupSecuredWith("g", []string{"bob"}, []string{"alice"}))

	if err := bob.c.LeaveGroup(ctx(t), "g"); err != nil {
		t.Fatal(err)
	}
	alice.wait("bob's leave", func(e client.Event) bool {
		m, ok := e.(client.GroupMembersEvent)
		return ok && strings.Join(m.Members, ",") == "alice,carol"
	})
	carol.wait("bob's leave", func(e client.Event) bool {
		m, ok := e.(client.GroupMembersEvent)
		return ok && strings.Join(m.Members, ",") == "alice,carol"
	})

	if err := alice.c.Trust(ctx(t), "carol"); err != nil {
		t.Fatal(err)
	}
	alice.wait("carol's epoch 3", groupEpoch("g", "alice", "bob", "carol"))
	ev := alice.wait("alice's rekey", groupEpoch("g", "alice", "carol")).(client.GroupEvent)
	if ev.Committer != "alice" || ev.Epoch != 4 {
		t.Fatalf("alice accepted %+v; want epoch 4 committed by alice", ev)
	}
	alice.waitSecured(ev, "g", "carol")
	ev = carol.wait("alice's rekey", groupEpoch("g", "alice", "carol")).(client.GroupEvent)
	if ev.Committer != "alice" || ev.Epoch != 4 {
		t.Fatalf("carol accepted %+v; want epoch 4 committed by alice", ev)
	}
	carol.waitSecured(ev, "g", "alice")

	if _, _, err := carol.c.GroupSend(ctx(t), "g", "readmitted"); err != nil {
		t.Fatal(err)
	}
	alice.wait("carol's message", groupMessage("g", "readmitted"))
	for _, p := range []*peer{alice, carol} {
		if p.saw(func(e client.Event) bool { _, ok := e.(client.GroupLeftEvent); return ok }) {
			t.Fatalf("%s left the group", p.name)
		}
	}
	for _, s := range alice.securityEvents() {
		if s.Code != "key_changed" {
			t.Fatalf("alice reported %v; want only the key change", s)
		}
	}
}
