package serversuite

import (
	"fmt"

	"github.com/blindpost/blindpost/conformance/harness"
	"github.com/blindpost/blindpost/impl/wire"
)

// The cases of spec §5.11, relays in a cluster. A relay of one process is a cluster of one node,
// and these cases hold for it as for any relay; given several URLs (spread.go), the consecutive
// connections of a case go to different nodes, so each case below puts the users it checks on
// two nodes.

func init() {
	add(harness.Case{ID: "cluster/one-relay", Rules: []string{"CLU-1", "CLU-3", "SRV-4", "SRV-8"},
		Description: "two users on two nodes: each is listed online by the other's node, the name of one is bound on the other's node, their relays are acked once queued and arrive in order, and once one is gone the other's relay gets user_offline",
		Run:         clusterOneRelay})
	add(harness.Case{ID: "cluster/replaced-on-another-node", Rules: []string{"CLU-2", "REG-7", "SES-3"},
		Description: "a user registering on another node than its connection's closes that connection with 4001; its chat peer gets chat_terminate peer_replaced and then reaches the new connection",
		Run:         clusterReplaced})
}

// clusterOneRelay checks spec §5.11 [CLU-1] and [CLU-3] across two nodes.
func clusterOneRelay(t *harness.T) {
	alice, bob := Register(t, "alice"), Register(t, "bob") // connections 0 and 1: two nodes
	id := bob.ID()
	bob.Send(&wire.ListUsers{ID: id})
	if f := bob.ExpectResponse("SRV-4", id, "user_list"); countName(f, alice.Name) != 1 {
		t.Mismatch("CLU-1", alice.Name+", registered on another node, listed online", f.Short())
	}
	// The directory is one: bob's node serves alice's keys (SRV-3).
	id = bob.ID()
	bob.Send(&wire.GetPubkey{ID: id, User: alice.Name})
	if f := bob.ExpectResponse("CLU-1", id, "pubkey"); f.Str("identity_key") != b64(alice.Key.Public()) {
		t.Mismatch("CLU-1", "the identity key "+alice.Name+" registered on another node", f.Short())
	}
	sid := Chat(t, alice, bob)
	const n = 20
	ids := make([]string, n)
	for i := range n {
		ids[i] = alice.ID()
		alice.Send(&wire.Relay{ID: ids[i], To: bob.Name, Session: sid, Payload: msgPayload(t, int64(i), 32)})
	}
	for i := range n {
		alice.ExpectAck("CLU-3", ids[i], "relay")
	}
	for i := range n {
		f := bob.Expect("CLU-3", "relay")
		if got := fmt.Sprint(nested(f, "payload", "n")); got != fmt.Sprint(i) {
			t.FatalMismatch("CLU-3", fmt.Sprintf("relay %d, in the order sent", i), f.Short())
		}
	}
	bob.Close()
	expectGone(t, alice, bob.Name, "peer_offline")
	id = alice.ID()
	alice.Send(&wire.ChatRequest{ID: id, To: bob.Name, Session: Session(t)})
	alice.ExpectError("CLU-3", id, "user_offline", "chat_request")
}

// clusterReplaced checks spec §5.11 [CLU-2]: bob is connection 0, alice's first connection 1
// and her second 2, so that with two URLs or more her two connections are on two nodes.
func clusterReplaced(t *harness.T) {
	bob := Register(t, "bob")
	old := Register(t, "alice")
	sid := b64(Chat(t, bob, old))
	fresh := RegisterAs(t, "alice", old.Name, old.Key)
	old.ExpectClose("CLU-2", 4001)
	if got := expectGone(t, bob, old.Name, "peer_replaced"); got != sid {
		t.Mismatch("CLU-2", "chat_terminate peer_replaced for session "+sid, got)
	}
	sid2 := Chat(t, bob, fresh)
	id := bob.ID()
	bob.Send(&wire.Relay{ID: id, To: fresh.Name, Session: sid2, Payload: msgPayload(t, 0, 32)})
	bob.ExpectAck("CLU-2", id, "relay")
	fresh.Expect("CLU-2", "relay")
	id = bob.ID()
	bob.Send(&wire.ListUsers{ID: id})
	f := bob.ExpectResponse("SRV-4", id, "user_list")
	if n := countName(f, old.Name); n != 1 {
		t.Mismatch("CLU-2", fmt.Sprintf("%s listed once after the replacement", old.Name), f.Short())
	}
}
