package client

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/blindpost/blindpost/impl/e2ee"
	"github.com/blindpost/blindpost/impl/e2ee/group"
	"github.com/blindpost/blindpost/impl/e2ee/identity"
	"github.com/blindpost/blindpost/impl/wire"
)

// Broadcast is the well-known group every client shows first (spec §5.9).
const Broadcast = "broadcast"

// groupSendRetries bounds how often GroupSend resends after the relay moved to a newer epoch.
const groupSendRetries = 3

// chatGroup is the client's view of one group it joined (spec §5.9, §7).
type chatGroup struct {
	name      string
	st        *group.State // nil until the first group_members after (re)joining (GRP-11)
	announced []string     // the relay's latest member list
	gen       uint64       // counts announcements and accepted commits
	// committing is set while a commit worker runs; waitAnnounce after the relay refused a
	// commit, until the next group_members or group_commit (spec §7.1 "Who commits").
	committing   bool
	waitAnnounce bool
	// rekey asks for a new epoch for the same members: the user asked, or this client's
	// message counter reached its limit (spec §7.2 [GRP-18]).
	rekey bool
	// keyHeld is a commit rejected only because its committer's key changed, kept until the user
	// trusts the new key (TRUST-2); nil otherwise.
	keyHeld *group.Commit
	// keyHeldMsgs are group messages of keyHeld's epoch that arrived while it was held (the
	// other members' acknowledgements, spec §7.3): verified once the user trusts the key and the
	// commit is accepted, rejected (GRP-14) when it is not. At most maxKeyHeldMsgs.
	keyHeldMsgs []groupMessageMsg
	// keyHeldAnnounced is the announcement keyHeld was made for, against which it is verified
	// again (GRP-6) even when members left while the user decided.
	keyHeldAnnounced []string
	// highest is the highest epoch the client accepted, kept across reconnects: a relay that
	// announces less has lost group history (spec §5.9 [GSV-20]).
	highest uint64
	ready   chan struct{} // closed while group messages can be sent (GRP-12)
	left    chan struct{} // closed when the user leaves
	// holding is set while the client fetches the directory's keys for the members a commit
	// lists that it has not pinned (GRP-20); what arrives for the group meanwhile waits in held,
	// in order. holdID tells a fetch that outlived its connection from the current one.
	holding bool
	holdID  uint64
	held    []heldGroupMsg
	// confirmed holds the members that showed they hold the current epoch: its committer, and
	// the senders of authenticated group messages of it (spec §7.3, §9 [CLI-31]).
	confirmed map[string]bool
}

// heldGroupMsg is a group_members, group_commit or group_message waiting behind a commit whose
// members' directory keys are being fetched; fetched marks that commit itself.
type heldGroupMsg struct {
	m       inbound
	fetched bool
}

// GroupInfo describes a group for a user interface.
type GroupInfo struct {
	Name      string
	Epoch     uint64   // the epoch the client holds (0: none yet)
	Members   []string // the members of that epoch, who can read what is sent now
	Announced []string // the members the relay announced
	CanSend   bool     // false while the client waits for an epoch that lists it, or for a rekey
	// SecuredWith are the other members of Epoch that showed they hold it, Missing the others:
	// the group is secured with everyone only when Missing is empty (spec §9 [CLI-31]).
	SecuredWith []string
	Missing     []string
}

// Groups lists the groups the client is in.
func (c *Client) Groups() []GroupInfo {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []GroupInfo
	for _, g := range c.groups {
		info := GroupInfo{Name: g.name, Announced: slices.Clone(g.announced), CanSend: g.canSend()}
		if g.st != nil {
			info.Epoch, info.Members = g.st.Epoch(), g.st.Members()
			info.SecuredWith, info.Missing = c.securedLists(g)
		}
		out = append(out, info)
	}
	slices.SortFunc(out, func(a, b GroupInfo) int {
		switch {
		case a.Name == b.Name:
			return 0
		case a.Name == Broadcast || (b.Name != Broadcast && a.Name < b.Name):
			return -1
		}
		return 1
	})
	return out
}

