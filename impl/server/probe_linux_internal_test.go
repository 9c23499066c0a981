//go:build linux && !blindpost_noepoll

package server

import (
	"errors"
	"net"
	"os"
	"testing"
	"time"
)

// probePair returns a reader's connection over a real loopback socket (the probe needs its
// rawConn) and the client's TLS end, handshaken.
func probePair(tb testing.TB) (*conn, net.Conn) {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer l.Close()
	cli, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		tb.Fatal(err)
	}
	srv, err := l.Accept()
	if err != nil {
		tb.Fatal(err)
	}
	raw := newRawConn(srv)
	if raw == nil {
		tb.Fatal("no rawConn over a TCP socket on Linux")
	}
	st, ct := tlsPipe(tb, raw, cli)
	tb.Cleanup(func() { st.Close(); ct.Close() })
	done := make(chan error, 1)
	go func() { done <- ct.Handshake() }()
	if err := st.Handshake(); err != nil {
		tb.Fatal(err)
	}
	if err := <-done; err != nil {
		tb.Fatal(err)
	}
	c := newConn(unlimitedServer(tb), &corkConn{Conn: st, raw: raw}, nil, "probe")
	return c, ct
}

// TestProbe: the probe returns what TLS holds decrypted or buffered without reading the socket,
// reports nothing when the next byte can only come from the socket (the bytes the client sent
// are not read by it), and moves no read deadline: the reader's read afterwards finds them.
func TestProbe(t *testing.T) {
	c, client := probePair(t)
	// A probe that waited for the socket would end here rather than hang the test.
	c.readDeadline = time.Now().Add(5 * time.Second)
	_ = c.cork.SetReadDeadline(c.readDeadline)
	if !c.probe() {
		t.Fatal("the probe of a connection the client sent nothing on found something")
	}
	if _, err := client.Write([]byte("hello")); err != nil {
		t.Fatal(err)
	}
	// Once the bytes are in the socket's receive queue, a probe must still not read them.
	waitSocket(t, c)
	if !c.probe() || c.frames.in.buffered() != 0 {
		t.Fatalf("the probe read the socket: %d bytes buffered", c.frames.in.buffered())
	}
	if err := c.cork.raw.waitReadable(); err != nil { // as awaitMessage: now the socket's bytes are read ahead
		t.Fatal(err)
	}
	if c.probe() || c.frames.in.buffered() != 5 {
		t.Fatalf("the probe after the wait: %d bytes buffered, want the 5 read ahead", c.frames.in.buffered())
	}
	buf := make([]byte, 5)
	if _, err := c.frames.in.Read(buf); err != nil || string(buf) != "hello" {
		t.Fatalf("read %q, %v", buf, err)
	}
	// No deadline moved: a blocking read waits for the client and gets its next bytes.
	go client.Write([]byte("again"))
	if err := c.frames.in.fill(); err != nil || c.frames.in.buffered() != 5 {
		t.Fatalf("a read after the probes: %v, %d bytes", err, c.frames.in.buffered())
	}
}

// BenchmarkProbe measures the probe of a connection with nothing to read: the reader's step
// before each wait for the socket. Its baseline, in the same run, is the probe as a past read
// deadline makes it (the way before: two deadline moves, a read that fails in the poller, an
// error allocated).
func BenchmarkProbe(b *testing.B) {
	b.Run("raw", func(b *testing.B) {
		c, _ := probePair(b)
		b.ReportAllocs()
		for b.Loop() {
			if !c.probe() {
				b.Fatal("the probe found something")
			}
		}
	})
	b.Run("deadline", func(b *testing.B) {
		c, _ := probePair(b)
		b.ReportAllocs()
		for b.Loop() {
			_ = c.cork.SetReadDeadline(time.Unix(1, 0))
			err := c.frames.in.fill()
			_ = c.cork.SetReadDeadline(c.readDeadline)
			if !errors.Is(err, os.ErrDeadlineExceeded) {
				b.Fatalf("the probe: %v", err)
			}
		}
	})
}

// waitSocket polls until the bytes the client sent are in c's socket (nothing notifies it).
func waitSocket(t *testing.T, c *conn) {
	t.Helper()
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	deadline := time.After(5 * time.Second)
	for !c.cork.raw.buffered() {
		select {
		case <-tick.C:
		case <-deadline:
			t.Fatal("the client's bytes did not reach the socket in 5 s")
		}
	}
}
