package server

import (
	"context"
	"encoding/hex"
	"errors"
	"hash/fnv"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/blindpost/blindpost/impl/server/cluster"
	"github.com/blindpost/blindpost/impl/wire"
)

// The relay's side of a cluster (spec §5.11): the hub holds this relay's connections, and the
// cluster (package cluster) says who is online where. A message for a user on another relay
// goes to that relay by NATS request, with the frame to queue, already stamped and spliced, as
// the payload and what the recipient's relay needs to know in headers; that relay applies the
// recipient's side of the rules and answers with the delivery, which this relay turns into
// ack or error exactly as for a local recipient.

// The headers of the messages between relays.
const (
	hdrOp       = "Bp-Op"   // what the message asks (op*)
	hdrType     = "Bp-Type" // the request type forwarded
	hdrMode     = "Bp-Mode" // what the sender's relay decided for the table of chats (mode*)
	hdrFrom     = "Bp-From" // the sender's username
	hdrFromNode = "Bp-From-Node"
	hdrFromConn = "Bp-From-Conn"
	hdrTo       = "Bp-To" // the recipient's username
	hdrToConn   = "Bp-To-Conn"
	hdrSession  = "Bp-Session" // hex
	hdrAccepted = "Bp-Accepted"
	hdrGroup    = "Bp-Group"
	hdrEpoch    = "Bp-Epoch"
	hdrRev      = "Bp-Rev"
	hdrResult   = "Bp-Result" // the answer: a delivery
)

// The operations between relays.
const (
	opDeliver  = "deliver"  // a 1:1 message for a connection of the receiving relay
	opEnded    = "ended"    // a chat's other side is gone (SES-3)
	opKick     = "kick"     // a connection was replaced on another relay (REG-7)
	opAnnounce = "announce" // a group's new member list (GSV-1, GSV-3)
	opCommit   = "gcommit"  // an accepted commit to queue for the members here (GSV-5)
	opMessage  = "gmsg"     // a group message to queue for the members here (GSV-6)
)

// What the sender's relay decided about the table of chats (chats.go) for a 1:1 message.
const (
	modeRelay  = "relay"  // a relay inside an accepted chat
	modePlain  = "plain"  // forwarded; the table does not change
	modeOpen   = "open"   // a chat_request that opens a pending chat
	modeAnswer = "answer" // a chat_response to a pending chat
	modeClose  = "close"  // a chat_terminate
)

// clusterTimeout bounds one exchange with the cluster.
const clusterTimeout = 5 * time.Second

func clusterCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), clusterTimeout)
}

// ref names the connection across the cluster.
func (c *conn) ref() connRef {
	if cl := c.s.cfg.Cluster; cl != nil {
		return connRef{node: cl.ID(), id: c.id}
	}
	return connRef{id: c.id}
}

// remoteSender marks the id of a sender on another relay (remoteSenderID): local connection
// ids, a counter, never reach it.
const remoteSender = 1 << 62

// remoteSenderID is the id under which a sender on another relay is counted in a queue's
// shares (spec §5.5 [SES-5]): remoteSender set, so that it never equals a local connection's
// id, and the queue's pooledFrame mark clear, so that the share is given back once written.
func remoteSenderID(r connRef) uint64 {
	f := fnv.New64a()
	f.Write([]byte(r.node))
	f.Write([]byte(strconv.FormatUint(r.id, 10)))
	return f.Sum64()&^pooledFrame | remoteSender
}

// claim records in the cluster that c holds its user, and has the relay holding the replaced
// connection, if another one does, close it as spec §5.2 [REG-7] says (spec §5.11 [CLU-2]).
// It reports false when the cluster could not be written.
func (h *hub) claim(c *conn) bool {
	if h.cl == nil {
		return true
	}
	ctx, cancel := clusterCtx()
	defer cancel()
	name := c.registeredName()
	prev, had, rev, err := h.cl.Claim(ctx, name, c.id)
	if err != nil {
		h.s.log.Error("cluster: claim", "user", name, "err", err)
		c.log.Error("cluster: claim failed", "user", name, "err", err)
		return false
	}
	c.presenceRev.Store(rev)
	if had && prev.Node != h.cl.ID() {
		h.kick(name, prev)
	}
	return true
}

