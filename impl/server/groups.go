package server

import (
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/blindpost/blindpost/impl/server/directory"
	"github.com/blindpost/blindpost/impl/wire"
)

// group is a group at the server (spec §5.9): its members, its epoch and its last accepted
// commit. The members are in memory only; a group with no members leaves memory, while its epoch
// and last commit stay in the directory file (spec §5.9 [GSV-20]) for the next joiner.
type group struct {
	name    string
	epoch   int64
	members map[string]*conn // by username; in a cluster, the members on this relay
	last    *wire.Commit     // nil while epoch is 0
	// committing is open while a commit of the group is being recorded in the directory
	// (hub.commit, one relay): its members and epoch change only once it is closed.
	committing chan struct{}

	// In a cluster (spec §5.11 [CLU-6]): every member's name, sorted, the other relays that
	// hold members, and the revision of the member list they come from.
	all    []string
	remote []string
	rev    uint64
}

func (g *group) sortedMembers() []string { return slices.Sorted(maps.Keys(g.members)) }

// refusal is the error a group request is answered with.
type refusal struct {
	code wire.ErrorCode
	text string
}

// gone is the refusal of a request from a connection that no longer acts for its user (it was
// replaced or is closing); it is not answered.
var gone = &refusal{}

// groupJoin handles group_join (spec §5.9 [GSV-1] [GSV-2] [GSV-7]).
func (c *conn) groupJoin(m *wire.GroupJoin) {
	ack := c.ackFrame(m.ID, wire.RequestTypeGroupJoin)
	c.answer(m.ID, wire.RequestTypeGroupJoin, c.s.hub.join(c, m.Group, ack))
}

// groupLeave handles group_leave (spec §5.9 [GSV-3]).
func (c *conn) groupLeave(m *wire.GroupLeave) {
	ack := c.ackFrame(m.ID, wire.RequestTypeGroupLeave)
	c.answer(m.ID, wire.RequestTypeGroupLeave, c.s.hub.leave(c, m.Group, ack))
}

// groupCommit handles group_commit (spec §5.9 [GSV-4] [GSV-5]).
func (c *conn) groupCommit(m *wire.GroupCommit, received time.Time) {
	typ := wire.RequestTypeGroupCommit
	fwd, ok := c.encodeForwarded(m.ID, typ, &wire.IncomingGroupCommit{From: c.registeredName(), Commit: m.Commit})
	if !ok {
		return
	}
	// The commit also travels as last_commit in the group_members a joiner receives, next to
	// up to MaxGroupMembers names: that form must fit as well (spec §5.5 [SRV-11]).
	if !c.fitsAsLastCommit(&m.Commit) {
		c.failf(m.ID, typ, errTooLarge, "the commit would not fit in group_members within %d bytes", c.s.cfg.MaxMessage)
		return
	}
	ack := c.ackFrame(m.ID, typ)
	c.answer(m.ID, typ, c.s.hub.commit(c, &m.Commit, ack, fwd, received))
}

// groupMessage handles group_message (spec §5.9 [GSV-6]).
func (c *conn) groupMessage(m *wire.GroupMessage, received time.Time) {
	typ := wire.RequestTypeGroupMessage
	fwd, ok := c.encodeForwarded(m.ID, typ, &wire.IncomingGroupMessage{From: c.registeredName(), Message: m.Message})
	if !ok {
		return
	}
	ack := c.ackFrame(m.ID, typ)
	c.answer(m.ID, typ, c.s.hub.message(c, &m.Message, ack, fwd, received))
}

