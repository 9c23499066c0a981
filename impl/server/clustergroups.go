package server

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"net/netip"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/blindpost/blindpost/impl/server/cluster"
	"github.com/blindpost/blindpost/impl/server/directory"
	"github.com/blindpost/blindpost/impl/wire"
)

// Groups in a cluster (spec §5.11 [CLU-6]): a group's member list is one entry of the cluster's
// members bucket, changed by compare-and-set; its epoch and last commit are the directory's
// record, which a commit moves only with SaveGroupIf, so that of two commits for one epoch on
// two relays one is acked and the other answered stale_epoch. Each relay keeps, for the groups
// its connections are in, those members, the epoch, and the member list last announced; what a
// relay changes it announces to the other relays holding members.

var (
	errJoinedAlready = errors.New("server: already a member")
	errGroupFull     = errors.New("server: group full")
	errLeftAlready   = errors.New("server: not in the member list")
)

// announcement is the body of an announce: a group's member names and epoch.
type announcement struct {
	Members []string `json:"members"`
	Nodes   []string `json:"nodes"` // the relays holding members
	Epoch   int64    `json:"epoch"`
}

func (h *hub) location(c *conn) cluster.Location {
	return cluster.Location{Node: h.cl.ID(), Conn: c.id}
}

// joinCluster adds c to group name in the cluster (spec §5.9 [GSV-1] [GSV-7]).
func (h *hub) joinCluster(c *conn, name string, ack []byte) *refusal {
	user := c.registeredName()
	h.lock()
	if !h.currentLocked(c) {
		h.mu.Unlock()
		return gone
	}
	g := h.groups[name]
	var r *refusal
	switch {
	case g != nil && g.members[user] == c:
		r = &refusal{errAlreadyMember, "already a member of " + name}
	case len(c.groups) >= h.s.cfg.MaxGroups:
		r = &refusal{errLimitExceeded, "this connection is in the most groups allowed"}
	case h.joins[c.addr] >= h.s.cfg.MaxJoinsPerAddr:
		r = &refusal{errLimitExceeded, "the connections from this address are in the most groups allowed"}
	}
	if r != nil {
		h.mu.Unlock()
		return r
	}
	h.joins[c.addr]++ // reserved while the cluster is asked
	h.mu.Unlock()

	ctx, cancel := clusterCtx()
	defer cancel()
	me := h.location(c)
	ms, rev, err := h.cl.UpdateMembers(ctx, name, func(ms cluster.Members) error {
		if loc, ok := ms[user]; ok && loc.Node == me.Node && loc.Conn == me.Conn {
			return errJoinedAlready
		}
		if _, ok := ms[user]; !ok && len(ms) >= h.s.cfg.MaxGroupMembers {
			return errGroupFull // spec §5.9 [GSV-7]
		}
		ms[user] = me // a member's earlier connection is replaced
		return nil
	})
	added := err == nil // c is in the member list: a failure from here on takes it out again
	var st directory.Group
	var found bool
	if err == nil {
		st, found, err = h.s.dir.LoadGroup(name)
	}
	var last *wire.Commit
	if err == nil && found {
		last, err = wire.DecodeCommit(st.LastCommit)
	}
	h.lock()
	defer h.mu.Unlock()
	if err != nil || !h.currentLocked(c) {
		h.unjoinLocked(c.addr)
	}
	switch {
	case errors.Is(err, errJoinedAlready):
		return &refusal{errAlreadyMember, "already a member of " + name}
	case errors.Is(err, errGroupFull):
		return &refusal{errLimitExceeded, name + " has the most members allowed"}
	case err != nil:
		h.s.metrics.DirectoryFailures.Inc()
		h.s.log.Error("cluster: join", "group", name, "err", err)
		if added {
			go h.leaveClusterGroups(c, []string{name})
		}
		return &refusal{errInternal, "the server could not join " + name + "; try again"}
	case !h.currentLocked(c):
		go h.leaveClusterGroups(c, []string{name})
		return gone
	}
	g = h.groups[name]
	if g == nil {
		g = &group{name: name, members: make(map[string]*conn)}
		h.groups[name] = g
		h.s.metrics.Groups.Set(float64(len(h.groups)))
	}
	if found && st.Epoch >= g.epoch {
		g.epoch, g.last = st.Epoch, last
	}
	g.members[user] = c
	if c.groups == nil {
		c.groups = make(map[string]*group)
	}
	c.groups[name] = g
	// spec §5.9 [GSV-1]: ack, then group_members to every member, the joiner included.
	c.enqueue(ack)
	h.announceClusterLocked(name, ms, rev, c)
	return nil
}