// kick has the node at prev close the connection a claim replaced, and waits until it has:
// the newer connection's register_ack follows, and a message sent after it must not reach the
// older one (spec §5.2 [REG-7]). A node that does not answer in time is asked once more; the
// presence watch of that node replaces the connection too (HandlePresence).
func (h *hub) kick(name string, prev cluster.Location) {
	hdr := nats.Header{hdrOp: {opKick}, hdrTo: {name}, hdrToConn: {strconv.FormatUint(prev.Conn, 10)}}
	var err error
	for range 2 {
		ctx, cancel := clusterCtx()
		_, err = h.cl.Request(ctx, prev.Node, hdr, nil)
		cancel()
		if err == nil || errors.Is(err, cluster.ErrNodeGone) {
			return
		}
	}
	h.s.log.Warn("cluster: replace", "user", name, "node", prev.Node, "err", err)
}

// release removes c's presence entry, unless a later connection claimed the name.
func (h *hub) release(c *conn) {
	if h.cl == nil {
		return
	}
	rev := c.presenceRev.Swap(0)
	if rev == 0 {
		return
	}
	ctx, cancel := clusterCtx()
	defer cancel()
	if err := h.cl.Release(ctx, c.registeredName(), rev); err != nil {
		h.s.log.Warn("cluster: release not taken; sent again in the background", "user", c.registeredName(), "err", err)
	}
}

// replace ends old, replaced by a connection on another relay, as hub.register does for one
// on this relay (spec §5.2 [REG-7], §5.5 [SES-3], §5.9 [GSV-3]).
func (h *hub) replace(old *conn) {
	h.lockIdle(func() []*group { return groupsOf(old) })
	if !h.currentLocked(old) {
		h.mu.Unlock()
		return
	}
	delete(h.users, old.registeredName())
	h.s.metrics.OnlineUsers.Set(float64(len(h.users)))
	left := h.leaveAllLocked(old)
	h.endChatsLocked(old, wire.TerminateReasonPeerReplaced)
	// The member lists are written in the cluster off the node's message goroutine, as a task
	// of old's, so that its close frame waits for them as for any close (finish): the client
	// reads 4001 only once every relay's lists are without it (spec §5.9 [GSV-3]). Started
	// under h.mu while old is current, so before old's unregister, which is a task too: old
	// cannot have waited for its tasks already.
	old.bg.Go(func() { h.leaveClusterGroups(old, left) })
	h.mu.Unlock()
	old.presenceRev.Store(0) // the entry is the newer connection's now
	old.requestClose(CloseReplaced, "replaced by a newer connection")
}

// onlineCluster lists the users online on every relay (spec §5.4 [SRV-4], §5.11 [CLU-1]).
func (h *hub) onlineCluster() ([]string, bool) {
	ctx, cancel := clusterCtx()
	defer cancel()
	names, err := h.cl.Online(ctx)
	if err != nil {
		h.s.log.Warn("cluster: online users", "err", err)
		h.mu.RLock()
		for name := range h.users {
			names = append(names, name)
		}
		h.mu.RUnlock()
	}
	if len(names) > maxListedUsers {
		return names[:maxListedUsers], true
	}
	return names, false
}

// deliverRemote forwards a 1:1 message to a user with no connection on this relay (spec
// §5.11 [CLU-1] [CLU-3]): it applies the sender's side of the table of chats, asks the relay
// holding the recipient to apply the recipient's side and queue the frame, and, once that relay
// has queued it, records the sender's side of the change.
func (h *hub) deliverRemote(c *conn, m chatMsg, frame []byte) delivery {
	ctx, cancel := clusterCtx()
	defer cancel()
	loc, ok, err := h.cl.Locate(ctx, m.to)
	if err != nil {
		h.s.log.Warn("cluster: locate", "user", m.to, "err", err)
	}
	d := h.deliverAt(ctx, c, m, frame, loc, ok)
	if d == delivered || d == deliverGone {
		return d
	}
	// The view may lag the bucket (a user who registered again elsewhere a moment ago, or a
	// watcher catching up): where the bucket says otherwise, try there once. A refusal at a
	// stale location is no answer either: the chat the sender has is with the user's newer
	// connection, so the old one's not_in_session must not reach the sender.
	fresh, ok, err := h.cl.LocateFresh(ctx, m.to)
	if err != nil || !ok || fresh == loc {
		return d
	}
	return h.deliverAt(ctx, c, m, frame, fresh, true)
}