// canSend reports whether a message sent now reaches exactly the announced members: the client
// holds the current epoch secret and no member of that epoch has left (spec §7.1 [GRP-12]).
func (g *chatGroup) canSend() bool {
	if g.st == nil || !g.st.HasSecret() || g.rekey {
		return false
	}
	for _, m := range g.st.Members() {
		if !slices.Contains(g.announced, m) {
			return false // a rekey is pending
		}
	}
	return true
}

// updateReadyLocked opens or closes the gate of queued group sends.
func (g *chatGroup) updateReadyLocked() {
	select {
	case <-g.ready:
		if !g.canSend() {
			g.ready = make(chan struct{})
		}
	default:
		if g.canSend() {
			close(g.ready)
		}
	}
}

// JoinGroup joins a group (spec §5.9). The relay announces the members; the client then commits
// an epoch that adds itself (spec §7.1 "Who commits"), and a GroupEvent reports it.
func (c *Client) JoinGroup(ctx context.Context, name string) error {
	if !wire.ValidGroup(name) { // spec §5.9: a group name
		return fmt.Errorf("client: %q is not a group name: %w", name, ErrBadArgument)
	}
	cn, err := c.needConn()
	if err != nil {
		return err
	}
	c.mu.Lock()
	if _, in := c.groups[name]; in {
		c.mu.Unlock()
		return fmt.Errorf("client: already in group %s: %w", name, ErrState)
	}
	g := &chatGroup{name: name, ready: make(chan struct{}), left: make(chan struct{})}
	c.groups[name] = g
	w, err := cn.start("group_join", encodeGroupJoin(name), nil)
	c.mu.Unlock()
	if err == nil {
		_, err = w.wait(ctx)
	}
	if err != nil {
		c.mu.Lock()
		if c.groups[name] == g {
			c.dropGroupLocked(g)
		}
		c.mu.Unlock()
	}
	return err
}

// LeaveGroup leaves a group: the epoch secret is erased and the client never commits for it
// again (spec §7.1 [GRP-2]); the remaining members rekey without it.
func (c *Client) LeaveGroup(ctx context.Context, name string) error {
	c.mu.Lock()
	g := c.groups[name]
	if g == nil {
		c.mu.Unlock()
		return fmt.Errorf("client: not in group %s: %w", name, ErrState)
	}
	c.dropGroupLocked(g)
	cn := c.cn
	var w waiter
	var err error = ErrNotConnected
	if cn != nil {
		w, err = cn.start("group_leave", encodeGroupLeave(name), nil)
	}
	c.mu.Unlock()
	if errors.Is(err, ErrNotConnected) {
		return nil // the relay forgot the membership with the connection
	}
	if err == nil {
		_, err = w.wait(ctx)
	}
	if IsServerError(err, "not_member") {
		return nil
	}
	return err
}

// dropGroupLocked forgets a group and erases its secret.
func (c *Client) dropGroupLocked(g *chatGroup) {
	delete(c.groups, g.name)
	if g.st != nil {
		g.st.Close()
	}
	close(g.left)
	c.emit(GroupLeftEvent{Group: g.name})
}

// groupsDisconnectedLocked resets every group when the connection ends: the relay forgot the
// membership (spec §5.9), so the client rejoins and is rekeyed in after reconnecting.
func (c *Client) groupsDisconnectedLocked() {
	for _, g := range c.groups {
		g.keyHeld = nil
		c.releaseKeyHeldLocked(g) // rejected at the epoch the client holds (GRP-14)
		if g.st != nil {
			g.st.Close()
		}
		g.st, g.announced, g.waitAnnounce = nil, nil, false
		g.holding, g.held = false, nil // the relay forgot the group: so does the hold
		g.holdID++
		g.gen++
		g.updateReadyLocked()
	}
}

// rejoinGroups joins again, on a new connection, the groups the user is in.
func (c *Client) rejoinGroups(cn *conn) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, g := range c.groups {
		if err := cn.post("group_join", encodeGroupJoin(g.name), c.reportAsync("group_join", "", SessionID{}, g.name)); err != nil {
			c.log.Info("client: cannot rejoin", "group", g.name, "err", err)
		}
	}
}

