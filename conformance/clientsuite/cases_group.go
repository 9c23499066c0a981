package clientsuite

import (
	"bytes"
	"slices"

	"github.com/blindpost/blindpost/conformance/harness"
	"github.com/blindpost/blindpost/impl/e2ee/group"
	"github.com/blindpost/blindpost/impl/wire"
)

// groupName is the group the cases play in.
const groupName = "conform"

// Groups at the client (spec §7): the commits it makes and accepts, and the ones it rejects.
func init() {
	harness.Register(
		harness.Case{ID: "client/group/honest", Rules: []string{"GRP-1", "GRP-7", "GRP-11", "GRP-13", "GRP-16", "TRUST-1", "CLI-4"},
			Description: "alice and dave hold epoch 1; the client joins from last_commit and commits epoch 2 (every member " +
				"verifies it); erin joins and commits epoch 3, which the client accepts and pins erin; group messages flow " +
				"both ways with counters from 0",
			Run: groupHonest},
		harness.Case{ID: "client/group/join-at-epoch-0", Rules: []string{"GRP-1", "GRP-5", "GRP-11"},
			Description: "the client joins a group whose members never committed: it commits epoch 1 with an empty prev, " +
				"wrapping the secret to every member",
			Run: joinAtEpochZero},
		harness.Case{ID: "client/group/committer-duty", Rules: []string{"GRP-2", "GRP-1"},
			Description: "alice leaves; the client, now the lowest remaining member, commits the next epoch for the others " +
				"without alice in the members or the wraps, and sends in it",
			Run: committerDuty},
		harness.Case{ID: "client/group/commit-by-leaver", Rules: []string{"GRP-2", "GRP-10"},
			Description: "dave leaves, then the relay forwards dave's commit choosing the next secret: not_listed; the " +
				"remaining member's commit is then accepted",
			Run: commitByLeaver},
		harness.Case{ID: "client/group/join-without-last-commit", Rules: []string{"GRP-11"},
			Description: "the relay announces epoch 1 to the joining client without last_commit: bad_prev, no commit",
			Run:         joinWithoutLastCommit},
		harness.Case{ID: "client/group/join-wrong-last-commit", Rules: []string{"GRP-11"},
			Description: "the relay announces epoch 2 to the joining client with the commit of epoch 1: stale_epoch, no commit",
			Run:         joinWrongLastCommit},
		harness.Case{ID: "client/group/directory-key-changed", Rules: []string{"TRUST-2"},
			Description: "the client pinned dave in a session; the relay then serves another key for dave as the client must " +
				"commit: key_changed, and no epoch using the substituted key",
			Run: directoryKeyChanged},
		harness.Case{ID: "client/group/directory-bad-group-key-sig", Rules: []string{"KEY-5"},
			Description: "the relay serves dave's keys with a group key its signature does not cover as the client must " +
				"commit: bad_signature, and no wrap to that key",
			Run: directoryBadGroupKeySig},
	)
	for _, cc := range commitCases {
		harness.Register(harness.Case{
			ID:          "client/group/" + cc.id,
			Rules:       append(slices.Clone(cc.rules), "GRP-10"),
			Description: "the client holds epoch 2; it must reject " + cc.what + " with " + cc.code + ", keep epoch 2, and accept the honest commit that follows",
			Run:         func(t *harness.T) { runCommitCase(t, cc) },
		})
	}
	for _, mc := range messageCases {
		harness.Register(harness.Case{ID: "client/group/" + mc.id, Rules: mc.rules, Description: mc.description, Run: mc.run})
	}
}

// joinedGroup is the setting of most group cases: alice and dave hold epoch 1, and the client
// joined and committed epoch 2.
func joinedGroup(t *harness.T) (*World, *Group, *Peer, *Peer) {
	w := Start(t)
	alice, dave := w.NewPeer("alice"), w.NewPeer("dave")
	g := w.NewGroup(groupName, alice, dave)
	g.ClientJoins()
	return w, g, alice, dave
}

