package server_test

import (
	"encoding/json"
	"fmt"
	"sync"
	"testing"

	"github.com/blindpost/blindpost/impl/e2ee/identity"
	"github.com/blindpost/blindpost/impl/server"
	"github.com/blindpost/blindpost/impl/server/servertest"
)

// commitFor builds a structurally valid commit: the server checks membership, epochs and that
// the listed keys are the directory's, not the cryptography, which is the clients' (spec §7.1),
// so the keys are those the members registered (random for a name never registered) and the
// wraps, confirm and sig are random bytes.
func commitFor(group string, epoch int, committer string, members ...string) msg {
	var ms, ws []msg
	for _, m := range members {
		entry := msg{"user": m, "identity_key": ciphertext(32), "group_key": ciphertext(32), "group_key_sig": ciphertext(64)}
		if k, ok := registeredKeys.Load(m); ok {
			key := k.(*identity.PrivateKey)
			entry = msg{"user": m, "identity_key": b64(key.Public()), "group_key": b64(key.GroupPublic()), "group_key_sig": b64(key.GroupKeySig(m))}
		}
		ms = append(ms, entry)
		ws = append(ws, msg{"user": m, "wrap": ciphertext(80)})
	}
	prev := ""
	if epoch > 1 {
		prev = ciphertext(32)
	}
	return msg{"group": group, "epoch": epoch, "committer": committer, "prev": prev, "members": ms, "wraps": ws,
		"confirm": ciphertext(32), "sig": ciphertext(64)}
}

func groupMsg(group string, epoch, n int) msg {
	return msg{"group": group, "epoch": epoch, "n": n, "ct": ciphertext(40), "sig": ciphertext(64)}
}

// join joins group and expects the ack and the joiner's group_members.
func (c *client) join(group string) msg {
	c.t.Helper()
	id := c.id()
	c.send(msg{"type": "group_join", "id": id, "group": group})
	c.expectAck(id, "group_join")
	return c.expect("group_members")
}

// expectMembers expects group_members for group with epoch and members, and no last_commit.
func (c *client) expectMembers(group string, epoch int, members ...string) {
	c.t.Helper()
	m := c.expect("group_members")
	want := msg{"type": "group_members", "group": group, "epoch": epoch, "members": members}
	if !sameJSON(m, want) {
		c.t.Fatalf("%s: got %s, want %s", c.name, compact(m), compact(want))
	}
}

// commit sends a commit and expects it to be accepted.
func (c *client) commit(cm msg) {
	c.t.Helper()
	id := c.id()
	c.send(msg{"type": "group_commit", "id": id, "commit": cm})
	c.expectAck(id, "group_commit")
}

// TestGroupMembership checks GSV-1 (ack, then group_members to every member, sorted), GSV-3
// (leave and disconnect announced to the rest; not_member for a non-member's leave), GSV-7
// (already_member) and GSV-20 (an empty group keeps its epoch and last commit).
func TestGroupMembership(t *testing.T) {
	srv := servertest.Start(t)
	alice, bob, carol := connect(t, srv, "alice"), connect(t, srv, "bob"), connect(t, srv, "carol")

	if m := bob.join("room"); !sameJSON(m, msg{"type": "group_members", "group": "room", "epoch": 0, "members": []string{"bob"}}) {
		t.Fatalf("first join: %s", compact(m))
	}
	alice.join("room")
	bob.expectMembers("room", 0, "alice", "bob")

	alice.send(msg{"type": "group_join", "id": "again", "group": "room"})
	alice.expectError("already_member", "again")
	carol.send(msg{"type": "group_leave", "id": "l", "group": "room"})
	if e := carol.expectError("not_member", "l"); e["for"] != "group_leave" {
		t.Fatalf("error.for = %v", e["for"])
	}

	carol.join("room")
	alice.expectMembers("room", 0, "alice", "bob", "carol")
	bob.expectMembers("room", 0, "alice", "bob", "carol")

	bob.send(msg{"type": "group_leave", "id": "bye", "group": "room"})
	bob.expectAck("bye", "group_leave")
	alice.expectMembers("room", 0, "alice", "carol")
	carol.expectMembers("room", 0, "alice", "carol")
	bob.quiet() // the leaver is not told again

	carol.close() // GSV-3: a member's connection ends
	alice.expectMembers("room", 0, "alice")

	// GSV-20: an empty group keeps epoch 1 and its commit for the next joiner.
	first := commitFor("room", 1, "alice", "alice")
	alice.commit(first)
	alice.send(msg{"type": "group_leave", "id": "out", "group": "room"})
	alice.expectAck("out", "group_leave")
	if m := bob.join("room"); m["epoch"] != float64(1) || !sameJSON(m["last_commit"], first) {
		t.Fatalf("rejoining an empty group: %s, want epoch 1 with the last commit (GSV-20)", compact(m))
	}
}