// unjoinLocked gives back a membership reserved for addr by a join that failed (ABU-4).
func (h *hub) unjoinLocked(addr netip.Addr) {
	if h.joins[addr]--; h.joins[addr] <= 0 {
		delete(h.joins, addr)
	}
}

// leaveCluster removes c from group name in the cluster (spec §5.9 [GSV-3]).
func (h *hub) leaveCluster(c *conn, name string, ack []byte) *refusal {
	h.lock()
	if !h.currentLocked(c) {
		h.mu.Unlock()
		return gone
	}
	g := h.groups[name]
	if g == nil || g.members[c.registeredName()] != c {
		h.mu.Unlock()
		return &refusal{errNotMember, "not a member of " + name}
	}
	h.removeLocked(g, c)
	h.mu.Unlock()
	// spec §5.9 [GSV-3]: acked once the member list no longer holds c, then announced.
	h.leaveClusterGroupsThen(c, []string{name}, func() { c.enqueue(ack) })
	return nil
}

// leaveClusterGroups takes c, which has left groups on this relay, out of their member lists
// and announces the new lists (spec §5.9 [GSV-3]). It does nothing on a single relay.
func (h *hub) leaveClusterGroups(c *conn, groups []string) {
	h.leaveClusterGroupsThen(c, groups, nil)
}

// leaveClusterGroupsThen is leaveClusterGroups, calling then (when not nil) under the hub's
// lock before each announcement.
func (h *hub) leaveClusterGroupsThen(c *conn, groups []string, then func()) {
	if h.cl == nil || len(groups) == 0 {
		return
	}
	ctx, cancel := clusterCtx()
	defer cancel()
	me, user := h.location(c), c.registeredName()
	for _, name := range groups {
		ms, rev, err := h.cl.UpdateMembers(ctx, name, func(ms cluster.Members) error {
			if loc, ok := ms[user]; !ok || loc.Node != me.Node || loc.Conn != me.Conn {
				// Gone already, or the user's newer connection joined first: the list stays as
				// it is, and announcing it again would send its members a second group_members.
				return errLeftAlready
			}
			delete(ms, user)
			return nil
		})
		h.lock()
		if then != nil {
			then()
		}
		if errors.Is(err, errLeftAlready) {
			h.mu.Unlock()
			continue
		}
		if err != nil {
			h.mu.Unlock()
			h.s.log.Error("cluster: leave", "group", name, "err", err)
			continue
		}
		h.announceClusterLocked(name, ms, rev, nil)
		h.mu.Unlock()
	}
}

// announceClusterLocked sends group_members with the member list ms, of revision rev, to the
// members on this relay (the joiner, when not nil, with last_commit: spec §5.9 [GSV-2]) and
// asks the other relays holding members to do the same. Callers hold h.mu for writing.
func (h *hub) announceClusterLocked(name string, ms cluster.Members, rev uint64, joiner *conn) {
	epoch := int64(-1) // not known here: the other relays use theirs
	if g := h.groups[name]; g != nil {
		h.setMembersLocked(g, ms, rev)
		epoch = g.epoch
		h.announceLocalLocked(g, joiner)
	}
	body, err := json.Marshal(announcement{Members: slices.Sorted(maps.Keys(ms)), Nodes: ms.Nodes(""), Epoch: epoch})
	if err != nil {
		return
	}
	hdr := nats.Header{hdrOp: {opAnnounce}, hdrGroup: {name}, hdrRev: {strconv.FormatUint(rev, 10)}}
	for _, node := range ms.Nodes(h.cl.ID()) {
		if err := h.cl.Publish(node, hdr, body); err != nil {
			h.s.log.Warn("cluster: announce", "group", name, "node", node, "err", err)
		}
	}
}

// setMembersLocked records the member list of revision rev in g, unless g holds a later one.
func (h *hub) setMembersLocked(g *group, ms cluster.Members, rev uint64) {
	if rev < g.rev {
		return
	}
	g.rev, g.all, g.remote = rev, slices.Sorted(maps.Keys(ms)), ms.Nodes(h.cl.ID())
}

