package server

import (
	"errors"
	"time"

	"github.com/blindpost/blindpost/impl/server/directory"
	"github.com/blindpost/blindpost/impl/wire"
)

// forward queues fwd, the forwarded form of a chat_request, chat_response, chat_terminate or
// relay with `from` stamped, for user to, and answers ack or error (spec §5.5, §5.6). session
// and accepted (chat_response only) are what the table of chats needs (chats.go).
func (c *conn) forward(id string, typ wire.RequestType, to string, session []byte, accepted bool, fwd wire.Message, received time.Time) {
	// spec §5.5 [SRV-9]: a message to its own sender.
	if to == c.registeredName() {
		c.fail(id, typ, errBadTarget, "a message cannot be addressed to its sender")
		return
	}
	// The forwarded form is the request with from for to and without id: about its size.
	frame, err := wire.AppendEncode(make([]byte, 0, c.inSize+len(c.registeredName())+16), fwd)
	if err != nil {
		c.log.Error("encode forwarded message", "type", typ, "err", err)
		c.fail(id, typ, errInternal, "the server could not forward the message")
		return
	}
	c.deliverForwarded(id, typ, to, session, accepted, frame, received)
}

// deliverForwarded queues frame, the forwarded form of a request, for user to, and answers ack
// or error (spec §5.5, §5.6).
func (c *conn) deliverForwarded(id string, typ wire.RequestType, to string, session []byte, accepted bool, frame []byte, received time.Time) {
	// spec §5.5 [SRV-11]: the forwarded form must fit the announced max_message.
	if len(frame) > c.s.cfg.MaxMessage {
		c.failf(id, typ, errTooLarge, "the forwarded message would exceed %d bytes", c.s.cfg.MaxMessage)
		return
	}
	m := chatMsg{typ: typ, to: to, session: session, accepted: accepted}
	if c.pipeline(id, m, frame, received) {
		return // answered in order once the recipient's relay has answered (pipeline.go)
	}
	c.answerDelivery(id, typ, to, c.s.hub.deliver(c, m, frame), len(frame), received)
}

// answerDelivery answers a forwarded request with ack or error, by what became of it.
func (c *conn) answerDelivery(id string, typ wire.RequestType, to string, d delivery, size int, received time.Time) {
	switch d {
	case deliverGone:
		return // replaced or closing: the connection no longer acts for its user
	case deliverAbsent:
		c.failAbsent(id, typ, to)
	case deliverFull:
		// spec §5.8 [LIM-2]: a recipient whose queue is full is closed; the sender hears user_offline.
		c.failf(id, typ, errUserOffline, "%s is not connected", to)
	case deliverNoChat:
		// spec §5.5 [SES-2]: a relay outside a chat that the recipient accepted.
		c.failf(id, typ, errNotInSession, "no chat with %s that %s accepted has this session", to, to)
	case deliverPending:
		// spec §5.5 [SES-4]: too many chat requests wait for an answer.
		c.failf(id, typ, errLimitExceeded, "too many chat requests from this connection or to %s wait for an answer", to)
	case deliverTooMany:
		c.failf(id, typ, errLimitExceeded, "this connection or %s is in the most chats allowed", to)
	case deliverShare:
		// spec §5.5 [SES-5]: the sender's share of the recipient's queue is full; a sender that
		// keeps flooding is closed with 4003 (LIM-4), the recipient keeps its connection.
		c.rateLimited(id, typ, received)
	default:
		c.s.metrics.Relayed(string(typ), size, received)
		// spec §5.6 [SRV-8]: ack only once the message is queued for the recipient.
		c.queueOwn(c.ackFrame(id, typ))
	}
}

// failAbsent answers a request for a user with no registered connection: user_offline when the
// name is bound, unknown_user when it never was (spec §5.5 [SRV-9]).
func (c *conn) failAbsent(id string, typ wire.RequestType, to string) {
	ok, err := c.s.dir.Exists(to)
	switch {
	case err != nil:
		c.s.metrics.DirectoryFailures.Inc()
		c.log.Error("directory lookup failed", "user", to, "err", err)
		c.fail(id, typ, errInternal, "the server could not look the user up; try again")
	case ok:
		c.failf(id, typ, errUserOffline, "%s is not connected", to)
	default:
		c.failf(id, typ, errUnknownUser, "%s is not a known user", to)
	}
}

// getPubkey answers with the stored keys of a bound user, online or not (spec §5.4 [SRV-3]).
func (c *conn) getPubkey(m *wire.GetPubkey) {
	typ := wire.RequestTypeGetPubkey
	e, err := c.s.dir.Lookup(m.User)
	switch {
	case errors.Is(err, directory.ErrNotFound):
		c.failf(m.ID, typ, errUnknownUser, "%s is not a known user", m.User)
	case err != nil:
		c.s.metrics.DirectoryFailures.Inc()
		c.log.Error("directory lookup failed", "user", m.User, "err", err)
		c.fail(m.ID, typ, errInternal, "the server could not look the user up; try again")
	default:
		c.reply(&wire.Pubkey{ID: m.ID, User: e.User, IdentityKey: e.IdentityKey, GroupKey: e.GroupKey, GroupKeySig: e.GroupKeySig})
	}
}

// listUsers answers with the users registered now, sorted, at most 1000 (spec §5.4 [SRV-4]).
func (c *conn) listUsers(m *wire.ListUsers) {
	names, truncated := c.s.hub.online()
	c.reply(&wire.UserList{ID: m.ID, Users: names, Truncated: truncated})
}