// eraseAllLocked erases every key the client holds (Close).
func (c *Client) eraseAllLocked() {
	for _, s := range c.sessions {
		c.abortLocked(s)
	}
	for _, g := range c.groups {
		if g.st != nil {
			g.st.Close()
		}
	}
}

// onGroupMembers takes the relay's announcement: on joining it is the starting point for epoch
// and prev checks (spec §7.1 [GRP-11]); then the client decides whether to commit.
func (c *Client) onGroupMembers(m groupMembersMsg) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.holdLocked(m.group, m) {
		c.groupMembersLocked(m)
	}
}

func (c *Client) groupMembersLocked(m groupMembersMsg) {
	g := c.groups[m.group]
	if g == nil {
		c.log.Debug("client: group_members for a group the client is not in", "group", m.group)
		return
	}
	if g.st == nil {
		if m.epoch < g.highest {
			// spec §5.9 [GSV-20]: the relay's history went back; the client tells its user and
			// is keyed in again as a joiner of the relay's epoch (7.1).
			c.security(SecurityEvent{Code: e2ee.StaleEpoch, Rule: "GSV-20", Group: g.name,
				Detail: fmt.Sprintf("the relay announced epoch %d of %s after this client held epoch %d: its group history went back; keying in again", m.epoch, g.name, g.highest)})
			g.highest = m.epoch
		}
		cfg := group.Config{Group: g.name, Self: c.user, Identity: c.id, Pins: c.peers, Directory: c.directoryKeyLocked}
		st, err := group.Join(cfg, m.epoch, m.lastCommit)
		if err != nil {
			c.securityErr(err, "", SessionID{}, g.name)
			return
		}
		g.st = st
	}
	g.st.Announce(m.members) // spec §7.1 [GRP-6]: the members the next commit must list
	g.announced = slices.Clone(m.members)
	g.gen++
	g.waitAnnounce = false
	c.emit(GroupMembersEvent{Group: g.name, Epoch: m.epoch, Members: slices.Clone(m.members)})
	g.updateReadyLocked()
	c.maybeCommitLocked(g)
}

// onGroupCommit verifies a commit another member made (spec §7.1 GRP-2 to GRP-10, GRP-20).
func (c *Client) onGroupCommit(m groupCommitMsg) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.holdLocked(m.commit.Group, m) {
		c.groupCommitLocked(m, false)
	}
}

// groupCommitLocked verifies a commit; unless fetched, it first fetches the directory's keys of
// the members the client has not pinned, holding the group's traffic until they are in.
func (c *Client) groupCommitLocked(m groupCommitMsg, fetched bool) {
	g := c.groups[m.commit.Group]
	if g == nil || g.st == nil { // spec §7.2 [GRP-14]: a group the client is not in
		c.security(SecurityEvent{Code: e2ee.UnexpectedMessage, Rule: "GRP-14", Peer: m.from, Group: m.commit.Group,
			Detail: "commit for a group the client is not in"})
		return
	}
	if missing := c.unfetchedMembersLocked(&m.commit); !fetched && len(missing) > 0 && c.cn != nil {
		g.holding = true
		g.held = append(g.held, heldGroupMsg{m: m, fetched: true})
		c.wg.Add(1)
		go c.fetchForCommit(g, g.holdID, c.cn, missing)
		return
	}
	info, err := g.st.ReceiveCommit(&m.commit)
	g.gen++
	g.waitAnnounce = false
	if err != nil { // spec §7.1 [GRP-10]: the previous epoch stays
		if !c.holdChangedCommitLocked(g, &m.commit, err) {
			c.securityErr(err, m.from, SessionID{}, g.name)
		}
	} else {
		c.epochAcceptedLocked(g, info)
	}
	g.updateReadyLocked()
	c.maybeCommitLocked(g)
}

