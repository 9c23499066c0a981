package client_test

import (
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/blindpost/blindpost/impl/client"
)

// TestCloseLeavesNoGoroutine runs sessions and a group, closes the clients and checks that every
// goroutine they started has ended.
func TestCloseLeavesNoGoroutine(t *testing.T) {
	srv := startServer(t)
	before := runtime.NumGoroutine()
	alice := connect(t, srv, "alice", func(o *client.Options) { o.PollUsers = time.Hour })
	bob := connect(t, srv, "bob")
	joinAll(t, client.Broadcast, alice, bob)
	sid := secure(t, alice, bob)
	if _, err := alice.c.Send(ctx(t), sid, "x"); err != nil {
		t.Fatal(err)
	}
	alice.close()
	bob.close()
	alice.close() // Close is idempotent
	deadline := time.Now().Add(waitFor)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			stacks := string(buf[:runtime.Stack(buf, true)])
			var ours []string
			for _, g := range strings.Split(stacks, "\n\n") {
				if strings.Contains(g, "impl/client") {
					ours = append(ours, g)
				}
			}
			t.Fatalf("%d goroutines, %d before; client goroutines left:\n%s", runtime.NumGoroutine(), before, strings.Join(ours, "\n\n"))
		}
		time.Sleep(5 * time.Millisecond) // polling for goroutines to finish, not synchronising
	}
}
