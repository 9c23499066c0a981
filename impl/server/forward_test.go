package server_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/blindpost/blindpost/impl/server"
	"github.com/blindpost/blindpost/impl/server/servertest"
)

// TestRelayFidelity checks SRV-6 (the payload arrives as the same JSON value, for every payload
// kind), SRV-1 (from is the registered sender, to is removed), SRV-8 (ack after queueing) and
// MSG-5 (the ack echoes the id).
func TestRelayFidelity(t *testing.T) {
	srv := servertest.Start(t)
	alice, bob := connect(t, srv, "alice"), connect(t, srv, "bob")
	sid := chat(alice, bob)
	payloads := []msg{
		{"kind": "hs1", "suites": []string{"x25519-hkdf-sha256-aes256gcm", "future-suite"}, "e": ciphertext(32)},
		{"kind": "hs2", "suite": "x25519-hkdf-sha256-aes256gcm", "e": ciphertext(32), "sig": ciphertext(64), "fin": ciphertext(32)},
		{"kind": "hs3", "sig": ciphertext(64), "fin": ciphertext(32)},
		msgPayload(0, 17),
		msgPayload(16777215, 1000),
		{"kind": "close", "n": 1, "ct": ciphertext(16)},
	}
	for i, p := range payloads {
		id := fmt.Sprintf("r%d", i)
		alice.send(msg{"type": "relay", "id": id, "to": "bob", "session": sid, "payload": p})
		alice.expectAck(id, "relay")
		got := bob.expect("relay")
		want := msg{"type": "relay", "from": "alice", "session": sid, "payload": p}
		if !sameJSON(got, want) {
			t.Fatalf("forwarded %s, want %s", compact(got), compact(want))
		}
	}
	// A request without id gets an ack without id (MSG-5).
	alice.send(msg{"type": "relay", "to": "bob", "session": sid, "payload": msgPayload(2, 20)})
	if ack := alice.expect("ack"); ack["id"] != nil {
		t.Fatalf("ack of a request without id: %s", compact(ack))
	}
	bob.expect("relay")
}

// TestRelayIntegerForms checks SRV-6 with ENC-8: an integer written 3.0 is the same JSON value
// as 3, and is forwarded as that value.
func TestRelayIntegerForms(t *testing.T) {
	srv := servertest.Start(t)
	alice, bob := connect(t, srv, "alice"), connect(t, srv, "bob")
	sid, ct := chat(alice, bob), ciphertext(20)
	alice.sendRaw(`{"type":"relay","id":"x","to":"bob","session":"` + sid + `","payload":{"kind":"msg","n":3.0,"ct":"` + ct + `"}}`)
	alice.expectAck("x", "relay")
	got := bob.expect("relay")
	if p := got["payload"].(msg); p["n"] != float64(3) || p["ct"] != ct {
		t.Fatalf("forwarded payload %s", compact(p))
	}
}

// TestRelayOrdering checks SRV-7 and SRV-13: messages from one connection to one recipient
// arrive in order, and every request is answered once, in order.
func TestRelayOrdering(t *testing.T) {
	const n = 300
	srv := servertest.Start(t, func(c *server.Config) { c.Rate, c.Burst, c.Queue = 100000, 100000, 2*n })
	alice, bob := connect(t, srv, "alice"), connect(t, srv, "bob")
	sid := chat(alice, bob)
	for i := range n {
		alice.send(msg{"type": "relay", "id": fmt.Sprint(i), "to": "bob", "session": sid, "payload": msgPayload(i, 32)})
	}
	for i := range n {
		alice.expectAck(fmt.Sprint(i), "relay")
		got := bob.expect("relay")
		if n := got["payload"].(msg)["n"]; n != float64(i) {
			t.Fatalf("message %d arrived as number %v", i, n)
		}
	}
}

// TestForwardErrors checks SRV-9 (user_offline, unknown_user, bad_target) and ERR-3 (the
// connection stays open), with error.for and id (MSG-5). Every error any test receives is
// checked against the closed set of codes of the schema (ERR-1), so a client never has to treat
// an unknown code as internal (ERR-5).
func TestForwardErrors(t *testing.T) {
	srv := servertest.Start(t, func(c *server.Config) { c.MaxMessage = 2048 })
	alice := connect(t, srv, "alice")
	carol := connect(t, srv, "carol")
	carol.close() // bound, now offline
	alice.waitOnline("alice")
	sid := session()
	tests := []struct {
		name string
		req  msg
		code string
	}{
		{"SRV-9 offline", msg{"type": "relay", "to": "carol", "session": sid, "payload": msgPayload(0, 20)}, "user_offline"},
		{"SRV-9 unknown", msg{"type": "relay", "to": "nobody", "session": sid, "payload": msgPayload(0, 20)}, "unknown_user"},
		{"SRV-9 self", msg{"type": "relay", "to": "alice", "session": sid, "payload": msgPayload(0, 20)}, "bad_target"},
		{"SRV-9 chat_request offline", msg{"type": "chat_request", "to": "carol", "session": sid}, "user_offline"},
		{"SRV-9 chat_response unknown", msg{"type": "chat_response", "to": "nobody", "session": sid, "accepted": true}, "unknown_user"},
		{"SRV-9 chat_terminate self", msg{"type": "chat_terminate", "to": "alice", "session": sid}, "bad_target"},
		{"SRV-3 get_pubkey unknown", msg{"type": "get_pubkey", "user": "nobody"}, "unknown_user"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			alice.t = t
			id := fmt.Sprintf("e%d", i)
			tt.req["id"] = id
			alice.send(tt.req)
			e := alice.expectError(tt.code, id)
			if e["for"] != tt.req["type"] {
				t.Errorf("error.for = %v, want %v", e["for"], tt.req["type"])
			}
		})
	}
	alice.t = t
	// SRV-3: the keys of an offline user are still served.
	alice.send(msg{"type": "get_pubkey", "id": "k", "user": "carol"})
	alice.expect("pubkey")
}

