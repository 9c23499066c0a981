package server

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/blindpost/blindpost/impl/server/cluster"
	"github.com/blindpost/blindpost/impl/wire"
)

// Pipelined relays (spec §5.11 [CLU-3]). In a cluster, a relay for a user on another relay
// waits for that relay's answer before it is acked (SRV-8: ack once queued for the recipient).
// Waiting before reading the client's next message would make a client's relays as slow as a
// round trip through NATS each, so the reader sends the relays it has read and answers them
// later, in order: before it handles any other message, before it answers anything itself
// (queueOwn), and before it reads the socket again (beforeRead). The relays one reader sends go
// out on one NATS connection in the order it read them, so they reach their recipients in that
// order.

// maxInflight bounds the relays one connection has sent and not answered.
const maxInflight = 64

// inflight is a relay sent to another relay and not answered yet.
type inflight struct {
	id       string
	to       string
	size     int
	received time.Time
	loc      cluster.Location
	p        *cluster.Pending
}

// moreToRead reports whether the socket holds bytes already, so that reading them does not
// wait for the client (a client sends each message in a TLS record of its own: the reader
// reads the socket between any two). Where that cannot be known it reports false.
func (c *conn) moreToRead() bool {
	return c.cork.raw != nil && c.cork.raw.buffered()
}

// pipeline sends a relay for a user on another relay of the cluster and keeps it to be
// answered later; it reports false when the relay must take the ordinary way (a single relay,
// a recipient here or nowhere, a relay the sender's side of the table refuses).
func (c *conn) pipeline(id string, m chatMsg, frame []byte, received time.Time) bool {
	h := c.s.hub
	if h.cl == nil || m.typ != wire.RequestTypeRelay {
		return false
	}
	p, loc, ok := h.sendRelay(c, m, frame)
	if !ok {
		return false
	}
	c.inflight = append(c.inflight, inflight{id: id, to: m.to, size: len(frame), received: received, loc: loc, p: p})
	if len(c.inflight) >= maxInflight {
		c.awaitInflight()
	}
	return true
}

// awaitInflight answers the relays sent, in the order they were read.
func (c *conn) awaitInflight() {
	if len(c.inflight) == 0 {
		return
	}
	pending := c.inflight
	c.inflight = nil
	ctx, cancel := clusterCtx()
	defer cancel()
	for i := range pending {
		f := &pending[i]
		c.answerDelivery(f.id, wire.RequestTypeRelay, f.to, c.s.hub.relayAnswered(ctx, f), f.size, f.received)
		*f = inflight{}
	}
}

// sendRelay sends a relay inside an accepted chat to the relay of its recipient, without
// waiting; ok is false when it was not sent (then nothing happened).
func (h *hub) sendRelay(c *conn, m chatMsg, frame []byte) (*cluster.Pending, cluster.Location, bool) {
	h.mu.RLock()
	local := h.users[m.to] != nil
	h.mu.RUnlock()
	if local {
		return nil, cluster.Location{}, false
	}
	ctx, cancel := clusterCtx()
	defer cancel()
	loc, ok, err := h.cl.Locate(ctx, m.to)
	if err != nil || !ok || loc.Node == h.cl.ID() {
		return nil, loc, false
	}
	target := connRef{node: loc.Node, id: loc.Conn}
	h.mu.RLock()
	mode, d := "", deliverGone
	if h.currentLocked(c) {
		mode, d = h.planLocked(c, m, target)
	}
	h.mu.RUnlock()
	if d != delivered || mode != modeRelay {
		return nil, loc, false
	}
	p, err := h.cl.RequestAsync(loc.Node, h.deliverHeader(c, m, mode, loc), frame)
	if err != nil {
		return nil, loc, false
	}
	return p, loc, true
}

// relayAnswered waits for the answer to a relay sent by sendRelay.
func (h *hub) relayAnswered(ctx context.Context, f *inflight) delivery {
	reply, err := f.p.Wait(ctx)
	if errors.Is(err, cluster.ErrNodeGone) {
		_ = h.cl.Release(ctx, f.to, f.loc.Rev) // spec §5.11 [CLU-4]
		return deliverAbsent
	}
	if err != nil {
		h.s.log.Warn("cluster: relay", "user", f.to, "node", f.loc.Node, "err", err)
		return deliverAbsent
	}
	n, _ := strconv.Atoi(reply.Header.Get(hdrResult))
	return delivery(n)
}
