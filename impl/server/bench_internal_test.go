package server

import (
	"encoding/base64"
	"fmt"
	"testing"
	"time"
)

// benchConn is a registered connection without a socket: what it is sent stays in its queue
// (a writer counts as running, so none starts) until take empties it.
func benchConn(b *testing.B, s *Server, name string) *conn {
	c := &conn{s: s, id: s.nextID.Add(1), log: connLog{l: s.log}, quit: make(chan struct{}), state: stateRegistered, user: name}
	c.flow.init(&s.cfg)
	c.writing = true
	c.reg.Store(regClaimed)
	s.hub.register(c, name)
	return c
}

// benchChat opens the chat of session benchSession between a and b (a asks, b accepts): relays
// are forwarded only within a chat the recipient accepted (spec §5.5 [SES-2]).
func benchChat(b *testing.B, a, c *conn) {
	a.handle(fmt.Appendf(nil, `{"type":"chat_request","to":%q,"session":%q}`, c.user, benchSession), time.Now())
	c.handle(fmt.Appendf(nil, `{"type":"chat_response","to":%q,"session":%q,"accepted":true}`, a.user, benchSession), time.Now())
	if n := a.take() + c.take(); n != 4 {
		b.Fatalf("opening the chat queued %d messages, want 4 (two forwarded, two acks)", n)
	}
}

const benchSession = "2ssslZEny/S/y5gWIrZ4Tg=="

// take empties c's queue and returns how many messages it held.
func (c *conn) take() int {
	c.qmu.Lock()
	defer c.qmu.Unlock()
	n := len(c.queue)
	c.queue, c.pending, c.pendingB = c.queue[:0], 0, 0
	// As if written: the senders' shares of the queue (spec §5.5 [SES-5]) are given back.
	c.owners, c.shares = c.owners[:0], c.shares[:0]
	return n
}

// BenchmarkHandleRelay measures what the relay does for one relay message between its reader
// and its writers: decode and validate, rate limit, look up, encode the forwarded form, queue it
// and the ack, and count it. make bench reports the network figures; this isolates the CPU
// the relay adds per message (no TLS, no WebSocket, no system calls).
func BenchmarkHandleRelay(b *testing.B) {
	cfg := DefaultConfig()
	cfg.DataDir, cfg.Rate, cfg.Burst = b.TempDir(), 1000000, 1000000
	s, err := New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
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

// BenchmarkRelayForwardAllocs measures the allocations of the forwarding path of one relay
// message from the bytes its sender's TLS connection returns to the frames queued for the
// recipient and for the sender's ack: the frame layer (header, unmasking, the message buffer)
// and the handling (decode and validate, forward, ack). It reports allocs/op; the frame layer's
// share is 0 (the message buffer is reused), the rest is the codec's and the queued frames'.
func BenchmarkRelayForwardAllocs(b *testing.B) {
	cfg := DefaultConfig()
	cfg.DataDir, cfg.Rate, cfg.Burst = b.TempDir(), 1000000, 1000000
	s, err := New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	alice, bob := benchConn(b, s, "alice"), benchConn(b, s, "bob")
	benchChat(b, alice, bob)
	payload := fmt.Appendf(nil, `{"type":"relay","id":"42","to":"bob","session":"2ssslZEny/S/y5gWIrZ4Tg==","payload":{"kind":"msg","n":7,"ct":"%s"}}`,
		base64.StdEncoding.EncodeToString(make([]byte, 200)))
	mask := [4]byte{0x11, 0x22, 0x33, 0x44}
	frame := []byte{0x81, 0x80 | 126, byte(len(payload) >> 8), byte(len(payload))}
	frame = append(frame, mask[:]...)
	for i, c := range payload {
		frame = append(frame, c^mask[i%4])
	}
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
