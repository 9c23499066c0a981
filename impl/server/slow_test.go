package server_test

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/blindpost/blindpost/impl/e2ee/identity"
	"github.com/blindpost/blindpost/impl/server"
	"github.com/blindpost/blindpost/impl/server/servertest"
)

// registerRaw registers name on a connection without a reader goroutine, so that the test
// decides when (and whether) it reads.
func registerRaw(t *testing.T, srv *servertest.Server, name string) *websocket.Conn {
	t.Helper()
	ws := srv.Dial(t)
	key, err := identity.Generate(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	read := func(typ string) msg {
		t.Helper()
		ws.SetReadDeadline(time.Now().Add(wait))
		_, data, err := ws.ReadMessage()
		if err != nil {
			t.Fatal(err)
		}
		m := decode(t, data)
		if m["type"] != typ {
			t.Fatalf("got %s, want %s", compact(m), typ)
		}
		return m
	}
	write := func(m msg) {
		data, _ := json.Marshal(m)
		if err := ws.WriteMessage(websocket.TextMessage, data); err != nil {
			t.Fatal(err)
		}
	}
	write(msg{"type": "hello", "protocol": "blindpost/1", "user": name})
	challenge := unb64(t, read("hello_ack")["challenge"].(string))
	proof, _ := key.RegisterProof(challenge, srv.Pin.Bytes(), name)
	write(msg{"type": "register", "identity_key": b64(key.Public()), "group_key": b64(key.GroupPublic()),
		"group_key_sig": b64(key.GroupKeySig(name)), "proof": b64(proof)})
	read("register_ack")
	ws.SetReadDeadline(time.Time{})
	return ws
}

// TestSlowConsumer checks LIM-1, LIM-2 and LIM-5: a recipient that never reads does not delay
// delivery between other clients (each relay between them arrives within a deadline while the
// slow one's queue fills), and once its queue overflows, by messages or by bytes, it is closed
// with 4002 and the sender of the message that did not fit gets user_offline.
func TestSlowConsumer(t *testing.T) {
	for _, tc := range []struct {
		name              string
		queue, queueBytes int
	}{
		{"messages", 8, 1 << 30},
		// 2000 relays of 32,000 bytes overflow no queue of a million messages: the bytes must.
		{"bytes", 1000000, 256 << 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := servertest.Start(t, func(c *server.Config) {
				c.Queue, c.QueueBytes = tc.queue, tc.queueBytes
				c.Rate, c.Burst = 100000, 100000
				c.QueueShare = 100 // one sender fills the whole queue here (spec §5.5 [SES-5])
			})
			slowConsumer(t, srv)
		})
	}
}

func slowConsumer(t *testing.T, srv *servertest.Server) {
	slow := registerRaw(t, srv, "slow")
	alice := connect(t, srv, "alice")
	carol, dave := connect(t, srv, "carol"), connect(t, srv, "dave")

	// carol relays to dave throughout; every relay must arrive within the deadline.
	const deadline = 2 * time.Second
	stop := make(chan struct{})
	probe := make(chan error, 1)
	go func() {
		probe <- relayUntil(carol, dave, stop, deadline)
	}()

	// alice floods slow with large relays until one does not fit.
	big := msgPayload(0, 32000)
	sid := chatWithRaw(t, alice, slow, "slow")
	offline, gone := false, false
	for i := 0; i < 2000 && !offline; i++ {
		id := fmt.Sprint(i)
		alice.send(msg{"type": "relay", "id": id, "to": "slow", "session": sid, "payload": big})
	answer:
		switch m := alice.nextMsg(); {
		case m["type"] == "ack":
		case m["type"] == "error" && m["code"] == "user_offline" && m["id"] == id:
			offline = true // LIM-2
		case m["type"] == "chat_terminate" && m["reason"] == "peer_offline" && !gone:
			gone = true // SES-3: the closing may overtake the answer
			goto answer
		default:
			t.Fatalf("alice got %s", compact(m))
		}
	}
	if !gone {
		// SES-3: slow's connection ended with the chat alice had with it.
		if m := alice.expect("chat_terminate"); m["reason"] != "peer_offline" || m["session"] != sid {
			t.Fatalf("alice got %s", compact(m))
		}
	}
	if !offline {
		t.Fatal("the slow consumer's queue never overflowed")
	}
	close(stop)
	if err := <-probe; err != nil {
		t.Fatal(err) // LIM-1
	}

	// The slow consumer now reads: what was written before the overflow, then close 4002.
	slow.SetReadDeadline(time.Now().Add(wait))
	for {
		_, _, err := slow.ReadMessage()
		if err == nil {
			continue
		}
		var ce *websocket.CloseError
		if !errors.As(err, &ce) || ce.Code != server.CloseSlowConsumer {
			t.Fatalf("slow consumer ended with %v, want close 4002", err)
		}
		break
	}
	alice.waitOnline("alice", "carol", "dave")
}