// deliverAt is deliverRemote to the connection at loc (ok: there is one).
func (h *hub) deliverAt(ctx context.Context, c *conn, m chatMsg, frame []byte, loc cluster.Location, ok bool) delivery {
	if !ok || loc.Node == h.cl.ID() {
		return deliverAbsent
	}
	target := connRef{node: loc.Node, id: loc.Conn}
	h.lock()
	if !h.currentLocked(c) {
		h.mu.Unlock()
		return deliverGone
	}
	mode, d := h.planLocked(c, m, target)
	h.mu.Unlock()
	if d != delivered {
		// A chat ended because the recipient went offline: user_offline, as on one relay,
		// where the recipient is looked up first. Its relay withdrew it before ending the chat.
		if _, ok, err := h.cl.LocateFresh(ctx, m.to); err == nil && !ok {
			return deliverAbsent
		}
		return d
	}
	reply, err := h.cl.Request(ctx, loc.Node, h.deliverHeader(c, m, mode, loc), frame)
	if errors.Is(err, cluster.ErrNodeGone) {
		// spec §5.11 [CLU-4]: the relay is gone, and the recipient's connection with it.
		_ = h.cl.Release(ctx, m.to, loc.Rev)
		return deliverAbsent
	}
	if err != nil {
		h.s.log.Warn("cluster: deliver", "user", m.to, "node", loc.Node, "err", err)
		return deliverAbsent
	}
	n, _ := strconv.Atoi(reply.Header.Get(hdrResult))
	d = delivery(n)
	if d == delivered && mode != modeRelay && mode != modePlain {
		h.lock()
		if h.currentLocked(c) {
			h.applyLocked(c, m, mode, target)
		}
		h.mu.Unlock()
	}
	return d
}

// deliverHeader returns the headers of a 1:1 message from c for the connection at loc.
func (h *hub) deliverHeader(c *conn, m chatMsg, mode string, loc cluster.Location) nats.Header {
	return nats.Header{
		hdrOp: {opDeliver}, hdrType: {string(m.typ)}, hdrMode: {mode},
		hdrFrom: {c.registeredName()}, hdrFromNode: {h.cl.ID()}, hdrFromConn: {strconv.FormatUint(c.id, 10)},
		hdrTo: {m.to}, hdrToConn: {strconv.FormatUint(loc.Conn, 10)},
		hdrSession: {hex.EncodeToString(m.session)}, hdrAccepted: {strconv.FormatBool(m.accepted)},
	}
}

// chatWith returns c's chat with the connection peer for session key, or nil.
func chatWith(c *conn, key chatKey, peer connRef) *chat {
	ch := c.chat.chats[key]
	if ch != nil && ch.peerOf(c).ref != peer {
		return nil // a chat with an earlier connection of the peer: ended with it
	}
	return ch
}

// planLocked applies the sender's side of the rules of spec §5.5 to a 1:1 message for target,
// a connection on another relay, and says what the recipient's relay is to do. Callers hold
// h.mu.
func (h *hub) planLocked(c *conn, m chatMsg, target connRef) (string, delivery) {
	ch := chatWith(c, newChatKey(m.session, c.registeredName(), m.to), target)
	switch m.typ {
	case wire.RequestTypeRelay:
		// spec §5.5 [SES-2]
		if ch == nil || !ch.accepted {
			return "", deliverNoChat
		}
		return modeRelay, delivered
	case wire.RequestTypeChatRequest:
		if ch != nil {
			return modePlain, delivered
		}
		if c.chat.pendingOut >= h.s.cfg.MaxPending { // spec §5.5 [SES-4]
			return "", deliverPending
		}
		return modeOpen, delivered
	case wire.RequestTypeChatResponse:
		if ch == nil || ch.accepted || ch.responder.c != c {
			return modePlain, delivered
		}
		if m.accepted && c.chat.accepted >= h.s.cfg.MaxChats { // spec §5.5 [SES-4]
			return "", deliverTooMany
		}
		return modeAnswer, delivered
	default:
		return modeClose, delivered
	}
}

