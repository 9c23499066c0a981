package server_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/blindpost/blindpost/impl/server"
	"github.com/blindpost/blindpost/impl/server/servertest"
)

// relayTo sends a relay on session sid from a to user to and returns its id.
func relayTo(a *client, to, sid string) string {
	id := a.id()
	a.send(msg{"type": "relay", "id": id, "to": to, "session": sid, "payload": msgPayload(0, 20)})
	return id
}

// TestRelayNeedsAcceptedChat checks SES-1 and SES-2: a relay is forwarded only inside a chat the
// recipient accepted, between the two connections of that chat; before the answer, after a
// refusal, after either side's chat_terminate, from a third user with the same session id, and
// after a reconnect it gets not_in_session and is not forwarded.
func TestRelayNeedsAcceptedChat(t *testing.T) {
	srv := servertest.Start(t)
	alice, bob, carol := connect(t, srv, "alice"), connect(t, srv, "bob"), connect(t, srv, "carol")
	refused := func(from *client, to, sid, when string) {
		t.Helper()
		id := relayTo(from, to, sid)
		if e := from.expectError("not_in_session", id); e["for"] != "relay" {
			t.Fatalf("%s: %s", when, compact(e))
		}
	}
	sid := session()
	refused(alice, "bob", sid, "no chat")

	alice.send(msg{"type": "chat_request", "id": "r", "to": "bob", "session": sid})
	alice.expectAck("r", "chat_request")
	bob.expect("chat_request")
	refused(alice, "bob", sid, "pending")
	refused(bob, "alice", sid, "pending, the other way")

	bob.send(msg{"type": "chat_response", "id": "a", "to": "alice", "session": sid, "accepted": false})
	bob.expectAck("a", "chat_response")
	alice.expect("chat_response")
	refused(alice, "bob", sid, "declined")

	sid = chat(alice, bob)
	for _, dir := range [][2]*client{{alice, bob}, {bob, alice}} {
		id := relayTo(dir[0], dir[1].name, sid)
		dir[0].expectAck(id, "relay")
		if m := dir[1].expect("relay"); m["from"] != dir[0].name {
			t.Fatalf("forwarded %s", compact(m))
		}
	}
	refused(carol, "bob", sid, "a third user with the chat's session id")
	refused(alice, "bob", session(), "another session id")

	bob.send(msg{"type": "chat_terminate", "id": "t", "to": "alice", "session": sid})
	bob.expectAck("t", "chat_terminate")
	alice.expect("chat_terminate")
	refused(alice, "bob", sid, "terminated")

	// A chat belongs to the connections: bob's new connection has none.
	sid = chat(alice, bob)
	bob2 := connectAs(t, srv, bob)
	bob.expectClose(server.CloseReplaced)
	if m := alice.expect("chat_terminate"); m["reason"] != "peer_replaced" {
		t.Fatalf("alice got %s", compact(m))
	}
	refused(alice, "bob", sid, "after bob reconnected")
	bob2.quiet()
	carol.quiet()
}

// connectAs registers a new connection with the name and key of c, replacing it (REG-7).
func connectAs(t *testing.T, srv *servertest.Server, c *client) *client {
	t.Helper()
	n := dial(t, srv, c.name)
	n.key = c.key
	n.register()
	return n
}

// TestSessionGoneNotice checks SES-3: when a connection ends or is replaced, the relay sends the
// peer of each accepted chat a chat_terminate from the gone user with reason peer_offline or
// peer_replaced, and nothing for a pending chat or one that had ended.
func TestSessionGoneNotice(t *testing.T) {
	srv := servertest.Start(t)
	alice, bob := connect(t, srv, "alice"), connect(t, srv, "bob")
	carol, dave := connect(t, srv, "carol"), connect(t, srv, "dave")
	withBob, withBob2 := chat(alice, bob), chat(bob, alice)
	ended := chat(alice, carol)
	alice.send(msg{"type": "chat_terminate", "id": "t", "to": "carol", "session": ended})
	alice.expectAck("t", "chat_terminate")
	carol.expect("chat_terminate")
	// A pending chat: dave asks carol, who does not answer.
	dave.send(msg{"type": "chat_request", "id": "p", "to": "carol", "session": session()})
	dave.expectAck("p", "chat_request")
	carol.expect("chat_request")

	bob.close()
	got := map[string]bool{}
	for range 2 {
		m := alice.expect("chat_terminate")
		if m["from"] != "bob" || m["reason"] != "peer_offline" {
			t.Fatalf("alice got %s, want chat_terminate from bob with reason peer_offline", compact(m))
		}
		got[m["session"].(string)] = true
	}
	if !got[withBob] || !got[withBob2] {
		t.Fatalf("chat_terminate for sessions %v, want %s and %s", got, withBob, withBob2)
	}

	carol.close()
	alice.waitOnline("alice", "dave")
	alice.quiet() // the chat with carol had ended
	dave.quiet()  // dave's chat with carol was pending

	withDave := chat(alice, dave)
	dave2 := connectAs(t, srv, dave)
	dave.expectClose(server.CloseReplaced)
	if m := alice.expect("chat_terminate"); m["from"] != "dave" || m["session"] != withDave || m["reason"] != "peer_replaced" {
		t.Fatalf("alice got %s, want chat_terminate from dave with reason peer_replaced", compact(m))
	}
	dave2.quiet()
}

