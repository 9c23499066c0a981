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

// take empties c's queue and returns how many messages it held.
func (c *conn) take() int {
	c.qmu.Lock()
	defer c.qmu.Unlock()
	n := len(c.queue)
	c.queue, c.pending = c.queue[:0], 0
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
