package server

import (
	"errors"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// admission counts connections from Accept on, before TLS and the upgrade, in total and per
// source address (spec §5.10 [ABU-1] [ABU-3]); a connection beyond a bound is closed at once,
// so that half-open TLS handshakes and idle HTTP requests cannot hold more than the bounds
// allow. It also counts the group memberships held per source address (ABU-4; guarded by the
// hub's lock, not by mu).
type admission struct {
	maxConns, perAddr int

	total  atomic.Int64
	mu     sync.Mutex
	byAddr map[netip.Addr]int
}

func newAdmission(cfg *Config) *admission {
	return &admission{maxConns: cfg.MaxConns, perAddr: cfg.MaxConnsPerAddr, byAddr: make(map[netip.Addr]int)}
}

// addrOf returns the source address of a connection, IPv4 in IPv4 form; the zero Addr when it
// has none (a listener that is not TCP).
func addrOf(a net.Addr) netip.Addr {
	if t, ok := a.(*net.TCPAddr); ok {
		ip, _ := netip.AddrFromSlice(t.IP)
		return ip.Unmap()
	}
	if ap, err := netip.ParseAddrPort(a.String()); err == nil {
		return ap.Addr().Unmap()
	}
	return netip.Addr{}
}

// admit counts a new connection from addr and reports whether it may stay, and if not why.
func (a *admission) admit(addr netip.Addr) (ok bool, reason string) {
	if a.total.Add(1) > int64(a.maxConns) {
		a.total.Add(-1)
		return false, "max_conns"
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.byAddr[addr] >= a.perAddr {
		a.total.Add(-1)
		return false, "max_conns_per_addr"
	}
	a.byAddr[addr]++
	return true, ""
}

// release uncounts a connection from addr that admit let in.
func (a *admission) release(addr netip.Addr) {
	a.total.Add(-1)
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.byAddr[addr]--; a.byAddr[addr] <= 0 {
		delete(a.byAddr, addr)
	}
}

// open returns the number of connections counted now.
func (a *admission) open() int64 { return a.total.Load() }

// errOverBudget ends the reading of a connection that spent more than its budget of frames or
// bytes (spec §5.10 [ABU-5]).
var errOverBudget = errors.New("server: the connection exceeded its budget of frames and bytes")

// budget is a connection's byte budget (spec §5.10 [ABU-5]): every byte read above TLS takes
// from it, frame headers, control frames and empty frames included, so that no kind of frame is
// free. It refills at Rate × MaxMessage bytes a second and holds Burst × MaxMessage: a client
// within its message rate never reaches it. Only the reader goroutine uses it.
type budget struct{ bucket tokenBucket }

func newBudget(cfg *Config) *budget {
	perSecond := float64(cfg.Rate) * float64(cfg.MaxMessage)
	return &budget{bucket: newTokenBucket(perSecond, cfg.Burst*cfg.MaxMessage)}
}

// take takes n bytes at now and reports whether the budget allowed them.
func (b *budget) take(now time.Time, n int) bool {
	return b.bucket.allow(now, min(n, b.bucket.burst))
}

// FragmentCharge is what every frame of a fragmented message takes from the byte budget on top
// of its bytes (spec §5.10 [ABU-5]). A frame costs the relay a header to parse and check
// whatever its length, about what 64 bytes of payload cost: an empty fragment would otherwise
// cost its sender 6 bytes, and a flood of them, within the byte budget, could hold a core busy.
// A message of max_message bytes at the defaults, in fragments of one byte, still fits in the
// budget's depth.
const FragmentCharge = 64

// fragment charges one frame of a fragmented message at now and reports whether the budget
// allowed it; a connection with no budget yet is not charged.
func (b *budget) fragment(now time.Time) bool {
	return b == nil || b.take(now, FragmentCharge)
}

// controlFrame charges a ping or pong to the connection's message budget (spec §5.10 [ABU-5]):
// like a message it takes a token (LIM-3), and a connection that keeps sending them beyond the
// rate is closed (errOverBudget) where a message would get rate_limited.
func (c *conn) controlFrame() error {
	now := time.Now()
	if c.flow.allow(now) || !c.flow.reject(now) {
		return nil
	}
	return errOverBudget
}
