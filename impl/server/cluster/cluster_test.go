package cluster_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/nats-io/nats.go"

	"github.com/blindpost/blindpost/impl/server/cluster"
	"github.com/blindpost/blindpost/impl/server/cluster/natstest"
)

// join joins a node on NATS server i of c.
func join(t *testing.T, c *natstest.Cluster, i int, name string) *cluster.Node {
	t.Helper()
	nc := c.Connect(i)
	var n *cluster.Node
	// JetStream may refuse to place the buckets until it has heard from every server.
	c.WaitFor("node "+name+" joining", func() bool {
		var err error
		n, err = cluster.Join(t.Context(), cluster.Options{Conn: nc, NodeName: name})
		return err == nil
	})
	t.Cleanup(func() { _ = n.Close() })
	return n
}

// TestClaim: a claim replaces the previous one and returns it; a release of a replaced claim
// leaves the newer one; every node lists the users online, at once (spec §5.11 [CLU-1] [CLU-2]).
func TestClaim(t *testing.T) {
	c := natstest.Start(t, 3)
	a, b := join(t, c, 0, "a"), join(t, c, 0, "b")
	ctx := t.Context()
	_, had, rev1, err := a.Claim(ctx, "alice", 1)
	if err != nil || had {
		t.Fatalf("first claim: had %v, err %v", had, err)
	}
	prev, had, rev2, err := b.Claim(ctx, "alice", 7)
	if err != nil || !had || prev.Node != a.ID() || prev.Conn != 1 || rev2 <= rev1 {
		t.Fatalf("second claim: prev %+v had %v rev %d (first %d) err %v", prev, had, rev2, rev1, err)
	}
	if err := a.Release(ctx, "alice", rev1); err != nil {
		t.Fatal(err)
	}
	loc, ok, err := a.LocateFresh(ctx, "alice")
	if err != nil || !ok || loc.Node != b.ID() || loc.Conn != 7 {
		t.Fatalf("after the stale release: %+v %v %v, want the second claim", loc, ok, err)
	}
	for _, n := range []*cluster.Node{a, b} {
		if names, err := n.Online(ctx); err != nil || !slices.Equal(names, []string{"alice"}) {
			t.Fatalf("%s: online %v %v", n.ID(), names, err)
		}
	}
	if err := b.Release(ctx, "alice", rev2); err != nil {
		t.Fatal(err)
	}
	if names, err := a.Online(ctx); err != nil || len(names) != 0 {
		t.Fatalf("online after release: %v %v", names, err)
	}
}

// TestMembers: member lists change by compare-and-set; a change that fails writes nothing; an
// empty list is deleted (spec §5.11 [CLU-6]).
func TestMembers(t *testing.T) {
	c := natstest.Start(t, 3)
	a, b := join(t, c, 0, "a"), join(t, c, 0, "b")
	ctx := t.Context()
	add := func(n *cluster.Node, user string) func(cluster.Members) error {
		return func(ms cluster.Members) error { ms[user] = cluster.Location{Node: n.ID(), Conn: 1}; return nil }
	}
	if _, _, err := a.UpdateMembers(ctx, "g", add(a, "alice")); err != nil {
		t.Fatal(err)
	}
	ms, _, err := b.UpdateMembers(ctx, "g", add(b, "bob"))
	if err != nil || len(ms) != 2 || !slices.Equal(ms.Nodes(a.ID()), []string{b.ID()}) {
		t.Fatalf("members %v err %v", ms, err)
	}
	refused := errors.New("refused")
	if _, _, err := a.UpdateMembers(ctx, "g", func(ms cluster.Members) error { delete(ms, "bob"); return refused }); !errors.Is(err, refused) {
		t.Fatalf("a refused change: %v", err)
	}
	for _, user := range []string{"alice", "bob"} {
		if _, _, err := a.UpdateMembers(ctx, "g", func(ms cluster.Members) error { delete(ms, user); return nil }); err != nil {
			t.Fatal(err)
		}
	}
	if ms, rev, err := b.Members(ctx, "g"); err != nil || len(ms) != 0 || rev != 0 {
		t.Fatalf("after every leave: %v rev %d err %v", ms, rev, err)
	}
}

