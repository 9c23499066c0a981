package serversuite

import (
	"fmt"
	"slices"

	"github.com/blindpost/blindpost/conformance/harness"
	"github.com/blindpost/blindpost/impl/wire"
)

// maxPendingTried is how many unanswered chat requests chats/pending-bounded sends before it
// concludes that the server has no bound (SES-4); the reference server's bound is 16.
const maxPendingTried = 256

func init() {
	add(harness.Case{ID: "chats/relay-needs-accepted-chat", Rules: []string{"SES-2", "SES-1", "ERR-1", "ERR-3"},
		Description: "a relay gets not_in_session and is not forwarded without a chat, while it is pending, after a refusal, from a third user with the chat's session id, after a chat_terminate and after a reconnect; inside an accepted chat it is forwarded both ways",
		Run:         relayNeedsChat})
	add(harness.Case{ID: "chats/session-gone", Rules: []string{"SES-3", "SES-1"},
		Description: "when a connection ends, the peer of each of its accepted chats gets chat_terminate from it with reason peer_offline; when it is replaced, peer_replaced; nothing for a pending chat or one that had ended",
		Run:         sessionGone})
	add(harness.Case{ID: "chats/pending-bounded", Rules: []string{"SES-4", "ERR-1"},
		Description: fmt.Sprintf("unanswered chat requests from one connection get limit_exceeded within %d and are not forwarded; an answer frees a place", maxPendingTried),
		Run:         pendingBounded})
	add(harness.Case{ID: "chats/queue-share", Rules: []string{"SES-5", "LIM-4", "LIM-2", "WS-10"}, Exclusive: true,
		Description: "one sender flooding a chat partner that stops reading gets rate_limited, then close 4003; the partner is not closed, and reads every acknowledged relay, then the chat_terminate of the gone flooder",
		Run:         queueShare})
}

// refusedRelay sends a relay from c to to on sid, which must get not_in_session (SES-2).
func refusedRelay(t *harness.T, c *Client, to string, sid []byte, when string) {
	id := c.ID()
	c.Send(&wire.Relay{ID: id, To: to, Session: sid, Payload: msgPayload(t, 0, 20)})
	f := c.Response("the answer to a relay " + when)
	if f.Type != "error" || f.Str("code") != "not_in_session" || f.Str("id") != id {
		t.FatalMismatch("SES-2", "error not_in_session for a relay "+when, f.Short())
	}
}

func relayNeedsChat(t *harness.T) {
	alice, bob, carol := Register(t, "alice"), Register(t, "bob"), Register(t, "carol")
	sid := Session(t)
	refusedRelay(t, alice, bob.Name, sid, "without a chat")
	id := alice.ID()
	alice.Send(&wire.ChatRequest{ID: id, To: bob.Name, Session: sid})
	alice.ExpectAck("SES-1", id, "chat_request")
	bob.Expect("SES-1", "chat_request")
	refusedRelay(t, alice, bob.Name, sid, "in a chat the recipient has not answered")
	refusedRelay(t, bob, alice.Name, sid, "to the initiator of a chat not accepted yet")
	id = bob.ID()
	bob.Send(&wire.ChatResponse{ID: id, To: alice.Name, Session: sid, Accepted: false})
	bob.ExpectAck("SES-1", id, "chat_response")
	alice.Expect("SES-1", "chat_response")
	refusedRelay(t, alice, bob.Name, sid, "in a chat the recipient declined")

	sid = Chat(t, alice, bob)
	for _, dir := range [][2]*Client{{alice, bob}, {bob, alice}} {
		id := dir[0].ID()
		dir[0].Send(&wire.Relay{ID: id, To: dir[1].Name, Session: sid, Payload: msgPayload(t, 1, 20)})
		dir[0].ExpectAck("SES-2", id, "relay")
		dir[1].Expect("SES-2", "relay")
	}
	refusedRelay(t, carol, bob.Name, sid, "from a third user with the session id of another pair's chat")
	refusedRelay(t, alice, bob.Name, Session(t), "on another session id than the accepted chat's")
	id = bob.ID()
	bob.Send(&wire.ChatTerminate{ID: id, To: alice.Name, Session: sid})
	bob.ExpectAck("SES-1", id, "chat_terminate")
	alice.Expect("SES-1", "chat_terminate")
	refusedRelay(t, alice, bob.Name, sid, "after the chat was terminated")

	sid = Chat(t, alice, bob)
	bob2 := RegisterAs(t, "bob", bob.Name, bob.Key)
	bob.ExpectClose("REG-7", 4001)
	alice.Expect("SES-3", "chat_terminate")
	refusedRelay(t, alice, bob.Name, sid, "to a new connection of the recipient (the chat was the old one's)")
	bob2.Quiet("SES-2", "a relay outside an accepted chat was forwarded")
	carol.Alive("ERR-3")
}

