package client_test

import (
	"slices"
	"testing"

	"github.com/blindpost/blindpost/impl/e2ee/canonical"
	"github.com/blindpost/blindpost/impl/e2ee/group"
	"github.com/blindpost/blindpost/impl/e2ee/identity"
	"github.com/blindpost/blindpost/impl/e2ee/trust"
	"github.com/blindpost/blindpost/impl/e2ee/wireconv"
	"github.com/blindpost/blindpost/impl/wire"
)

func member(p *peer) group.Member {
	return group.Member{User: p.name, IdentityKey: p.key.Public(), GroupKey: p.key.GroupPublic(), GroupKeySig: p.key.GroupKeySig(p.name)}
}

// resign recomputes a commit's signature with key after the test changed it.
func resign(c *group.Commit, key *identity.PrivateKey) {
	c.Sig = key.Sign(group.CommitSignatureInput(group.CommitHash(c), c.Confirm))
}

// cloneCommit deep-copies a commit so that a forgery does not alter the original.
func cloneCommit(c group.Commit) group.Commit {
	c.Members = slices.Clone(c.Members)
	c.Wraps = slices.Clone(c.Wraps)
	for i := range c.Wraps {
		c.Wraps[i].Wrap = slices.Clone(c.Wraps[i].Wrap)
	}
	for i := range c.Members {
		c.Members[i].GroupKeySig = slices.Clone(c.Members[i].GroupKeySig)
	}
	c.Sig, c.Confirm = slices.Clone(c.Sig), slices.Clone(c.Confirm)
	return c
}

