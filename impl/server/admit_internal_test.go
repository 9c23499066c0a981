package server

import (
	"bytes"
	"errors"
	"io"
	"net"
	"net/netip"
	"testing"

	"pgregory.net/rapid"
)

// TestAdmissionModel checks the connection accounting of spec §5.10 [ABU-1] [ABU-3] against a
// model: random admissions and releases from a few addresses never let more than the total or
// the per-address bound in, refuse exactly when a bound is reached, and count back to nothing.
func TestAdmissionModel(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		total := rapid.IntRange(1, 8).Draw(t, "max-conns")
		perAddr := rapid.IntRange(1, 8).Draw(t, "max-conns-per-addr")
		a := newAdmission(&Config{MaxConns: total, MaxConnsPerAddr: perAddr})
		addrs := []netip.Addr{netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("10.0.0.2"), netip.MustParseAddr("2001:db8::1")}
		open := map[netip.Addr]int{}
		sum := func() int {
			n := 0
			for _, v := range open {
				n += v
			}
			return n
		}
		t.Repeat(map[string]func(*rapid.T){
			"admit": func(t *rapid.T) {
				addr := rapid.SampledFrom(addrs).Draw(t, "addr")
				want := sum() < total && open[addr] < perAddr
				ok, reason := a.admit(addr)
				if ok != want {
					t.Fatalf("admit %s with %d open (%d from it): %v (%s), want %v", addr, sum(), open[addr], ok, reason, want)
				}
				if ok {
					open[addr]++
				}
			},
			"release": func(t *rapid.T) {
				addr := rapid.SampledFrom(addrs).Draw(t, "addr")
				if open[addr] == 0 {
					t.Skip("nothing open from " + addr.String())
				}
				a.release(addr)
				open[addr]--
			},
			"": func(t *rapid.T) {
				if got := a.open(); got != int64(sum()) {
					t.Fatalf("%d counted, the model has %d", got, sum())
				}
			},
		})
		for addr, n := range open {
			for range n {
				a.release(addr)
			}
		}
		if a.open() != 0 || len(a.byAddr) != 0 {
			t.Fatalf("after every release: %d counted, %d addresses kept", a.open(), len(a.byAddr))
		}
	})
}

// TestReadChargesBytes checks ABU-5's byte budget beneath the frames: every byte TLS returns
// takes from it, whatever the frames, so reads within its depth (4 × 1024 bytes here) go through
// and the read that takes more fails with errOverBudget.
func TestReadChargesBytes(t *testing.T) {
	a, b := net.Pipe()
	t.Cleanup(func() { a.Close(); b.Close() })
	tlsServer, client := tlsPipe(t, a, b)
	server := &corkConn{Conn: tlsServer, budget: newBudget(&Config{Rate: 1, MaxMessage: 1024, Burst: 4})}
	go func() {
		for range 2 {
			if _, err := client.Write(bytes.Repeat([]byte{'x'}, 3000)); err != nil {
				return
			}
		}
	}()
	if _, err := io.ReadFull(server, make([]byte, 3000)); err != nil {
		t.Fatalf("3,000 bytes within a budget of 4,096: %v", err)
	}
	// io.ReadFull drops an error that comes with the last bytes: read as the frame reader does.
	buf := make([]byte, 3000)
	var err error
	for got := 0; got < len(buf) && err == nil; {
		var n int
		n, err = server.Read(buf[got:])
		got += n
	}
	if !errors.Is(err, errOverBudget) {
		t.Fatalf("3,000 bytes more: %v, want errOverBudget [ABU-5]", err)
	}
}
