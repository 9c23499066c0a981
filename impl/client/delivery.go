package client

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/blindpost/blindpost/impl/e2ee"
	"github.com/blindpost/blindpost/impl/wire"
)

// DeliveryState is how far a message sent in a 1:1 session got (spec §6.7).
type DeliveryState string

// Delivery states, as the driver's delivery event names them (spec A.2).
const (
	DeliveryRelayed   DeliveryState = "relayed"   // the relay acknowledged the record: queued, no more
	DeliveryDelivered DeliveryState = "delivered" // a receipt from the peer covers the record (RCP-3)
	DeliveryFailed    DeliveryState = "failed"    // the relay refused it, or the session ended before a receipt
)

// Reasons a secured session left that state, in SessionEvent.Reason (spec §9 [CLI-20]).
const (
	ReasonPeerOffline     = "peer_offline"     // the relay: the peer's connection is gone
	ReasonPeerReplaced    = "peer_replaced"    // the relay: a newer login of the peer replaced it
	ReasonReceiptsStalled = "receipts_stalled" // no receipt came while the peer was offline (CLI-22)
)

// DefaultReceiptTimeout is how long a sent message may wait for its receipt, while the peer is
// not online, before the session leaves the secured state (spec §9 [CLI-22]).
const DefaultReceiptTimeout = 30 * time.Second

// DeliveryEvent reports a change in the delivery of a message this client sent in a 1:1
// session: relayed when the relay acknowledged it, delivered when the peer's receipt covers it,
// failed when it cannot arrive any more (its text is then in [Client.Outbox]).
type DeliveryEvent struct {
	Session SessionID
	Peer    string
	N       uint64
	State   DeliveryState
}

func (DeliveryEvent) isEvent() {}

// Undelivered is a message whose delivery failed, kept for the user to send again (spec §9
// [CLI-21]).
type Undelivered struct {
	Session SessionID
	Peer    string
	N       uint64
	Text    string
	SentAt  time.Time
}

// pendingMsg is a message sent in a session and not yet covered by a receipt.
type pendingMsg struct {
	n      uint64
	text   string
	sentAt time.Time
}

// receipts is the receipt state of a secured session (spec §6.7).
type receipts struct {
	pending  []pendingMsg // sent, no receipt yet, in counter order
	acked    uint64       // the highest counter a receipt covered
	hasAcked bool
	timer    *time.Timer // CLI-22, while pending is not empty
}

// WaitDelivered waits until the message this client sent as record n of session sid is
// delivered (a receipt covers it) or failed, and returns which (spec §6.7 [RCP-3]). It lets a
// caller that does not read Events (send, a control-socket request) tell the truth.
func (c *Client) WaitDelivered(ctx context.Context, sid SessionID, n uint64) (DeliveryState, error) {
	for {
		c.mu.Lock()
		s := c.sessions[sid]
		if s == nil {
			c.mu.Unlock()
			return "", fmt.Errorf("client: session %s: %w", sid, ErrUnknownSession)
		}
		st, changed := s.rcpt.state(n, s.state.Ended()), c.changed
		c.mu.Unlock()
		if st != "" {
			return st, nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return DeliveryRelayed, fmt.Errorf("client: no receipt for record %d yet: %w", n, ctx.Err())
		case <-c.done:
			return "", ErrClosed
		}
	}
}

// WaitAllDelivered waits for the receipts of records ns of session sid and fails unless every
// one was delivered: a message without a receipt may not have arrived (spec §6.7 [RCP-3]).
func WaitAllDelivered(ctx context.Context, c *Client, sid SessionID, ns []uint64) error {
	missing := 0
	for _, n := range ns {
		st, err := c.WaitDelivered(ctx, sid, n)
		if err != nil && !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
			return err
		}
		if st != DeliveryDelivered {
			missing++
		}
	}
	if missing > 0 {
		return fmt.Errorf("client: %d of %d message(s) were not confirmed delivered (no receipt from the peer's client): "+
			"they may not have arrived: %w", missing, len(ns), ErrUndelivered)
	}
	return nil
}