// encodeForwarded encodes the forwarded form of a group request and checks its size
// (spec §5.5 [SRV-11]); on failure it has answered the request.
func (c *conn) encodeForwarded(id string, typ wire.RequestType, fwd wire.Message) ([]byte, bool) {
	frame, err := wire.Encode(fwd)
	if err != nil {
		c.log.Error("encode forwarded message", "type", typ, "err", err)
		c.fail(id, typ, errInternal, "the server could not forward the message")
		return nil, false
	}
	if len(frame) > c.s.cfg.MaxMessage {
		c.failf(id, typ, errTooLarge, "the forwarded message would exceed %d bytes", c.s.cfg.MaxMessage)
		return nil, false
	}
	return frame, true
}

// fitsAsLastCommit reports whether a group_members carrying cm and MaxGroupMembers names of the
// longest length fits in MaxMessage.
func (c *conn) fitsAsLastCommit(cm *wire.Commit) bool {
	names := make([]string, c.s.cfg.MaxGroupMembers)
	for i := range names {
		names[i] = longName(i)
	}
	frame, err := wire.Encode(&wire.GroupMembers{Group: cm.Group, Epoch: cm.Epoch, Members: names, LastCommit: cm})
	return err == nil && len(frame) <= c.s.cfg.MaxMessage
}

// longName returns a distinct username of the maximum length, 32 characters.
func longName(i int) string {
	const digits = "0123456789abcdefghijklmnopqrstuvwxyz"
	return strings.Repeat("x", 29) + string(digits[i/36/36%36]) + string(digits[i/36%36]) + string(digits[i%36])
}

// ackFrame encodes the ack of a request (spec §5.6); the hub queues a group request's ack under
// its lock so that it precedes the announcements it causes (spec §5.9 [GSV-1]). An ack without
// id is the same for every request of a type: it is encoded once and shared (queued frames are
// never modified).
func (c *conn) ackFrame(id string, typ wire.RequestType) []byte {
	if id == "" {
		if frame, ok := plainAcks[typ]; ok {
			return frame
		}
	}
	frame, err := wire.Encode(&wire.Ack{ID: id, For: ackedType(typ)})
	if err != nil {
		c.log.Error("encode ack", "err", err)
	}
	return frame
}

// plainAcks are the acks without id, by request type.
var plainAcks = func() map[wire.RequestType][]byte {
	out := map[wire.RequestType][]byte{}
	for _, typ := range wire.RequestTypes() {
		if frame, err := wire.Encode(&wire.Ack{For: ackedType(typ)}); err == nil {
			out[typ] = frame // the types answered by ack (spec §5.6)
		}
	}
	return out
}()

// answer sends the error of a refused group request; an accepted one was acked by the hub.
func (c *conn) answer(id string, typ wire.RequestType, r *refusal) {
	switch r {
	case nil, gone:
	default:
		c.fail(id, typ, r.code, r.text)
	}
}

// join adds c to group name (spec §5.9 [GSV-1] [GSV-7]).
func (h *hub) join(c *conn, name string, ack []byte) *refusal {
	if h.cl != nil {
		return h.joinCluster(c, name, ack)
	}
	h.lockIdle(func() []*group { return h.groupsNamed(name) })
	defer h.mu.Unlock()
	if !h.currentLocked(c) {
		return gone
	}
	user := c.registeredName()
	g := h.groups[name]
	switch {
	case g != nil && g.members[user] == c:
		// spec §5.9 [GSV-7]: a join by a member.
		return &refusal{errAlreadyMember, "already a member of " + name}
	case len(c.groups) >= h.s.cfg.MaxGroups:
		// spec §5.9 [GSV-7]: max_groups for the connection.
		return &refusal{errLimitExceeded, "this connection is in the most groups allowed"}
	case g != nil && len(g.members) >= h.s.cfg.MaxGroupMembers:
		// spec §5.9 [GSV-7]: max_group_members for the group.
		return &refusal{errLimitExceeded, name + " has the most members allowed"}
	case h.joins[c.addr] >= h.s.cfg.MaxJoinsPerAddr:
		// spec §5.10 [ABU-4]: the group memberships of one source address.
		return &refusal{errLimitExceeded, "the connections from this address are in the most groups allowed"}
	}
	h.joins[c.addr]++
	if g == nil {
		var r *refusal
		if g, r = h.loadGroupLocked(name); r != nil {
			return r
		}
		h.groups[name] = g
		h.s.metrics.Groups.Set(float64(len(h.groups)))
	}
	g.members[user] = c
	if c.groups == nil {
		c.groups = make(map[string]*group)
	}
	c.groups[name] = g
	// spec §5.9 [GSV-1]: ack, then group_members to every member, the joiner included.
	c.enqueue(ack)
	h.announceLocked(g, c)
	return nil
}

