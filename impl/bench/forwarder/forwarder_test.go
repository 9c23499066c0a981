package forwarder

import (
	"context"
	"testing"
	"time"

	"github.com/blindpost/blindpost/impl/bench/load"
)

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
	pin := f.Pin()
	return &load.Dialer{URL: f.URL(), Trust: load.Trust{Pin: &pin}}
}

func dial(t *testing.T, d *load.Dialer, query string) *load.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := d.Dial(ctx, query)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.WS.SetReadDeadline(time.Now().Add(5 * time.Second))
	return c
}

// messages reads c in the background until it ends.
func messages(c *load.Conn) <-chan string {
	out := make(chan string, 16)
	go func() {
		defer close(out)
		for {
			m, err := c.Read()
			if err != nil {
				return
			}
			out <- string(m)
		}
	}()
	return out
}

// TestPair checks that paired connections get each other's messages, unchanged.
func TestPair(t *testing.T) {
	d := start(t)
	a, b := dial(t, d, "pair=x"), dial(t, d, "pair=x")
	inA, inB := messages(a), messages(b)
	// The pair forms after both upgrades, and what a sends before is dropped: a sends until b
	// receives.
	for received := false; !received; {
		if err := a.Write([]byte("ping")); err != nil {
			t.Fatal(err)
		}
		select {
		case m := <-inB:
			if m != "ping" {
				t.Fatalf("b got %q", m)
			}
			received = true
		case <-time.After(20 * time.Millisecond):
		}
	}
	if err := b.Write([]byte(`{"any":"thing"}`)); err != nil {
		t.Fatal(err)
	}
	select {
	case m := <-inA:
		if m != `{"any":"thing"}` {
			t.Fatalf("a got %q", m)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a got nothing")
	}
}

// next returns the next message of in that is not a "joined" probe.
func next(t *testing.T, in <-chan string) string {
	t.Helper()
	for {
		select {
		case m := <-in:
			if m != "joined" {
				return m
			}
		case <-time.After(5 * time.Second):
			t.Fatal("no message")
		}
	}
}

// TestGroup checks that a member's message reaches every other member and not itself.
func TestGroup(t *testing.T) {
	d := start(t)
	members := []*load.Conn{dial(t, d, "group=g"), dial(t, d, "group=g"), dial(t, d, "group=g")}
	other := dial(t, d, "group=h")
	var in []<-chan string
	for _, m := range members {
		in = append(in, messages(m))
	}
	// Members join after their upgrade: the last one probes until the others hear it, which
	// shows that all three are in.
	for i := range 2 {
		for heard := false; !heard; {
			if err := members[2].Write([]byte("joined")); err != nil {
				t.Fatal(err)
			}
			select {
			case <-in[i]:
				heard = true
			case <-time.After(20 * time.Millisecond):
			}
		}
	}
	if err := members[1].Write([]byte("hello")); err != nil {
		t.Fatal(err)
	}
	for _, i := range []int{0, 2} {
		if got := next(t, in[i]); got != "hello" {
			t.Fatalf("member %d got %q", i, got)
		}
	}
	// The sender and the other group got nothing: their next message is the next one sent.
	if err := members[0].Write([]byte("second")); err != nil {
		t.Fatal(err)
	}
	if got := next(t, in[1]); got != "second" {
		t.Fatalf("the sender got %q", got)
	}
	if err := other.Write([]byte("elsewhere")); err != nil {
		t.Fatal(err)
	}
	if got := next(t, in[2]); got != "second" {
		t.Fatalf("member 2 got %q", got)
	}
}