// expectGone reads a chat_terminate on c from user with reason and returns its session.
func expectGone(t *harness.T, c *Client, user, reason string) string {
	f := c.Expect("SES-3", "chat_terminate")
	if f.Str("from") != user || f.Str("reason") != reason {
		t.FatalMismatch("SES-3", fmt.Sprintf("chat_terminate from %s with reason %s", user, reason), f.Short())
	}
	return f.Str("session")
}

func sessionGone(t *harness.T) {
	alice, bob := Register(t, "alice"), Register(t, "bob")
	carol, dave := Register(t, "carol"), Register(t, "dave")
	both := []string{b64(Chat(t, alice, bob)), b64(Chat(t, bob, alice))}
	ended := Chat(t, alice, carol)
	id := alice.ID()
	alice.Send(&wire.ChatTerminate{ID: id, To: carol.Name, Session: ended})
	alice.ExpectAck("SES-1", id, "chat_terminate")
	carol.Expect("SES-1", "chat_terminate")
	id = dave.ID()
	dave.Send(&wire.ChatRequest{ID: id, To: carol.Name, Session: Session(t)})
	dave.ExpectAck("SES-1", id, "chat_request")
	carol.Expect("SES-1", "chat_request")

	bob.CloseAndWait()
	got := []string{expectGone(t, alice, bob.Name, "peer_offline"), expectGone(t, alice, bob.Name, "peer_offline")}
	slices.Sort(got)
	slices.Sort(both)
	if !slices.Equal(got, both) {
		t.Mismatch("SES-3", fmt.Sprintf("chat_terminate for the sessions %v", both), fmt.Sprint(got))
	}
	carol.CloseAndWait()
	Eventually(t, "SES-3", carol.Name+" offline", func() (bool, string) { on, list := online(dave, carol.Name); return !on, list })
	alice.Quiet("SES-3", "a chat_terminate for a chat that had ended")
	dave.Quiet("SES-3", "a chat_terminate for a chat that was never accepted")

	sid := b64(Chat(t, alice, dave))
	dave2 := RegisterAs(t, "dave", dave.Name, dave.Key)
	dave.ExpectClose("REG-7", 4001)
	if got := expectGone(t, alice, dave.Name, "peer_replaced"); got != sid {
		t.Mismatch("SES-3", "chat_terminate for session "+sid, got)
	}
	dave2.Quiet("SES-3", "the new connection heard of its old one's chats")
}

func pendingBounded(t *harness.T) {
	alice, bob := Register(t, "alice"), Register(t, "bob")
	var first []byte
	accepted := 0
	for i := range maxPendingTried + 1 {
		if i == maxPendingTried {
			t.FatalMismatch("SES-4", fmt.Sprintf("limit_exceeded within %d unanswered chat requests", maxPendingTried), fmt.Sprintf("%d acknowledged", accepted))
		}
		sid, id := Session(t), alice.ID()
		alice.Send(&wire.ChatRequest{ID: id, To: bob.Name, Session: sid})
		f := alice.Response("the answer to chat request " + id)
		if f.Type == "error" && f.Str("code") == "limit_exceeded" {
			break
		}
		if f.Type != "ack" {
			t.FatalMismatch("SES-4", "ack, or limit_exceeded once too many requests wait", f.Short())
		}
		if first == nil {
			first = sid
		}
		accepted++
	}
	for range accepted {
		bob.Expect("SES-4", "chat_request")
	}
	bob.Quiet("SES-4", "a chat_request refused with limit_exceeded was forwarded")
	if first == nil {
		t.FatalMismatch("SES-4", "the first chat request acknowledged", "limit_exceeded at once")
	}
	id := bob.ID()
	bob.Send(&wire.ChatResponse{ID: id, To: alice.Name, Session: first, Accepted: false})
	bob.ExpectAck("SES-4", id, "chat_response")
	alice.Expect("SES-4", "chat_response")
	id = alice.ID()
	alice.Send(&wire.ChatRequest{ID: id, To: bob.Name, Session: Session(t)})
	alice.ExpectAck("SES-4", id, "chat_request")
	t.Logf("%d unanswered chat requests were acknowledged, the next refused", accepted)
}

