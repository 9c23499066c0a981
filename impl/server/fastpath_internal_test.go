package server

import (
	"bytes"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/blindpost/blindpost/impl/wire"
	"pgregory.net/rapid"
)

// drain returns copies of the frames queued for c, and empties its queue (take).
func drain(c *conn) [][]byte {
	c.qmu.Lock()
	var out [][]byte
	for _, f := range c.queue {
		out = append(out, bytes.Clone(f))
	}
	c.qmu.Unlock()
	c.take()
	return out
}

// testPayload is the payload of the relays of these tests: a message record.
const testPayload = `{"kind":"msg","n":7,"ct":"AAAAAAAAAAAAAAAAAAAAAA=="}`

// relayRequest returns a relay request of benchSession to user to, with testPayload; extra goes before
// its to member (an id member and its comma, say).
func relayRequest(extra, to string) []byte {
	return fmt.Appendf(nil, `{"type":"relay",%s"to":%q,"session":%q,"payload":%s}`, extra, to, benchSession, testPayload)
}

// fastPathServer is a server with alice and bob in the chat of benchSession, and carol, who
// is registered and in no chat.
func fastPathServer(t *testing.T) (alice, bob, carol *conn) {
	s := unlimitedServer(t)
	alice, bob, carol = benchConn(t, s, "alice"), benchConn(t, s, "bob"), benchConn(t, s, "carol")
	benchChat(t, alice, bob)
	return alice, bob, carol
}

// TestFastPathAnswers checks that the fast path answers every relay as the decoding path does
// (dispatch after wire.Decode): the same frames queued for the recipient and the sender, for a
// relay forwarded with and without id, to a user in no chat with the sender (SES-2), to an
// unknown user (SRV-9), to the sender itself (SRV-9), and written in forms
// the fast path leaves to the decoding path.
func TestFastPathAnswers(t *testing.T) {
	alice, bob, carol := fastPathServer(t)
	cases := map[string][]byte{
		"with id":            relayRequest(`"id":"a.b:c-9",`, "bob"),
		"without id":         relayRequest("", "bob"),
		"no chat":            relayRequest(`"id":"1",`, "carol"),
		"unknown user":       relayRequest(`"id":"2",`, "nobody"),
		"to its sender":      relayRequest(`"id":"4",`, "alice"),
		"spaces":             []byte(` { "type" : "relay" , "id" : "5" , "to" : "bob" , "session" : "` + benchSession + `" , "payload" : { "kind" : "close" } } `),
		"escaped id":         relayRequest(`"id":"\u0035",`, "bob"),
		"escaped recipient":  relayRequest(`"id":"6",`, `bo\u0062`),
		"number not plain":   []byte(`{"type":"relay","to":"bob","session":"` + benchSession + `","payload":{"kind":"msg","n":7.0,"ct":"AAAAAAAAAAAAAAAAAAAAAA=="}}`),
		"payload first":      []byte(`{"payload":` + testPayload + `,"to":"bob","type":"relay","session":"` + benchSession + `"}`),
		"invalid session":    []byte(`{"type":"relay","id":"7","to":"bob","session":"2ssslZEny/S/y5gWIrZ4Th==","payload":` + testPayload + `}`),
		"unknown member":     []byte(`{"type":"relay","id":"8","to":"bob","x":1,"session":"` + benchSession + `","payload":` + testPayload + `}`),
		"invalid recipient":  relayRequest(`"id":"9",`, "Bob"),
		"trailing data":      append(relayRequest("", "bob"), " {}"...),
		"duplicate member":   []byte(`{"type":"relay","to":"bob","to":"bob","session":"` + benchSession + `","payload":` + testPayload + `}`),
		"another request":    []byte(`{"type":"list_users","id":"10"}`),
		"not json":           []byte(`{"type":"relay",`),
		"payload kind wrong": []byte(`{"type":"relay","to":"bob","session":"` + benchSession + `","payload":{"kind":"hs9"}}`),
	}
	for name, data := range cases {
		t.Run(name, func(t *testing.T) {
			alice.handle(data, time.Now())
			gotBob, gotAlice, gotCarol := drain(bob), drain(alice), drain(carol)
			msg, err := wire.Decode(wire.FromClient, data)
			if err != nil {
				id, typ := peekRequest(data)
				alice.badMessage(err, id, typ)
			} else {
				id, typ := requestOf(msg)
				alice.dispatch(msg, id, typ, time.Now())
			}
			wantBob, wantAlice, wantCarol := drain(bob), drain(alice), drain(carol)
			for _, q := range []struct {
				who       string
				got, want [][]byte
			}{{"bob", gotBob, wantBob}, {"alice", gotAlice, wantAlice}, {"carol", gotCarol, wantCarol}} {
				if fmt.Sprintf("%q", q.got) != fmt.Sprintf("%q", q.want) {
					t.Errorf("queued for %s:\n  handle:          %q\n  decode+dispatch: %q", q.who, q.got, q.want)
				}
			}
			if len(gotAlice) != 1 {
				t.Errorf("alice got %d answers, want 1 (SRV-13)", len(gotAlice))
			}
		})
	}
}

