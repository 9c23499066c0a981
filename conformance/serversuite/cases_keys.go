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