// applyLocked records on the sender's side what a 1:1 message queued on another relay
// changed. Callers hold h.mu for writing.
func (h *hub) applyLocked(c *conn, m chatMsg, mode string, target connRef) {
	key := newChatKey(m.session, c.registeredName(), m.to)
	ch := chatWith(c, key, target)
	switch {
	case mode == modeOpen && ch == nil:
		h.openChatLocked(&chat{key: key, initiator: localSide(c), responder: side{ref: target}})
	case mode == modeAnswer && ch != nil && !ch.accepted && m.accepted:
		h.acceptChatLocked(ch)
	case mode == modeAnswer && ch != nil && !ch.accepted:
		h.closeChatLocked(ch)
	case mode == modeClose && ch != nil:
		h.closeChatLocked(ch)
	}
}

// receiveLocked applies the recipient's side of the rules of spec §5.5 to a 1:1 message from
// another relay for t, and queues it when it may go. Callers hold h.mu for writing.
func (h *hub) receiveLocked(t *conn, from connRef, fromName string, session []byte, accepted bool, mode string, frame []byte) delivery {
	key := newChatKey(session, fromName, t.registeredName())
	ch := chatWith(t, key, from)
	sid := remoteSenderID(from)
	switch mode {
	case modeRelay:
		if ch == nil || !ch.accepted { // spec §5.5 [SES-2]
			return deliverNoChat
		}
		return t.enqueueFromID(frame, sid, false)
	case modeOpen:
		if ch != nil {
			return t.enqueueFromID(frame, sid, false)
		}
		if t.chat.pendingIn >= h.s.cfg.MaxPending { // spec §5.5 [SES-4]
			return deliverPending
		}
		d := t.enqueueFromID(frame, sid, false)
		if d == delivered {
			h.openChatLocked(&chat{key: key, initiator: side{ref: from}, responder: localSide(t)})
		}
		return d
	case modeAnswer:
		if ch == nil || ch.accepted || ch.responder.ref != from {
			return t.enqueueFromID(frame, sid, false)
		}
		if accepted && t.chat.accepted >= h.s.cfg.MaxChats { // spec §5.5 [SES-4]
			return deliverTooMany
		}
		d := t.enqueueFromID(frame, sid, false)
		if d == delivered {
			if accepted {
				h.acceptChatLocked(ch)
			} else {
				h.closeChatLocked(ch)
			}
		}
		return d
	case modeClose:
		d := t.enqueueFromID(frame, sid, false)
		if ch != nil {
			h.closeChatLocked(ch) // spec §5.5 [SES-1]
		}
		return d
	default:
		return t.enqueueFromID(frame, sid, false)
	}
}

// endRemoteChat tells the relay of peer that c, the other side of chat key, is gone; frame is
// the chat_terminate for peer when the chat was accepted, nil otherwise (spec §5.5 [SES-3],
// §5.11 [CLU-1]). It does not wait: it may run under the hub's lock.
func (h *hub) endRemoteChat(peer connRef, c *conn, key chatKey, frame []byte) {
	if h.cl == nil {
		return
	}
	to := key.lo
	if to == c.registeredName() {
		to = key.hi
	}
	hdr := nats.Header{
		hdrOp: {opEnded}, hdrFrom: {c.registeredName()}, hdrFromNode: {h.cl.ID()}, hdrFromConn: {strconv.FormatUint(c.id, 10)},
		hdrTo: {to}, hdrToConn: {strconv.FormatUint(peer.id, 10)}, hdrSession: {hex.EncodeToString(key.session[:])},
	}
	if err := h.cl.Publish(peer.node, hdr, frame); err != nil {
		h.s.log.Warn("cluster: end chat", "node", peer.node, "err", err)
	}
}

// HandleMessage implements cluster.Handler: a message from another relay.
func (h *hub) HandleMessage(m *nats.Msg) {
	switch m.Header.Get(hdrOp) {
	case opDeliver:
		h.respond(m, h.onDeliver(m))
	case opEnded:
		h.onEnded(m)
	case opKick:
		h.onKick(m)
		h.respond(m, delivered)
	case opAnnounce:
		h.onAnnounce(m)
	case opCommit, opMessage:
		h.onGroupFrame(m)
		h.respond(m, delivered)
	default:
		h.s.log.Warn("cluster: unknown message", "op", m.Header.Get(hdrOp))
	}
}

