package clientsuite

import (
	"slices"

	"github.com/blindpost/blindpost/conformance/harness"
)

// Epoch acknowledgements (spec §7.3): what a client sends after accepting a commit, and what it
// may claim about the other members (spec §9 [CLI-31], A.2 [DRV-34]).
func init() {
	harness.Register(
		harness.Case{ID: "client/group/epoch-ack", Rules: []string{"GRP-21", "CLI-31", "DRV-34"},
			Description: "the client joins alice and dave and commits epoch 2: it holds the secret but claims nobody until " +
				"alice, then dave, acknowledge it; alice commits epoch 3: the client counts her, lists dave as missing, " +
				"and its first message of epoch 3 acknowledges alice's commit",
			Run: groupEpochAck},
		harness.Case{ID: "client/group/epoch-ack-checked", Rules: []string{"GRP-22", "GRP-16", "GRP-14", "CLI-31"},
			Description: "after the client commits epoch 2, alice acknowledges the commit of epoch 1 (bad_epoch_ack), " +
				"mallory signs an acknowledgement as alice (forged_sender) and dave sends one for epoch 1 (stale_epoch): " +
				"none of them counts, and alice's genuine acknowledgement then does",
			Run: groupEpochAckChecked},
		harness.Case{ID: "client/group/member-key-changed-then-leave", Rules: []string{"CLI-25", "GRP-6", "GRP-21", "GRP-2"},
			Description: "dave comes back with a new key and commits epoch 3, which the client holds (key_changed); alice " +
				"then leaves; after the driver's trust the client verifies dave's commit against the announcement it was " +
				"made for, acknowledges epoch 3 and, as the lowest-named member left, commits epoch 4 for itself and dave",
			Run: groupKeyChangedThenLeave},
	)
}

func groupKeyChangedThenLeave(t *harness.T) {
	w := Start(t)
	alice, dave := w.NewPeer("alice"), w.NewPeer("dave")
	g := w.NewGroup(groupName, alice, dave)
	g.ClientJoins()
	w.changeKey(dave)
	g.addState(dave, g.epoch, g.last) // dave's new installation starts from the announcement
	c, secret := g.Build(dave, CommitForge{})
	g.Deliver(dave.Name, &c)
	w.ExpectReject(Reject{What: "dave's commit signed with his new key, which differs from the pin", Code: "key_changed",
		Rules: []string{"TRUST-2", "CLI-25"}, Group: g.Name, Accepted: GroupEpoch(g.Name, c.Epoch)})
	g.addState(alice, g.epoch, g.last) // the virtual alice has already trusted dave's new key
	g.accept(c, secret)
	g.PeerLeaves(alice) // the relay announces client and dave; the client holds epoch 2 still
	// As the lowest-named member left, the client must rekey alice out, to dave's directory key,
	// which is not the pin: it refuses that epoch (TRUST-2) until the user trusts the key.
	w.ExpectReject(Reject{What: "its own commit to dave's changed key", Code: "key_changed", Rules: []string{"TRUST-2"},
		Group: g.Name})

	w.D.OK("trust", "peer", dave.Name)
	g.ExpectEpoch("CLI-25", c) // checked against the announcement before alice left (GRP-6)
	g.ExpectClientAck()
	next := g.ClientCommits("its commit without alice, as the lowest-named member left (spec §7.1)")
	if next.Epoch != c.Epoch+1 || len(next.Members) != 2 {
		t.Mismatch("GRP-2", "a commit of epoch "+itoa(int(c.Epoch+1))+" for the client and dave", "epoch "+itoa(int(next.Epoch)))
	}
}

func groupEpochAck(t *harness.T) {
	w := Start(t)
	alice, dave := w.NewPeer("alice"), w.NewPeer("dave")
	g := w.NewGroup(groupName, alice, dave)
	g.ClientJoins() // the group event of epoch 2: secured with nobody yet (CLI-31, DRV-34)
	g.Send(alice.Name, g.Next(alice, EpochAck(g.last)))
	g.ExpectSecured("CLI-31", []string{"alice"}, []string{"dave"})
	g.Send(dave.Name, g.Next(dave, EpochAck(g.last)))
	g.ExpectSecured("CLI-31", []string{"alice", "dave"}, nil)

	g.PeerCommits(alice) // epoch 3: alice by her commit, dave missing
	g.ExpectClientAck()
	g.PeerSends(dave, w.Text("dave holds epoch 3")) // any authenticated message counts
	g.ExpectSecured("CLI-31", []string{"alice", "dave"}, nil)
	g.ClientSends(w.Text("after the acknowledgement")) // counter 1 (GRP-13)
}

func groupEpochAckChecked(t *harness.T) {
	w := Start(t)
	alice, dave := w.NewPeer("alice"), w.NewPeer("dave")
	g := w.NewGroup(groupName, alice, dave)
	first := g.last
	g.ClientJoins()
	counted := func(who string) func(Line) bool {
		return func(l Line) bool { return l.Event() == "group" && slices.Contains(l.Strs("secured_with"), who) }
	}

	g.Send(alice.Name, g.Next(alice, EpochAck(first)))
	w.ExpectReject(Reject{What: "alice's acknowledgement of the commit of epoch 1 in epoch 2", Code: "bad_epoch_ack",
		Rules: []string{"GRP-22"}, Group: g.Name, Accepted: counted("alice")})
	mallory := w.NewKey()
	g.Send(alice.Name, g.SealAs(mallory, alice.Name, g.epoch, g.nextN[alice.Name], EpochAck(g.last)))
	w.ExpectReject(Reject{What: "an acknowledgement of epoch 2 from alice signed by mallory", Code: "forged_sender",
		Rules: []string{"GRP-16"}, Group: g.Name, Accepted: counted("alice")})
	g.Send(dave.Name, g.SealAs(dave.Key, dave.Name, 1, 0, EpochAck(first)))
	w.ExpectReject(Reject{What: "dave's acknowledgement of epoch 1 at epoch 2", Code: "stale_epoch",
		Rules: []string{"GRP-14"}, Group: g.Name, Accepted: counted("dave")})

	g.Send(alice.Name, g.Next(alice, EpochAck(g.last)))
	g.ExpectSecured("CLI-31", []string{"alice"}, []string{"dave"})
}