// state is the final delivery state of sent record n, or "" while it waits for its receipt.
func (r *receipts) state(n uint64, ended bool) DeliveryState {
	if r.hasAcked && n <= r.acked {
		return DeliveryDelivered
	}
	waiting := slices.ContainsFunc(r.pending, func(p pendingMsg) bool { return p.n == n })
	if waiting && !ended {
		return ""
	}
	return DeliveryFailed // refused by the relay, or its session ended first
}

// Outbox returns the messages to peer whose delivery failed, oldest first.
func (c *Client) Outbox(peer string) []Undelivered {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []Undelivered
	for _, u := range c.outbox {
		if u.Peer == peer {
			out = append(out, u)
		}
	}
	return out
}

// TakeOutbox removes and returns the messages to peer whose delivery failed, for a user
// interface that puts them back into the input to send again.
func (c *Client) TakeOutbox(peer string) []Undelivered {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []Undelivered
	c.outbox = slices.DeleteFunc(c.outbox, func(u Undelivered) bool {
		if u.Peer == peer {
			out = append(out, u)
			return true
		}
		return false
	})
	return out
}

// sentLocked records a message just sealed, waiting for its receipt.
func (c *Client) sentLocked(s *session, n uint64, text string, at time.Time) {
	s.rcpt.pending = append(s.rcpt.pending, pendingMsg{n: n, text: text, sentAt: at})
	c.history().sent(s.peer, s.id, n, text, at)
	c.armReceiptTimerLocked(s)
}

// relayedLocked reports the relay's answer to the record of message n.
func (c *Client) relayedLocked(s *session, n uint64, err error) {
	i := slices.IndexFunc(s.rcpt.pending, func(p pendingMsg) bool { return p.n == n })
	if i < 0 {
		return // a receipt came first, or the session already failed it
	}
	if err != nil {
		p := s.rcpt.pending[i]
		s.rcpt.pending = slices.Delete(s.rcpt.pending, i, i+1)
		c.undeliveredLocked(s, p)
		return
	}
	c.deliveryLocked(s, n, DeliveryRelayed)
}

func (c *Client) deliveryLocked(s *session, n uint64, st DeliveryState) {
	c.changedLocked()
	c.emit(DeliveryEvent{Session: s.id, Peer: s.peer, N: n, State: st})
	c.history().delivery(s.peer, s.id, n, st)
}

// undeliveredLocked reports p failed and keeps its text (spec §9 [CLI-21]).
func (c *Client) undeliveredLocked(s *session, p pendingMsg) {
	c.outbox = append(c.outbox, Undelivered{Session: s.id, Peer: s.peer, N: p.n, Text: p.text, SentAt: p.sentAt})
	c.deliveryLocked(s, p.n, DeliveryFailed)
}

// failPendingLocked fails every message of s that no receipt covered: the session ended.
func (c *Client) failPendingLocked(s *session) {
	if s.rcpt.timer != nil {
		s.rcpt.timer.Stop()
		s.rcpt.timer = nil
	}
	pending := s.rcpt.pending
	s.rcpt.pending = nil
	for _, p := range pending {
		c.undeliveredLocked(s, p)
	}
}

// apply takes a receipt for counter upto when this side has sent counters below sent, and
// returns the messages it delivers, in order (spec §6.7 [RCP-3]); a receipt for a counter never
// sent, or one that does not move forward, is an error and changes nothing (RCP-2).
func (r *receipts) apply(upto, sent uint64) ([]pendingMsg, error) {
	if upto >= sent {
		return nil, fmt.Errorf("a receipt for counter %d, which was never sent", upto)
	}
	if r.hasAcked && upto <= r.acked {
		return nil, fmt.Errorf("a receipt for counter %d, not above the earlier receipt for %d", upto, r.acked)
	}
	r.acked, r.hasAcked = upto, true
	i := 0
	for i < len(r.pending) && r.pending[i].n <= upto {
		i++
	}
	delivered := slices.Clone(r.pending[:i])
	r.pending = slices.Delete(r.pending, 0, i)
	return delivered, nil
}

