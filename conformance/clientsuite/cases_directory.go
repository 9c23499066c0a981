package clientsuite

import (
	"slices"
	"strings"

	"github.com/blindpost/blindpost/conformance/harness"
	"github.com/blindpost/blindpost/impl/e2ee/group"
	"github.com/blindpost/blindpost/impl/wire"
)

// Group trust from the directory (spec §7.1 GRP-6, GRP-20) and invalid identity keys (§3.1 KEY-7).
func init() {
	harness.Register(
		harness.Case{ID: "client/group/commit-key-not-in-directory", Rules: []string{"GRP-20", "GRP-10", "TRUST-1"},
			Description: "erin joins; before her own commit, alice's commit lists erin under a key alice made, which the " +
				"directory does not serve: key_not_pinned, nothing pinned; erin's commit with her directory key is then " +
				"accepted and pins it",
			Run: commitKeyNotInDirectory},
		harness.Case{ID: "client/group/commit-members-not-announced", Rules: []string{"GRP-6", "GRP-10"},
			Description: "alice's signed commit adds erin, a registered user with her directory keys, whom the relay never " +
				"announced: bad_members; alice's commit for the announced members is then accepted",
			Run: commitMembersNotAnnounced},
		harness.Case{ID: "client/group/not-in-group", Rules: []string{"GRP-14"},
			Description: "the relay forwards a signed commit and a group message whose group member names a group the " +
				"client never joined: unexpected_message for each; the client's own group goes on",
			Run: notInGroup},
		harness.Case{ID: "client/group/message-check-order", Rules: []string{"GRP-16", "GRP-15"},
			Description: "spec §7.2 order: a message from mallory, not a member, with counter 65537 is forged_sender (membership " +
				"before the counter), and alice's message 0 again with a broken signature is replayed_counter (the counter " +
				"before the signature)",
			Run: messageCheckOrder},
		harness.Case{ID: "client/trust/small-order-key", Rules: []string{"KEY-7", "HS-2"},
			Description: "the directory serves for bob the neutral point as identity key, with the group key signature " +
				"01 00…00 ‖ 0^32 that verifies for every message under a cofactorless check: bad_signature, no pin and " +
				"no chat_request",
			Run: smallOrderDirectoryKey},
	)
}

func commitKeyNotInDirectory(t *harness.T) {
	w, g, alice, _ := joinedGroup(t)
	erin := w.NewPeer("erin")
	g.PeerJoins(erin)
	c, _ := g.Build(alice, CommitForge{Members: member(erin.Name, substitute(w))})
	g.Deliver(alice.Name, &c)
	w.ExpectReject(Reject{What: "a commit listing erin, whom the client has not pinned, under a key the directory does not serve",
		Code: "key_not_pinned", Rules: []string{"GRP-20"}, Group: g.Name, Accepted: GroupEpoch(g.Name, c.Epoch)})
	g.PeerCommits(erin)
	w.expectPinned(erin.Name, erin.Key.Public(), "first_use")
	g.PeerSends(erin, w.Text("my own key"))
}

func commitMembersNotAnnounced(t *harness.T) {
	w, g, alice, _ := joinedGroup(t)
	erin := w.NewPeer("erin")
	c, _ := g.Build(alice, CommitForge{Members: func(ms []group.Member) []group.Member {
		ms = append(ms, group.Member{User: erin.Name, IdentityKey: erin.Key.Public(), GroupKey: erin.Key.GroupPublic(), GroupKeySig: erin.Key.GroupKeySig(erin.Name)})
		slices.SortFunc(ms, func(a, b group.Member) int { return strings.Compare(a.User, b.User) })
		return ms
	}})
	g.Deliver(alice.Name, &c)
	w.ExpectReject(Reject{What: "a commit listing erin, whom the relay never announced", Code: "bad_members", Rules: []string{"GRP-6"},
		Group: g.Name, Accepted: GroupEpoch(g.Name, c.Epoch)})
	g.PeerCommits(alice)
	g.PeerSends(alice, w.Text("only the announced"))
}

// smallOrderDirectoryKey serves, for bob, the neutral point with the constant signature: a
// client that checks only the group key signature with crypto/ed25519 accepts and pins it.
func smallOrderDirectoryKey(t *harness.T) {
	w := Start(t)
	bob := w.NewPeer("bob")
	neutral := append([]byte{1}, make([]byte, 31)...)
	pk := bob.Pubkey()
	pk.IdentityKey, pk.GroupKeySig = neutral, append(slices.Clone(neutral), make([]byte, 32)...)
	w.Relay.ServeKey(pk)
	resp := w.D.Do("chat", "peer", bob.Name)
	w.ExpectReject(Reject{What: "a directory answer whose identity key is of small order", Code: "bad_signature", Rules: []string{"KEY-7"}})
	w.Sync()
	if resp.OK() {
		t.Mismatch("KEY-7", "chat refused with a peer whose identity key is of small order", resp.String())
	}
	for _, m := range bob.Pending() {
		if _, ok := m.(*wire.ChatRequest); ok {
			t.Mismatch("HS-2", "no chat_request to a peer whose identity key is invalid", "chat_request")
		}
	}
}

func notInGroup(t *harness.T) {
	w, g, alice, dave := joinedGroup(t)
	elsewhere := g.Name + "-elsewhere"
	c, _ := g.Build(alice, CommitForge{Before: func(c *group.Commit) { c.Group = elsewhere }})
	g.Deliver(alice.Name, &c)
	w.ExpectReject(Reject{What: "a commit for a group the client is not in", Code: "unexpected_message", Rules: []string{"GRP-14"}})
	w.Relay.Send(&wire.IncomingGroupMessage{From: alice.Name, Message: wire.GroupMsg{Group: elsewhere, Epoch: 1, N: 0,
		Ct: w.RandBytes(40), Sig: w.RandBytes(64)}})
	w.ExpectReject(Reject{What: "a group message for a group the client is not in", Code: "unexpected_message", Rules: []string{"GRP-14"}})
	g.PeerSends(dave, w.Text("our group goes on"))
}

func messageCheckOrder(t *harness.T) {
	w, g, alice, _ := joinedGroup(t)
	mallory := w.NewPeer("mallory")
	text := w.Text("not a member")
	g.Send(mallory.Name, g.SealAs(mallory.Key, mallory.Name, g.epoch, 65537, Content(text)))
	w.ExpectReject(Reject{What: "a message from a non-member with counter 65537", Code: "forged_sender", Rules: []string{"GRP-16"},
		Group: g.Name, Accepted: GroupText(text)})
	g.PeerSends(alice, w.Text("the genuine message 0"))
	again := w.Text("replayed and unsigned")
	m := g.SealAs(alice.Key, alice.Name, g.epoch, 0, Content(again))
	m.Sig = make([]byte, 64)
	g.Send(alice.Name, m)
	w.ExpectReject(Reject{What: "alice's counter 0 again, with a broken signature", Code: "replayed_counter", Rules: []string{"GRP-15"},
		Group: g.Name, Accepted: GroupText(again)})
}