func groupHonest(t *harness.T) {
	w, g, alice, dave := joinedGroup(t)
	w.expectPinned(alice.Name, alice.Key.Public(), "first_use")
	w.expectPinned(dave.Name, dave.Key.Public(), "first_use")
	erin := w.NewPeer("erin")
	g.PeerJoins(erin)
	g.PeerCommits(erin)
	w.expectPinned(erin.Name, erin.Key.Public(), "first_use")
	g.ClientSends(w.Text("hello group"))
	g.ClientSends(w.Text("second"))
	g.PeerSends(alice, w.Text("hello from alice"))
	g.PeerSends(erin, w.Text("hello from erin"))
	g.PeerSends(alice, w.Text("alice again"))
	w.Sync()
	w.NoSecurityEvents("")
}

func joinAtEpochZero(t *harness.T) {
	w := Start(t)
	alice, dave := w.NewPeer("alice"), w.NewPeer("dave")
	g := w.NewEmptyGroup(groupName, alice, dave)
	c := g.ClientJoins()
	if c.Epoch != 1 || len(c.Prev) != 0 {
		t.Mismatch("GRP-5", "the first commit: epoch 1 with an empty prev", "epoch "+itoa(int(c.Epoch)))
	}
	g.PeerSends(dave, w.Text("first words"))
	g.ClientSends(w.Text("answer"))
}

func committerDuty(t *harness.T) {
	w := Start(t)
	alice, erin := w.NewPeer("alice"), w.NewPeer("erin")
	g := w.NewGroup(groupName, alice, erin)
	g.ClientJoins()
	g.PeerLeaves(alice)
	c := g.ClientCommits("its commit after alice left, as the lowest remaining member (spec §7.1 Who commits)")
	for _, wr := range c.Wraps {
		if wr.User == alice.Name {
			t.Mismatch("GRP-2", "no wrap of the new secret to alice, who left", "a wrap for alice")
		}
	}
	g.ClientSends(w.Text("without alice"))
	g.PeerSends(erin, w.Text("indeed"))
}

func commitByLeaver(t *harness.T) {
	w, g, alice, dave := joinedGroup(t)
	g.PeerLeaves(dave)
	c, _ := g.Build(dave, CommitForge{})
	g.Deliver(dave.Name, &c)
	w.ExpectReject(Reject{What: "a commit by dave, who left and is not among its members", Code: "not_listed", Rules: []string{"GRP-2"},
		Group: g.Name, Accepted: GroupEpoch(g.Name, c.Epoch)})
	g.PeerCommits(alice)
	g.PeerSends(alice, w.Text("dave is out"))
}

func joinWithoutLastCommit(t *harness.T) {
	w := Start(t)
	g := w.NewGroup(groupName, w.NewPeer("alice"), w.NewPeer("dave"))
	g.OnJoin(func(m *wire.GroupMembers) { m.LastCommit = nil })
	w.D.OK("group_join", "group", g.Name)
	w.ExpectReject(Reject{What: "a group_members of epoch 1 without last_commit", Code: "bad_prev", Rules: []string{"GRP-11"}, Group: g.Name})
	g.expectNoCommit("GRP-11")
}

func joinWrongLastCommit(t *harness.T) {
	w := Start(t)
	g := w.NewGroup(groupName, w.NewPeer("alice"), w.NewPeer("dave"))
	g.OnJoin(func(m *wire.GroupMembers) { m.Epoch = 2 })
	w.D.OK("group_join", "group", g.Name)
	w.ExpectReject(Reject{What: "a group_members of epoch 2 carrying the commit of epoch 1", Code: "stale_epoch", Rules: []string{"GRP-11"}, Group: g.Name})
	g.expectNoCommit("GRP-11")
}

func directoryKeyChanged(t *harness.T) {
	w := Start(t)
	alice, dave := w.NewPeer("alice"), w.NewPeer("dave")
	g := w.NewEmptyGroup(groupName, alice, dave)
	c := w.Initiated(dave)
	c.ClientEnds()
	w.changeKey(dave)
	w.D.OK("group_join", "group", g.Name)
	w.ExpectReject(Reject{What: "a directory key for dave that differs from the pin, needed for a commit", Code: "key_changed",
		Rules: []string{"TRUST-2"}, Accepted: GroupEpoch(g.Name, 1)})
	g.expectNoCommit("TRUST-2")
}