// relayUntil relays from a to b until stop is closed, failing when one relay takes longer than
// deadline from send to delivery.
func relayUntil(a, b *client, stop <-chan struct{}, deadline time.Duration) error {
	sid := chat(a, b)
	for n := 0; ; n++ {
		select {
		case <-stop:
			if n < 2 {
				return errors.New("the probe relayed fewer than 2 messages")
			}
			return nil
		default:
		}
		start := time.Now()
		data, _ := json.Marshal(msg{"type": "relay", "id": fmt.Sprint(n), "to": b.name, "session": sid, "payload": msgPayload(n, 32)})
		if err := a.ws.WriteMessage(websocket.TextMessage, data); err != nil {
			return err
		}
		for _, c := range []*client{a, b} {
			select {
			case f := <-c.in:
				if f.err != nil {
					return f.err
				}
			case <-time.After(deadline - time.Since(start)):
				return fmt.Errorf("relay %d from %s to %s took longer than %v", n, a.name, b.name, deadline)
			}
		}
	}
}

// TestSlowReaderPings checks WS-11 with LIM-1: a client whose socket is full, because it reads
// slowly, and that pings meanwhile gets its pong in turn, after what is queued for it. Written
// beside the writer with gorilla's one-second deadline instead, the pong was dropped when it
// could not get in within the second, or, when its own write timed out, broke the TLS
// connection: the client lost what was queued for it and never learned why (no close frame).
func TestSlowReaderPings(t *testing.T) {
	srv := servertest.Start(t, func(c *server.Config) {
		c.Queue, c.QueueBytes = 1000000, 1<<30 // no overflow here: this is about the pong
		c.Rate, c.Burst = 100000, 100000
		// Nor a write timeout: filling the socket takes seconds under the race detector.
		c.WriteTimeout = 5 * time.Minute
	})
	slow := registerRaw(t, srv, "slow")
	alice := connect(t, srv, "alice")
	sid := chatWithRaw(t, alice, slow, "slow")
	sent := 0
	relay := func(size int) {
		id := fmt.Sprint(sent)
		alice.send(msg{"type": "relay", "id": id, "to": "slow", "session": sid, "payload": msgPayload(sent, size)})
		alice.expectAck(id, "relay")
		sent++
	}
	// About 34 MB: more than the socket buffers of both ends hold, so that slow's socket is
	// full and the relay's writer blocked on it.
	for range 800 {
		relay(32000)
	}
	if err := slow.WriteControl(websocket.PingMessage, []byte("are you there"), time.Now().Add(wait)); err != nil {
		t.Fatal(err)
	}
	// slow stays slow for longer than gorilla's one-second deadline for a pong of its own.
	for end := time.Now().Add(1500 * time.Millisecond); time.Now().Before(end); {
		relay(100)
	}
	pongs := make(chan string, 1)
	slow.SetPongHandler(func(d string) error { pongs <- d; return nil })
	slow.SetReadDeadline(time.Now().Add(wait))
	for n := range sent {
		if _, _, err := slow.ReadMessage(); err != nil {
			t.Fatalf("slow read %d of %d relays, then: %v", n, sent, err)
		}
	}
	go func() { _, _, _ = slow.ReadMessage() }() // runs the pong handler
	select {
	case d := <-pongs:
		if d != "are you there" {
			t.Errorf("pong %q, want the ping's data", d)
		}
	case <-time.After(wait):
		t.Fatal("no pong")
	}
}

// chatWithRaw opens a chat from a to the raw connection ws of user name, which accepts it
// (spec §5.5 [SES-1]), and returns its session id.
func chatWithRaw(t *testing.T, a *client, ws *websocket.Conn, name string) string {
	t.Helper()
	sid := session()
	a.send(msg{"type": "chat_request", "id": "chat", "to": name, "session": sid})
	a.expectAck("chat", "chat_request")
	ws.SetReadDeadline(time.Now().Add(wait))
	if _, data, err := ws.ReadMessage(); err != nil || decode(t, data)["type"] != "chat_request" {
		t.Fatalf("%s: got %s (%v), want chat_request", name, data, err)
	}
	data, _ := json.Marshal(msg{"type": "chat_response", "id": "chat", "to": a.name, "session": sid, "accepted": true})
	if err := ws.WriteMessage(websocket.TextMessage, data); err != nil {
		t.Fatal(err)
	}
	if _, data, err := ws.ReadMessage(); err != nil || decode(t, data)["type"] != "ack" {
		t.Fatalf("%s: got %s (%v), want ack", name, data, err)
	}
	a.expect("chat_response")
	return sid
}