// loadGroupLocked makes the in-memory group name from what the directory recorded of it: its
// epoch and last commit, so that its epochs never go back (spec §5.9 [GSV-20]).
func (h *hub) loadGroupLocked(name string) (*group, *refusal) {
	g := &group{name: name, members: make(map[string]*conn)}
	st, ok, err := h.s.dir.LoadGroup(name)
	if err == nil && ok {
		g.last, err = wire.DecodeCommit(st.LastCommit)
		g.epoch = st.Epoch
	}
	if err != nil {
		h.s.metrics.DirectoryFailures.Inc()
		h.s.log.Error("load group", "group", name, "err", err)
		return nil, &refusal{errInternal, "the server could not read the state of " + name + "; try again"}
	}
	return g, nil
}

// leave removes c from group name (spec §5.9 [GSV-3]).
func (h *hub) leave(c *conn, name string, ack []byte) *refusal {
	if h.cl != nil {
		return h.leaveCluster(c, name, ack)
	}
	h.lockIdle(func() []*group { return h.groupsNamed(name) })
	defer h.mu.Unlock()
	if !h.currentLocked(c) {
		return gone
	}
	g := h.groups[name]
	if g == nil || g.members[c.registeredName()] != c {
		// spec §5.9 [GSV-3]: a group_leave from a non-member.
		return &refusal{errNotMember, "not a member of " + name}
	}
	c.enqueue(ack)
	h.removeLocked(g, c)
	return nil
}

// leaveAllLocked removes c from every group it is in (spec §5.9 [GSV-3]) and returns their
// names; in a cluster the caller then takes c out of their member lists (leaveClusterGroups).
func (h *hub) leaveAllLocked(c *conn) []string {
	names := slices.Sorted(maps.Keys(c.groups))
	for _, name := range names {
		h.removeLocked(c.groups[name], c)
	}
	return names
}

// removeLocked removes member c from g, then forgets g when it is empty or announces the new
// membership to the remaining members (spec §5.9 [GSV-3]).
func (h *hub) removeLocked(g *group, c *conn) {
	if _, ok := c.groups[g.name]; ok {
		if h.joins[c.addr]--; h.joins[c.addr] <= 0 {
			delete(h.joins, c.addr) // spec §5.10 [ABU-4]
		}
	}
	delete(c.groups, g.name)
	name := c.registeredName()
	if g.members[name] != c {
		return // already replaced in g: nothing changed
	}
	delete(g.members, name)
	if len(g.members) == 0 {
		// spec §5.9 [GSV-20]: the directory keeps the epoch and last commit; memory forgets.
		delete(h.groups, g.name)
		h.s.metrics.Groups.Set(float64(len(h.groups)))
		return
	}
	if h.cl != nil {
		return // the member list is the cluster's: announced once it has changed there
	}
	h.announceLocked(g, nil)
}

