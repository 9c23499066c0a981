package server

import (
	"net"
	"net/netip"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/blindpost/blindpost/impl/server/directory"
)

// maxRateAddrs bounds the source addresses whose registration buckets are remembered (about
// 150 bytes each): past it, the full buckets (addresses that have not registered lately) are
// forgotten, and while none can be, new addresses are refused (spec §5.2.1 [INV-5]).
const maxRateAddrs = 1 << 16

// regLimiter is the registration rate limit of spec §5.2.1 [INV-5]: token buckets that every
// registration of a new name draws from, one per source address and one for the whole relay.
type regLimiter struct {
	global      *rate.Limiter
	shared      sharedTokens // in a cluster, the bucket over all addresses instead of global
	rate        rate.Limit
	burst       int
	mu          sync.Mutex
	addrs       map[netip.Prefix]*rate.Limiter
	perMinute   [2]int64 // registrations of new names in this minute and the last (status)
	minuteStart time.Time
}

func newRegLimiter(cfg *Config, dir directory.Store) *regLimiter {
	l := &regLimiter{
		global: rate.NewLimiter(rate.Limit(cfg.RegisterRateGlobal), cfg.RegisterBurstGlobal),
		rate:   rate.Limit(cfg.RegisterRate), burst: cfg.RegisterBurst,
		addrs: make(map[netip.Prefix]*rate.Limiter),
	}
	if shared, ok := dir.(sharedTokens); ok {
		l.shared = shared
	}
	return l
}

// sharedTokens is a directory shared by the relays of a cluster that also keeps token buckets
// they share (kvstore.Store): the limit over all addresses is then one limit for the cluster,
// however many relays admit registrations (spec §5.2.1 [INV-5], §5.11).
type sharedTokens interface {
	TakeToken(name string, perSecond float64, burst int, now time.Time) (bool, error)
}

// sharedBucket names the cluster's bucket over all addresses.
const sharedBucket = "register-global"

// sourcePrefix is the unit of the per-address limit: the IPv4 address, or the /64 of an IPv6
// address (one host commonly holds a whole /64).
func sourcePrefix(remote string) netip.Prefix {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Prefix{}
	}
	a = a.Unmap()
	if a.Is4() {
		return netip.PrefixFrom(a, 32)
	}
	p, _ := a.Prefix(64)
	return p
}

// allow takes a token from remote's bucket and from the global one, at now; it reports false,
// and takes nothing, when either is empty. It returns an error, taking nothing, when the
// cluster's bucket cannot be read: that is the store failing, not the limit.
func (l *regLimiter) allow(remote string, now time.Time) (bool, error) {
	key := sourcePrefix(remote)
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.addrs[key]
	if b == nil {
		if len(l.addrs) >= maxRateAddrs && !l.forgetFullLocked(now) {
			return false, nil
		}
		b = rate.NewLimiter(l.rate, l.burst)
		l.addrs[key] = b
	}
	r := b.ReserveN(now, 1)
	if !r.OK() || r.DelayFrom(now) > 0 {
		r.CancelAt(now)
		return false, nil
	}
	if l.shared != nil {
		// The cluster's bucket is a round trip away: asked without the lock, the address's
		// token given back if it refuses. A bucket that cannot be read admits nobody: the
		// directory behind it is the same store, so the name could not be recorded either.
		l.mu.Unlock()
		ok, err := l.shared.TakeToken(sharedBucket, float64(l.global.Limit()), l.global.Burst(), now)
		l.mu.Lock()
		if err != nil || !ok {
			r.CancelAt(now)
			return false, err
		}
	} else if !l.global.AllowN(now, 1) {
		r.CancelAt(now)
		return false, nil
	}
	l.countLocked(now)
	return true, nil
}

// forgetFullLocked forgets the buckets that have refilled; it reports whether any was.
func (l *regLimiter) forgetFullLocked(now time.Time) bool {
	n := len(l.addrs)
	for k, b := range l.addrs {
		if b.TokensAt(now) >= float64(l.burst) {
			delete(l.addrs, k)
		}
	}
	return len(l.addrs) < n
}

// countLocked counts a registration of a new name for the status figure.
func (l *regLimiter) countLocked(now time.Time) {
	m := now.Truncate(time.Minute)
	switch {
	case m.Equal(l.minuteStart):
	case m.Sub(l.minuteStart) == time.Minute:
		l.perMinute = [2]int64{0, l.perMinute[0]}
		l.minuteStart = m
	default:
		l.perMinute = [2]int64{}
		l.minuteStart = m
	}
	l.perMinute[0]++
}

// lastMinute returns the registrations of new names in the last complete minute and in this one.
func (l *regLimiter) lastMinute(now time.Time) (last, current int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	m := now.Truncate(time.Minute)
	switch {
	case m.Equal(l.minuteStart):
		return l.perMinute[1], l.perMinute[0]
	case m.Sub(l.minuteStart) == time.Minute:
		return l.perMinute[0], 0
	}
	return 0, 0
}