func directoryBadGroupKeySig(t *harness.T) {
	w := Start(t)
	alice, dave := w.NewPeer("alice"), w.NewPeer("dave")
	g := w.NewEmptyGroup(groupName, alice, dave)
	pk := dave.Pubkey()
	pk.GroupKey = w.NewKey().GroupPublic() // dave's signature does not cover it
	w.Relay.ServeKey(pk)
	w.D.OK("group_join", "group", g.Name)
	w.ExpectReject(Reject{What: "a group key whose group_key_sig does not verify", Code: "bad_signature", Rules: []string{"KEY-5"},
		Accepted: GroupEpoch(g.Name, 1)})
	g.expectNoCommit("KEY-5")
}

// NewEmptyGroup creates a group whose virtual members joined and never committed: epoch 0.
func (w *World) NewEmptyGroup(name string, members ...*Peer) *Group {
	g := &Group{w: w, Name: name, states: map[string]*group.State{}, secrets: map[uint64][]byte{}, nextN: map[string]uint64{}}
	var names []string
	for _, p := range members {
		names = append(names, p.Name)
		g.addState(p, 0, nil)
	}
	g.members = members
	g.relay = w.Relay.setGroup(name, names, 0, nil)
	return g
}

// expectNoCommit checks, after a barrier, that the client committed nothing.
func (g *Group) expectNoCommit(rule string) {
	g.w.Sync()
	for _, in := range g.relay.inbox.pending() {
		if c, ok := in.Msg.(*wire.GroupCommit); ok {
			g.w.T.Mismatch(rule, "no commit after the rejection", "a commit of epoch "+itoa(int(c.Commit.Epoch)))
		}
	}
}

// commitCase is a commit of epoch 3 by alice that the client, at epoch 2, must reject.
type commitCase struct {
	id, what, code string
	rules          []string // the first is the rule that requires the rejection
	// accept lists the rules the security event may name, when more than the first of rules:
	// where the spec names the requirement twice.
	accept []string
	forge  func(w *World, g *Group, dave *Peer) CommitForge
	// deliver, when set, sends something else than alice's forged commit; it returns the epoch
	// the client must not move to.
	deliver func(w *World, g *Group) uint64
}

// member alters the entry of user in a member list.
func member(user string, alter func(*group.Member)) func([]group.Member) []group.Member {
	return func(ms []group.Member) []group.Member {
		for i := range ms {
			if ms[i].User == user {
				alter(&ms[i])
			}
		}
		return ms
	}
}

// substitute gives the entry another identity with a valid group key signature for its name.
func substitute(w *World) func(*group.Member) {
	k := w.NewKey()
	return func(m *group.Member) {
		m.IdentityKey, m.GroupKey, m.GroupKeySig = k.Public(), k.GroupPublic(), k.GroupKeySig(m.User)
	}
}