// TestGroupStateAcrossRestart checks GSV-20: after a restart the relay announces the epoch and
// last commit it accepted before, and refuses a commit that would take the epoch back.
func TestGroupStateAcrossRestart(t *testing.T) {
	srv := servertest.Start(t)
	alice, bob := connect(t, srv, "alice"), connect(t, srv, "bob")
	alice.join("broadcast")
	bob.join("broadcast")
	alice.expectMembers("broadcast", 0, "alice", "bob")
	for e := 1; e <= 3; e++ {
		alice.commit(commitFor("broadcast", e, "alice", "alice", "bob"))
		bob.expect("group_commit")
	}
	srv = srv.Restart(t)
	alice2 := dial(t, srv, "alice")
	alice2.key = alice.key
	alice2.register()
	m := alice2.join("broadcast")
	if m["epoch"] != float64(3) || m["last_commit"] == nil || m["last_commit"].(msg)["epoch"] != float64(3) {
		t.Fatalf("after a restart: %s, want epoch 3 with its commit (GSV-20)", compact(m))
	}
	id := alice2.id()
	alice2.send(msg{"type": "group_commit", "id": id, "commit": commitFor("broadcast", 2, "alice", "alice")})
	alice2.expectError("stale_epoch", id)
	alice2.commit(commitFor("broadcast", 4, "alice", "alice"))
}

// TestGroupLastCommit checks GSV-2 and GSV-5: a joiner receives the last accepted commit
// unchanged in its group_members, the other members do not, and an accepted commit is forwarded
// with from to every other member.
func TestGroupLastCommit(t *testing.T) {
	srv := servertest.Start(t)
	alice, bob, carol := connect(t, srv, "alice"), connect(t, srv, "bob"), connect(t, srv, "carol")
	alice.join("room")
	first := commitFor("room", 1, "alice", "alice")
	alice.commit(first)

	m := bob.join("room")
	want := msg{"type": "group_members", "group": "room", "epoch": 1, "members": []string{"alice", "bob"}, "last_commit": first}
	if !sameJSON(m, want) {
		t.Fatalf("joiner got %s, want %s", compact(m), compact(want))
	}
	alice.expectMembers("room", 1, "alice", "bob") // without last_commit

	second := commitFor("room", 2, "bob", "alice", "bob")
	bob.commit(second)
	if got := alice.expect("group_commit"); !sameJSON(got, msg{"type": "group_commit", "from": "bob", "commit": second}) {
		t.Fatalf("forwarded commit %s", compact(got))
	}
	bob.quiet() // the committer does not get its own commit back
	carol.quiet()

	if m := carol.join("room"); !sameJSON(m["last_commit"], second) || m["epoch"] != float64(2) {
		t.Fatalf("second joiner got %s", compact(m))
	}
	alice.expectMembers("room", 2, "alice", "bob", "carol")
	bob.expectMembers("room", 2, "alice", "bob", "carol")
}