// announceLocalLocked sends group_members with g's member list to g's members on this relay.
func (h *hub) announceLocalLocked(g *group, joiner *conn) {
	plain, err := wire.Encode(&wire.GroupMembers{Group: g.name, Epoch: g.epoch, Members: g.all})
	if err != nil {
		h.s.log.Error("encode group_members", "group", g.name, "err", err)
		return
	}
	withCommit := plain
	if joiner != nil && g.epoch > 0 {
		withCommit, err = wire.Encode(&wire.GroupMembers{Group: g.name, Epoch: g.epoch, Members: g.all, LastCommit: g.last})
		if err != nil {
			withCommit = plain
		}
	}
	for _, name := range g.sortedMembers() {
		if m := g.members[name]; m == joiner {
			m.enqueue(withCommit)
		} else {
			m.enqueue(plain)
		}
	}
}

func (h *hub) onAnnounce(m *nats.Msg) {
	var a announcement
	if err := json.Unmarshal(m.Data, &a); err != nil {
		return
	}
	rev, _ := strconv.ParseUint(m.Header.Get(hdrRev), 10, 64)
	h.lock()
	defer h.mu.Unlock()
	g := h.groups[m.Header.Get(hdrGroup)]
	if g == nil || rev <= g.rev {
		return // no member here, or a later list was announced already
	}
	g.rev, g.all = rev, a.Members
	g.remote = slices.DeleteFunc(a.Nodes, func(n string) bool { return n == h.cl.ID() })
	g.epoch = max(g.epoch, a.Epoch)
	h.announceLocalLocked(g, nil)
}

// commitCluster sequences a group_commit in the cluster (spec §5.9 [GSV-4] [GSV-5], §5.11
// [CLU-6]): the member list is the cluster's, and the epoch moves only by SaveGroupIf, outside
// the hub's lock.
func (h *hub) commitCluster(c *conn, cm *wire.Commit, ack, fwd []byte, received time.Time) *refusal {
	user := c.registeredName()
	h.mu.RLock()
	if !h.currentLocked(c) {
		h.mu.RUnlock()
		return gone
	}
	g := h.groups[cm.Group]
	member, epoch := g != nil && g.members[user] == c, int64(0)
	if g != nil {
		epoch = g.epoch
	}
	h.mu.RUnlock()
	if !member {
		return &refusal{errNotMember, "not a member of " + cm.Group}
	}
	if cm.Epoch <= epoch {
		return &refusal{errStaleEpoch, "the commit is not for the next epoch of " + cm.Group}
	}
	ctx, cancel := clusterCtx()
	defer cancel()
	ms, _, err := h.cl.Members(ctx, cm.Group)
	if err != nil {
		h.s.log.Error("cluster: commit", "group", cm.Group, "err", err)
		return &refusal{errInternal, "the server could not read the members of " + cm.Group + "; try again"}
	}
	if r := checkCommitMembers(cm.Group, slices.Sorted(maps.Keys(ms)), cm, user); r != nil {
		return r
	}
	if r := c.checkCommitKeys(cm); r != nil {
		return r
	}
	if r := h.saveCommitIf(cm); r != nil {
		return r
	}
	// Read again: a member that joined while the commit was checked receives it too.
	if fresh, _, err := h.cl.Members(ctx, cm.Group); err == nil {
		ms = fresh
	}
	h.lock()
	if g := h.groups[cm.Group]; g != nil {
		if cm.Epoch > g.epoch {
			g.epoch, g.last = cm.Epoch, cm
		}
		h.fanOutLocked(g, c, fwd, string(wire.RequestTypeGroupCommit), received)
	}
	h.mu.Unlock()
	h.fanOutRemote(ctx, opCommit, cm.Group, cm.Epoch, ms.Nodes(h.cl.ID()), fwd)
	c.enqueue(ack)
	return nil
}

