package client_test

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/blindpost/blindpost/impl/client"
	"github.com/blindpost/blindpost/impl/e2ee/wireconv"
	"github.com/blindpost/blindpost/impl/server"
	"github.com/blindpost/blindpost/impl/server/directory"
	"github.com/blindpost/blindpost/impl/server/servertest"
	"github.com/blindpost/blindpost/impl/wire"
)

// joinAll joins every peer to group in turn and waits until each has accepted the epoch that
// lists all of them and is secured with all the others (spec §7.3 [GRP-21], §9 [CLI-31]): then
// every epoch acknowledgement has reached every member, and none is in flight when the next
// peer joins (a joiner cannot read the epoch it joins in, GRP-14).
func joinAll(t *testing.T, group string, peers ...*peer) {
	t.Helper()
	var names []string
	for _, p := range peers {
		if err := p.c.JoinGroup(ctx(t), group); err != nil {
			t.Fatalf("%s: join %s: %v", p.name, group, err)
		}
		names = append(names, p.name)
		for _, q := range peers[:len(names)] {
			ev := q.wait("epoch with "+p.name, groupEpoch(group, sortedCopy(names)...))
			q.waitSecured(ev, group, othersOf(q.name, sortedCopy(names))...)
		}
	}
}

func sortedCopy(s []string) []string {
	out := append([]string(nil), s...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

// TestGroup runs the broadcast group with three clients: each joins and commits itself in
// (spec §7.1 "Who commits"), everyone reads everyone, signed per sender. alice and bob accepted
// carol's commit of epoch 3, so their message 0 of it is their epoch acknowledgement and their
// first text is message 1; carol, the committer, sends none. Rules: GRP-1, GRP-11, GRP-13,
// GRP-16, GRP-21, TRUST-1.
func TestGroup(t *testing.T) {
	srv := startServer(t)
	alice := connect(t, srv, "alice")
	bob := connect(t, srv, "bob")
	carol := connect(t, srv, "carol")
	joinAll(t, client.Broadcast, alice, bob, carol)

	firstN := map[string]uint64{"alice": 1, "bob": 1, "carol": 0}
	for i, p := range []*peer{alice, bob, carol} {
		text := "hello from " + p.name
		epoch, n, err := p.c.GroupSend(ctx(t), client.Broadcast, text)
		if err != nil || n != firstN[p.name] || epoch != 3 {
			t.Fatalf("%s: group send: epoch %d n %d err %v; want epoch 3 n %d [GRP-13, GRP-21]", p.name, epoch, n, err, firstN[p.name])
		}
		for j, q := range []*peer{alice, bob, carol} {
			if i == j {
				continue
			}
			m := q.wait("group message", groupMessage(client.Broadcast, text)).(client.GroupMessageEvent)
			if m.From != p.name || m.Epoch != 3 {
				t.Fatalf("%s got %+v", q.name, m)
			}
		}
	}
	_, n, err := alice.c.GroupSend(ctx(t), client.Broadcast, "again")
	if err != nil || n != 2 {
		t.Fatalf("second message n=%d err=%v, want 2 [GRP-13]", n, err)
	}
	bob.wait("second", groupMessage(client.Broadcast, "again"))
	for _, p := range []*peer{alice, bob, carol} {
		p.noSecurityEvents()
	}
}

// TestGroupLeaveRekey checks that a member that leaves is rekeyed out by the remaining member
// with the lowest username, and cannot read what follows; sends wait for the rekey. Rules:
// GRP-2, GRP-12, and spec §7.1 "Who commits".
func TestGroupLeaveRekey(t *testing.T) {
	srv := startServer(t)
	alice := connect(t, srv, "alice")
	bob := connect(t, srv, "bob")
	carol := connect(t, srv, "carol")
	joinAll(t, client.Broadcast, carol, bob, alice)

	if err := alice.c.LeaveGroup(ctx(t), client.Broadcast); err != nil {
		t.Fatal(err)
	}
	alice.wait("left", func(e client.Event) bool { _, ok := e.(client.GroupLeftEvent); return ok })
	// bob is the lowest remaining member: he commits epoch 4 for bob and carol.
	ev := carol.wait("rekey without alice", groupEpoch(client.Broadcast, "bob", "carol")).(client.GroupEvent)
	if ev.Committer != "bob" || ev.Epoch != 4 {
		t.Fatalf("rekey %+v, want epoch 4 committed by bob", ev)
	}
	bob.wait("rekey", groupEpoch(client.Broadcast, "bob", "carol"))
	if _, _, err := carol.c.GroupSend(ctx(t), client.Broadcast, "alice cannot read this"); err != nil {
		t.Fatal(err)
	}
	bob.wait("message after rekey", groupMessage(client.Broadcast, "alice cannot read this"))
	if _, _, err := alice.c.GroupSend(ctx(t), client.Broadcast, "x"); err == nil {
		t.Fatal("a member that left could still send [GRP-2]")
	}
	for _, p := range []*peer{alice, bob, carol} {
		p.noSecurityEvents()
	}
}

// TestGroupMemberDrops checks that when the lowest member's connection ends, the next lowest
// commits the epoch without it: spec §7.1 "Who commits" after a drop, GSV-3.
func TestGroupMemberDrops(t *testing.T) {
	srv := startServer(t)
	alice := connect(t, srv, "alice")
	bob := connect(t, srv, "bob")
	carol := connect(t, srv, "carol")
	joinAll(t, "team", alice, bob, carol)
	alice.close()
	ev := carol.wait("rekey without alice", groupEpoch("team", "bob", "carol")).(client.GroupEvent)
	if ev.Committer != "bob" {
		t.Fatalf("committer %s, want bob", ev.Committer)
	}
	if _, _, err := bob.c.GroupSend(ctx(t), "team", "still here"); err != nil {
		t.Fatal(err)
	}
	carol.wait("message", groupMessage("team", "still here"))
}

// TestLeaverRekeyedOut proves cryptographically that a member that left cannot read what the
// group says afterwards, even if it kept its old epoch secret: its state, rebuilt from the
// commits that crossed the relay, refuses the rekey commit (not_listed, GRP-6) and the later
// message (stale_epoch, GRP-14). Rules: GRP-2, GRP-6, GRP-14, and §10 "Members are rekeyed out
// on leave".
func TestLeaverRekeyedOut(t *testing.T) {
	tp := startTapped(t)
	alice := tp.connect(t, "alice")
	bob := tp.connect(t, "bob")
	carol := tp.connect(t, "carol")
	joinAll(t, client.Broadcast, alice, bob, carol)
	if err := alice.c.LeaveGroup(ctx(t), client.Broadcast); err != nil {
		t.Fatal(err)
	}
	carol.wait("rekey", groupEpoch(client.Broadcast, "bob", "carol"))
	bob.wait("rekey", groupEpoch(client.Broadcast, "bob", "carol"))
	if _, _, err := carol.c.GroupSend(ctx(t), client.Broadcast, "after alice left"); err != nil {
		t.Fatal(err)
	}
	bob.wait("message", groupMessage(client.Broadcast, "after alice left"))

	var commits []*wire.Commit
	var later *wire.GroupMsg
	for _, m := range tp.sent(t) {
		switch m := m.(type) {
		case *wire.GroupCommit:
			commits = append(commits, &m.Commit)
		case *wire.GroupMessage:
			later = &m.Message
		}
	}
	if len(commits) != 4 || later == nil {
		t.Fatalf("saw %d commits and message %v, want 4 commits and a message", len(commits), later)
	}
	spy := spyState(t, alice, commits[:3]) // alice as she was at epoch 3, secret kept
	rekey := wireconv.FromCommit(commits[3])
	if _, err := spy.ReceiveCommit(&rekey); !isOutcome(err, "not_listed") {
		t.Fatalf("the leaver accepted the rekey commit: %v [GRP-6]", err)
	}
	msg := wireconv.FromGroupMsg(later)
	if _, err := spy.Open(nil, "carol", &msg); !isOutcome(err, "stale_epoch") {
		t.Fatalf("the leaver opened a later message: %v [GRP-14]", err)
	}
}

// restartGroups stops the relay and starts it again on the same address, so that connected
// clients reconnect; with forget, the relay's group state is lost first (its directory file
// restored from before the group existed, say).
func restartGroups(t *testing.T, srv *servertest.Server, forget bool) *servertest.Server {
	t.Helper()
	addr := srv.Addr().String()
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	if forget {
		d, err := directory.Open(filepath.Join(srv.DataDir, directory.FileName), directory.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := d.PruneGroups(time.Now().Add(time.Hour), nil); err != nil {
			t.Fatal(err)
		}
		d.Close()
	}
	return srv.Restart(t, func(c *server.Config) { c.Listen = addr })
}

// TestGroupAcrossRelayRestart checks that a relay restart keeps the group's epochs going up
// (GSV-20): the members reconnect, rejoin and are keyed in past the epoch they held, with no
// security event.
func TestGroupAcrossRelayRestart(t *testing.T) {
	srv := startServer(t)
	alice, bob := connect(t, srv, "alice"), connect(t, srv, "bob")
	joinAll(t, client.Broadcast, alice, bob) // epoch 2
	restartGroups(t, srv, false)
	for _, p := range []*peer{alice, bob} {
		ev := p.wait("keyed in again", func(e client.Event) bool {
			g, ok := e.(client.GroupEvent)
			return ok && g.Group == client.Broadcast && len(g.Members) == 2
		}).(client.GroupEvent)
		if ev.Epoch <= 2 {
			t.Fatalf("%s: epoch %d after the restart, want above 2 (GSV-20)", p.name, ev.Epoch)
		}
		p.noSecurityEvents()
	}
}

// TestGroupRelayHistoryBack checks what a client does when the relay's group history goes back
// (spec §5.9, GSV-20): it reports it as stale_epoch, and the group is keyed in again from the
// relay's epoch.
func TestGroupRelayHistoryBack(t *testing.T) {
	srv := startServer(t)
	alice, bob := connect(t, srv, "alice"), connect(t, srv, "bob")
	joinAll(t, client.Broadcast, alice, bob) // epoch 2
	restartGroups(t, srv, true)
	for _, p := range []*peer{alice, bob} {
		p.wait("history went back reported", security("stale_epoch", "GSV-20"))
		p.wait("keyed in again", groupEpoch(client.Broadcast, "alice", "bob"))
	}
	if _, _, err := alice.c.GroupSend(ctx(t), client.Broadcast, "after the rollback"); err != nil {
		t.Fatal(err)
	}
	bob.wait("message after the rollback", groupMessage(client.Broadcast, "after the rollback"))
}
