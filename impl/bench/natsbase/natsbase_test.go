package natsbase

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/url"
	"testing"
	"time"

	"github.com/blindpost/blindpost/impl/client/tlstrust"
)

// start runs a server on a free loopback port and returns it with a function that connects
// two endpoints, a and b, each publishing to the other, trusting the certificate by its pin.
func start(t *testing.T) (*Server, func() (*Conn, *Conn)) {
	t.Helper()
	s, err := New(Config{Listen: "127.0.0.1:0", DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	pin, err := tlstrust.ParsePin(s.Pin())
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(s.URL())
	if err != nil {
		t.Fatal(err)
	}
	pair := func() (*Conn, *Conn) {
		t.Helper()
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		var out [2]*Conn
		for i, own := range []string{"a", "b"} {
			cfg, v, err := tlstrust.Policy{Pin: &pin}.Config(net.JoinHostPort(u.Hostname(), u.Port()))
			if err != nil {
				t.Fatal(err)
			}
			c, err := Dial(ctx, s.URL(), cfg, own, []string{"b", "a"}[i])
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := v.Result(); !ok {
				t.Fatal("the TLS handshake verified no certificate")
			}
			t.Cleanup(func() { c.Close() })
			out[i] = c
		}
		return out[0], out[1]
	}
	return s, pair
}

// TestPairOrder publishes many messages both ways over wss:// and checks that each endpoint
// receives its partner's, intact and in order.
func TestPairOrder(t *testing.T) {
	s, pair := start(t)
	if u := s.URL(); len(u) < 6 || u[:6] != "wss://" {
		t.Fatalf("URL %q is not wss://", u)
	}
	a, b := pair()
	const n = 300
	msg := func(from string, i int) []byte {
		return append(fmt.Appendf(nil, "%s %05d ", from, i), bytes.Repeat([]byte{byte(i)}, i*7%3000)...)
	}
	for i := range n {
		if err := a.Write(msg("a", i)); err != nil {
			t.Fatal(err)
		}
		if err := b.Write(msg("b", i)); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		conn *Conn
		from string
	}{{b, "a"}, {a, "b"}} {
		for i := range n {
			got, err := readWithin(c.conn, 10*time.Second)
			if err != nil {
				t.Fatalf("message %d from %s: %v", i, c.from, err)
			}
			if want := msg(c.from, i); !bytes.Equal(got, want) {
				t.Fatalf("message %d from %s: got %.12q (%d bytes), want %.12q (%d bytes)", i, c.from, got, len(got), want, len(want))
			}
		}
	}
}

// readWithin reads c, failing after d rather than hanging.
func readWithin(c *Conn, d time.Duration) ([]byte, error) {
	type result struct {
		b   []byte
		err error
	}
	ch := make(chan result, 1)
	go func() {
		b, err := c.Read()
		ch <- result{b, err}
	}()
	select {
	case r := <-ch:
		return r.b, r.err
	case <-time.After(d):
		c.Close()
		return nil, fmt.Errorf("nothing within %v", d)
	}
}