// directoryKeyLocked is the group states' Directory: the identity key the directory served for
// user on this client's last get_pubkey, its group key signature verified (GRP-20).
func (c *Client) directoryKeyLocked(user string) (ed25519.PublicKey, bool) {
	k, ok := c.dirKeys[user]
	return k, ok
}

// unfetchedMembersLocked lists the members of a commit that are neither pinned nor fetched from
// the directory.
func (c *Client) unfetchedMembersLocked(cm *group.Commit) []string {
	var out []string
	for _, m := range cm.Members {
		if m.User == c.user {
			continue
		}
		_, pinned := c.peers.Lookup(m.User)
		_, fetched := c.dirKeys[m.User]
		if !pinned && !fetched {
			out = append(out, m.User)
		}
	}
	return out
}

// fetchForCommit asks the directory for users' keys, then lets the held group traffic go on. A
// user the directory does not answer for stays unfetched, and the commit listing it is rejected
// (GRP-20).
func (c *Client) fetchForCommit(g *chatGroup, holdID uint64, cn *conn, users []string) {
	defer c.wg.Done()
	ctx, cancel := context.WithTimeout(c.ctx, DefaultHandshakeTimeout)
	defer cancel()
	for _, user := range users {
		if _, err := c.fetchKeys(ctx, cn, user); err != nil {
			c.log.Info("client: no directory key for a commit member", "group", g.name, "user", user, "err", err)
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.groups[g.name] != g || g.holdID != holdID {
		return // left, or the connection that held it is gone
	}
	held := g.held
	g.holding, g.held = false, nil
	for i, h := range held {
		if c.groups[g.name] != g {
			return
		}
		if g.holding { // a later commit needs keys of its own: it waits again, and so does the rest
			g.held = append(g.held, held[i:]...)
			return
		}
		switch m := h.m.(type) {
		case groupMembersMsg:
			c.groupMembersLocked(m)
		case groupCommitMsg:
			c.groupCommitLocked(m, h.fetched)
		case groupMessageMsg:
			c.groupMessageLocked(m)
		}
	}
}

// holdLocked queues m behind a commit that waits for directory keys, and reports whether it did.
func (c *Client) holdLocked(name string, m inbound) bool {
	g := c.groups[name]
	if g == nil || !g.holding {
		return false
	}
	g.held = append(g.held, heldGroupMsg{m: m})
	return true
}

// epochAcceptedLocked reports a new epoch and the keys it pinned for the first time (TRUST-1).
func (c *Client) epochAcceptedLocked(g *chatGroup, info group.EpochInfo) {
	for _, user := range info.NewPins { // spec §6.6 [TRUST-1]
		if key, ok := c.peers.Lookup(user); ok {
			c.emit(PinEvent{Peer: user, Fingerprint: identity.Fingerprint(key), Source: "commit"})
		}
	}
	g.rekey = false // every counter starts again in the new epoch (GRP-13)
	g.keyHeld = nil // a commit held for a changed key is stale now
	defer c.releaseKeyHeldLocked(g)
	g.highest = max(g.highest, info.Epoch)
	g.startConfirmsLocked(info)
	c.sendEpochAckLocked(g, info) // spec §7.3 [GRP-21]: before the send gate opens
	with, missing := c.securedLists(g)
	c.emit(GroupEvent{Group: g.name, Epoch: info.Epoch, Members: info.Members, Committer: info.Committer,
		SecuredWith: with, Missing: missing})
	g.updateReadyLocked()
}

// wantsCommit reports whether this client commits the next epoch: when "Who commits" of spec
// §7.1 says so, or for a requested rekey of the same members (GRP-18).
func (c *Client) wantsCommit(g *chatGroup) bool {
	if g.st == nil {
		return false
	}
	return g.st.ShouldCommit(g.announced) || (g.rekey && g.st.HasSecret() && slices.Contains(g.announced, c.user))
}

// maybeCommitLocked starts a commit worker when this client commits and none runs.
func (c *Client) maybeCommitLocked(g *chatGroup) {
	if g.committing || g.waitAnnounce || c.closed || !c.wantsCommit(g) {
		return
	}
	g.committing = true
	c.wg.Add(1)
	go c.commitWorker(g)
}

// commitWorker commits epochs for g until the announced members are keyed, the relay refuses a
// commit (then it waits for the next announcement), or the group or connection goes away.
func (c *Client) commitWorker(g *chatGroup) {
	defer c.wg.Done()
	for c.commitOnce(g) {
	}
	c.mu.Lock()
	g.committing = false
	c.mu.Unlock()
}

// commitOnce makes one attempt and reports whether to decide again.
func (c *Client) commitOnce(g *chatGroup) bool {
	c.mu.Lock()
	if c.closed || c.groups[g.name] != g || g.waitAnnounce || !c.wantsCommit(g) {
		c.mu.Unlock()
		return false
	}
	st, gen, members, cn := g.st, g.gen, slices.Clone(g.announced), c.cn
	c.mu.Unlock()
	if cn == nil {
		return false
	}
	ctx, cancel := context.WithTimeout(c.ctx, DefaultHandshakeTimeout)
	defer cancel()
	entries, err := c.memberKeys(ctx, cn, members)
	if err != nil {
		c.log.Info("client: cannot commit", "group", g.name, "err", err)
		return false
	}
	c.mu.Lock()
	if g.st != st || g.gen != gen {
		c.mu.Unlock()
		return true // the announcement changed meanwhile: decide again
	}
	pending, err := st.CreateCommit(entries) // spec §7.1 [GRP-1]
	if err != nil {
		c.securityErr(err, "", SessionID{}, g.name) // a changed key (TRUST-2) refuses the epoch
		c.mu.Unlock()
		return false
	}
	w, err := cn.start("group_commit", encodeGroupCommit(&pending.Commit), func(inbound) error {
		// On the reader goroutine: the epoch starts before the next message is read (GSV-5).
		c.mu.Lock()
		defer c.mu.Unlock()
		if g.st != st {
			return ErrState
		}
		info, err := st.Apply(pending)
		if err != nil {
			return err
		}
		g.gen++
		c.epochAcceptedLocked(g, info)
		return nil
	})
	c.mu.Unlock()
	if err == nil {
		_, err = w.wait(ctx)
	}
	pending.Discard()
	if err == nil {
		return true
	}
	c.log.Info("client: commit refused", "group", g.name, "err", err)
	c.mu.Lock()
	defer c.mu.Unlock()
	if g.gen == gen {
		// spec §7.1: after stale_epoch or bad_members, wait for the next group_members or
		// group_commit and decide again; one that came meanwhile already counts.
		g.waitAnnounce = true
	}
	return !g.waitAnnounce && c.ctx.Err() == nil && !errors.Is(err, ErrNotConnected)
}

// memberKeys fetches the directory keys of the other members, for a commit.
func (c *Client) memberKeys(ctx context.Context, cn *conn, members []string) ([]group.Member, error) {
	var out []group.Member
	for _, user := range members {
		if user == c.user {
			continue
		}
		k, err := c.fetchKeys(ctx, cn, user)
		if err != nil {
			return nil, err
		}
		out = append(out, group.Member{User: user, IdentityKey: k.identityKey, GroupKey: k.groupKey, GroupKeySig: k.groupKeySig})
	}
	return out, nil
}

// GroupSend encrypts and signs text for the current epoch of a group (spec §7.2) and returns the
// epoch and counter once the relay accepted it. While the client waits for an epoch that lists
// it, or for the rekey after a member left (spec §7.1 [GRP-12]), the message waits too, until
// ctx ends.
func (c *Client) GroupSend(ctx context.Context, name, text string) (epoch, n uint64, err error) {
	if err := checkText(text); err != nil {
		return 0, 0, err
	}
	now := time.Now()
	pt, err := encodeContent(text, now)
	if err != nil {
		return 0, 0, err
	}
	defer clear(pt)
	for attempt := 0; ; attempt++ {
		msg, w, err := c.sealGroup(ctx, name, pt)
		if err != nil {
			return 0, 0, err
		}
		_, err = w.wait(ctx)
		if IsServerError(err, "stale_epoch") && attempt < groupSendRetries {
			continue // the relay is at a newer epoch, whose commit arrived before this answer
		}
		if err == nil { // spec §6.7: a group message is relayed at most, never delivered
			c.history().group(name, c.user, msg.Epoch, msg.N, text, now, true)
		}
		return msg.Epoch, msg.N, err
	}
}

// sealGroup waits until the group can send, then seals and queues one message.
func (c *Client) sealGroup(ctx context.Context, name string, pt []byte) (group.Message, waiter, error) {
	for {
		msg, w, gate, err := c.trySealGroup(name, pt)
		if gate == nil {
			return msg, w, err
		}
		select {
		case <-gate.ready:
		case <-gate.left:
			return group.Message{}, waiter{}, fmt.Errorf("client: left group %s: %w", name, ErrState)
		case <-ctx.Done():
			return group.Message{}, waiter{}, fmt.Errorf("client: group %s has no epoch to send in yet (GRP-12): %w", name, ctx.Err())
		}
	}
}

// sendGate is what a group send waits on when it cannot go yet.
type sendGate struct{ ready, left chan struct{} }

// trySealGroup seals and queues a message if the group can send now, and otherwise returns the
// gate to wait on.
func (c *Client) trySealGroup(name string, pt []byte) (group.Message, waiter, *sendGate, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	g := c.groups[name]
	if g == nil {
		return group.Message{}, waiter{}, nil, fmt.Errorf("client: not in group %s: %w", name, ErrState)
	}
	if !g.canSend() { // spec §7.1 [GRP-12]
		return group.Message{}, waiter{}, &sendGate{ready: g.ready, left: g.left}, nil
	}
	cn := c.cn
	if cn == nil {
		return group.Message{}, waiter{}, nil, ErrNotConnected
	}
	msg, err := g.st.Seal(nil, pt)
	if errors.Is(err, group.ErrMessageLimit) { // spec §7.2 [GRP-18]: rekey, then send
		g.rekey = true
		g.updateReadyLocked()
		c.maybeCommitLocked(g)
		return group.Message{}, waiter{}, &sendGate{ready: g.ready, left: g.left}, nil
	}
	if err != nil {
		return group.Message{}, waiter{}, nil, fmt.Errorf("client: %w", err)
	}
	w, err := cn.start("group_message", encodeGroupMessage(msg), nil)
	return msg, w, nil, err
}

// RekeyGroup commits a new epoch for the same members, with a fresh secret: for forward
// secrecy after a while, and before a sender's counter runs out (spec §7.2 [GRP-18]). Messages
// sent meanwhile wait for the new epoch; a GroupEvent reports it.
func (c *Client) RekeyGroup(ctx context.Context, name string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	g := c.groups[name]
	if g == nil || g.st == nil || !g.st.HasSecret() {
		return fmt.Errorf("client: no epoch of group %s to rekey: %w", name, ErrState)
	}
	g.rekey = true
	g.waitAnnounce = false
	g.updateReadyLocked()
	c.maybeCommitLocked(g)
	return nil
}

// onGroupMessage verifies and opens a group message (spec §7.2 GRP-14 to GRP-17).
func (c *Client) onGroupMessage(m groupMessageMsg) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.holdLocked(m.msg.Group, m) {
		c.groupMessageLocked(m)
	}
}

func (c *Client) groupMessageLocked(m groupMessageMsg) {
	g := c.groups[m.msg.Group]
	if g == nil || g.st == nil { // spec §7.2 [GRP-14]: a group the client is not in
		c.security(SecurityEvent{Code: e2ee.UnexpectedMessage, Rule: "GRP-14", Peer: m.from, Group: m.msg.Group,
			Detail: "group message for a group the client is not in"})
		return
	}
	if c.holdForKeyLocked(g, m) {
		return
	}
	pt, err := g.st.Open(nil, m.from, &m.msg)
	defer clear(pt)
	if err != nil {
		c.securityErr(err, m.from, SessionID{}, g.name)
		return
	}
	c.groupPlaintextLocked(g, m, pt)
}
