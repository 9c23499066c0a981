package cluster

import (
	"context"
	"testing"

	"github.com/blindpost/blindpost/impl/server/cluster/natstest"
)

// TestWithdrawLater: a release the bucket did not take (here its context was over before it
// was sent) is sent again in the background until the entry is gone, so that the user is not
// listed online for good (spec §5.4 [SRV-4]); a release kept for a claim that a later claim
// replaced leaves the later claim (CLU-2).
func TestWithdrawLater(t *testing.T) {
	c := natstest.Start(t, 3)
	nc := c.Connect(0)
	var n *Node
	c.WaitFor("the node joining", func() bool {
		var err error
		n, err = Join(t.Context(), Options{Conn: nc, NodeName: "a"})
		return err == nil
	})
	t.Cleanup(func() { _ = n.Close() })
	ctx := t.Context()
	over, cancel := context.WithCancel(ctx)
	cancel()

	_, _, rev, err := n.Claim(ctx, "alice", 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Release(over, "alice", rev); err == nil {
		t.Fatal("a release whose context was over reported success")
	}
	c.WaitFor("alice's entry withdrawn in the background", func() bool {
		_, ok, err := n.LocateFresh(ctx, "alice")
		return err == nil && !ok
	})

	_, _, stale, err := n.Claim(ctx, "bob", 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := n.Claim(ctx, "bob", 2); err != nil {
		t.Fatal(err)
	}
	if err := n.Release(over, "bob", stale); err == nil {
		t.Fatal("a release whose context was over reported success")
	}
	c.WaitFor("the stale release sent", func() bool {
		n.withdraw.mu.Lock()
		defer n.withdraw.mu.Unlock()
		return !n.withdraw.running && len(n.withdraw.pending) == 0
	})
	if loc, ok, err := n.LocateFresh(ctx, "bob"); err != nil || !ok || loc.Conn != 2 {
		t.Fatalf("bob after the stale release: %+v %v %v, want the later claim (conn 2)", loc, ok, err)
	}
}
