package server

import (
	"bytes"
	"cmp"
	"maps"
	"slices"

	"github.com/blindpost/blindpost/impl/wire"
)

// The relay's table of 1:1 chats (spec §5.5 [SES-1]): metadata it sees anyway (who asked whom,
// for which session id, and whether the recipient accepted), kept so that it forwards relay only
// inside chats the recipient agreed to (SES-2), tells a peer when the other side's connection is
// gone (SES-3), and bounds what one connection can make others hold (SES-4). A chat belongs to
// two connections, not to two users: a reconnect starts without chats.

// chatKey names a chat: its session id and the two usernames, the lesser first, so that two
// pairs using the same session id never meet.
type chatKey struct {
	session [16]byte // spec §6.1: a session id is 16 bytes (the codec has checked)
	lo, hi  string
}

func newChatKey(session []byte, a, b string) chatKey {
	if b < a {
		a, b = b, a
	}
	k := chatKey{lo: a, hi: b}
	copy(k.session[:], session)
	return k
}

// route is where a connection's relays of one session to one user go, as deliver last found
// it: the recipient's connection, found in a chat that it accepted, while the sender is the
// current connection of its user. Nothing of that can change but under the hub's lock, which
// moves hub.gen first, so the route stands while gen has not moved since: a relay that follows
// it skips the hub's read lock and three map lookups, and relaying from many connections at
// once touches no cache line they share but the recipient's queue. On one relay only; only
// the connection's reader uses it.
type route struct {
	gen     uint64
	to      string
	session [16]byte
	target  *conn
}

// routeTo queues the relay m for its recipient by c's route, when that route is m's and still
// stands; ok is false when deliver must look the recipient up instead. The check is made again
// under the recipient's queue lock, so that anything the hub changes from then on (a chat's
// end, say, and the chat_terminate it queues) comes after this relay in that queue, as it
// does when deliver holds the hub's read lock.
func (c *conn) routeTo(m chatMsg, frame []byte) (delivery, bool) {
	r := &c.route
	if r.target == nil || r.to != m.to || string(r.session[:]) != string(m.session) || c.s.hub.gen.Load() != r.gen {
		return 0, false
	}
	return r.target.enqueueRouted(frame, c, r.gen)
}

// chat is one chat between two connections. In a cluster the two may be on two relays: each
// relay keeps the chat for the side it holds (spec §5.11 [CLU-1]).
type chat struct {
	key       chatKey
	initiator side // sent the chat_request
	responder side // received it
	accepted  bool // the responder answered accepted true
}

// side is one connection of a chat: c on this relay, or only ref on another relay of the
// cluster.
type side struct {
	c   *conn
	ref connRef
}

// connRef names a connection across the relays of a cluster: its relay's node id ("" on a
// single relay) and its id there.
type connRef struct {
	node string
	id   uint64
}

func localSide(c *conn) side { return side{c: c, ref: c.ref()} }

// peerOf returns the other side of the chat.
func (ch *chat) peerOf(c *conn) side {
	if ch.initiator.c == c {
		return ch.responder
	}
	return ch.initiator
}

// sides returns the connections of the chat on this relay.
func (ch *chat) sides() []*conn {
	var out []*conn
	for _, s := range []side{ch.initiator, ch.responder} {
		if s.c != nil {
			out = append(out, s.c)
		}
	}
	return out
}

// chatState is a connection's part of the table. Guarded by hub.mu; the map is made at the
// first chat (most connections of a benchmark never have one).
type chatState struct {
	chats      map[chatKey]*chat
	pendingOut int // chats it requested that are not answered yet
	pendingIn  int // chats requested of it that it has not answered yet
	accepted   int // accepted chats it is in
}

// delivery is what became of a forwarded 1:1 message.
type delivery int

const (
	delivered      delivery = iota // queued for the recipient
	deliverGone                    // the sender no longer acts for its user: no answer
	deliverAbsent                  // the recipient has no registered connection
	deliverFull                    // the recipient's queue overflowed: it is closed (LIM-2)
	deliverShare                   // the sender's share of the recipient's queue is full (SES-5)
	deliverNoChat                  // a relay outside an accepted chat (SES-2)
	deliverPending                 // too many pending chat requests (SES-4)
	deliverTooMany                 // too many accepted chats (SES-4)
)

// chatMsg is the part of a forwarded 1:1 request that the table looks at.
type chatMsg struct {
	typ      wire.RequestType
	to       string
	session  []byte
	accepted bool // chat_response only
}