// TestGroupCommitChecks checks GSV-4: not_member, stale_epoch and bad_members (lists, committer,
// and keys other than the directory's), each not
// forwarded, with the connection kept open (ERR-3).
func TestGroupCommitChecks(t *testing.T) {
	srv := servertest.Start(t)
	alice, bob, carol := connect(t, srv, "alice"), connect(t, srv, "bob"), connect(t, srv, "carol")
	alice.join("room")
	bob.join("room")
	alice.expectMembers("room", 0, "alice", "bob")

	wrongWraps := commitFor("room", 1, "alice", "alice", "bob")
	wrongWraps["wraps"] = []any{wrongWraps["wraps"].([]msg)[1], wrongWraps["wraps"].([]msg)[0]}
	// GSV-4: each listed identity key, group key and group key signature is the directory's.
	keyOf := func(field string, n int) msg {
		cm := commitFor("room", 1, "alice", "alice", "bob")
		cm["members"].([]msg)[1][field] = ciphertext(n)
		return cm
	}
	tests := []struct {
		name   string
		sender *client
		commit msg
		code   string
	}{
		{"non-member", carol, commitFor("room", 1, "carol", "alice", "bob"), "not_member"},
		{"unknown group", alice, commitFor("other", 1, "alice", "alice"), "not_member"},
		{"epoch not next", alice, commitFor("room", 2, "alice", "alice", "bob"), "stale_epoch"},
		{"committer is not the sender", alice, commitFor("room", 1, "bob", "alice", "bob"), "bad_members"},
		{"a member missing", alice, commitFor("room", 1, "alice", "alice"), "bad_members"},
		{"an extra member", alice, commitFor("room", 1, "alice", "alice", "bob", "carol"), "bad_members"},
		{"members not sorted", alice, commitFor("room", 1, "alice", "bob", "alice"), "bad_members"},
		{"wraps not in member order", alice, wrongWraps, "bad_members"},
		{"identity key not the directory's", alice, keyOf("identity_key", 32), "bad_members"},
		{"group key not the directory's", alice, keyOf("group_key", 32), "bad_members"},
		{"group key signature not the directory's", alice, keyOf("group_key_sig", 64), "bad_members"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.sender.t = t
			id := fmt.Sprintf("c%d", i)
			tt.sender.send(msg{"type": "group_commit", "id": id, "commit": tt.commit})
			if e := tt.sender.expectError(tt.code, id); e["for"] != "group_commit" {
				t.Errorf("error.for = %v", e["for"])
			}
		})
	}
	for _, c := range []*client{alice, bob, carol} {
		c.t = t
		c.quiet() // nothing was forwarded
	}
	alice.commit(commitFor("room", 1, "alice", "alice", "bob"))
	bob.expect("group_commit")
}

// TestConcurrentCommits checks GSV-5: when commits for the same epoch race, exactly one is
// accepted; the other gets stale_epoch, and only the winner's commit is forwarded.
func TestConcurrentCommits(t *testing.T) {
	srv := servertest.Start(t)
	clients := []*client{connect(t, srv, "alice"), connect(t, srv, "bob"), connect(t, srv, "carol")}
	for i, c := range clients {
		c.join("room")
		for _, earlier := range clients[:i] {
			earlier.expect("group_members")
		}
	}
	names := []string{"alice", "bob", "carol"}
	for epoch := 1; epoch <= 10; epoch++ {
		var wg sync.WaitGroup
		for _, c := range clients {
			wg.Go(func() {
				c.send(msg{"type": "group_commit", "id": fmt.Sprint(epoch), "commit": commitFor("room", epoch, c.name, names...)})
			})
		}
		wg.Wait()
		winners, forwarded := 0, 0
		for _, c := range clients {
			// Each client gets its own answer; a loser also gets the winner's commit.
			answered, won, got := false, false, 0
			for !answered || (!won && got == 0) {
				switch m := c.nextMsg(); {
				case m["type"] == "ack" && !answered:
					answered, won = true, true
				case m["type"] == "error" && m["code"] == "stale_epoch" && !answered:
					answered = true
				case m["type"] == "group_commit" && m["commit"].(msg)["epoch"] == float64(epoch):
					got++
				default:
					t.Fatalf("epoch %d: %s got %s", epoch, c.name, compact(m))
				}
			}
			if won {
				winners++
			}
			forwarded += got
		}
		if winners != 1 || forwarded != 2 {
			t.Fatalf("epoch %d: %d commits accepted and %d forwarded, want 1 and 2", epoch, winners, forwarded)
		}
	}
}