var commitCases = []commitCase{
	{id: "commit-bad-signature", what: "a commit whose signature has one bit flipped", code: "bad_signature", rules: []string{"GRP-3"},
		forge: func(w *World, g *Group, _ *Peer) CommitForge {
			return CommitForge{After: func(c *group.Commit) { c.Sig = flip(c.Sig, 30) }}
		}},
	{id: "commit-unsigned", what: "a commit with an all-zero signature", code: "bad_signature", rules: []string{"GRP-3"},
		forge: func(w *World, g *Group, _ *Peer) CommitForge {
			return CommitForge{After: func(c *group.Commit) { c.Sig = make([]byte, 64) }}
		}},
	{id: "commit-signed-by-other-key", what: "a commit by alice signed with a key other than her pinned one", code: "bad_signature", rules: []string{"GRP-3", "TRUST-3"},
		forge: func(w *World, g *Group, _ *Peer) CommitForge { return CommitForge{Signer: w.NewKey()} }},
	{id: "commit-stale-epoch", what: "a signed commit for the current epoch 2", code: "stale_epoch", rules: []string{"GRP-4"},
		forge: func(w *World, g *Group, _ *Peer) CommitForge { return CommitForge{Epoch: 2} }},
	{id: "commit-skipped-epoch", what: "a signed commit for epoch 4", code: "stale_epoch", rules: []string{"GRP-4"},
		forge: func(w *World, g *Group, _ *Peer) CommitForge { return CommitForge{Epoch: 4} }},
	{id: "commit-replayed", what: "its own commit of epoch 2, replayed by the relay", code: "stale_epoch", rules: []string{"GRP-4"},
		deliver: func(w *World, g *Group) uint64 {
			g.Deliver(w.Me.User, g.last)
			return 2
		}},
	{id: "commit-wrong-prev", what: "a signed commit whose prev is not the hash of epoch 2", code: "bad_prev", rules: []string{"GRP-5"},
		forge: func(w *World, g *Group, _ *Peer) CommitForge {
			prev := w.RandBytes(32)
			return CommitForge{Before: func(c *group.Commit) { c.Prev = prev }}
		}},
	{id: "commit-empty-prev", what: "a signed commit of epoch 3 with an empty prev", code: "bad_prev", rules: []string{"GRP-5"},
		forge: func(w *World, g *Group, _ *Peer) CommitForge {
			return CommitForge{Before: func(c *group.Commit) { c.Prev = nil }}
		}},
	{id: "commit-not-listing-client", what: "a signed commit that leaves the client out", code: "not_listed", rules: []string{"GRP-6"},
		forge: func(w *World, g *Group, _ *Peer) CommitForge {
			return CommitForge{Members: func(ms []group.Member) []group.Member {
				return slices.DeleteFunc(ms, func(m group.Member) bool { return m.User == w.Me.User })
			}}
		}},
	{id: "commit-unsorted-members", what: "a signed commit whose members are not sorted", code: "bad_members", rules: []string{"GRP-6"},
		forge: func(w *World, g *Group, _ *Peer) CommitForge {
			return CommitForge{Members: func(ms []group.Member) []group.Member { slices.Reverse(ms); return ms }}
		}},
	{id: "commit-duplicate-member", what: "a signed commit listing dave twice", code: "bad_members", rules: []string{"GRP-6"},
		forge: func(w *World, g *Group, dave *Peer) CommitForge {
			return CommitForge{Members: func(ms []group.Member) []group.Member {
				i := slices.IndexFunc(ms, func(m group.Member) bool { return m.User == dave.Name })
				return slices.Insert(ms, i, ms[i])
			}}
		}},
	{id: "commit-wraps-mismatch", what: "a signed commit whose wraps are not in the order of its members", code: "bad_members", rules: []string{"GRP-6"},
		forge: func(w *World, g *Group, _ *Peer) CommitForge {
			return CommitForge{Before: func(c *group.Commit) { slices.Reverse(c.Wraps) }}
		}},
	{id: "commit-key-not-pinned", what: "a signed commit listing another identity key for dave than the pinned one", code: "key_not_pinned", rules: []string{"GRP-7", "TRUST-2"},
		forge: func(w *World, g *Group, dave *Peer) CommitForge {
			return CommitForge{Members: member(dave.Name, substitute(w))}
		}},
	{id: "commit-own-key-replaced", what: "a signed commit listing another identity key for the client itself", code: "key_not_pinned", rules: []string{"GRP-6", "GRP-7"},
		accept: []string{"GRP-6", "GRP-7"}, // GRP-6 states it; A.4 and vectors/group.json (commit-own-key-differs) name GRP-7
		forge: func(w *World, g *Group, _ *Peer) CommitForge {
			return CommitForge{Members: member(w.Me.User, substitute(w))}
		}},
	{id: "commit-bad-group-key-sig", what: "a signed commit with a group_key_sig of dave's that does not verify", code: "bad_signature", rules: []string{"GRP-7", "KEY-5"},
		accept: []string{"GRP-7", "KEY-5"},
		forge: func(w *World, g *Group, dave *Peer) CommitForge {
			return CommitForge{Members: member(dave.Name, func(m *group.Member) { m.GroupKeySig = flip(m.GroupKeySig, 12) })}
		}},
	{id: "commit-bad-wrap", what: "a signed commit whose wrap for the client is garbage", code: "bad_wrap", rules: []string{"GRP-8"},
		forge: func(w *World, g *Group, _ *Peer) CommitForge {
			junk := w.RandBytes(80)
			return CommitForge{Before: func(c *group.Commit) {
				i := slices.IndexFunc(c.Wraps, func(wr group.Wrap) bool { return wr.User == w.Me.User })
				c.Wraps[i].Wrap = junk
			}}
		}},
	{id: "commit-wrap-for-other-user", what: "a signed commit whose wrap for the client was sealed with the wrap info of dave", code: "bad_wrap", rules: []string{"GRP-8"},
		forge: func(w *World, g *Group, dave *Peer) CommitForge {
			return CommitForge{WrapInfo: map[string]string{w.Me.User: dave.Name}}
		}},
	{id: "commit-split-secret", what: "a signed commit wrapping another secret to the client than to the others", code: "bad_confirmation_tag", rules: []string{"GRP-9", "GRP-1"},
		forge: func(w *World, g *Group, _ *Peer) CommitForge {
			return CommitForge{WrapSecret: map[string][]byte{w.Me.User: w.RandBytes(32)}}
		}},
}

