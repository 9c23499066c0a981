package serversuite

import (
	"bytes"

	"github.com/gorilla/websocket"

	"github.com/blindpost/blindpost/conformance/conform"
	"github.com/blindpost/blindpost/impl/wire"
)

// Identity keys the server must refuse at registration (spec §3.1 KEY-7).
func init() {
	add(conform.Case{ID: "registration/small-order-key", Rules: []string{"KEY-7", "REG-4", "ERR-2"},
		Description: "a register whose identity key is the neutral point (small order), with the constant group key signature and " +
			"proof 01 00…00 ‖ 0^32 that a cofactorless verifier accepts for every message, gets error bad_proof, then close 1008",
		Run: smallOrderKey})
	add(conform.Case{ID: "groups/commit-keys-from-directory", Rules: []string{"GSV-4", "ERR-1"},
		Description: "a commit that lists, for a member, another identity key, group key or group key signature than the " +
			"directory holds (a member planting a key for a joiner to pin) gets bad_members and is not forwarded; the " +
			"commit with the directory's keys is then acked",
		Run: commitKeysFromDirectory})
}

func commitKeysFromDirectory(t *conform.T) {
	alice, bob := Register(t, "alice"), Register(t, "bob")
	mallory := Key(t, Name(t, "mallory"), 0)
	g := NewGroup(t, "g")
	g.Join("GSV-1", alice)
	g.Join("GSV-1", bob)
	for _, tc := range []struct {
		why   string
		spoil func(m *wire.CommitMember)
	}{
		{"another identity key for bob, with its own valid group key signature", func(m *wire.CommitMember) {
			m.IdentityKey, m.GroupKey, m.GroupKeySig = mallory.Public(), mallory.GroupPublic(), mallory.GroupKeySig(m.User)
		}},
		{"another group key for bob", func(m *wire.CommitMember) { m.GroupKey = mallory.GroupPublic() }},
		{"another group key signature for bob", func(m *wire.CommitMember) { m.GroupKeySig = bob.Key.Sign([]byte("not the group key")) }},
	} {
		cm := testCommit(t, g.Name, g.Epoch+1, alice.Name, g.Members)
		for i := range cm.Members {
			if cm.Members[i].User == bob.Name {
				tc.spoil(&cm.Members[i])
			}
		}
		id := alice.ID()
		alice.Send(&wire.GroupCommit{ID: id, Commit: cm})
		f := alice.ExpectError("GSV-4", id, "bad_members", "group_commit")
		t.Logf("%s: %s", tc.why, f.Str("message"))
	}
	bob.Quiet("GSV-4", "a commit with keys the directory does not hold was forwarded")
	g.Commit("GSV-4", alice)
}

// neutralKey is the canonical encoding of the neutral point of Edwards25519 (y = 1, x = 0):
// under it the signature (R = neutral point, S = 0) verifies for every message when the
// verifier does not refuse small-order keys.
var neutralKey = append([]byte{1}, make([]byte, 31)...)

func smallOrderKey(t *conform.T) {
	c := Dial(t, "mallory")
	c.Hello(Name(t, "mallory"))
	constant := append(bytes.Clone(neutralKey), make([]byte, 32)...)
	id := c.ID()
	gk, _ := GroupKeyWithSig(t, Key(t, c.Name, 0), c.Name)
	c.Send(&wire.Register{ID: id, IdentityKey: neutralKey, GroupKey: gk, GroupKeySig: constant, Proof: constant})
	c.ExpectErrorThenClose("KEY-7", id, "bad_proof", websocket.ClosePolicyViolation)
}