// onReceiptLocked applies a receipt the peer sent in record rn (spec §6.7 [RCP-2], [RCP-3]).
func (c *Client) onReceiptLocked(s *session, rn, upto uint64) {
	delivered, err := s.rcpt.apply(upto, s.sess.Sent())
	if err != nil { // spec §6.7 [RCP-2]: only counters this side sent, and only forward
		c.security(SecurityEvent{Code: e2ee.BadReceipt, Rule: "RCP-2", Peer: s.peer, Session: s.id,
			Detail: fmt.Sprintf("record %d is %v", rn, err)})
		return
	}
	for _, p := range delivered {
		c.deliveryLocked(s, p.n, DeliveryDelivered) // spec §6.7 [RCP-3]
	}
	c.armReceiptTimerLocked(s)
}

// sendReceiptLocked acknowledges the peer's records up to n (spec §6.7 [RCP-1]). The reference
// client answers every message at once rather than batching.
func (c *Client) sendReceiptLocked(s *session, n uint64) {
	cn := c.cn
	if cn == nil || s.sess == nil {
		return
	}
	pt, err := wire.Receipt{Receipt: int64(n)}.MarshalJSON()
	if err != nil {
		c.log.Debug("client: receipt not encoded", "err", err)
		return
	}
	rec, err := s.sess.Seal(nil, pt)
	if err != nil { // the record limit (REC-2): the next Send ends the session
		c.log.Debug("client: receipt not sealed", "err", err)
		return
	}
	if err := cn.post("relay", encodeRelay(s.peer, s.id, rec), c.reportAsync("relay", s.peer, s.id, "")); err != nil {
		c.log.Debug("client: receipt not sent", "err", err)
	}
}

// armReceiptTimerLocked watches the oldest message without a receipt (spec §9 [CLI-22]).
func (c *Client) armReceiptTimerLocked(s *session) {
	if s.rcpt.timer != nil {
		s.rcpt.timer.Stop()
		s.rcpt.timer = nil
	}
	if len(s.rcpt.pending) == 0 || c.opts.ReceiptTimeout < 0 {
		return
	}
	wait := time.Until(s.rcpt.pending[0].sentAt.Add(c.opts.ReceiptTimeout))
	s.rcpt.timer = time.AfterFunc(max(wait, 0), func() { c.receiptsStalled(s) })
}

// receiptsStalled leaves the secured state when the oldest message has waited too long for its
// receipt and the peer is not online; while the peer is online it keeps waiting.
func (c *Client) receiptsStalled(s *session) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if s.state != SessionSecured || len(s.rcpt.pending) == 0 {
		return
	}
	if slices.Contains(c.online, s.peer) { // online: look again one timeout later
		s.rcpt.timer = time.AfterFunc(c.opts.ReceiptTimeout, func() { c.receiptsStalled(s) })
		return
	}
	c.abortLocked(s)
	c.setStateLocked(s, SessionFailed, ReasonReceiptsStalled)
	if cn := c.cn; cn != nil {
		s.terminated = true // REC-20: the peer hears of the end already
		cn.post("chat_terminate", encodeChatTerminate(s.peer, s.id), func(inbound, error) {})
	}
}

// decodeRecordPlaintext splits the plaintext of a msg record into content or receipt (spec §6.4,
// §6.7). isReceipt says which; a plaintext that is neither is REC-7's bad_content.
func decodeRecordPlaintext(pt []byte) (text string, sentAt time.Time, upto uint64, isReceipt bool, err error) {
	if r, rerr := wire.DecodeReceipt(pt); rerr == nil {
		return "", time.Time{}, uint64(r.Receipt), true, nil
	}
	text, sentAt, err = decodeContent(pt)
	return text, sentAt, 0, false, err
}