func runCommitCase(t *harness.T, cc commitCase) {
	w, g, alice, dave := joinedGroup(t)
	epoch := uint64(3)
	if cc.deliver != nil {
		epoch = cc.deliver(w, g)
	} else {
		c, _ := g.Build(alice, cc.forge(w, g, dave))
		epoch = c.Epoch
		g.Deliver(alice.Name, &c)
	}
	accept := cc.accept
	if accept == nil {
		accept = cc.rules[:1]
	}
	w.ExpectReject(Reject{What: cc.what, Code: cc.code, Rules: accept, Group: g.Name, Accepted: GroupEpoch(g.Name, epoch)})
	g.PeerCommits(alice) // spec §7.1 [GRP-10]: epoch 2 stands, so the honest epoch 3 chains to it
	g.PeerSends(dave, w.Text("epoch 3 works"))
}

// messageCase is a group message case on the joined group.
type messageCase struct {
	id, description string
	rules           []string
	run             func(*harness.T)
}

var messageCases = []messageCase{
	{"message-forged-sender", "group messages the client must reject with forged_sender: signed by another key than " +
		"the sender's, stamped with the client's own name (its message reflected), from a non-member, unsigned; none is " +
		"delivered and alice's genuine message 0 then is", []string{"GRP-16"}, forgedSender},
	{"message-replayed", "a replayed group message and one older than the last accepted: replayed_counter; the epoch goes on",
		[]string{"GRP-15"}, groupReplayed},
	{"message-counter-jump", "first messages numbered 65537 and 65536, then a jump of 65537 and one of 65536 after 0: " +
		"counter_jump above 2^16, accepted at it", []string{"GRP-15"}, counterJump},
	{"message-stale-epoch", "group messages for epoch 1 and epoch 3 while the client is at epoch 2: stale_epoch",
		[]string{"GRP-14"}, groupStaleEpoch},
	{"message-bad-tag", "a group message whose ciphertext was altered and signed again: bad_tag, and the epoch goes on",
		[]string{"GRP-17"}, groupBadTag},
	{"message-bad-content", "a group message whose plaintext is not a content object: bad_content, and the epoch goes on",
		[]string{"GRP-19"}, groupBadContent},
}

func forgedSender(t *harness.T) {
	w, g, alice, dave := joinedGroup(t)
	mallory := w.NewPeer("mallory")
	own := g.ClientSends(w.Text("mine"))
	variants := []struct {
		what, from string
		msg        func(text string) wire.GroupMsg
	}{
		{"a message from alice signed with dave's key", alice.Name, func(text string) wire.GroupMsg {
			return g.SealAs(dave.Key, alice.Name, g.epoch, 0, Content(text))
		}},
		{"a message of dave's stamped from alice", alice.Name, func(text string) wire.GroupMsg {
			return g.SealAs(dave.Key, dave.Name, g.epoch, 0, Content(text))
		}},
		{"the client's own message reflected with its name", w.Me.User, func(string) wire.GroupMsg { return own }},
		{"a message from mallory, who is not a member", mallory.Name, func(text string) wire.GroupMsg {
			return g.SealAs(mallory.Key, mallory.Name, g.epoch, 0, Content(text))
		}},
		{"an unsigned message from alice", alice.Name, func(text string) wire.GroupMsg {
			m := g.SealAs(alice.Key, alice.Name, g.epoch, 0, Content(text))
			m.Sig = make([]byte, 64)
			return m
		}},
	}
	for _, v := range variants {
		text := w.Text("forged")
		g.Send(v.from, v.msg(text))
		w.ExpectReject(Reject{What: v.what, Code: "forged_sender", Rules: []string{"GRP-16"}, Group: g.Name, Accepted: GroupText(text)})
	}
	g.PeerSends(alice, w.Text("the genuine message 0"))
}