// TestRequestGone: a request to a node nobody serves fails with ErrNodeGone, whether it waits
// (Request) or is pipelined (RequestAsync); an attached node answers both (spec §5.11 [CLU-4]).
func TestRequestGone(t *testing.T) {
	c := natstest.Start(t, 3)
	a, b := join(t, c, 0, "a"), join(t, c, 0, "b")
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	if _, err := a.Request(ctx, b.ID(), nil, []byte("x")); !errors.Is(err, cluster.ErrNodeGone) {
		t.Fatalf("request to a node without a relay: %v, want ErrNodeGone", err)
	}
	p, err := a.RequestAsync(b.ID(), nil, []byte("x"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Wait(ctx); !errors.Is(err, cluster.ErrNodeGone) {
		t.Fatalf("pipelined request to a node without a relay: %v, want ErrNodeGone", err)
	}
	if err := b.Attach(echo{}); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if i == 0 {
			m, err := a.Request(ctx, b.ID(), nil, []byte("hi"))
			if err != nil || string(m.Data) != "hi" {
				t.Fatalf("request: %v %v", m, err)
			}
			continue
		}
		p, err := a.RequestAsync(b.ID(), nil, []byte("hi"))
		if err != nil {
			t.Fatal(err)
		}
		if m, err := p.Wait(ctx); err != nil || string(m.Data) != "hi" {
			t.Fatalf("pipelined request: %v %v", m, err)
		}
	}
}

// echo answers every message with its data.
type echo struct{}

func (echo) HandleMessage(m *nats.Msg)                     { _ = m.Respond(m.Data) }
func (echo) HandlePresence(string, cluster.Location, bool) {}
func (echo) HandleLost()                                   {}

// TestSweep: the users of a node that stopped without withdrawing them are withdrawn by a
// sweep of another node; those of live nodes stay (spec §5.11 [CLU-4]).
func TestSweep(t *testing.T) {
	c := natstest.Start(t, 3)
	a, b, live := join(t, c, 0, "a"), join(t, c, 1, "b"), join(t, c, 2, "live")
	if err := live.Attach(echo{}); err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	for _, claim := range []struct {
		n    *cluster.Node
		user string
	}{{a, "alice"}, {b, "bob"}, {b, "bert"}, {live, "lea"}} {
		if _, _, _, err := claim.n.Claim(ctx, claim.user, 1); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Close(); err != nil { // b never attached a relay: it answers no ping
		t.Fatal(err)
	}
	if err := a.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	removed, err := a.Sweep(ctx)
	if err != nil || removed != 2 {
		t.Fatalf("sweep removed %d entries (%v), want bob and bert", removed, err)
	}
	if names, err := a.Online(ctx); err != nil || !slices.Equal(names, []string{"alice", "lea"}) {
		t.Fatalf("online after the sweep: %v %v", names, err)
	}
}

// TestPresenceAfterFailover: a node whose NATS server stops, so that its connection fails over
// to another server, keeps its view of who is online up to date: a claim made on another node
// after the failover reaches the view itself (the watcher's consumer is made again on the new
// server), not only the bucket reads that Locate falls back to (spec §5.11 [CLU-1] [CLU-5]).
func TestPresenceAfterFailover(t *testing.T) {
	c := natstest.Start(t, 3)
	a, b := join(t, c, 0, "a"), join(t, c, 1, "b")
	ctx := t.Context()
	if _, _, _, err := b.Claim(ctx, "alice", 1); err != nil {
		t.Fatal(err)
	}
	c.WaitFor("alice in a's view", func() bool { return a.IsOnline("alice") })
	c.Stop(0)
	c.WaitReady()
	c.WaitFor("a claim with one server gone", func() bool {
		_, _, _, err := b.Claim(ctx, "carol", 2)
		return err == nil
	})
	c.WaitFor("carol in the view of a, whose server stopped", func() bool { return a.IsOnline("carol") })
	if !a.IsOnline("alice") {
		t.Error("alice left a's view across the failover")
	}
}
