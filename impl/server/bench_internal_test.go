package server

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"sync/atomic"
	"testing"
	"time"
)

// unlimitedServer is a relay with rate limits too high to matter, closed when the test ends:
// the benchmarks measure the work of a message, not the limit.
func unlimitedServer(tb testing.TB) *Server {
	cfg := DefaultConfig()
	cfg.DataDir, cfg.Rate, cfg.Burst = tb.TempDir(), 1000000, 1000000
	s, err := New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

// benchConn is a registered connection without a socket: what it is sent stays in its queue
// (a writer counts as running, so none starts) until take empties it.
func benchConn(b testing.TB, s *Server, name string) *conn {
	c := &conn{s: s, id: s.nextID.Add(1), log: connLog{l: s.log}, quit: make(chan struct{}), state: stateRegistered, user: name}
	c.flow.init(&s.cfg)
	c.writing = true
	c.reg.Store(regClaimed)
	s.hub.register(c, name)
	return c
}

// benchChat opens the chat of session benchSession between a and b (a asks, b accepts): relays
// are forwarded only within a chat the recipient accepted (spec §5.5 [SES-2]).
func benchChat(b testing.TB, a, c *conn) {
	a.handle(fmt.Appendf(nil, `{"type":"chat_request","to":%q,"session":%q}`, c.user, benchSession), time.Now())
	c.handle(fmt.Appendf(nil, `{"type":"chat_response","to":%q,"session":%q,"accepted":true}`, a.user, benchSession), time.Now())
	if n := a.take() + c.take(); n != 4 {
		b.Fatalf("opening the chat queued %d messages, want 4 (two forwarded, two acks)", n)
	}
}

const benchSession = "2ssslZEny/S/y5gWIrZ4Tg=="

// take empties c's queue and returns how many messages it held. As the writer does once it has
// written them, it gives the pooled frames back (queue.go recycle).
func (c *conn) take() int {
	c.qmu.Lock()
	defer c.qmu.Unlock()
	n := len(c.queue)
	recycle(c.queue, c.owners, relayFrames.put)
	clear(c.queue)
	c.queue, c.pending, c.pendingB = c.queue[:0], 0, 0
	// As if written: the senders' shares of the queue (spec §5.5 [SES-5]) are given back.
	c.owners, c.shares = c.owners[:0], c.shares[:0]
	return n
}

// BenchmarkHandleRelay measures what the relay does for one relay message between its reader
// and its writers: scan and validate, rate limit, look up, splice the forwarded form, queue it
// and the ack, and count it. make bench reports the network figures; this isolates the CPU
// the relay adds per message (no TLS, no WebSocket, no system calls).
func BenchmarkHandleRelay(b *testing.B) {
	s := unlimitedServer(b)
	alice, bob := benchConn(b, s, "alice"), benchConn(b, s, "bob")
	benchChat(b, alice, bob)
	ct := make([]byte, 200)
	for _, withID := range []bool{false, true} {
		id := ""
		if withID {
			id = `"id":"42",`
		}
		data := []byte(fmt.Sprintf(`{"type":"relay",%s"to":"bob","session":"2ssslZEny/S/y5gWIrZ4Tg==","payload":{"kind":"msg","n":7,"ct":"%s"}}`,
			id, base64.StdEncoding.EncodeToString(ct)))
		b.Run(fmt.Sprintf("id=%v", withID), func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				alice.handle(data, time.Now())
				if bob.take() != 1 || alice.take() != 1 {
					b.Fatal("the relay was not forwarded and acked")
				}
			}
		})
	}
}

// loopReader returns data over and over, as a client sending the same frame forever would.
type loopReader struct {
	data []byte
	off  int
}

func (r *loopReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		k := copy(p[n:], r.data[r.off:])
		n += k
		r.off = (r.off + k) % len(r.data)
	}
	return n, nil
}

// relayFrame returns a relay request from alice to bob in the benchmark's chat, with a 200-byte
// ciphertext, as the masked text frame a client sends.
func relayFrame() (payload, frame []byte) {
	payload = fmt.Appendf(nil, `{"type":"relay","id":"42","to":"bob","session":"2ssslZEny/S/y5gWIrZ4Tg==","payload":{"kind":"msg","n":7,"ct":"%s"}}`,
		base64.StdEncoding.EncodeToString(make([]byte, 200)))
	mask := [4]byte{0x11, 0x22, 0x33, 0x44}
	frame = []byte{0x81, 0x80 | 126, byte(len(payload) >> 8), byte(len(payload))}
	frame = append(frame, mask[:]...)
	for i, c := range payload {
		frame = append(frame, c^mask[i%4])
	}
	return payload, frame
}

