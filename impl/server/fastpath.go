package server

import (
	"bytes"
	"time"

	"github.com/blindpost/blindpost/impl/wire"
)

// The relay's fast path (README "Performance"): a relay request is checked and located in one
// pass over the received bytes that keeps no value (wire.ScanRelay), its forwarded form is
// spliced from those bytes into a pooled buffer (framepool.go) and its ack built into another;
// the recipient's name is looked up without being converted to a string. Relaying a message
// allocates nothing. Anything else takes handle's way: decode, then dispatch. Both ways share
// the counting and the rate limit (handle).

// fastRelay reports whether the fast path takes data: a relay request of a registered
// connection, written as senders write (wire.RelayView.Plain), that is not addressed to its
// sender and whose forwarded form fits max_message; v is where its members are. Anything else
// handle decodes and answers as the rest of spec §5 says, which for such a relay is what the
// fast path answers too. It has no effect.
func (c *conn) fastRelay(data []byte) (v wire.RelayView, ok bool) {
	if c.state != stateRegistered {
		return v, false
	}
	v, isRelay, err := wire.ScanRelay(data)
	if !isRelay || err != nil || !v.Plain {
		return v, false
	}
	from := c.registeredName()
	// spec §5.5 [SRV-9] [SRV-11]: refused the decoding way, with the same answers.
	if string(v.To) == from || splicedSize(&v, from) > c.s.cfg.MaxMessage {
		return v, false
	}
	return v, true
}

// forwardView forwards the relay v, which fastRelay took and the rate limit let through, and
// answers it: from stamped into the forwarded form, spliced into a pooled buffer.
func (c *conn) forwardView(v *wire.RelayView, received time.Time) {
	typ := wire.RequestTypeRelay
	from := c.registeredName()
	to := c.peerName(v.To)
	// spec §5.5 [SRV-1] [SRV-6]: from stamped, the session and the payload as they came.
	frame := spliceView(relayFrames.get(splicedSize(v, from)), v, from)
	c.session = v.Session // held by the connection: v stays on the stack
	m := chatMsg{typ: typ, to: to, session: c.session[:]}
	// In a cluster, a recipient on another relay is sent to without waiting (pipeline.go);
	// publishing copies the frame, so it goes back to the pool at once.
	if c.s.hub.cl != nil && c.pipeline(string(v.ID), m, frame, received) {
		relayFrames.put(frame)
		return
	}
	c.lent = frame
	d := c.s.hub.deliver(c, m, frame)
	c.lent = nil
	if d != delivered {
		relayFrames.put(frame) // not queued
		c.answerDelivery(string(v.ID), typ, to, d, len(frame), received)
		return
	}
	c.tally.Relayed(len(frame), received)
	// spec §5.6 [SRV-8]: ack only once the message is queued for the recipient.
	c.ackRelay(v.ID)
}

// lends reports whether frame is the pooled frame that handleRelay is handing to the hub: the
// queue that takes it marks it as pooled (enqueueFrom). Only the reader calls it, through the
// hub, while it delivers.
func (c *conn) lends(frame []byte) bool {
	return len(c.lent) > 0 && len(frame) > 0 && &frame[0] == &c.lent[0]
}

// maxPeerNames bounds the recipients' names a connection keeps (peerName).
const maxPeerNames = 64

// peerName returns the username to as a string, without allocating when this connection has
// sent to that user before: the table of users is keyed by strings, and a map lookup with
// string(to) as its key does not allocate.
func (c *conn) peerName(to []byte) string {
	if string(to) == c.route.to {
		return c.route.to // the recipient of the last relay: no lookup
	}
	if name, ok := c.peerNames[string(to)]; ok {
		return name
	}
	if c.peerNames == nil || len(c.peerNames) >= maxPeerNames {
		c.peerNames = make(map[string]string)
	}
	name := string(to)
	c.peerNames[name] = name
	return name
}

// The forwarded form of a relay is the request with `from` for `to` and without `id` (spec
// §5.5 [SRV-1] [SRV-6]): {"type":"relay","from":FROM,"session":SESSION,"payload":PAYLOAD}. Once
// wire.ScanRelay has validated and located the request, spliceView writes it from its own
// bytes, the session and the payload copied as they came, instead of encoding the decoded
// values again: the payload is the same JSON value by construction (SRV-6), and it costs a
// copy. When the request is in the codec's canonical form (members in schema order, no
// whitespace, no escape that is not needed), the result is byte for byte the codec's encoding
// of the forwarded form; otherwise it is the same JSON value (splice_internal_test.go checks
// both on the schema corpus and on fuzzed input).

// relayForm is the forwarded form of a relay without its values (spec §5.5 [SRV-1] [SRV-6]):
// the request with from for to and without id, members in the codec's order.
const (
	relayHead    = `{"type":"relay","from":"`
	relaySession = `","session":`
	relayPayload = `,"payload":`
	relayTail    = `}`
)

// splicedSize is the size of the forwarded form of v from user from.
func splicedSize(v *wire.RelayView, from string) int {
	return len(relayHead) + len(from) + len(relaySession) + len(v.SessionJSON) + len(relayPayload) + len(v.PayloadJSON) + len(relayTail)
}

// spliceView appends the forwarded form of v from user from to dst. With v plain, it is what
// the codec encodes but for whitespace and member order inside the payload.
func spliceView(dst []byte, v *wire.RelayView, from string) []byte {
	dst = append(dst, relayHead...)
	dst = append(dst, from...) // a username needs no escape (spec §5.1)
	dst = append(dst, relaySession...)
	dst = append(dst, v.SessionJSON...)
	dst = append(dst, relayPayload...)
	dst = append(dst, v.PayloadJSON...)
	return append(dst, relayTail...)
}

// relayAck is the codec's ack of a relay with an id, split around the id's text: the id's
// pattern (spec §5.1) holds no character that needs an escape, so the id goes in as it is. It
// is empty, and ackRelay encodes instead, should the codec's form of it hold no such place.
var relayAck = func() [2][]byte {
	const mark = "0"
	b, err := wire.Encode(&wire.Ack{ID: mark, For: ackedType(wire.RequestTypeRelay)})
	i := bytes.Index(b, []byte(`"`+mark+`"`))
	if err != nil || i < 0 || bytes.Contains(b[i+3:], []byte(`"`+mark+`"`)) {
		return [2][]byte{}
	}
	return [2][]byte{b[:i+1], b[i+1+len(mark):]}
}()

// ackRelay acks a relay with id (nil: without one) from a pooled buffer.
func (c *conn) ackRelay(id []byte) {
	typ := wire.RequestTypeRelay
	if id == nil || relayAck[0] == nil {
		c.queueOwn(c.ackFrame(string(id), typ)) // without id: one shared frame
		return
	}
	frame := relayFrames.get(len(relayAck[0]) + len(id) + len(relayAck[1]))
	frame = append(frame, relayAck[0]...)
	frame = append(frame, id...)
	frame = append(frame, relayAck[1]...)
	c.queueOwnFrame(frame, true)
}
