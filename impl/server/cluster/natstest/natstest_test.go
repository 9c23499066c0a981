package natstest

import "testing"

// TestStartStop: three nodes route to each other and elect one JetStream meta leader; when the
// leader stops, the other two elect a new one.
func TestStartStop(t *testing.T) {
	c := Start(t, 3)
	leader := -1
	for i, s := range c.Servers {
		if n := c.Peers(s); n != 2 {
			t.Fatalf("node %d is routed to %d peers, want 2", i+1, n)
		}
		if s.JetStreamIsLeader() {
			leader = i
		}
	}
	if leader < 0 {
		t.Fatal("no JetStream meta leader after Start")
	}
	if nc := c.Connect(leader); !nc.IsConnected() {
		t.Fatal("Connect returned a connection that is not connected")
	}
	c.Stop(leader)
	c.WaitReady()
	if got := len(c.running()); got != 2 {
		t.Fatalf("%d nodes running after a Stop, want 2", got)
	}
	for i, s := range c.Servers {
		if i != leader && s.JetStreamIsLeader() {
			return
		}
	}
	t.Fatal("no new meta leader among the two remaining nodes")
}