// saveCommitIf records cm as the last commit of its group if the recorded epoch is still the
// one before it (spec §5.9 [GSV-4] [GSV-5] [GSV-20]).
func (h *hub) saveCommitIf(cm *wire.Commit) *refusal {
	raw, err := cm.MarshalJSON()
	var res directory.GroupSave
	if err == nil {
		res, err = h.s.dir.SaveGroupIf(cm.Group, directory.Group{Epoch: cm.Epoch, LastCommit: raw, Updated: h.s.now()}, cm.Epoch-1, h.s.cfg.MaxKeptGroups)
	}
	switch {
	case err != nil:
		h.s.metrics.DirectoryFailures.Inc()
		h.s.log.Error("save group commit", "group", cm.Group, "err", err)
		return &refusal{errInternal, "the server could not record the commit; try again"}
	case res == directory.GroupStale:
		// spec §5.9 [GSV-5]: another commit, on this relay or another, won this epoch.
		return &refusal{errStaleEpoch, "the commit is not for the next epoch of " + cm.Group}
	case res == directory.GroupNotKept:
		h.s.log.Warn("group kept in memory only: --max-kept-groups reached", "group", cm.Group)
	}
	return nil
}

// messageCluster forwards a group_message to the members on every relay (spec §5.9 [GSV-6]).
func (h *hub) messageCluster(c *conn, gm *wire.GroupMsg, ack, fwd []byte, received time.Time) *refusal {
	h.mu.RLock()
	if !h.currentLocked(c) {
		h.mu.RUnlock()
		return gone
	}
	g := h.groups[gm.Group]
	if g == nil || g.members[c.registeredName()] != c {
		h.mu.RUnlock()
		return &refusal{errNotMember, "not a member of " + gm.Group}
	}
	if gm.Epoch != g.epoch {
		h.mu.RUnlock()
		return &refusal{errStaleEpoch, "the message is not for the current epoch of " + gm.Group}
	}
	h.fanOutLocked(g, c, fwd, string(wire.RequestTypeGroupMessage), received)
	remote := g.remote
	h.mu.RUnlock()
	ctx, cancel := clusterCtx()
	defer cancel()
	h.fanOutRemote(ctx, opMessage, gm.Group, gm.Epoch, remote, fwd)
	c.enqueue(ack)
	return nil
}

// fanOutRemote asks each of nodes to queue frame for the group's members there, and waits
// until all have (or are gone): the ack that follows means queued for every member.
func (h *hub) fanOutRemote(ctx context.Context, op, group string, epoch int64, nodes []string, frame []byte) {
	if len(nodes) == 0 {
		return
	}
	hdr := nats.Header{hdrOp: {op}, hdrGroup: {group}, hdrEpoch: {strconv.FormatInt(epoch, 10)}}
	var wg sync.WaitGroup
	for _, node := range nodes {
		wg.Go(func() {
			_, err := h.cl.Request(ctx, node, hdr, frame)
			if errors.Is(err, cluster.ErrNodeGone) {
				go h.forgetNode(group, node)
			} else if err != nil {
				h.s.log.Warn("cluster: group fan-out", "group", group, "node", node, "err", err)
			}
		})
	}
	wg.Wait()
}

// forgetNode takes the members of a relay that is gone out of group's member list and
// announces the new list (spec §5.11 [CLU-4]).
func (h *hub) forgetNode(group, node string) {
	ctx, cancel := clusterCtx()
	defer cancel()
	ms, rev, err := h.cl.UpdateMembers(ctx, group, func(ms cluster.Members) error {
		maps.DeleteFunc(ms, func(_ string, loc cluster.Location) bool { return loc.Node == node })
		return nil
	})
	if err != nil {
		return
	}
	h.lock()
	h.announceClusterLocked(group, ms, rev, nil)
	h.mu.Unlock()
}

// onGroupFrame queues a group commit or message from another relay for the group's members
// here; a commit moves the epoch they may send in.
func (h *hub) onGroupFrame(m *nats.Msg) {
	epoch, _ := strconv.ParseInt(m.Header.Get(hdrEpoch), 10, 64)
	h.lock()
	defer h.mu.Unlock()
	g := h.groups[m.Header.Get(hdrGroup)]
	if g == nil {
		return
	}
	typ := string(wire.RequestTypeGroupMessage)
	if m.Header.Get(hdrOp) == opCommit {
		typ = string(wire.RequestTypeGroupCommit)
		if epoch > g.epoch {
			g.epoch, g.last = epoch, nil // a joiner reads the last commit from the directory
		}
	}
	h.fanOutLocked(g, nil, m.Data, typ, time.Now())
}