// announceLocked sends group_members to every member of g; joiner, when not nil, receives
// last_commit when the epoch is above 0, and nobody else does (spec §5.9 [GSV-1] [GSV-2]).
func (h *hub) announceLocked(g *group, joiner *conn) {
	names := g.sortedMembers()
	plain, err := wire.Encode(&wire.GroupMembers{Group: g.name, Epoch: g.epoch, Members: names})
	if err != nil {
		h.s.log.Error("encode group_members", "group", g.name, "err", err)
		return
	}
	withCommit := plain
	if joiner != nil && g.epoch > 0 {
		// spec §5.9 [GSV-2]: the joiner gets the last accepted commit, unchanged.
		withCommit, err = wire.Encode(&wire.GroupMembers{Group: g.name, Epoch: g.epoch, Members: names, LastCommit: g.last})
		if err != nil {
			h.s.log.Error("encode group_members", "group", g.name, "err", err)
			withCommit = plain
		}
	}
	for _, name := range names {
		m := g.members[name]
		if m == joiner {
			m.enqueue(withCommit)
		} else {
			m.enqueue(plain)
		}
	}
}

// commit sequences a group_commit (spec §5.9 [GSV-4] [GSV-5]).
func (h *hub) commit(c *conn, cm *wire.Commit, ack, fwd []byte, received time.Time) *refusal {
	if h.cl != nil {
		return h.commitCluster(c, cm, ack, fwd, received)
	}
	// Sequenced per group: a commit waits for one being recorded in the same group.
	h.lockIdle(func() []*group { return h.groupsNamed(cm.Group) })
	defer h.mu.Unlock()
	if !h.currentLocked(c) {
		return gone
	}
	user := c.registeredName()
	g := h.groups[cm.Group]
	if g == nil || g.members[user] != c {
		// spec §5.9 [GSV-4]: only a member commits.
		return &refusal{errNotMember, "not a member of " + cm.Group}
	}
	if cm.Epoch != g.epoch+1 {
		// spec §5.9 [GSV-4] [GSV-5]: only the next epoch; the loser of a race lands here.
		return &refusal{errStaleEpoch, "the commit is not for the next epoch of " + cm.Group}
	}
	if r := checkCommitMembers(g.name, g.sortedMembers(), cm, user); r != nil {
		return r
	}
	if r := c.checkCommitKeys(cm); r != nil {
		return r
	}
	// spec §5.9 [GSV-20]: on disk before anyone learns of the epoch, so that it never goes back.
	// The write (an fsync) runs without the hub's lock; meanwhile the group is marked
	// committing, and whatever would change its members or epoch waits for it (lockIdle).
	done := make(chan struct{})
	g.committing = done
	h.mu.Unlock()
	r := h.saveCommit(g.name, cm)
	h.lock()
	g.committing = nil
	close(done)
	if r != nil {
		return r
	}
	// spec §5.9 [GSV-5]: accept, keep, forward to every other member, ack.
	g.epoch, g.last = cm.Epoch, cm
	h.fanOutLocked(g, c, fwd, string(wire.RequestTypeGroupCommit), received)
	c.enqueue(ack)
	return nil
}

// lockIdle takes h.mu for writing once none of the groups that groups returns (called under
// h.mu) has a commit being recorded (commit), waiting for each such commit without the lock.
func (h *hub) lockIdle(groups func() []*group) {
	h.lock()
	for {
		var busy chan struct{}
		for _, g := range groups() {
			if g.committing != nil {
				busy = g.committing
				break
			}
		}
		if busy == nil {
			return
		}
		h.mu.Unlock()
		<-busy
		h.lock()
	}
}

// groupsNamed returns the groups of these names that exist. Callers hold h.mu.
func (h *hub) groupsNamed(names ...string) []*group {
	var out []*group
	for _, name := range names {
		if g := h.groups[name]; g != nil {
			out = append(out, g)
		}
	}
	return out
}

// groupsOf returns the groups c is in. Callers hold h.mu.
func groupsOf(c *conn) []*group {
	if c == nil {
		return nil
	}
	return slices.Collect(maps.Values(c.groups))
}