// TestRelayForwardAllocs checks that relaying a valid message allocates nothing on the server,
// from the bytes its sender's TLS connection returns to the frames queued for the recipient
// and for the sender's ack (README "Performance": 0 allocations per relayed message). It is a
// property of the code, not a timing.
func TestRelayForwardAllocs(t *testing.T) {
	s := unlimitedServer(t)
	alice, bob := benchConn(t, s, "alice"), benchConn(t, s, "bob")
	benchChat(t, alice, bob)
	_, frame := relayFrame()
	alice.frames.in.src = &loopReader{data: frame}
	relay := func() {
		_, data, _, err := alice.readMessage()
		if err != nil {
			t.Fatal(err)
		}
		alice.handle(data, time.Now())
		if bob.take() != 1 || alice.take() != 1 {
			t.Fatal("the relay was not forwarded and acked")
		}
	}
	relay() // the first one makes what a connection keeps: its name table, its queues
	if n := testing.AllocsPerRun(200, relay); n != 0 {
		t.Errorf("relaying a message allocates %v times, want 0", n)
	}
}

// BenchmarkRelayForwardAllocs measures the allocations of the forwarding path of one relay
// message from the bytes its sender's TLS connection returns to the frames queued for the
// recipient and for the sender's ack: the frame layer (header, unmasking, the message buffer)
// and the handling (scan, splice, forward, ack). It reports allocs/op: 0 (TestRelayForwardAllocs).
func BenchmarkRelayForwardAllocs(b *testing.B) {
	s := unlimitedServer(b)
	alice, bob := benchConn(b, s, "alice"), benchConn(b, s, "bob")
	benchChat(b, alice, bob)
	payload, frame := relayFrame()
	alice.frames.in.src = &loopReader{data: frame}
	b.SetBytes(int64(len(payload)))
	b.ReportAllocs()
	for b.Loop() {
		_, data, _, err := alice.readMessage()
		if err != nil {
			b.Fatal(err)
		}
		alice.handle(data, time.Now())
		if bob.take() != 1 || alice.take() != 1 {
			b.Fatal("the relay was not forwarded and acked")
		}
	}
}

// BenchmarkReadFrameAllocs measures the frame layer alone: reading a masked text frame of a
// relay message's size into the connection's message buffer. It allocates nothing.
func BenchmarkReadFrameAllocs(b *testing.B) {
	cfg := DefaultConfig()
	cfg.DataDir = b.TempDir()
	s, err := New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	c := benchConn(b, s, "alice")
	payload := make([]byte, 400)
	frame := append([]byte{0x81, 0x80 | 126, byte(len(payload) >> 8), byte(len(payload)), 1, 2, 3, 4}, payload...)
	c.frames.in.src = &loopReader{data: frame}
	b.ReportAllocs()
	for b.Loop() {
		if _, data, _, err := c.readMessage(); err != nil || len(data) != len(payload) {
			b.Fatal(err)
		}
	}
}

// BenchmarkHandleRelayParallel is BenchmarkHandleRelay on every core at once, each goroutine
// with a pair of its own, as the relay's readers run: what one message costs when the
// connections share the relay's tables, counters and pools, and the cache lines under them.
func BenchmarkHandleRelayParallel(b *testing.B) {
	s := unlimitedServer(b)
	payload, _ := relayFrame()
	var next atomic.Int64
	b.SetBytes(int64(len(payload)))
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := next.Add(1)
		alice, bob := benchConn(b, s, fmt.Sprintf("alice%d", i)), benchConn(b, s, fmt.Sprintf("bob%d", i))
		benchChat(b, alice, bob)
		data := bytes.Replace(payload, []byte(`"to":"bob"`), []byte(`"to":"`+bob.user+`"`), 1)
		for pb.Next() {
			alice.handle(data, time.Now())
			if bob.take() != 1 || alice.take() != 1 {
				b.Error("the relay was not forwarded and acked")
				return
			}
		}
	})
}
