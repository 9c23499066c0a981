package server

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/blindpost/blindpost/impl/wire"
)

// handle runs one text message through the state machine of spec §5. The codec checks it
// before anything else looks at it (MSG-1 to MSG-4): it decodes it, or, for a relay on the fast
// path, scans it as strictly without decoding (wire.ScanRelay); every request gets exactly one
// answer, in order (SRV-13), except where the connection closes.
func (c *conn) handle(data []byte, received time.Time) {
	defer c.recoverInternal()
	c.inSize = len(data)
	// The fast path (fastpath.go) takes a relay that it forwards spliced; the rest is decoded.
	v, fast := c.fastRelay(data)
	var (
		msg wire.Message
		err error
		id  string
		typ = wire.RequestTypeRelay
	)
	if !fast {
		msg, err = wire.Decode(wire.FromClient, data)
		if _, relay := msg.(*wire.Relay); !relay {
			c.awaitInflight() // spec §5.5 [SRV-13]: the answers to earlier relays go first
		}
		id, typ = requestOf(msg)
	}
	c.countIn(typ, len(data), fast)
	if err != nil {
		// spec §5.1 [MSG-5], §5.7: the error echoes the id and names the type when readable.
		id, typ = peekRequest(data)
	}
	// spec §5.8 [LIM-3]: over the rate, the message is answered rate_limited and dropped.
	if !c.flow.allow(received) {
		if fast {
			id = string(v.ID)
		}
		c.rateLimited(id, typ, received)
		return
	}
	if fast {
		c.forwardView(&v, received)
		return
	}
	if err != nil {
		c.badMessage(err, id, typ)
		return
	}
	if c.state != stateRegistered {
		c.handleUnregistered(msg, id, typ)
		return
	}
	c.dispatch(msg, id, typ, received)
}

// recoverInternal turns a bug that panics while handling a message into an internal error and
// close 1011 for that connection alone; the server and every other connection go on.
func (c *conn) recoverInternal() {
	if r := recover(); r != nil {
		c.log.Error("bug: panic while handling a message", "user", c.registeredName(), "panic", fmt.Sprint(r))
		c.failAndClose("", "", errInternal, "the server failed on this message", closeInternal)
	}
}

// countIn counts a message received, in the connection's tally when the fast path takes it.
func (c *conn) countIn(typ wire.RequestType, size int, fast bool) {
	label := string(typ)
	if label == "" {
		label = "invalid"
	}
	if fast {
		c.tally.Received()
	} else {
		c.s.metrics.Received(label)
	}
	if c.log.Enabled(slog.LevelDebug) {
		c.log.Debug("received", "user", c.registeredName(), "type", label, "size", size)
	}
}

// rateLimited answers a message over the rate, and closes a connection that keeps exceeding it
// (spec §5.8 [LIM-3] [LIM-4]).
func (c *conn) rateLimited(id string, typ wire.RequestType, now time.Time) {
	if c.flow.reject(now) {
		// spec §5.8 [LIM-4]: persistent abuse closes with 4003, after the error (ERR-2).
		c.failAndClose(id, typ, errRateLimited, "rate limit exceeded persistently", CloseRateLimited)
		return
	}
	c.fail(id, typ, errRateLimited, "rate limit exceeded; the message was dropped")
}

// badMessage answers a message the codec rejected: spec §5.2 [REG-10] closes an unregistered
// connection with 1008; spec §5.7 [ERR-3] keeps a registered one open.
func (c *conn) badMessage(err error, id string, typ wire.RequestType) {
	text := badMessageText(err)
	if c.state != stateRegistered {
		c.s.metrics.Registrations.WithLabelValues("bad_message").Inc()
		c.failAndClose(id, typ, errBadMessage, text, closePolicy)
		return
	}
	c.fail(id, typ, errBadMessage, text)
}

// dispatch handles a valid message from a registered connection.
func (c *conn) dispatch(msg wire.Message, id string, typ wire.RequestType, received time.Time) {
	from := c.registeredName()
	switch m := msg.(type) {
	case *wire.Hello, *wire.Register:
		// spec §5.2 [REG-9]: after registration, hello and register are out of order.
		c.fail(id, typ, errOutOfOrder, "already registered")
	case *wire.GetPubkey:
		c.getPubkey(m)
	case *wire.ListUsers:
		c.listUsers(m)
	case *wire.ChatRequest:
		// spec §5.3 [SRV-1]: from is the registered name of the sending connection.
		c.forward(id, typ, m.To, m.Session, false, &wire.IncomingChatRequest{From: from, Session: m.Session}, received)
	case *wire.ChatResponse:
		c.forward(id, typ, m.To, m.Session, m.Accepted, &wire.IncomingChatResponse{From: from, Session: m.Session, Accepted: m.Accepted}, received)
	case *wire.ChatTerminate:
		c.forward(id, typ, m.To, m.Session, false, &wire.IncomingChatTerminate{From: from, Session: m.Session}, received)
	case *wire.Relay:
		// spec §5.5 [SRV-6]: the payload is forwarded as the same JSON value. A relay the fast
		// path could splice never gets here (fastRelay): this one is encoded again.
		c.forward(id, typ, m.To, m.Session, false, &wire.IncomingRelay{From: from, Session: m.Session, Payload: m.Payload}, received)
	case *wire.GroupJoin:
		c.groupJoin(m)
	case *wire.GroupLeave:
		c.groupLeave(m)
	case *wire.GroupCommit:
		c.groupCommit(m, received)
	case *wire.GroupMessage:
		c.groupMessage(m, received)
	default:
		c.log.Error("no handler", "type", typ)
		c.fail(id, typ, errInternal, "the server cannot handle this message")
	}
}

// requestOf returns the id and type of a client request; both are empty for nil.
func requestOf(msg wire.Message) (string, wire.RequestType) {
	if r, ok := msg.(wire.Request); ok {
		return r.RequestID(), r.RequestType()
	}
	return "", ""
}