// saveCommit records cm as the last accepted commit of group name (spec §5.9 [GSV-20]).
func (h *hub) saveCommit(name string, cm *wire.Commit) *refusal {
	raw, err := cm.MarshalJSON()
	if err == nil {
		var kept bool
		kept, err = h.s.dir.SaveGroup(name, directory.Group{Epoch: cm.Epoch, LastCommit: raw, Updated: h.s.now()}, h.s.cfg.MaxKeptGroups)
		if err == nil && !kept {
			h.s.log.Warn("group kept in memory only: --max-kept-groups reached", "group", name)
		}
	}
	if err != nil {
		h.s.metrics.DirectoryFailures.Inc()
		h.s.log.Error("save group commit", "group", name, "err", err)
		return &refusal{errInternal, "the server could not record the commit; try again"}
	}
	return nil
}

// checkCommitMembers applies the membership checks of spec §5.9 [GSV-4]: the committer is the
// sender and the usernames of members and of wraps, in order, equal the sorted members.
func checkCommitMembers(group string, names []string, cm *wire.Commit, user string) *refusal {
	if cm.Committer != user {
		return &refusal{errBadMembers, "the committer must be the sender"}
	}
	if len(cm.Members) != len(names) || len(cm.Wraps) != len(names) {
		return &refusal{errBadMembers, "the commit must list exactly the current members of " + group}
	}
	for i, name := range names {
		if cm.Members[i].User != name || cm.Wraps[i].User != name {
			return &refusal{errBadMembers, "the commit must list exactly the current members of " + group + ", sorted"}
		}
	}
	return nil
}

// checkCommitKeys refuses a commit that lists, for any member, an identity key, group key or
// group key signature other than the directory's, so that no member can make another pin a key
// the directory never served (spec §5.9 [GSV-4]). Every member is registered, so every member
// has an entry.
func (c *conn) checkCommitKeys(cm *wire.Commit) *refusal {
	es := make([]directory.Entry, len(cm.Members))
	for i, m := range cm.Members {
		es[i] = directory.Entry{User: m.User, IdentityKey: m.IdentityKey, GroupKey: m.GroupKey, GroupKeySig: m.GroupKeySig}
	}
	i, err := c.s.dir.HoldsAll(es)
	switch {
	case err != nil:
		c.log.Error("directory", "err", err)
		return &refusal{errInternal, "the directory cannot be read"}
	case i >= 0:
		return &refusal{errBadMembers, "the commit lists keys for " + es[i].User + " that the directory does not hold"}
	}
	return nil
}

// message forwards a group_message to the other members (spec §5.9 [GSV-6]).
func (h *hub) message(c *conn, gm *wire.GroupMsg, ack, fwd []byte, received time.Time) *refusal {
	if h.cl != nil {
		return h.messageCluster(c, gm, ack, fwd, received)
	}
	h.lock()
	defer h.mu.Unlock()
	if !h.currentLocked(c) {
		return gone
	}
	g := h.groups[gm.Group]
	if g == nil || g.members[c.registeredName()] != c {
		// spec §5.9 [GSV-6]: only from a member.
		return &refusal{errNotMember, "not a member of " + gm.Group}
	}
	if gm.Epoch != g.epoch {
		// spec §5.9 [GSV-6]: only for the current epoch.
		return &refusal{errStaleEpoch, "the message is not for the current epoch of " + gm.Group}
	}
	h.fanOutLocked(g, c, fwd, string(wire.RequestTypeGroupMessage), received)
	c.enqueue(ack)
	return nil
}

// fanOutLocked queues frame for every member of g but the sender, and nobody else
// (spec §5.9 [GSV-5] [GSV-6]). A member whose queue is full is closed with 4002 (LIM-2) and
// leaves the group; the others are not delayed.
func (h *hub) fanOutLocked(g *group, sender *conn, frame []byte, typ string, received time.Time) {
	for _, name := range g.sortedMembers() {
		if m := g.members[name]; m != sender && m.enqueue(frame) {
			h.s.metrics.Relayed(typ, len(frame), received)
		}
	}
}
