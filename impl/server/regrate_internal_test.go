package server

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/blindpost/blindpost/impl/server/directory"
)

// TestRegLimiter checks the buckets of INV-5: one per IPv4 address and per IPv6 /64, one for
// the relay, refilled at their rates; and the bound on the addresses remembered.
func TestRegLimiter(t *testing.T) {
	cfg := DefaultConfig()
	cfg.RegisterRate, cfg.RegisterBurst, cfg.RegisterRateGlobal, cfg.RegisterBurstGlobal = 1, 2, 100, 5
	l := newRegLimiter(&cfg, nil)
	now := time.Unix(1_700_000_000, 0)
	steps := []struct {
		remote string
		want   bool
	}{
		{"192.0.2.1:1000", true},
		{"192.0.2.1:1001", true},
		{"192.0.2.1:1002", false}, // the address's burst of 2 is used up
		{"[2001:db8::1]:443", true},
		{"[2001:db8::ffff]:443", true},
		{"[2001:db8::2]:443", false}, // the same /64
		{"[2001:db8:0:1::1]:443", true},
		{"192.0.2.2:1000", false}, // the relay's burst of 5 is used up
	}
	for i, s := range steps {
		if got := admits(t, l, s.remote, now); got != s.want {
			t.Fatalf("step %d, %s: allow = %v, want %v", i, s.remote, got, s.want)
		}
	}
	now = now.Add(time.Second)
	if !admits(t, l, "192.0.2.1:1003", now) || admits(t, l, "192.0.2.1:1004", now) {
		t.Fatal("one new name a second after a second: want exactly one")
	}
	if last, cur := l.lastMinute(now); last+cur != 6 {
		t.Fatalf("status counts %d+%d new names, want 6", last, cur)
	}
}

// TestRegLimiterBound checks that the per-address buckets stay within maxRateAddrs: refilled
// ones are forgotten to make room, and while none has refilled a new address is refused.
func TestRegLimiterBound(t *testing.T) {
	cfg := DefaultConfig()
	cfg.RegisterRate, cfg.RegisterBurst, cfg.RegisterRateGlobal, cfg.RegisterBurstGlobal = 0.001, 1, 1e6, 1000000
	l := newRegLimiter(&cfg, nil)
	now := time.Unix(1_700_000_000, 0)
	for i := range maxRateAddrs {
		if !admits(t, l, fmt.Sprintf("10.%d.%d.%d:1", i>>16, i>>8&255, i&255), now) {
			t.Fatalf("address %d refused", i)
		}
	}
	if admits(t, l, "192.0.2.1:1", now) {
		t.Fatal("a new address was let in while every remembered bucket is empty")
	}
	if len(l.addrs) > maxRateAddrs {
		t.Fatalf("%d addresses remembered, bound %d", len(l.addrs), maxRateAddrs)
	}
	now = now.Add(time.Hour) // every bucket has refilled
	if !admits(t, l, "192.0.2.1:1", now) || len(l.addrs) > maxRateAddrs {
		t.Fatalf("after the refill: %d addresses remembered", len(l.addrs))
	}
}

// fakeShared is a cluster's shared bucket that admits a given number of tokens, or fails.
type fakeShared struct {
	left  int
	err   error
	asked []string
}

func (f *fakeShared) TakeToken(name string, perSecond float64, burst int, now time.Time) (bool, error) {
	f.asked = append(f.asked, fmt.Sprintf("%s %g/s burst %d", name, perSecond, burst))
	if f.err != nil || f.left == 0 {
		return false, f.err
	}
	f.left--
	return true, nil
}

// sharedDir is a directory whose store keeps shared token buckets, as the cluster's does.
type sharedDir struct {
	directory.Store
	*fakeShared
}

// TestRegLimiterShared: in a cluster the limit over all addresses is the cluster's bucket, with
// the relay's global rate and burst (spec §5.2.1 [INV-5], §5.11): the relay's own global bucket is
// not drawn, and an address whose registration the cluster refuses keeps its token.
func TestRegLimiterShared(t *testing.T) {
	cfg := DefaultConfig()
	cfg.RegisterRate, cfg.RegisterBurst, cfg.RegisterRateGlobal, cfg.RegisterBurstGlobal = 1, 2, 3, 1
	shared := &fakeShared{left: 2}
	l := newRegLimiter(&cfg, sharedDir{nil, shared})
	now := time.Unix(1_700_000_000, 0)
	for i, want := range []bool{true, true, false} { // the relay's own burst of 1 would stop the second
		if got := admits(t, l, fmt.Sprintf("192.0.2.%d:1", i), now); got != want {
			t.Fatalf("registration %d: allow = %v, want %v", i, got, want)
		}
	}
	if want := "register-global 3/s burst 1"; len(shared.asked) != 3 || shared.asked[0] != want {
		t.Fatalf("the cluster's bucket was asked %q, want %q three times", shared.asked, want)
	}
	shared.left = 1
	if !admits(t, l, "192.0.2.2:1", now) {
		t.Fatal("the address refused by the cluster lost its own token")
	}
	shared.err = errors.New("nats: timeout")
	if ok, err := l.allow("192.0.2.9:1", now); ok || !errors.Is(err, shared.err) {
		t.Fatalf("a cluster bucket that cannot be read: allow = %v, %v; want false and its error", ok, err)
	}
	shared.err, shared.left = nil, 1
	if !admits(t, l, "192.0.2.9:1", now) {
		t.Fatal("the address refused while the cluster's bucket could not be read lost its own token")
	}
}

// admits is l.allow for a limiter whose buckets can be read: an error fails the test.
func admits(t *testing.T, l *regLimiter, remote string, now time.Time) bool {
	t.Helper()
	ok, err := l.allow(remote, now)
	if err != nil {
		t.Fatalf("allow(%s): %v", remote, err)
	}
	return ok
}