func (h *hub) respond(m *nats.Msg, d delivery) {
	if m.Reply == "" {
		return
	}
	r := nats.NewMsg(m.Reply)
	r.Header.Set(hdrResult, strconv.Itoa(int(d)))
	if err := m.RespondMsg(r); err != nil {
		h.s.log.Warn("cluster: respond", "err", err)
	}
}

// target returns the connection the message is for when it is still the current connection of
// its user on this relay.
func (h *hub) targetLocked(m *nats.Msg) *conn {
	id, _ := strconv.ParseUint(m.Header.Get(hdrToConn), 10, 64)
	t := h.users[m.Header.Get(hdrTo)]
	if t == nil || t.id != id {
		return nil
	}
	return t
}

func fromRef(m *nats.Msg) connRef {
	id, _ := strconv.ParseUint(m.Header.Get(hdrFromConn), 10, 64)
	return connRef{node: m.Header.Get(hdrFromNode), id: id}
}

func (h *hub) onDeliver(m *nats.Msg) delivery {
	session, err := hex.DecodeString(m.Header.Get(hdrSession))
	if err != nil || len(session) != 16 {
		return deliverAbsent
	}
	accepted := m.Header.Get(hdrAccepted) == "true"
	mode := m.Header.Get(hdrMode)
	if mode == modeRelay {
		h.mu.RLock()
		defer h.mu.RUnlock()
	} else {
		h.lock()
		defer h.mu.Unlock()
	}
	t := h.targetLocked(m)
	if t == nil {
		return deliverAbsent
	}
	d := h.receiveLocked(t, fromRef(m), m.Header.Get(hdrFrom), session, accepted, mode, m.Data)
	if d == delivered {
		h.s.metrics.Relayed(m.Header.Get(hdrType), len(m.Data), time.Now())
	}
	return d
}

func (h *hub) onEnded(m *nats.Msg) {
	session, err := hex.DecodeString(m.Header.Get(hdrSession))
	if err != nil || len(session) != 16 {
		return
	}
	h.lock()
	defer h.mu.Unlock()
	t := h.targetLocked(m)
	if t == nil {
		return
	}
	ch := chatWith(t, newChatKey(session, m.Header.Get(hdrFrom), t.registeredName()), fromRef(m))
	if ch == nil {
		return
	}
	accepted := ch.accepted
	h.closeChatLocked(ch)
	if accepted && len(m.Data) > 0 {
		t.enqueue(m.Data) // spec §5.5 [SES-3]
	}
}

func (h *hub) onKick(m *nats.Msg) {
	h.mu.RLock()
	t := h.targetLocked(m)
	h.mu.RUnlock()
	if t != nil {
		h.replace(t)
	}
}

// HandlePresence implements cluster.Handler: a connection here whose user a later claim on
// another relay took over is replaced, in case that relay's kick did not arrive (spec §5.11
// [CLU-2]).
func (h *hub) HandlePresence(user string, loc cluster.Location, ok bool) {
	if !ok || loc.Node == h.cl.ID() {
		return
	}
	h.mu.RLock()
	t := h.users[user]
	h.mu.RUnlock()
	if t == nil {
		return
	}
	if rev := t.presenceRev.Load(); rev != 0 && loc.Rev > rev {
		h.replace(t)
	}
}

// HandleLost implements cluster.Handler: a relay that has lost NATS for good is no longer part
// of the cluster, so it shuts down and closes its clients with 1001, and they reconnect to
// another relay (spec §5.11 [CLU-4]).
func (h *hub) HandleLost() {
	go func() { _ = h.s.Close() }()
}

// sweepEvery is how often a relay in a cluster withdraws the users of nodes that are gone
// (cluster.Node.Sweep).
const sweepEvery = 30 * time.Second

// runSweep sweeps the presence of the cluster every sweepEvery until stop is closed, so that
// users of a node that stopped without withdrawing them are not listed online for long (spec
// §5.4 [SRV-4], §5.11 [CLU-4]).
func (s *Server) runSweep(stop <-chan struct{}) {
	t := time.NewTicker(sweepEvery)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			ctx, cancel := clusterCtx()
			if _, err := s.cfg.Cluster.Sweep(ctx); err != nil {
				s.log.Warn("cluster: sweep", "err", err)
			}
			cancel()
		}
	}
}
