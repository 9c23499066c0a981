package natstest

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"syscall"
	"testing"
)

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

// TestRoutedStartsAgainOnATakenPort: when a node reports its address in use, Routed cancels the
// other starts, stops the nodes that started, and starts all of them again on fresh ports.
func TestRoutedStartsAgainOnATakenPort(t *testing.T) {
	type node struct {
		attempt, i int
		routes     []string
	}
	attempts := map[string]int{} // each attempt's first route, to its number
	var stopped []node
	var mu sync.Mutex
	nodes := Routed(t, 3, func(ctx context.Context, i int, routes []string) (node, error) {
		mu.Lock()
		if attempts[routes[0]] == 0 {
			attempts[routes[0]] = len(attempts) + 1
		}
		n := node{attempt: attempts[routes[0]], i: i, routes: routes}
		mu.Unlock()
		if n.attempt == 1 && i == 1 {
			return node{}, fmt.Errorf("listen: %w", syscall.EADDRINUSE)
		}
		if n.attempt == 1 && i == 2 {
			<-ctx.Done() // as a node waiting for its peers
			return node{}, context.Cause(ctx)
		}
		return n, nil
	}, func(n node) {
		mu.Lock()
		defer mu.Unlock()
		stopped = append(stopped, n)
	})
	for i, n := range nodes {
		if n.attempt != 2 || n.i != i {
			t.Errorf("node %d: %+v, want the second attempt's node %d", i, n, i)
		}
	}
	if len(stopped) != 1 || stopped[0].attempt != 1 || stopped[0].i != 0 {
		t.Errorf("stopped %+v, want the first attempt's node 0 only", stopped)
	}
	if len(nodes[0].routes) != 3 || strings.Join(nodes[0].routes, " ") == strings.Join(stopped[0].routes, " ") {
		t.Errorf("routes %v after %v: want three fresh ports", nodes[0].routes, stopped[0].routes)
	}
}