// TestRelayAckEncoding checks the acks the fast path builds against the codec's encoding, for
// any id a client may send (spec §5.1).
func TestRelayAckEncoding(t *testing.T) {
	alice, _, _ := fastPathServer(t)
	rapid.Check(t, func(rt *rapid.T) {
		id := rapid.StringMatching(`[A-Za-z0-9._:-]{1,64}`).Draw(rt, "id")
		alice.ackRelay([]byte(id))
		got := drain(alice)
		want, err := wire.Encode(&wire.Ack{ID: id, For: ackedType(wire.RequestTypeRelay)})
		if err != nil {
			rt.Fatal(err)
		}
		if len(got) != 1 || !bytes.Equal(got[0], want) {
			rt.Fatalf("ack of id %q: %q, want %q", id, got, want)
		}
	})
}

// TestPooledFrameMarking checks that a queue marks as pooled exactly the frame its sender lends
// (the one the fast path hands to the hub), and that only those go back to the pool once
// written: a frame queued for several connections (a group message) must never be reused.
func TestPooledFrameMarking(t *testing.T) {
	alice, bob, _ := fastPathServer(t)
	lent := relayFrames.get(100)
	lent = append(lent, "lent"...)
	shared := make([]byte, 0, minPooled) // a class's size, but not lent
	shared = append(shared, "shared"...)
	alice.lent = lent
	if bob.enqueueFrom(shared, alice) != delivered || bob.enqueueFrom(lent, alice) != delivered {
		t.Fatal("not queued")
	}
	alice.lent = nil
	bob.qmu.Lock()
	owners := append([]uint64(nil), bob.owners...)
	bob.qmu.Unlock()
	if len(owners) != 2 || owners[0]&pooledFrame != 0 || owners[1]&pooledFrame == 0 || owners[1]&^pooledFrame != alice.id {
		t.Fatalf("owners %x: want the shared frame unmarked, the lent one marked and alice's (%x)", owners, alice.id)
	}
	// Once written, only the lent frame goes back to the pool.
	var back [][]byte
	bob.qmu.Lock()
	recycle(bob.queue, bob.owners, func(b []byte) { back = append(back, b) })
	bob.qmu.Unlock()
	if len(back) != 1 || &back[0][:1][0] != &lent[0] {
		t.Fatalf("%d buffers went back to the pool, want 1: the lent frame", len(back))
	}
	if string(shared) != "shared" {
		t.Fatalf("the shared frame changed: %q", shared)
	}
}

// TestFramePoolClasses checks the size classes: get gives room for n bytes, in the smallest
// class that holds it, and a buffer given back is one get may return; put keeps only buffers of
// a class's exact size.
func TestFramePoolClasses(t *testing.T) {
	p := newFramePool()
	for _, n := range []int{0, 1, 63, 64, 65, 200, 1024, 1025, 64 << 10, 64<<10 + 1, 1 << 20} {
		b := p.get(n)
		if len(b) != 0 || cap(b) < n {
			t.Fatalf("get(%d): len %d cap %d", n, len(b), cap(b))
		}
		if k := class(n); k < poolClasses && (cap(b) != minPooled<<k || k > 0 && minPooled<<(k-1) >= n) {
			t.Fatalf("get(%d): cap %d, not the smallest class that holds it", n, cap(b))
		}
		p.put(append(b, 'x')) // every class converts to its array and back
	}
	p.put(make([]byte, 0, 100)) // not a class's size: dropped
	for range 100 {
		// sync.Pool may drop what it is given (it does at random under the race detector), so
		// the test only asserts what get must never return.
		if b := p.get(100); len(b) != 0 || cap(b) != 128 {
			t.Fatalf("get(100) after put: len %d cap %d, want an empty buffer of 128", len(b), cap(b))
		}
	}
}

// TestRemoteSenderShareReleased: the share of a sender on another relay of a cluster (SES-5) is
// given back as its messages are written, as a local sender's is, so that a steady stream of
// 1:1 messages across relays never fills it. Its id once carried the bit that marks a pooled
// frame, which the writer strips: after a share's worth of messages every relay from that
// sender was refused rate_limited.
func TestRemoteSenderShareReleased(t *testing.T) {
	_, bob, _ := fastPathServer(t)
	sender := remoteSenderID(connRef{node: "n2-0a1b2c3d", id: 7})
	if sender&pooledFrame != 0 || sender&remoteSender == 0 {
		t.Fatalf("remote sender id %x: want the remote mark and not the pooled one", sender)
	}
	limit := bob.s.cfg.Queue * bob.s.cfg.QueueShare / 100
	for i := range 3*limit + 1 {
		if d := bob.enqueueFromID([]byte(`{"type":"relay"}`), sender, false); d != delivered {
			t.Fatalf("message %d from a remote sender, each written before the next: %v", i, d)
		}
		bob.take()
	}
}