// queueShareMinRate is the fewest bytes a second one sender within the announced rate must be
// able to move for server/chats/queue-share to fill a paused reader's kernel buffers and then
// the server's queue within its deadline.
const queueShareMinRate = 256 << 10

// queueShare floods one recipient that stops reading from a single sender: the sender must be
// refused its share (rate_limited) and closed with 4003 for it, while the recipient is not
// closed for a full queue (4002).
func queueShare(t *harness.T) {
	env := envOf(t)
	// The slow reader's receive buffer is small from its first byte, so that little waits in
	// its kernel (shrunk once connected, it still advertised the larger window, and on Linux
	// its own pings then stopped reaching the server once that window filled).
	slow, flood := RegisterWith(t, "slow", DialOptions{ReadBuffer: 4096}), Register(t, "flood")
	if perSecond := 0.8 * float64(flood.Limits.Rate) * float64(flood.Limits.MaxMessage); perSecond < queueShareMinRate {
		t.Skipf("one sender within rate %d and max_message %d moves about %.0f bytes a second, and the server's socket "+
			"send buffer (which a client cannot shrink; Linux grows it to megabytes) absorbs that for longer than the "+
			"case's deadline before anything waits in the server's queue", flood.Limits.Rate, flood.Limits.MaxMessage, perSecond)
	}
	sid := Chat(t, flood, slow)
	slow.Pause()
	keepAlive := slow.pingEvery(env.cfg.PongTimeout / 3)
	defer keepAlive()
	ctSize := min(32766, int(flood.Limits.MaxMessage-400)*3/4)
	acked, limited := 0, 0
	for i := 0; ; i++ {
		if i == env.cfg.FloodMax {
			t.FatalMismatch("SES-5", "rate_limited, then close 4003, for a sender flooding one recipient", fmt.Sprintf("%d relays acknowledged, %d rate_limited", acked, limited))
		}
		id := flood.ID()
		flood.Send(&wire.Relay{ID: id, To: slow.Name, Session: sid, Payload: &wire.MsgRecord{N: int64(i), Ct: Random(t, ctSize)}})
		f := flood.Next("the answer to " + id)
		switch {
		case f.Kind == KindClose && f.Code == 4003:
		case f.Type == "ack":
			acked++
			continue
		case f.Type == "error" && f.Str("code") == "rate_limited":
			limited++
			continue
		default:
			t.FatalMismatch("SES-5", "ack, or rate_limited once the sender holds its share of the queue, never user_offline", f.Short())
		}
		break
	}
	if limited == 0 {
		t.Mismatch("SES-5", "rate_limited before close 4003", "close 4003 at once")
	}
	t.Logf("%d relays of %d bytes acknowledged, %d rate_limited, then close 4003", acked, ctSize, limited)
	// The pings go on while slow drains its queue: through its small receive window that takes
	// seconds on a loaded machine, and the server's pings wait behind the relays, so without its
	// own frames slow would be silent past the pong timeout (WS-7) and rightly closed.
	slow.Resume()
	for n := range acked {
		if f := slow.Next("acknowledged relay"); f.Type != "relay" {
			t.FatalMismatch("SES-5", fmt.Sprintf("relay %d of the %d acknowledged (the recipient is not closed)", n+1, acked), f.Short())
		}
	}
	keepAlive()
	expectGone(t, slow, flood.Name, "peer_offline")
	slow.Alive("SES-5")
}
