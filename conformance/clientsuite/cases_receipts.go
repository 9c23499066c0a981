package clientsuite

import (
	"strings"

	"github.com/blindpost/blindpost/conformance/harness"
	"github.com/blindpost/blindpost/impl/e2ee/direct"
	"github.com/blindpost/blindpost/impl/wire"
)

// The receipt cases (spec §6.7) and the cases of a session whose peer is gone (REC-20, CLI-20,
// CLI-21).
func init() {
	harness.Register(
		harness.Case{ID: "client/receipts/sent", Rules: []string{"RCP-1", "REC-1"},
			Description: "the client answers the peer's messages with receipts: msg records whose plaintext is a receipt " +
				"object covering them, never above the highest counter it accepted, numbered with its other records",
			Run: receiptsSent},
		harness.Case{ID: "client/receipts/delivered", Rules: []string{"RCP-3", "DRV-20"},
			Description: "a message the client sent is reported relayed, never delivered before the peer's receipt, and " +
				"delivered once a receipt covers it",
			Run: receiptsDelivered},
		harness.Case{ID: "client/receipts/unsent-counter", Rules: []string{"RCP-2", "RCP-3"},
			Description: "a receipt for a counter the client never sent is rejected with bad_receipt and delivers " +
				"nothing; the session goes on",
			Run: receiptUnsentCounter},
		harness.Case{ID: "client/receipts/replayed", Rules: []string{"REC-3", "RCP-2"},
			Description: "a receipt the relay replays is rejected with replayed_counter, and a fresh receipt that does not " +
				"move forward with bad_receipt; the session goes on",
			Run: receiptReplayed},
		harness.Case{ID: "client/records/unknown-session-answered", Rules: []string{"REC-20", "REC-12"},
			Description: "a record for a session the client does not hold is answered with chat_terminate for that " +
				"session, once, so that the sender learns nobody holds it",
			Run: unknownSessionAnswered},
		harness.Case{ID: "client/records/text-too-long", Rules: []string{"CLI-23", "REC-1"},
			Description: "a send of 4097 characters is refused before anything is sent (no record, no counter taken); 4096 " +
				"characters go out whole",
			Run: textTooLong},
		harness.Case{ID: "client/session/relay-peer-gone", Rules: []string{"CLI-20", "CLI-21", "DRV-20"},
			Description: "the relay's chat_terminate with reason peer_offline ends the secured session (not secured any " +
				"more, with the reason), and a message no receipt covered is reported failed",
			Run: relayPeerGone},
	)
}

// Delivery matches the delivery event of the client's message n in session sid.
func Delivery(sid string, n int64, state string) func(Line) bool {
	return func(l Line) bool {
		got, _ := l.Int("n")
		return l.Event() == "delivery" && l.Str("session") == sid && got == n && l.Str("state") == state
	}
}

// sealReceipt seals, as the peer, a receipt covering the client's records up to upto.
func (c *Chat) sealReceipt(upto int64) *wire.MsgRecord {
	pt, err := wire.Receipt{Receipt: upto}.MarshalJSON()
	if err != nil {
		c.w.T.Fatalf("clientsuite: %v", err)
	}
	return c.Seal(pt)
}

func receiptsSent(t *harness.T) {
	w := Start(t)
	bob := w.NewPeer("bob")
	c := w.Initiated(bob)
	var last int64
	for _, s := range []string{"one", "two"} {
		text := w.Text(s)
		rec := c.Seal(Content(text))
		bob.Relay(c.SID, rec)
		c.ExpectDelivered(text, rec.N)
		c.AwaitReceipt(rec.N) // spec §6.7 [RCP-1]
		last = rec.N
	}
	for _, r := range c.Receipts {
		if r > last {
			t.Mismatch("RCP-1", "receipts no higher than the highest record accepted ("+itoa(int(last))+")", "a receipt for "+itoa(int(r)))
		}
	}
	c.ClientSends(w.Text("the counters go on after the receipts")) // REC-1 across receipts
	w.Sync()
	w.NoSecurityEvents("")
}

func receiptsDelivered(t *harness.T) {
	w := Start(t)
	bob := w.NewPeer("bob")
	c := w.Initiated(bob)
	n := c.ClientSends(w.Text("tell me when you have it"))
	w.Expect("DRV-20", "the relayed event of record "+itoa(int(n)), Delivery(c.ID, n, "relayed"))
	w.Sync()
	w.Never("RCP-3", "a delivered event before any receipt", Delivery(c.ID, n, "delivered"))
	bob.Relay(c.SID, c.sealReceipt(n))
	w.Expect("RCP-3", "the delivered event of record "+itoa(int(n)), Delivery(c.ID, n, "delivered"))
	w.Sync()
	w.NoSecurityEvents("")
}