// TestRouteFollowsTheHub checks a connection's route (chats.go routeTo): relays follow it while
// nothing changes, and once the chat ends or the recipient is replaced a relay is answered as
// if no route had been taken (SES-2, SES-3): refused, and never queued for the old recipient.
// Without the hub's generation check, the relays after the change would reach bob.
func TestRouteFollowsTheHub(t *testing.T) {
	relayID := func(id string) []byte { return relayRequest(fmt.Sprintf(`"id":%q,`, id), "bob") }
	expect := func(c *conn, want ...string) {
		t.Helper()
		got := drain(c)
		if len(got) != len(want) {
			t.Fatalf("%s was sent %q, want %d messages holding %q", c.user, got, len(want), want)
		}
		for i, w := range want {
			if !bytes.Contains(got[i], []byte(w)) {
				t.Fatalf("%s was sent %q, want %q", c.user, got[i], w)
			}
		}
	}
	t.Run("chat ended", func(t *testing.T) {
		alice, bob, _ := fastPathServer(t)
		for _, id := range []string{"1", "2"} {
			alice.handle(relayID(id), time.Now())
			expect(bob, `"from":"alice"`)
			expect(alice, `"type":"ack"`)
		}
		if alice.route.target != bob {
			t.Fatal("alice's relays to bob left no route")
		}
		bob.handle(fmt.Appendf(nil, `{"type":"chat_terminate","to":"alice","session":%q}`, benchSession), time.Now())
		expect(alice, `"type":"chat_terminate"`)
		expect(bob, `"type":"ack"`)
		alice.handle(relayID("3"), time.Now())
		expect(bob)
		expect(alice, `"not_in_session"`)
	})
	t.Run("recipient replaced", func(t *testing.T) {
		alice, bob, _ := fastPathServer(t)
		alice.handle(relayID("1"), time.Now())
		expect(bob, `"from":"alice"`)
		expect(alice, `"type":"ack"`)
		bob2 := benchConn(t, bob.s, "bob") // bob registers again: his chats end (SES-3)
		expect(alice, `"type":"chat_terminate"`)
		alice.handle(relayID("2"), time.Now())
		expect(bob)
		expect(bob2)
		expect(alice, `"type":"error"`)
	})
}

// TestRouteRacesTheHub relays on a route while the sender is replaced, which ends its chat
// (SES-3) and queues a chat_terminate for bob: bob's queue must never hold one of alice's
// relays after that chat_terminate. The race is staged: bob's queue lock is held until alice's
// relay, past routeTo's first look at the hub, and the replacement, past its generation move,
// both wait for it; whichever then takes it first, the order holds. routeTo's second look,
// under the queue lock, is what holds it when the replacement comes first.
func TestRouteRacesTheHub(t *testing.T) {
	relay := relayRequest("", "bob")
	for range 40 {
		alice, bob, _ := fastPathServer(t)
		alice.handle(relay, time.Now()) // the route
		drain(bob)
		bob.qmu.Lock()
		var wg sync.WaitGroup
		wg.Go(func() { alice.handle(relay, time.Now()) })
		waitBlocked(t, "enqueueRouted")
		wg.Go(func() { benchConn(t, alice.s, "alice") }) // alice registers again
		waitBlocked(t, "hub).register")
		bob.qmu.Unlock()
		wg.Wait()
		ended := false
		for _, f := range drain(bob) {
			switch {
			case bytes.Contains(f, []byte(`"type":"chat_terminate"`)):
				ended = true
			case ended && bytes.Contains(f, []byte(`"type":"relay"`)):
				t.Fatalf("bob was sent a relay of a chat after its chat_terminate: %s", f)
			}
		}
		if !ended {
			t.Fatal("bob was not told that the chat ended")
		}
	}
}

// waitBlocked waits until a goroutine whose stack holds fn waits for a mutex. It polls the
// stacks with a deadline: nothing else tells where another goroutine waits.
func waitBlocked(t *testing.T, fn string) {
	t.Helper()
	buf := make([]byte, 1<<20)
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		for g := range strings.SplitSeq(string(buf[:runtime.Stack(buf, true)]), "\n\n") {
			if strings.Contains(g, fn) && strings.Contains(g, "sync.(*Mutex).Lock") {
				return
			}
		}
		runtime.Gosched()
	}
	t.Fatalf("no goroutine in %s came to wait for a mutex", fn)
}
