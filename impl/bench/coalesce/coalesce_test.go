package coalesce

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/blindpost/blindpost/impl/bench/load"
	"github.com/blindpost/blindpost/impl/client/tlstrust"
)

// The tests check what a forwarder must do, not how fast: a message arrives intact, at the
// right connection, in the order sent, whatever its frame length encoding.

func start(t *testing.T) *load.Dialer {
	t.Helper()
	f, err := New(Config{Listen: "127.0.0.1:0", DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	pin, err := tlstrust.ParsePin(f.Pin())
	if err != nil {
		t.Fatal(err)
	}
	return &load.Dialer{URL: f.URL(), Trust: load.Trust{Pin: &pin}}
}

func dial(t *testing.T, d *load.Dialer, query string) *load.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	c, err := d.Dial(ctx, query)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.WS.SetReadDeadline(time.Now().Add(20 * time.Second))
	return c
}

// received reads c in the background until it ends.
func received(c *load.Conn) <-chan []byte {
	out := make(chan []byte, 64)
	go func() {
		defer close(out)
		for {
			m, err := c.Read()
			if err != nil {
				return
			}
			out <- bytes.Clone(m)
		}
	}()
	return out
}

// linked sends probes from a until each of ins has heard one, then a marker, and drains each
// of ins up to the marker: what follows is what the test sends.
func linked(t *testing.T, a *load.Conn, ins ...<-chan []byte) {
	t.Helper()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for _, in := range ins {
		for heard := false; !heard; {
			if err := a.Write([]byte("probe")); err != nil {
				t.Fatal(err)
			}
			select {
			case _, ok := <-in:
				if !ok {
					t.Fatal("the connection ended")
				}
				heard = true
			case <-tick.C:
			case <-t.Context().Done():
				t.Fatal(t.Context().Err())
			}
		}
	}
	if err := a.Write([]byte("marker")); err != nil {
		t.Fatal(err)
	}
	for _, in := range ins {
		drain(t, in)
	}
}

// drain reads in up to the marker; only probes may come before it.
func drain(t *testing.T, in <-chan []byte) {
	t.Helper()
	for m := range in {
		if string(m) == "marker" {
			return
		}
		if string(m) != "probe" {
			t.Fatalf("got %q while draining probes", m)
		}
	}
	t.Fatal("the connection ended")
}

// payload is message i: its number, then filler up to a size that cycles through the three
// frame length encodings (7-bit, 16-bit, 64-bit).
func payload(i int) []byte {
	sizes := []int{0, 1, 125, 126, 200, 4000, 65535, 65536, 70000}
	p := fmt.Appendf(nil, "%06d:", i)
	for len(p) < sizes[i%len(sizes)] {
		p = append(p, byte('a'+len(p)%26))
	}
	return p
}

// TestPairOrder sends many messages both ways at once over a pair and checks that each side
// receives the other's, intact and in order.
func TestPairOrder(t *testing.T) {
	d := start(t)
	a, b := dial(t, d, "pair=k"), dial(t, d, "pair=k")
	inA, inB := received(a), received(b)
	linked(t, a, inB)
	linked(t, b, inA)
	const n = 500
	errs := make(chan error, 2)
	for _, c := range []*load.Conn{a, b} {
		go func() {
			for i := range n {
				if err := c.Write(payload(i)); err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for _, in := range []<-chan []byte{inA, inB} {
		for i := range n {
			m, ok := <-in
			if !ok {
				t.Fatalf("the connection ended after %d messages", i)
			}
			if want := payload(i); !bytes.Equal(m, want) {
				t.Fatalf("message %d: got %d bytes starting %q, want %d bytes starting %q", i, len(m), m[:min(len(m), 8)], len(want), want[:min(len(want), 8)])
			}
		}
	}
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}

// TestGroup checks that a member's messages reach every other member in order, and not the
// sender.
func TestGroup(t *testing.T) {
	d := start(t)
	members := []*load.Conn{dial(t, d, "group=g"), dial(t, d, "group=g"), dial(t, d, "group=g")}
	var in []<-chan []byte
	for _, m := range members {
		in = append(in, received(m))
	}
	// The last member probes until the others hear it: all three are in.
	linked(t, members[2], in[0], in[1])
	for i := range 50 {
		if err := members[0].Write(payload(i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := members[1].Write([]byte("from 1")); err != nil {
		t.Fatal(err)
	}
	// Member 2 gets member 0's messages in order, and member 1's somewhere among them.
	next, others := 0, 0
	for next < 50 || others < 1 {
		m, ok := <-in[2]
		if !ok {
			t.Fatal("member 2's connection ended")
		}
		if string(m) == "from 1" {
			others++
			continue
		}
		if next >= 50 || !bytes.Equal(m, payload(next)) {
			t.Fatalf("member 2, message %d: got %d bytes", next, len(m))
		}
		next++
	}
	// The sender's next message is member 1's: its own did not come back.
	if m := <-in[0]; string(m) != "from 1" {
		t.Fatalf("member 0 got %q", m)
	}
}