func receiptUnsentCounter(t *harness.T) {
	w := Start(t)
	bob := w.NewPeer("bob")
	c := w.Initiated(bob)
	n := c.ClientSends(w.Text("only one"))
	bob.Relay(c.SID, c.sealReceipt(n+5))
	w.ExpectReject(Reject{What: "a receipt for record " + itoa(int(n+5)) + ", which the client never sent", Code: "bad_receipt",
		Rules: []string{"RCP-2"}, Session: c.ID, Accepted: func(l Line) bool { return l.Event() == "delivery" && l.Str("state") == "delivered" }})
	w.Sync()
	w.Never("RCP-3", "a delivered event for a receipt of a counter never sent", func(l Line) bool {
		return l.Event() == "delivery" && l.Str("state") == "delivered"
	})
	c.PeerSends(w.Text("the session goes on"))
}

func receiptReplayed(t *harness.T) {
	w := Start(t)
	bob := w.NewPeer("bob")
	c := w.Initiated(bob)
	n := c.ClientSends(w.Text("once"))
	good := c.sealReceipt(n)
	bob.Relay(c.SID, good)
	w.Expect("RCP-3", "the delivered event of record "+itoa(int(n)), Delivery(c.ID, n, "delivered"))
	bob.Relay(c.SID, good)
	w.ExpectReject(Reject{What: "a replayed receipt", Code: "replayed_counter", Rules: []string{"REC-3"}, Session: c.ID})
	bob.Relay(c.SID, c.sealReceipt(n))
	w.ExpectReject(Reject{What: "a second receipt for the same record", Code: "bad_receipt", Rules: []string{"RCP-2"}, Session: c.ID})
	c.PeerSends(w.Text("the session goes on"))
}

func unknownSessionAnswered(t *harness.T) {
	w := Start(t)
	bob := w.NewPeer("bob")
	c := w.Initiated(bob)
	stray := w.RandBytes(direct.SessionIDSize)
	rec := c.Seal(Content(w.Text("stray")))
	bob.Relay(stray, rec)
	w.ExpectReject(Reject{What: "a record for an unknown session", Code: "unexpected_message", Rules: []string{"REC-12", "HS-11"},
		Session: b64(stray)})
	bob.Await("REC-20", "chat_terminate for the unknown session "+b64(stray), func(m wire.Message) bool {
		ct, ok := m.(*wire.ChatTerminate)
		return ok && string(ct.Session) == string(stray)
	})
	bob.Relay(stray, rec)
	w.ExpectReject(Reject{What: "the same record again", Code: "unexpected_message", Rules: []string{"REC-12", "HS-11"},
		Session: b64(stray)})
	w.Sync()
	for _, m := range bob.Pending() {
		if ct, ok := m.(*wire.ChatTerminate); ok && string(ct.Session) == string(stray) {
			t.Mismatch("REC-20", "one chat_terminate per session id", "a second chat_terminate for "+b64(stray))
		}
	}
}

func relayPeerGone(t *harness.T) {
	w := Start(t)
	bob := w.NewPeer("bob")
	c := w.Initiated(bob)
	n := c.ClientSends(w.Text("are you there?"))
	w.Relay.Send(&wire.IncomingChatTerminate{From: bob.Name, Session: c.SID, Reason: wire.TerminateReason("peer_offline")})
	l := w.Expect("CLI-20", "session "+c.ID+" no longer secured", SessionState(c.ID, "ended", "ended_unverified", "failed"))
	if l.Str("reason") != "peer_offline" {
		t.Mismatch("CLI-20", "the reason peer_offline on the session event", l.String())
	}
	w.Expect("CLI-21", "the failed event of record "+itoa(int(n)), Delivery(c.ID, n, "failed"))
	if res := w.D.Do("send", "session", c.ID, "text", w.Text("after the end")); res.OK() {
		t.Mismatch("CLI-20", "send refused on a session whose peer is gone", res.String())
	}
}

func textTooLong(t *harness.T) {
	w := Start(t)
	bob := w.NewPeer("bob")
	c := w.Initiated(bob)
	long := strings.Repeat("x", 4097)
	if res := w.D.Do("send", "session", c.ID, "text", long); res.OK() {
		t.Mismatch("CLI-23", "send of 4097 characters refused", res.String())
	}
	w.Sync()
	if r := pendingRelay(bob, c.SID, "msg"); r != nil {
		t.Mismatch("CLI-23", "nothing sent for a refused text", "a msg record")
	}
	full := strings.Repeat("y", 4096)
	if n := c.ClientSends(full); n != 0 { // REC-1: the refused text took no counter
		t.Mismatch("CLI-23", "the next record numbered 0", "record "+itoa(int(n)))
	}
}