// TestChatBounds checks SES-4: pending chat requests are bounded per sender and per recipient,
// accepted chats per connection; what goes beyond gets limit_exceeded and is not forwarded.
func TestChatBounds(t *testing.T) {
	srv := servertest.Start(t, func(c *server.Config) { c.MaxPending, c.MaxChats = 2, 1 })
	alice, bob, carol := connect(t, srv, "alice"), connect(t, srv, "bob"), connect(t, srv, "carol")
	request := func(from, to *client) (string, string) {
		t.Helper()
		sid, id := session(), from.id()
		from.send(msg{"type": "chat_request", "id": id, "to": to.name, "session": sid})
		return sid, id
	}
	var pending []string
	for range 2 {
		sid, id := request(alice, bob)
		alice.expectAck(id, "chat_request")
		bob.expect("chat_request")
		pending = append(pending, sid)
	}
	_, id := request(alice, carol)
	alice.expectError("limit_exceeded", id) // alice has 2 pending requests
	_, id = request(carol, bob)
	carol.expectError("limit_exceeded", id) // bob has 2 pending requests
	bob.quiet()

	// bob accepts one: one pending each way is free again, and bob is in the one chat allowed.
	bob.send(msg{"type": "chat_response", "id": "y", "to": "alice", "session": pending[0], "accepted": true})
	bob.expectAck("y", "chat_response")
	alice.expect("chat_response")
	sid, id := request(carol, bob)
	carol.expectAck(id, "chat_request")
	bob.expect("chat_request")
	bob.send(msg{"type": "chat_response", "id": "z", "to": "carol", "session": sid, "accepted": true})
	bob.expectError("limit_exceeded", "z")
	carol.quiet()
	// The refused acceptance left the chat pending: no relay yet.
	id = relayTo(carol, "bob", sid)
	carol.expectError("not_in_session", id)
}

// TestQueueShare checks SES-5 with LIM-4: a sender flooding a recipient that reads slowly gets
// rate_limited once it holds its share of the recipient's queue, is closed with 4003 when it
// keeps on, and the recipient keeps its connection and everything that was acknowledged.
func TestQueueShare(t *testing.T) {
	const abuse = server.MinAbuseLimit
	srv := servertest.Start(t, func(c *server.Config) {
		c.Queue, c.QueueBytes = 1000, 256<<10
		c.Rate, c.Burst = 100000, 100000
		c.AbuseLimit = abuse
		c.WriteTimeout = time.Minute // slow reads nothing until the flood is over
	})
	slow := registerRaw(t, srv, "slow")
	flood := connect(t, srv, "flood")
	sid := chatWithRaw(t, flood, slow, "slow")
	big := msgPayload(0, 32000)
	acked, limited := 0, 0
	for i := 0; limited < abuse; i++ {
		if i == 5000 {
			t.Fatalf("%d relays acknowledged, %d rate_limited: the flooder's share is not bounded", acked, limited)
		}
		id := fmt.Sprint(i)
		flood.send(msg{"type": "relay", "id": id, "to": "slow", "session": sid, "payload": big})
		switch m := flood.nextMsg(); {
		case m["type"] == "ack" && m["id"] == id:
			acked++
		case m["type"] == "error" && m["code"] == "rate_limited" && m["id"] == id:
			limited++
		default:
			t.Fatalf("flood got %s after %d acks", compact(m), acked)
		}
	}
	flood.expectClose(server.CloseRateLimited)

	// slow was never closed: it reads every acknowledged relay, then the relay's notice that
	// the flooder is gone (SES-3), and its connection still answers. Each read has its own
	// deadline: the relay writes about 3 MB here, which under the race detector on a loaded
	// machine can take longer than one wait.
	for n := range acked + 1 {
		slow.SetReadDeadline(time.Now().Add(wait))
		_, data, err := slow.ReadMessage()
		if err != nil {
			t.Fatalf("slow, after %d of %d relays: %v", n, acked, err)
		}
		want := "relay"
		if n == acked {
			want = "chat_terminate"
		}
		if m := decode(t, data); m["type"] != want {
			t.Fatalf("slow got %s, want %s", compact(m), want)
		}
	}
	if err := slow.WriteMessage(websocket.TextMessage, []byte(`{"type":"list_users"}`)); err != nil {
		t.Fatal(err)
	}
	if _, data, err := slow.ReadMessage(); err != nil || decode(t, data)["type"] != "user_list" {
		t.Fatalf("slow after the flood: %s %v", data, err)
	}
	t.Logf("%d relays of 32,000 bytes acknowledged before the flooder's share was full", acked)
}
