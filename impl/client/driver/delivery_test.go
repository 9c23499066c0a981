package driver_test

import (
	"path/filepath"
	"testing"

	"github.com/blindpost/blindpost/impl/client/driver"
	"github.com/blindpost/blindpost/impl/client/history"
	"github.com/blindpost/blindpost/impl/client/internal/testrelay"
)

// TestDriverDeliveryAndHistory: a sent message is reported relayed, then delivered once bob's
// receipt arrives; the optional conversations and history commands read the encrypted history.
// Rules: DRV-20, RCP-1, RCP-3, CLI-24.
func TestDriverDeliveryAndHistory(t *testing.T) {
	r := testrelay.Start(t)
	key := make([]byte, 32)
	store, err := history.Open(filepath.Join(t.TempDir(), "history"), key)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	alice := startDriver(t, "alice", driver.Options{History: store})
	alice.ok("connect", "url", r.URL(), "user", "alice", "pin", r.Pin().String())
	bob := connectDriver(t, r, "bob")
	bob.fail("unimplemented", "conversations")

	sid := alice.ok("chat", "peer", "bob").str("session")
	bob.event(map[string]any{"event": "chat_request", "from": "alice", "session": sid})
	bob.ok("accept", "session", sid)
	alice.event(map[string]any{"event": "session", "session": sid, "state": "secured"})
	bob.event(map[string]any{"event": "session", "session": sid, "state": "secured"})

	n := alice.ok("send", "session", sid, "text", "hello bob").num("n")
	// The relay's ack (relayed) and bob's receipt (delivered) reach alice by different paths, and
	// on a loaded machine the receipt can come first; a delivery only moves forward, so relayed
	// may then never be reported (DRV-20). delivered must come, and only after the receipt.
	alice.event(map[string]any{"event": "delivery", "session": sid, "peer": "bob", "n": n, "state": "delivered"})
	bob.event(map[string]any{"event": "message", "session": sid, "text": "hello bob"})
	bob.ok("send", "session", sid, "text", "hi alice")
	alice.event(map[string]any{"event": "message", "from": "bob", "text": "hi alice"})

	convs := alice.ok("conversations")["conversations"].([]any)
	if len(convs) != 1 {
		t.Fatalf("conversations = %v", convs)
	}
	if c := line(convs[0].(map[string]any)); c.str("peer") != "bob" || c.num("unread") != 1 {
		t.Fatalf("conversation %v, want bob with 1 unread", c)
	}
	msgs := alice.ok("history", "peer", "bob")["messages"].([]any)
	if len(msgs) != 2 {
		t.Fatalf("history = %v", msgs)
	}
	first, second := line(msgs[0].(map[string]any)), line(msgs[1].(map[string]any))
	if first.str("text") != "hello bob" || first.str("direction") != "out" || first.str("state") != "delivered" {
		t.Fatalf("first message %v", first)
	}
	if second.str("text") != "hi alice" || second.str("direction") != "in" || second.str("from") != "bob" {
		t.Fatalf("second message %v", second)
	}
	if c := line(alice.ok("conversations")["conversations"].([]any)[0].(map[string]any)); c.num("unread") != 0 {
		t.Fatalf("history did not mark the conversation read: %v", c)
	}
	alice.fail("bad_command", "history", "peer", "bob", "group", "broadcast")
	alice.ok("quit")
	bob.ok("quit")
}
