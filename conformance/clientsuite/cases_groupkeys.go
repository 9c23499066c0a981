package clientsuite

import (
	"github.com/blindpost/blindpost/conformance/harness"
)

// A group member whose identity key changed (spec §9 [CLI-25], §6.6 [TRUST-2]).
func init() {
	harness.Register(
		harness.Case{ID: "client/group/member-key-changed", Rules: []string{"CLI-25", "TRUST-2", "TRUST-3"},
			Description: "dave comes back with a new identity key and commits the next epoch, signed with it: the client " +
				"reports key_changed naming dave (not bad_signature) and keeps its epoch; after the driver's trust the " +
				"client accepts dave's epoch and reads his messages, with nobody leaving or joining again",
			Run: groupMemberKeyChanged},
	)
}

func groupMemberKeyChanged(t *harness.T) {
	w := Start(t)
	alice, dave := w.NewPeer("alice"), w.NewPeer("dave")
	g := w.NewGroup(groupName, alice, dave)
	g.ClientJoins() // the client pins dave's key from the directory or the commit (TRUST-1)
	w.changeKey(dave)
	g.addState(dave, g.epoch, g.last) // dave's new installation starts from the announcement
	c, secret := g.Build(dave, CommitForge{})
	g.Deliver(dave.Name, &c)
	w.ExpectReject(Reject{What: "dave's commit signed with his new key, which differs from the pin", Code: "key_changed",
		Rules: []string{"TRUST-2", "CLI-25"}, Group: g.Name, Accepted: GroupEpoch(g.Name, c.Epoch)})
	g.addState(alice, g.epoch, g.last) // the virtual alice has already trusted dave's new key
	g.accept(c, secret)
	w.D.OK("trust", "peer", dave.Name)
	w.expectPinned(dave.Name, dave.Key.Public(), "trusted")
	g.ExpectEpoch("CLI-25", c)
	g.PeerSends(dave, w.Text("dave is back"))
}