func groupReplayed(t *harness.T) {
	w, g, alice, _ := joinedGroup(t)
	t0 := w.Text("zero")
	m0 := g.Next(alice, Content(t0))
	g.Send(alice.Name, m0)
	g.ExpectDelivered(alice.Name, t0, m0)
	g.Send(alice.Name, m0)
	w.ExpectReject(Reject{What: "alice's message 0 replayed", Code: "replayed_counter", Rules: []string{"GRP-15"}, Group: g.Name, Accepted: GroupText(t0)})
	t1, t2 := w.Text("one"), w.Text("two")
	m1, m2 := g.Next(alice, Content(t1)), g.Next(alice, Content(t2))
	g.Send(alice.Name, m2)
	g.ExpectDelivered(alice.Name, t2, m2)
	g.Send(alice.Name, m1)
	w.ExpectReject(Reject{What: "alice's message 1 after her message 2", Code: "replayed_counter", Rules: []string{"GRP-15"}, Group: g.Name, Accepted: GroupText(t1)})
	g.PeerSends(alice, w.Text("three"))
}

func counterJump(t *harness.T) {
	w, g, alice, dave := joinedGroup(t)
	const jump = 1 << 16
	steps := []struct {
		who    *Peer
		n      uint64
		reject bool
	}{
		{dave, jump + 1, true}, {dave, jump, false},
		{alice, 0, false}, {alice, jump + 1, true}, {alice, jump, false},
	}
	for _, s := range steps {
		text := w.Text("counter " + itoa(int(s.n)))
		m := g.SealAs(s.who.Key, s.who.Name, g.epoch, s.n, Content(text))
		g.Send(s.who.Name, m)
		if !s.reject {
			g.ExpectDelivered(s.who.Name, text, m)
			continue
		}
		w.ExpectReject(Reject{What: s.who.Name + "'s message " + itoa(int(s.n)) + ", more than 2^16 above the last", Code: "counter_jump",
			Rules: []string{"GRP-15"}, Group: g.Name, Accepted: GroupText(text)})
	}
}

func groupStaleEpoch(t *harness.T) {
	w, g, alice, _ := joinedGroup(t)
	for _, epoch := range []uint64{1, 3} {
		text := w.Text("epoch " + itoa(int(epoch)))
		g.Send(alice.Name, g.SealAs(alice.Key, alice.Name, epoch, 0, Content(text)))
		w.ExpectReject(Reject{What: "a message for epoch " + itoa(int(epoch)) + " at epoch 2", Code: "stale_epoch", Rules: []string{"GRP-14"},
			Group: g.Name, Accepted: GroupText(text)})
	}
	g.PeerSends(alice, w.Text("epoch 2"))
}

func groupBadTag(t *harness.T) {
	w, g, alice, _ := joinedGroup(t)
	text := w.Text("tampered")
	m := g.Next(alice, Content(text))
	m.Ct = flip(m.Ct, 3)
	m.Sig = alice.Key.Sign(append(group.AppendMessageAD(nil, g.Name, uint64(m.Epoch), alice.Name, uint64(m.N)), m.Ct...))
	g.Send(alice.Name, m)
	w.ExpectReject(Reject{What: "a message whose ciphertext was altered and signed again", Code: "bad_tag", Rules: []string{"GRP-17"},
		Group: g.Name, Accepted: GroupText(text)})
	g.PeerSends(alice, w.Text("the epoch goes on"))
}

func groupBadContent(t *harness.T) {
	w, g, alice, _ := joinedGroup(t)
	marker := w.Text("not content")
	g.Send(alice.Name, g.Next(alice, []byte(marker)))
	w.ExpectReject(Reject{What: "a message whose plaintext is not a content object", Code: "bad_content", Rules: []string{"GRP-19"},
		Group: g.Name, Accepted: func(l Line) bool { return l.Event() == "group_message" && bytes.Contains(l.Raw, []byte(marker)) }})
	g.PeerSends(alice, w.Text("the epoch goes on"))
}
