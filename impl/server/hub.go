package server

import (
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/blindpost/blindpost/impl/server/cluster"
	"github.com/blindpost/blindpost/impl/wire"
)

// maxListedUsers is the most names one user_list carries (spec §5.4 [SRV-4]).
const maxListedUsers = 1000

// hub is the in-memory state shared by connections: who is registered on which connection, and
// the groups (spec §5.4, §5.9). One lock guards it; everything done under the lock is bounded
// and non-blocking (enqueue never waits), so no connection can stall another through it.
type hub struct {
	s  *Server
	cl *cluster.Node // nil: one relay; otherwise users and groups hold this relay's part
	mu sync.RWMutex
	// gen counts the sections that held mu for writing, each from its start: a connection's
	// route (chats.go) is valid for as long as gen has not moved since it was taken.
	gen    atomic.Uint64
	users  map[string]*conn
	groups map[string]*group
	joins  map[netip.Addr]int // group memberships per source address (ABU-4)
}

// lock takes mu for writing and moves gen before anything under it changes, so that a route
// checked against gen never outlives what it was taken from (routeTo).
func (h *hub) lock() {
	h.mu.Lock()
	h.gen.Add(1)
}

func newHub(s *Server) *hub {
	return &hub{s: s, cl: s.cfg.Cluster, users: make(map[string]*conn), groups: make(map[string]*group), joins: make(map[netip.Addr]int)}
}

// register makes c the connection of its registered name and returns the connection it
// replaces, if any, after removing that one from its groups and ending its chats (spec §5.2
// [REG-7], §5.9 [GSV-3], §5.5 [SES-3]).
func (h *hub) register(c *conn, name string) (old *conn) {
	var left []string
	// The replaced connection leaves its groups: none of them may be recording a commit.
	h.lockIdle(func() []*group { return groupsOf(h.users[name]) })
	c.name.Store(&name)
	old = h.users[name]
	if old != nil {
		left = h.leaveAllLocked(old)
		h.endChatsLocked(old, wire.TerminateReasonPeerReplaced) // spec §5.5 [SES-3]
	}
	h.users[name] = c
	h.s.metrics.OnlineUsers.Set(float64(len(h.users)))
	h.mu.Unlock()
	if old != nil {
		h.leaveClusterGroups(old, left)
	}
	return old
}

// unregister removes c from the online users and from its groups, announcing the change to the
// remaining members (spec §5.9 [GSV-3]), and ends its chats (spec §5.5 [SES-3]). It is
// idempotent.
func (h *hub) unregister(c *conn) {
	name := c.registeredName()
	if name == "" {
		return
	}
	// In a cluster, offline for every relay before the peers hear of it: a message sent after
	// the notice is answered user_offline, as on one relay.
	h.release(c)
	h.lockIdle(func() []*group { return groupsOf(c) }) // it leaves its groups
	if h.users[name] == c {
		delete(h.users, name)
		h.s.metrics.OnlineUsers.Set(float64(len(h.users)))
	}
	left := h.leaveAllLocked(c)
	h.endChatsLocked(c, wire.TerminateReasonPeerOffline) // spec §5.5 [SES-3]
	h.mu.Unlock()
	h.leaveClusterGroups(c, left)
}

// current reports whether c is still the registered connection of its name; a replaced or
// closing connection no longer acts for its user. Callers hold h.mu.
func (h *hub) currentLocked(c *conn) bool {
	name := c.registeredName()
	return name != "" && h.users[name] == c
}

// lookup returns the registered connection of user, and whether the asking connection is still
// current.
func (h *hub) lookup(from *conn, user string) (to *conn, current bool) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.users[user], h.currentLocked(from)
}

// online returns the registered usernames sorted by byte value, at most maxListedUsers of them,
// and whether some were left out (spec §5.4 [SRV-4]).
func (h *hub) online() (names []string, truncated bool) {
	if h.cl != nil {
		return h.onlineCluster()
	}
	h.mu.RLock()
	names = make([]string, 0, len(h.users))
	for name := range h.users {
		names = append(names, name)
	}
	h.mu.RUnlock()
	slices.Sort(names)
	if len(names) > maxListedUsers {
		return names[:maxListedUsers], true
	}
	return names, false
}
