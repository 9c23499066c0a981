package client_test

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/blindpost/blindpost/impl/client"
	"github.com/blindpost/blindpost/impl/client/wiretap"
	"github.com/blindpost/blindpost/impl/e2ee/direct"
	"github.com/blindpost/blindpost/impl/wire"
)

func delivery(sid client.SessionID, n uint64, st client.DeliveryState) func(client.Event) bool {
	return func(e client.Event) bool {
		d, ok := e.(client.DeliveryEvent)
		return ok && d.Session == sid && d.N == n && d.State == st
	}
}

func anyDelivered(e client.Event) bool {
	d, ok := e.(client.DeliveryEvent)
	return ok && d.State == client.DeliveryDelivered
}

// sealReceipt seals, as bob, a receipt for alice's records up to upto.
func sealReceipt(t *testing.T, bs *direct.Session, upto int64) direct.Record {
	t.Helper()
	pt, err := wire.Receipt{Receipt: upto}.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	r, err := bs.Seal(nil, pt)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestReceiptsBetweenClients: a message is relayed, then delivered once the peer's client
// accepted it; the receiver's receipt is a record of its own. Rules: RCP-1, RCP-3, DRV-20.
func TestReceiptsBetweenClients(t *testing.T) {
	srv := startServer(t)
	alice, bob := connect(t, srv, "alice"), connect(t, srv, "bob")
	sid := secure(t, alice, bob)
	n, err := alice.c.Send(ctx(t), sid, "hello bob")
	if err != nil {
		t.Fatal(err)
	}
	if st, err := alice.c.WaitDelivered(ctx(t), sid, n); err != nil || st != client.DeliveryDelivered {
		t.Fatalf("WaitDelivered: %v, %v", st, err)
	}
	alice.wait("relayed", delivery(sid, n, client.DeliveryRelayed))
	alice.wait("delivered", delivery(sid, n, client.DeliveryDelivered))
	bob.wait("message", message("hello bob"))
	// Bob's receipt took his counter 0, so his first message is record 1 (REC-1, RCP-1).
	bn, err := bob.c.Send(ctx(t), sid, "hello alice")
	if err != nil {
		t.Fatal(err)
	}
	if bn != 1 {
		t.Fatalf("bob's first message is record %d, want 1 after his receipt", bn)
	}
	bob.wait("delivered", delivery(sid, bn, client.DeliveryDelivered))
	alice.noSecurityEvents()
	bob.noSecurityEvents()
}

// TestReceiptRejections plays bob against alice: a receipt for a counter alice never sent, a
// replayed receipt and a receipt that does not move forward are rejected and deliver nothing;
// a valid one delivers. Rules: RCP-2, RCP-3, REC-3.
func TestReceiptRejections(t *testing.T) {
	m := newMITM(t)
	sid, bs := m.secure()
	n, err := m.alice.c.Send(ctx(t), sid, "one")
	if err != nil {
		t.Fatal(err)
	}
	m.alice.wait("relayed", delivery(sid, n, client.DeliveryRelayed))

	m.relay(sid, wireRecord(sealReceipt(t, bs, 5))) // spec §6.7 [RCP-2]: never sent
	m.alice.wait("receipt for counter 5", security("bad_receipt", "RCP-2"))
	if m.alice.saw(anyDelivered) {
		t.Fatal("RCP-3: a receipt for a counter never sent delivered a message")
	}

	good := sealReceipt(t, bs, int64(n))
	m.relay(sid, wireRecord(good))
	m.alice.wait("delivered", delivery(sid, n, client.DeliveryDelivered))

	m.relay(sid, wireRecord(good)) // spec §6.4 [REC-3]: a receipt is a record
	m.alice.wait("replayed receipt", security("replayed_counter", "REC-3"))

	m.relay(sid, wireRecord(sealReceipt(t, bs, int64(n)))) // fresh record, same receipt
	m.alice.wait("receipt not above the last", security("bad_receipt", "RCP-2"))

	m.relay(sid, wireRecord(seal(t, bs, "still open")))
	m.alice.wait("the session survived RCP-2", message("still open"))
}

// TestRelaySaysPeerGone: the relay's own chat_terminate with a reason ends the secured session
// with that reason, fails what no receipt covered and keeps its text. Rules: CLI-20, CLI-21.
func TestRelaySaysPeerGone(t *testing.T) {
	for _, reason := range []string{client.ReasonPeerOffline, client.ReasonPeerReplaced} {
		t.Run(reason, func(t *testing.T) {
			m := newMITM(t)
			sid, _ := m.secure()
			n, err := m.alice.c.Send(ctx(t), sid, "are you there?")
			if err != nil {
				t.Fatal(err)
			}
			m.inject(&wire.IncomingChatTerminate{From: "bob", Session: sid[:], Reason: wire.TerminateReason(reason)})
			ev := m.alice.wait("left secured", sessionState(sid, client.SessionEndedUnverified)).(client.SessionEvent)
			if ev.Reason != reason {
				t.Fatalf("CLI-20: reason %q, want %q", ev.Reason, reason)
			}
			m.alice.wait("failed", delivery(sid, n, client.DeliveryFailed))
			if err := client.WaitAllDelivered(ctx(t), m.alice.c, sid, []uint64{n}); !errors.Is(err, client.ErrUndelivered) {
				t.Fatalf("WaitAllDelivered after the peer left: %v", err)
			}
			out := m.alice.c.Outbox("bob")
			if len(out) != 1 || out[0].Text != "are you there?" || out[0].N != n {
				t.Fatalf("CLI-21: outbox %+v", out)
			}
			if _, err := m.alice.c.Send(ctx(t), sid, "again"); err == nil {
				t.Fatal("CLI-20: Send succeeded on a session the relay said is gone")
			}
			if got := m.alice.c.TakeOutbox("bob"); len(got) != 1 || len(m.alice.c.Outbox("bob")) != 0 {
				t.Fatalf("TakeOutbox: %+v, then %+v", got, m.alice.c.Outbox("bob"))
			}
		})
	}
}

// TestReceiptsStalled: a message without a receipt while the peer is not online ends the
// session with receipts_stalled and fails the message. Rules: CLI-22, CLI-21.
func TestReceiptsStalled(t *testing.T) {
	m := newMITM(t, func(o *client.Options) { o.ReceiptTimeout = 20 * time.Millisecond })
	sid, _ := m.secure()
	n, err := m.alice.c.Send(ctx(t), sid, "hello?")
	if err != nil {
		t.Fatal(err)
	}
	ev := m.alice.wait("stalled", sessionState(sid, client.SessionFailed)).(client.SessionEvent)
	if ev.Reason != client.ReasonReceiptsStalled {
		t.Fatalf("reason %q", ev.Reason)
	}
	m.alice.wait("failed", delivery(sid, n, client.DeliveryFailed))
	m.awaitTerminate(sid)
	if len(m.alice.c.Outbox("bob")) != 1 {
		t.Fatal("CLI-21: the undelivered message is not kept")
	}
}

// TestUnknownSessionAnswered: a record for a session alice does not hold is rejected and
// answered with chat_terminate, once per session id. Rules: REC-12, REC-20.
func TestUnknownSessionAnswered(t *testing.T) {
	m := newMITM(t)
	_, bs := m.secure()
	var stray, other client.SessionID
	stray[0], other[0] = 7, 8
	rec := wireRecord(seal(t, bs, "for nobody"))
	m.relay(stray, rec)
	m.alice.wait("REC-12", security("unexpected_message", "REC-12"))
	m.awaitTerminate(stray)
	m.relay(stray, rec)
	m.relay(other, rec)
	m.awaitTerminate(other) // alice handles records in order: the second stray one came first
	count := 0
	for _, msg := range m.tp.Sent(t, wiretap.ToRelay) {
		if ct, ok := msg.Msg.(*wire.ChatTerminate); ok && bytes.Equal(ct.Session, stray[:]) {
			count++
		}
	}
	if count != 1 {
		t.Fatalf("REC-20: %d chat_terminate for the stray session, want 1", count)
	}
}

// TestReceiptsWaitWhilePeerOnline: without a receipt but with the peer in the online list, the
// session stays secured (a slow peer is not a gone one); the receipt then delivers. Rule: CLI-22.
func TestReceiptsWaitWhilePeerOnline(t *testing.T) {
	m := newMITM(t, func(o *client.Options) {
		o.ReceiptTimeout = 10 * time.Millisecond
		o.PollUsers = time.Hour // the list is read once, at connection: bob is online
	})
	sid, bs := m.secure()
	if _, _, err := m.alice.c.ListUsers(ctx(t)); err != nil {
		t.Fatal(err)
	}
	n, err := m.alice.c.Send(ctx(t), sid, "slow reader")
	if err != nil {
		t.Fatal(err)
	}
	m.alice.wait("relayed", delivery(sid, n, client.DeliveryRelayed))
	// Several timeouts pass while alice waits for the receipt; none may end the session.
	waitCtx, cancel := context.WithTimeout(ctx(t), 100*time.Millisecond)
	defer cancel()
	if st, _ := m.alice.c.WaitDelivered(waitCtx, sid, n); st != client.DeliveryRelayed {
		t.Fatalf("without a receipt the message is %q", st)
	}
	if info, _ := m.alice.c.Session(sid); info.State != client.SessionSecured {
		t.Fatalf("the session is %s while bob is online", info.State)
	}
	m.relay(sid, wireRecord(sealReceipt(t, bs, int64(n))))
	m.alice.wait("delivered", delivery(sid, n, client.DeliveryDelivered))
}
