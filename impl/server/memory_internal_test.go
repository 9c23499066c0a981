package server

import (
	"context"
	"crypto/tls"
	"log/slog"
	"net"
	"runtime"
	"sync"
	"testing"
	"time"
)

// pendingHandshakeBound is the memory the README's operations section states for one
// connection whose TLS handshake is pending (accepted, the server's flight sent, the client
// silent). The test measures the relay together with its stalled clients, in one process, so
// the figure it checks is an upper bound of the relay's part.
const pendingHandshakeBound = 128 << 10

// stalledConn is a client connection whose reads give the TLS client nothing: its handshake
// sends the ClientHello and then waits, while what the server sends is discarded, until the
// server closes the connection.
type stalledConn struct{ net.Conn }

func (c stalledConn) Read([]byte) (int, error) {
	var sink [512]byte
	for {
		if _, err := c.Conn.Read(sink[:]); err != nil {
			return 0, err
		}
	}
}

// heapAndStacks returns the bytes of heap and goroutine stacks in use, after a collection.
func heapAndStacks() int64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapInuse + m.StackInuse)
}

// TestPendingHandshakeMemory checks the memory bounds of the README's operations section
// (spec §5.10 [ABU-1] [ABU-3]): a connection whose TLS handshake is pending costs the relay
// less than pendingHandshakeBound, and connections beyond the per-address bound cost nothing,
// so that one address pins at most MaxConnsPerAddr such connections.
func TestPendingHandshakeMemory(t *testing.T) {
	const perAddr = 200
	cfg := DefaultConfig()
	cfg.Listen, cfg.DataDir, cfg.Logger = "127.0.0.1:0", t.TempDir(), slog.New(slog.DiscardHandler)
	cfg.MaxConnsPerAddr, cfg.HandshakeTimeout = perAddr, time.Minute
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	var clients sync.WaitGroup
	var conns []net.Conn
	t.Cleanup(func() {
		for _, c := range conns {
			c.Close()
		}
		clients.Wait()
	})
	stall := func(n int) *sync.WaitGroup {
		var batch sync.WaitGroup
		for range n {
			c, err := net.Dial("tcp", s.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			conns = append(conns, c)
			clients.Add(1)
			batch.Go(func() {
				defer clients.Done()
				tc := tls.Client(stalledConn{Conn: c}, &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS13}) // never completes: the certificate is not looked at
				_ = tc.HandshakeContext(context.Background())
			})
		}
		return &batch
	}
	waitOpen := func(want int64) {
		deadline := time.Now().Add(10 * time.Second)
		for s.adm.open() != want {
			if time.Now().After(deadline) {
				t.Fatalf("%d connections counted, want %d", s.adm.open(), want)
			}
			time.Sleep(10 * time.Millisecond) // polling a counter, not synchronising
		}
	}
	before := heapAndStacks()
	stall(perAddr)
	waitOpen(perAddr)
	during := heapAndStacks()
	per := (during - before) / perAddr
	t.Logf("%d pending handshakes: %d bytes each", perAddr, per)
	if per > pendingHandshakeBound {
		t.Errorf("a pending handshake costs %d bytes, more than the stated %d", per, pendingHandshakeBound)
	}
	// Beyond the bound: closed at once, nothing held. The handshakes of this test's own side end
	// when the relay closes them; waiting for them keeps their goroutines out of the count.
	stall(perAddr).Wait()
	waitOpen(perAddr)
	if extra := heapAndStacks() - during; extra > perAddr*1024 {
		t.Errorf("connections beyond max-conns-per-addr hold %d bytes", extra)
	}
}