// TestGroupRejections plays a malicious relay and a malicious member (with bob's keys) against
// alice in a group: every forged or replayed commit and group message is rejected with its
// outcome and rule and reported, and alice's epoch stays as it was. Rules: GRP-2 to GRP-10,
// GRP-14 to GRP-17, GRP-20, KEY-5, TRUST-2, CLI-2.
func TestGroupRejections(t *testing.T) {
	tp := startTapped(t)
	alice := tp.connect(t, "alice")
	bob := tp.connect(t, "bob")
	carol := tp.connect(t, "carol")
	tp.connect(t, "erin") // registered, never pinned by alice (GRP-20)
	joinAll(t, "g", alice, bob)
	if _, err := alice.c.PeerKey(ctx(t), "carol"); err != nil { // alice pins carol
		t.Fatal(err)
	}
	var commits []group.Commit
	for _, m := range tp.sent(t) {
		if gc, ok := m.(*wire.GroupCommit); ok {
			commits = append(commits, wireconv.FromCommit(&gc.Commit))
		}
	}
	// spy is bob's group state at epoch 2, as the test can rebuild it with bob's keys.
	spy, err := group.Join(group.Config{Group: "g", Self: "bob", Identity: bob.key, Pins: trust.NewMemory()}, 1, &commits[0])
	if err != nil {
		t.Fatal(err)
	}
	if _, err := spy.ReceiveCommit(&commits[1]); err != nil {
		t.Fatal(err)
	}
	create := func(members ...group.Member) group.Commit {
		t.Helper()
		p, err := spy.CreateCommit(members)
		if err != nil {
			t.Fatal(err)
		}
		return cloneCommit(p.Commit)
	}
	other, _ := identity.Generate(nil)

	commitTests := []struct {
		name, code, rule string
		forge            func() group.Commit
		announce         []string // a group_members the relay sends first, when not nil
	}{
		{"replayed commit [GRP-4]", "stale_epoch", "GRP-4", func() group.Commit { return commits[1] }, nil},
		{"bad signature [GRP-3]", "bad_signature", "GRP-3", func() group.Commit {
			c := create(member(alice))
			c.Sig[0] ^= 1
			return c
		}, nil},
		{"committer not listed [GRP-2]", "not_listed", "GRP-2", func() group.Commit {
			c := create(member(alice))
			c.Committer = "zed"
			return c
		}, nil},
		{"bad prev [GRP-5]", "bad_prev", "GRP-5", func() group.Commit {
			forked := cloneCommit(commits[1])
			forked.Wraps[0].Wrap[0] ^= 1 // another commit hash for epoch 2
			fork, err := group.Join(group.Config{Group: "g", Self: "bob", Identity: bob.key, Pins: trust.NewMemory()}, 2, &forked)
			if err != nil {
				t.Fatal(err)
			}
			p, err := fork.CreateCommit([]group.Member{member(alice)})
			if err != nil {
				t.Fatal(err)
			}
			return p.Commit
		}, nil},
		{"receiver not listed [GRP-6]", "not_listed", "GRP-6", func() group.Commit { return create() }, nil},
		{"members not sorted [GRP-6]", "bad_members", "GRP-6", func() group.Commit {
			c := create(member(alice))
			slices.Reverse(c.Members)
			slices.Reverse(c.Wraps)
			resign(&c, bob.key)
			return c
		}, nil},
		{"members not announced [GRP-6]", "bad_members", "GRP-6", func() group.Commit {
			return create(member(alice), member(carol))
		}, nil},
		{"key differs from the pin [GRP-7] [TRUST-2]", "key_not_pinned", "GRP-7", func() group.Commit {
			return create(member(alice), group.Member{User: "carol", IdentityKey: other.Public(), GroupKey: other.GroupPublic(), GroupKeySig: other.GroupKeySig("carol")})
		}, []string{"alice", "bob", "carol"}},
		{"bad group key signature [GRP-7] [KEY-5]", "bad_signature", "GRP-7", func() group.Commit {
			c := create(member(alice), member(carol))
			c.Members[2].GroupKeySig[0] ^= 1
			resign(&c, bob.key)
			return c
		}, nil},
		{"unpinned member listed under a key the directory does not serve [GRP-20]", "key_not_pinned", "GRP-20", func() group.Commit {
			return create(member(alice), group.Member{User: "dave", IdentityKey: other.Public(), GroupKey: other.GroupPublic(), GroupKeySig: other.GroupKeySig("dave")})
		}, []string{"alice", "bob", "dave"}},
		{"unpinned member listed under another key than the directory's [GRP-20]", "key_not_pinned", "GRP-20", func() group.Commit {
			return create(member(alice), group.Member{User: "erin", IdentityKey: other.Public(), GroupKey: other.GroupPublic(), GroupKeySig: other.GroupKeySig("erin")})
		}, []string{"alice", "bob", "erin"}},
		{"wrap that does not open [GRP-8]", "bad_wrap", "GRP-8", func() group.Commit {
			msg := canonical.AppendBytes(canonical.AppendText([]byte(canonical.LabelGroupKey), "alice"), other.GroupPublic())
			return create(group.Member{User: "alice", IdentityKey: alice.key.Public(), GroupKey: other.GroupPublic(), GroupKeySig: alice.key.Sign(msg)})
		}, []string{"alice", "bob"}},
		{"bad confirmation tag [GRP-9]", "bad_confirmation_tag", "GRP-9", func() group.Commit {
			c := create(member(alice))
			c.Confirm[0] ^= 1
			resign(&c, bob.key)
			return c
		}, nil},
	}
	for _, tc := range commitTests {
		if tc.announce != nil {
			tp.Inject(t, "alice", &wire.GroupMembers{Group: "g", Epoch: 2, Members: tc.announce})
		}
		c := tc.forge()
		tp.Inject(t, "alice", &wire.IncomingGroupCommit{From: "bob", Commit: wireconv.ToCommit(&c)})
		alice.wait(tc.name, security(tc.code, tc.rule))
	}
	// spec §7.1 [GRP-10]: alice is still at epoch 2 and reads bob there.
	for _, g := range alice.c.Groups() {
		if g.Name == "g" && (g.Epoch != 2 || !g.CanSend) {
			t.Fatalf("alice's group after the rejections: %+v [GRP-10]", g)
		}
	}
	seal := func(text string) group.Message {
		m, err := spy.Seal(nil, []byte(`{"text":"`+text+`","sent_at":1}`))
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	inject := func(from string, m group.Message) {
		tp.Inject(t, "alice", &wire.IncomingGroupMessage{From: from, Message: wireconv.ToGroupMsg(&m)})
	}
	first := seal("epoch 2 still works")
	inject("bob", first)
	alice.wait("message after rejected commits [GRP-10]", groupMessage("g", "epoch 2 still works"))

	inject("bob", first) // spec §7.2 [GRP-15]
	alice.wait("replay", security("replayed_counter", "GRP-15"))
	jump := seal("jump")
	jump.N = 1 + 1<<16 + 1
	inject("bob", jump)
	alice.wait("counter jump", security("counter_jump", "GRP-15"))
	stale := seal("stale")
	stale.Epoch = 1
	inject("bob", stale) // spec §7.2 [GRP-14]
	alice.wait("stale epoch", security("stale_epoch", "GRP-14"))
	inject("carol", seal("carol is no member")) // spec §7.2 [GRP-16]
	alice.wait("forged sender", security("forged_sender", "GRP-16"))
	tampered := seal("tampered")
	tampered.CT[0] ^= 1
	tampered.Sig = bob.key.Sign(append(group.AppendMessageAD(nil, "g", 2, "bob", tampered.N), tampered.CT...))
	inject("bob", tampered) // spec §7.2 [GRP-17]
	alice.wait("bad tag", security("bad_tag", "GRP-17"))
	bad, _ := spy.Seal(nil, []byte("not json"))
	inject("bob", bad) // spec §7.2 [GRP-19]
	alice.wait("bad content", security("bad_content", "GRP-19"))
	inject("bob", seal("the epoch goes on"))
	alice.wait("after bad_tag the epoch goes on [GRP-17]", groupMessage("g", "the epoch goes on"))
	if alice.saw(groupMessage("g", "tampered")) || alice.saw(groupMessage("g", "carol is no member")) {
		t.Fatal("a rejected message was delivered")
	}
}