// TestTooLarge checks SRV-11: a message that fits max_message on the way in but whose forwarded
// form would not is refused with too_large and not forwarded, before the recipient is looked
// up (SRV-14).
func TestTooLarge(t *testing.T) {
	srv := servertest.Start(t, func(c *server.Config) { c.MaxMessage = 2048 })
	alice, bob := connect(t, srv, "alice"), connect(t, srv, "b")
	sid := chat(alice, bob)
	// A request of exactly max_message bytes, without id: its forwarded form is longer, as
	// "from":"alice" replaces "to":"b".
	request := func(n int) []byte {
		data, _ := json.Marshal(msg{"type": "relay", "to": "b", "session": sid, "payload": msg{"kind": "msg", "n": 0, "ct": strings.Repeat("A", n)}})
		return data
	}
	n := 1200
	for len(request(n+4)) <= 2048 {
		n += 4
	}
	if len(request(n)) > 2048 || len(request(n))+6 <= 2048 {
		t.Fatalf("request of %d bytes does not straddle the limit", len(request(n)))
	}
	alice.sendRaw(string(request(n)))
	alice.expectError("too_large", "")
	// SRV-14: the size before the recipient: to a name never bound (as long as b), too_large.
	alice.sendRaw(strings.Replace(string(request(n)), `"to":"b"`, `"to":"z"`, 1))
	alice.expectError("too_large", "")
	bob.quiet() // nothing was forwarded (SRV-10)
	alice.send(msg{"type": "relay", "id": "ok", "to": "b", "session": sid, "payload": msgPayload(1, 32)})
	alice.expectAck("ok", "relay")
	bob.expect("relay")
}

// TestFromCannotBeForged checks SRV-1 and SRV-2: a client-sent from is a schema error
// (bad_message, connection open, ERR-3), and what is forwarded carries the registered name.
func TestFromCannotBeForged(t *testing.T) {
	srv := servertest.Start(t)
	mallory, bob := connect(t, srv, "mallory"), connect(t, srv, "bob")
	sid := session()
	mallory.send(msg{"type": "relay", "id": "f", "to": "bob", "from": "alice", "session": sid, "payload": msgPayload(0, 20)})
	e := mallory.expectError("bad_message", "")
	if text := e["message"].(string); !strings.Contains(text, "additionalProperties") || !strings.Contains(text, `"from"`) {
		t.Errorf("bad_message does not name the pointer /from: %s", compact(e))
	}
	mallory.send(msg{"type": "chat_request", "id": "c", "to": "bob", "session": sid})
	mallory.expectAck("c", "chat_request")
	if got := bob.expect("chat_request"); got["from"] != "mallory" {
		t.Fatalf("forwarded %s", compact(got))
	}
}

// TestChatForwarding checks SRV-1 and SRV-8 for chat_request, chat_response and
// chat_terminate: forwarded with from in place of to, and acked.
func TestChatForwarding(t *testing.T) {
	srv := servertest.Start(t)
	alice, bob := connect(t, srv, "alice"), connect(t, srv, "bob")
	sid := session()
	alice.send(msg{"type": "chat_request", "id": "1", "to": "bob", "session": sid})
	alice.expectAck("1", "chat_request")
	if got := bob.expect("chat_request"); !sameJSON(got, msg{"type": "chat_request", "from": "alice", "session": sid}) {
		t.Fatalf("chat_request forwarded as %s", compact(got))
	}
	for _, accepted := range []bool{true, false} {
		bob.send(msg{"type": "chat_response", "id": "2", "to": "alice", "session": sid, "accepted": accepted})
		bob.expectAck("2", "chat_response")
		if got := alice.expect("chat_response"); !sameJSON(got, msg{"type": "chat_response", "from": "bob", "session": sid, "accepted": accepted}) {
			t.Fatalf("chat_response forwarded as %s", compact(got))
		}
	}
	alice.send(msg{"type": "chat_terminate", "id": "3", "to": "bob", "session": sid})
	alice.expectAck("3", "chat_terminate")
	if got := bob.expect("chat_terminate"); !sameJSON(got, msg{"type": "chat_terminate", "from": "alice", "session": sid}) {
		t.Fatalf("chat_terminate forwarded as %s", compact(got))
	}
}

// TestListUsers checks SRV-4: online users only, sorted by byte value, the requester included,
// as a client polling the list (SRV-5) sees it change.
func TestListUsers(t *testing.T) {
	srv := servertest.Start(t)
	names := []string{"zed", "al.ice", "al-ice", "0day", "al_ice", "bob"}
	clients := map[string]*client{}
	for _, n := range names {
		clients[n] = connect(t, srv, n)
	}
	want := []string{"0day", "al-ice", "al.ice", "al_ice", "bob", "zed"}
	got := clients["bob"].sync()
	if !sameJSON(got["users"], want) || got["truncated"] != false {
		t.Fatalf("user_list = %s, want %v", compact(got), want)
	}
	clients["zed"].close()
	clients["bob"].waitOnline(want[:5]...)
}