// TestGroupFanOut checks GSV-6: a group message goes to every other member and nobody else;
// not_member and stale_epoch otherwise.
func TestGroupFanOut(t *testing.T) {
	srv := servertest.Start(t)
	alice, bob, carol, dave := connect(t, srv, "alice"), connect(t, srv, "bob"), connect(t, srv, "carol"), connect(t, srv, "dave")
	alice.join("room")
	bob.join("room")
	alice.expectMembers("room", 0, "alice", "bob")
	carol.join("room")
	alice.expect("group_members")
	bob.expect("group_members")
	dave.join("elsewhere")

	gm := groupMsg("room", 1, 0)
	alice.send(msg{"type": "group_message", "id": "early", "message": gm})
	alice.expectError("stale_epoch", "early") // epoch 0: no message is current
	alice.commit(commitFor("room", 1, "alice", "alice", "bob", "carol"))
	bob.expect("group_commit")
	carol.expect("group_commit")

	alice.send(msg{"type": "group_message", "id": "m", "message": gm})
	alice.expectAck("m", "group_message")
	for _, c := range []*client{bob, carol} {
		if got := c.expect("group_message"); !sameJSON(got, msg{"type": "group_message", "from": "alice", "message": gm}) {
			t.Fatalf("%s got %s", c.name, compact(got))
		}
	}
	alice.quiet()
	dave.quiet()

	dave.send(msg{"type": "group_message", "id": "x", "message": gm})
	dave.expectError("not_member", "x")
	bob.send(msg{"type": "group_message", "id": "old", "message": groupMsg("room", 2, 0)})
	bob.expectError("stale_epoch", "old")
	for _, c := range []*client{alice, carol} {
		c.quiet()
	}
}

// TestGroupLimits checks GSV-7: limit_exceeded beyond max_groups for a connection and
// max_group_members for a group.
func TestGroupLimits(t *testing.T) {
	srv := servertest.Start(t, func(c *server.Config) { c.MaxGroups, c.MaxGroupMembers = 2, 2 })
	alice, bob, carol := connect(t, srv, "alice"), connect(t, srv, "bob"), connect(t, srv, "carol")
	alice.join("one")
	alice.join("two")
	alice.send(msg{"type": "group_join", "id": "3", "group": "three"})
	alice.expectError("limit_exceeded", "3")
	bob.join("one")
	alice.expect("group_members")
	carol.send(msg{"type": "group_join", "id": "full", "group": "one"})
	carol.expectError("limit_exceeded", "full")
	// Leaving makes room again.
	alice.send(msg{"type": "group_leave", "id": "l", "group": "two"})
	alice.expectAck("l", "group_leave")
	alice.join("three")
}

// TestCommitTooLargeBound checks the size bound of GSV-4 as the spec writes it: the length of
// the compact group_members carrying max_group_members names of 32 characters and the commit
// as last_commit. A relay whose max_message is exactly that length accepts the commit; one a
// byte smaller refuses it with too_large. (The length of compact JSON does not depend on the
// order of members, so encoding/json's sorted keys give the same count.)
func TestCommitTooLargeBound(t *testing.T) {
	const maxMembers = 10
	cm := commitFor("room", 1, "alice", "alice")
	names := make([]string, maxMembers)
	for i := range names {
		names[i] = fmt.Sprintf("%032d", i)
	}
	bound, err := json.Marshal(msg{"type": "group_members", "group": "room", "epoch": 1, "members": names, "last_commit": cm})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		maxMessage int
		accepted   bool
	}{{len(bound), true}, {len(bound) - 1, false}} {
		srv := servertest.Start(t, func(c *server.Config) { c.MaxMessage, c.MaxGroupMembers = tc.maxMessage, maxMembers })
		alice := connect(t, srv, "alice")
		alice.join("room")
		id := alice.id()
		// The same length as cm, with the keys alice registered on this relay (GSV-4).
		alice.send(msg{"type": "group_commit", "id": id, "commit": commitFor("room", 1, "alice", "alice")})
		if tc.accepted {
			alice.expectAck(id, "group_commit")
		} else {
			alice.expectError("too_large", id)
		}
	}
}

// TestMaxKeptGroups checks the bound of GSV-20: beyond --max-kept-groups a new group lives in
// memory only and starts again at epoch 0 once empty, while a kept one keeps its epoch.
func TestMaxKeptGroups(t *testing.T) {
	srv := servertest.Start(t, func(c *server.Config) { c.MaxKeptGroups = 1 })
	alice, bob := connect(t, srv, "alice"), connect(t, srv, "bob")
	for _, g := range []string{"kept", "memory"} {
		alice.join(g)
		alice.commit(commitFor(g, 1, "alice", "alice"))
		alice.send(msg{"type": "group_leave", "id": "out-" + g, "group": g})
		alice.expectAck("out-"+g, "group_leave")
	}
	if m := bob.join("kept"); m["epoch"] != float64(1) {
		t.Fatalf("the kept group: %s, want epoch 1", compact(m))
	}
	if m := bob.join("memory"); m["epoch"] != float64(0) || m["last_commit"] != nil {
		t.Fatalf("the group beyond the bound: %s, want epoch 0", compact(m))
	}
}