// deliver routes a chat_request, chat_response, chat_terminate or relay from c, applying and
// updating the table of chats, and queues frame for the recipient when it may go.
func (h *hub) deliver(c *conn, m chatMsg, frame []byte) delivery {
	if h.cl != nil {
		h.mu.RLock()
		local := h.users[m.to] != nil
		h.mu.RUnlock()
		if !local {
			return h.deliverRemote(c, m, frame) // spec §5.11 [CLU-3]
		}
	}
	if m.typ == wire.RequestTypeRelay {
		if d, ok := c.routeTo(m, frame); ok {
			return d
		}
		// The hot path only reads the table.
		h.mu.RLock()
		defer h.mu.RUnlock()
	} else {
		h.lock()
		defer h.mu.Unlock()
	}
	if !h.currentLocked(c) {
		return deliverGone
	}
	target := h.users[m.to]
	if target == nil {
		return deliverAbsent
	}
	key := newChatKey(m.session, c.registeredName(), m.to)
	ch := chatWith(c, key, target.ref())
	switch m.typ {
	case wire.RequestTypeRelay:
		// spec §5.5 [SES-2]: relay only inside a chat the recipient accepted.
		if ch == nil || !ch.accepted {
			return deliverNoChat
		}
		if h.cl == nil && len(m.session) == len(c.route.session) {
			c.route = route{gen: h.gen.Load(), to: m.to, session: [16]byte(m.session), target: target}
		}
		return target.enqueueFrom(frame, c)
	case wire.RequestTypeChatRequest:
		if ch != nil {
			return target.enqueueFrom(frame, c) // asked again: the chat stays as it is
		}
		// spec §5.5 [SES-4]: bounded pending requests, per sender and per recipient.
		if c.chat.pendingOut >= h.s.cfg.MaxPending || target.chat.pendingIn >= h.s.cfg.MaxPending {
			return deliverPending
		}
		d := target.enqueueFrom(frame, c)
		if d == delivered {
			h.openChatLocked(&chat{key: key, initiator: localSide(c), responder: localSide(target)})
		}
		return d
	case wire.RequestTypeChatResponse:
		if ch == nil || ch.accepted || ch.responder.c != c {
			return target.enqueueFrom(frame, c) // answers no request of the table: nothing changes
		}
		if m.accepted && (c.chat.accepted >= h.s.cfg.MaxChats || target.chat.accepted >= h.s.cfg.MaxChats) {
			return deliverTooMany // spec §5.5 [SES-4]: the chat stays pending
		}
		d := target.enqueueFrom(frame, c)
		if d == delivered {
			if m.accepted {
				h.acceptChatLocked(ch)
			} else {
				h.closeChatLocked(ch)
			}
		}
		return d
	default: // chat_terminate
		d := target.enqueueFrom(frame, c)
		if ch != nil {
			h.closeChatLocked(ch) // spec §5.5 [SES-1]: either side ends the chat
		}
		return d
	}
}

// openChatLocked adds a pending chat to its connections on this relay. Callers hold h.mu for
// writing.
func (h *hub) openChatLocked(ch *chat) {
	for _, c := range ch.sides() {
		if c.chat.chats == nil {
			c.chat.chats = make(map[chatKey]*chat)
		}
		c.chat.chats[ch.key] = ch
	}
	if c := ch.initiator.c; c != nil {
		c.chat.pendingOut++
	}
	if c := ch.responder.c; c != nil {
		c.chat.pendingIn++
	}
}

// acceptChatLocked marks a pending chat accepted. Callers hold h.mu for writing.
func (h *hub) acceptChatLocked(ch *chat) {
	if c := ch.initiator.c; c != nil {
		c.chat.pendingOut--
	}
	if c := ch.responder.c; c != nil {
		c.chat.pendingIn--
	}
	ch.accepted = true
	for _, c := range ch.sides() {
		c.chat.accepted++
	}
}

// closeChatLocked removes a chat from its connections on this relay. Callers hold h.mu for
// writing.
func (h *hub) closeChatLocked(ch *chat) {
	if ch.accepted {
		for _, c := range ch.sides() {
			c.chat.accepted--
		}
	} else {
		if c := ch.initiator.c; c != nil {
			c.chat.pendingOut--
		}
		if c := ch.responder.c; c != nil {
			c.chat.pendingIn--
		}
	}
	for _, c := range ch.sides() {
		delete(c.chat.chats, ch.key)
	}
}

// endChatsLocked ends every chat of c, whose connection has ended or been replaced, and tells
// the peer of each accepted one with a chat_terminate of the relay's own (spec §5.5 [SES-3]).
// Callers hold h.mu for writing.
func (h *hub) endChatsLocked(c *conn, reason wire.TerminateReason) {
	name := c.registeredName()
	for _, key := range slices.SortedFunc(maps.Keys(c.chat.chats), compareChatKeys) {
		ch := c.chat.chats[key]
		h.closeChatLocked(ch)
		if !ch.accepted {
			continue
		}
		frame, err := wire.Encode(&wire.IncomingChatTerminate{From: name, Session: key.session[:], Reason: reason})
		if err != nil {
			h.s.log.Error("encode chat_terminate", "err", err)
			continue
		}
		if peer := ch.peerOf(c); peer.c != nil {
			peer.c.enqueue(frame)
		} else {
			h.endRemoteChat(peer.ref, c, key, frame) // spec §5.11 [CLU-1]
		}
	}
}

func compareChatKeys(a, b chatKey) int {
	return cmp.Or(cmp.Compare(a.lo, b.lo), cmp.Compare(a.hi, b.hi), bytes.Compare(a.session[:], b.session[:]))
}
