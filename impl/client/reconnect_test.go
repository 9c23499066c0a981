package client_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/blindpost/blindpost/impl/client"
	"github.com/blindpost/blindpost/impl/client/backoff"
	"github.com/blindpost/blindpost/impl/client/tlstrust"
	"github.com/blindpost/blindpost/impl/server"
)

// recordSleep is a Sleeper that does not wait and records the delays it was asked for.
type recordSleep struct {
	mu     sync.Mutex
	delays []time.Duration
}

func (r *recordSleep) sleep(ctx context.Context, d time.Duration) error {
	r.mu.Lock()
	r.delays = append(r.delays, d)
	r.mu.Unlock()
	return ctx.Err()
}

// TestReconnect drops the connection under a client and checks that it reports the drop with
// code 1006, reconnects with backoff reporting the attempt and delay, rejoins its group and is
// rekeyed in, and that sessions keep working: spec §9 [CLI-3], §5.9 [GSV-3], §7.1 [GRP-11].
func TestReconnect(t *testing.T) {
	tp := startTapped(t)
	sleeps := &recordSleep{}
	policy := backoff.Policy{Initial: 100 * time.Millisecond, Max: time.Second, Multiplier: 2}
	alice := tp.connect(t, "alice")
	bob := tp.connect(t, "bob", func(o *client.Options) { o.Backoff, o.Sleep = policy, sleeps.sleep })
	joinAll(t, client.Broadcast, alice, bob)
	sid := secure(t, alice, bob)

	tp.tap.Drop()
	d := bob.wait("drop", connState(client.Disconnected)).(client.ConnectionEvent)
	if d.Code != 1006 || d.Final {
		t.Fatalf("disconnection %+v, want code 1006 and a reconnection to follow", d)
	}
	r := bob.wait("reconnecting", connState(client.Reconnecting)).(client.ConnectionEvent)
	if r.Attempt != 1 || r.Delay != 100*time.Millisecond {
		t.Fatalf("reconnecting %+v, want attempt 1 after 100ms", r)
	}
	bob.wait("connected again", connState(client.Connected))
	alice.wait("alice connected again", connState(client.Connected))
	bob.wait("rekeyed into the group", groupEpoch(client.Broadcast, "alice", "bob"))

	if _, _, err := alice.c.GroupSend(ctx(t), client.Broadcast, "after the drop"); err != nil {
		t.Fatal(err)
	}
	bob.wait("group message", groupMessage(client.Broadcast, "after the drop"))
	// The relay's chats belong to connections (spec §5.5 [SES-1]): after the reconnection the
	// two secure a new session, and it carries messages.
	sid = secure(t, alice, bob)
	if _, err := alice.c.Send(ctx(t), sid, "secured again"); err != nil {
		t.Fatal(err)
	}
	bob.wait("1:1 message", message("secured again"))
	sleeps.mu.Lock()
	defer sleeps.mu.Unlock()
	if len(sleeps.delays) != 1 || sleeps.delays[0] != 100*time.Millisecond {
		t.Fatalf("backoff delays %v, want [100ms]", sleeps.delays)
	}
}

// TestBackoffGrows keeps the relay unreachable and checks that the delays grow exponentially and
// that the client gives up after the policy's attempts with a final disconnection: CLI-3.
func TestBackoffGrows(t *testing.T) {
	srv := startServer(t)
	sleeps := &recordSleep{}
	alice := connect(t, srv, "alice", func(o *client.Options) {
		o.Backoff = backoff.Policy{Initial: 10 * time.Millisecond, Max: 40 * time.Millisecond, Multiplier: 2, Attempts: 4}
		o.Sleep = sleeps.sleep
	})
	srv.Close()
	alice.wait("final disconnection", func(e client.Event) bool {
		c, ok := e.(client.ConnectionEvent)
		return ok && c.State == client.Disconnected && c.Final
	})
	var attempts []int
	for _, e := range alice.seen {
		if c, ok := e.(client.ConnectionEvent); ok && c.State == client.Reconnecting {
			attempts = append(attempts, c.Attempt)
		}
	}
	sleeps.mu.Lock()
	defer sleeps.mu.Unlock()
	want := []time.Duration{10 * time.Millisecond, 20 * time.Millisecond, 40 * time.Millisecond, 40 * time.Millisecond}
	if len(attempts) != 4 || len(sleeps.delays) != 4 {
		t.Fatalf("attempts %v delays %v, want 4 of each", attempts, sleeps.delays)
	}
	for i, d := range want {
		if sleeps.delays[i] != d || attempts[i] != i+1 {
			t.Fatalf("attempt %d after %v, want attempt %d after %v", attempts[i], sleeps.delays[i], i+1, d)
		}
	}
	select {
	case <-alice.c.Done():
	case <-time.After(waitFor):
		t.Fatal("Done not closed after giving up")
	}
}

// TestReplacedNoReconnect checks that a client replaced by a newer login of the same identity
// (close 4001) does not reconnect: spec §4.2, REG-7, CLI-3.
func TestReplacedNoReconnect(t *testing.T) {
	srv := startServer(t)
	first := connect(t, srv, "alice")
	connectAs(t, srv, "alice", first.key, "")
	d := first.wait("replaced", connState(client.Disconnected)).(client.ConnectionEvent)
	if d.Code != 4001 || !d.Final {
		t.Fatalf("disconnection %+v, want final 4001", d)
	}
	<-first.c.Done()
}

// TestReconnectPinChanged: when the relay comes back with another certificate, the client gives
// up and says it may be an attack and what to do, not that the relay shut down. Rule: TLS-2.
func TestReconnectPinChanged(t *testing.T) {
	srvA := startServer(t)
	ready := make(chan struct{})
	alice := connect(t, srvA, "alice", func(o *client.Options) {
		o.Sleep = func(ctx context.Context, d time.Duration) error {
			select {
			case <-ready:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	})
	addr := strings.TrimSuffix(strings.TrimPrefix(srvA.URL, "wss://"), "/")
	srvA.Close()
	alice.wait("reconnecting", connState(client.Reconnecting))
	startServer(t, func(c *server.Config) { c.Listen = addr }) // a fresh data directory: a new certificate
	close(ready)
	final := alice.wait("gave up", func(e client.Event) bool {
		c, ok := e.(client.ConnectionEvent)
		return ok && c.State == client.Disconnected && c.Final
	}).(client.ConnectionEvent)
	var mismatch *tlstrust.PinMismatchError
	if !errors.As(final.Err, &mismatch) {
		t.Fatalf("final error %v, want a pin mismatch", final.Err)
	}
	if !strings.Contains(final.Reason, "possible attack") || !strings.Contains(final.Reason, "blindpost servers forget "+addr) ||
		strings.Contains(final.Reason, "shutting down") {
		t.Fatalf("reason %q: want a possible attack and the next step", final.Reason)
	}
}
