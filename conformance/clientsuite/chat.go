package clientsuite

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"runtime"
	"time"

	"github.com/blindpost/blindpost/impl/e2ee"
	"github.com/blindpost/blindpost/impl/e2ee/direct"
	"github.com/blindpost/blindpost/impl/wire"
)

// Chat is one 1:1 session between the client and a virtual peer, driven step by step (spec
// §6). The peer's side runs on impl/e2ee/direct; forged steps use forge.go.
type Chat struct {
	w    *World
	Peer *Peer
	SID  []byte
	ID   string // the session id as the driver names it: base64
	// ClientInitiated says the client sent the chat_request.
	ClientInitiated bool
	// HS1 is the hs1 the initiator sent (the client's, or the peer's).
	HS1 *wire.HS1
	// Sess is the peer's confirmed session.
	Sess *direct.Session

	resp  *direct.Responder
	ini   *direct.Initiator
	nextN int64       // the counter the client's next record must carry
	last  *wire.Relay // the client's last record, as the peer received it
	// Receipts are the receipt values of the client's receipts the peer opened (spec §6.7).
	Receipts []int64
}

// randReader reads from the case's random source, so that a replayed case draws the same keys.
type randReader struct{ r *rand.Rand }

func (r randReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(r.r.Uint32())
	}
	return len(p), nil
}

func (w *World) randReader() randReader { return randReader{w.rnd} }

// ClientChats makes the client ask p for a session (driver chat) and takes the chat_request,
// which must follow a get_pubkey for p (HS-2).
func (w *World) ClientChats(p *Peer) *Chat {
	id := w.D.OK("chat", "peer", p.Name).Str("session")
	sid := unb64(id)
	if len(sid) != direct.SessionIDSize {
		w.T.Fatalf("chat answered session %q, not 16 bytes of base64", id)
	}
	m := p.Await("", "chat_request "+id, func(m wire.Message) bool {
		cr, ok := m.(*wire.ChatRequest)
		return ok && bytes.Equal(cr.Session, sid)
	})
	c := &Chat{w: w, Peer: p, SID: sid, ID: id, ClientInitiated: true}
	w.checkKeyFetched(p.Name, m, "chat_request")
	return c
}

// PeerChats makes p ask the client for a session and waits for the chat_request event.
func (w *World) PeerChats(p *Peer) *Chat {
	sid := w.RandBytes(direct.SessionIDSize)
	c := &Chat{w: w, Peer: p, SID: sid, ID: b64(sid)}
	p.ChatRequest(sid)
	w.Expect("", "the chat_request event of session "+c.ID, func(l Line) bool {
		return l.Event() == "chat_request" && l.Str("session") == c.ID && l.Str("from") == p.Name
	})
	return c
}

// checkKeyFetched checks that the client fetched user's key with get_pubkey before it sent m
// (spec §6.1 [HS-2]).
func (w *World) checkKeyFetched(user string, m wire.Message, what string) {
	fetched := false
	for _, r := range w.Relay.Log() {
		if r.Msg == m {
			break
		}
		if g, ok := r.Msg.(*wire.GetPubkey); ok && g.User == user {
			fetched = true
		}
	}
	if !fetched {
		w.T.Mismatch("HS-2", "get_pubkey "+user+" before "+what, what+" without fetching the key first")
	}
}

// Accept makes the peer accept the client's request and takes the client's hs1 (HS-4).
func (c *Chat) Accept() *wire.HS1 {
	c.Peer.ChatResponse(c.SID, true)
	c.HS1 = c.Peer.AwaitRelay("", c.SID, "hs1").Payload.(*wire.HS1)
	return c.HS1
}

// Respond answers the client's hs1 as the honest responder (spec §6.3 step 2).
func (c *Chat) Respond() {
	r, hs2, err := direct.NewResponder(direct.Config{
		SessionID: c.SID, Initiator: c.w.Me.User, Responder: c.Peer.Name, Identity: c.Peer.Key,
		PeerIdentityKey: c.w.Me.IdentityKey, Rand: c.w.randReader(),
	}, direct.HS1{Suites: c.HS1.Suites, E: c.HS1.E})
	if err != nil {
		c.fatalPeer("an hs1 the responder accepts", err)
	}
	c.resp = r
	c.Peer.Relay(c.SID, &wire.HS2{Suite: hs2.Suite, E: hs2.E, Sig: hs2.Sig, Fin: hs2.Fin})
}

// ConfirmResponder takes the client's hs3, verifies it as the responder (step 4) and waits for
// the client to report the session secured.
func (c *Chat) ConfirmResponder() {
	hs3 := c.Peer.AwaitRelay("", c.SID, "hs3").Payload.(*wire.HS3)
	sess, err := c.resp.ReadHS3(direct.HS3{Sig: hs3.Sig, Fin: hs3.Fin})
	if err != nil {
		c.fatalPeer("an hs3 that verifies", err)
	}
	c.Sess = sess
	c.w.Expect("", "session "+c.ID+" secured", SessionState(c.ID, "secured"))
}

// ClientAccepts makes the client accept the peer's request (driver accept) and takes its
// chat_response, which must accept and follow a get_pubkey for the peer (HS-2).
func (c *Chat) ClientAccepts() {
	c.w.D.OK("accept", "session", c.ID)
	m := c.Peer.Await("", "chat_response "+c.ID, func(m wire.Message) bool {
		cr, ok := m.(*wire.ChatResponse)
		return ok && bytes.Equal(cr.Session, c.SID)
	})
	if !m.(*wire.ChatResponse).Accepted {
		c.w.T.Fatalf("the client answered accept with a chat_response that declines")
	}
	c.w.checkKeyFetched(c.Peer.Name, m, "chat_response")
}

// SendHS1 sends the honest hs1 of the peer (step 1).
func (c *Chat) SendHS1() {
	ini, hs1, err := direct.NewInitiator(direct.Config{
		SessionID: c.SID, Initiator: c.Peer.Name, Responder: c.w.Me.User, Identity: c.Peer.Key,
		PeerIdentityKey: c.w.Me.IdentityKey, Rand: c.w.randReader(),
	})
	if err != nil {
		c.w.T.Fatalf("clientsuite: initiator: %v", err)
	}
	c.ini, c.HS1 = ini, &wire.HS1{Suites: hs1.Suites, E: hs1.E}
	c.Peer.Relay(c.SID, c.HS1)
}

// ConfirmInitiator takes the client's hs2, verifies it as the initiator (step 3), sends hs3 and
// waits for the client to report the session secured.
func (c *Chat) ConfirmInitiator() { c.ConfirmInitiatorWith(c.AwaitHS2()) }

// ConfirmInitiatorWith is ConfirmInitiator for the client's hs2 the case already took.
func (c *Chat) ConfirmInitiatorWith(hs2 *wire.HS2) {
	sess, hs3, err := c.ini.ReadHS2(direct.HS2{Suite: hs2.Suite, E: hs2.E, Sig: hs2.Sig, Fin: hs2.Fin})
	if err != nil {
		c.fatalPeer("an hs2 that verifies", err)
	}
	c.Sess = sess
	c.Peer.Relay(c.SID, &wire.HS3{Sig: hs3.Sig, Fin: hs3.Fin})
	c.w.Expect("", "session "+c.ID+" secured", SessionState(c.ID, "secured"))
}

// AwaitHS2 takes the client's hs2.
func (c *Chat) AwaitHS2() *wire.HS2 {
	return c.Peer.AwaitRelay("", c.SID, "hs2").Payload.(*wire.HS2)
}

// fatalPeer stops the case because the peer's reference state machine rejected what the client
// sent: the client broke the rule the rejection names.
func (c *Chat) fatalPeer(expected string, err error) {
	var e *e2ee.Error
	rule := ""
	if errors.As(err, &e) {
		rule = e.Rule
	}
	c.w.T.MismatchMsg(rule, expected, err.Error(), "the peer's reference implementation rejected what the client sent: %v", err)
	runtime.Goexit()
}

// Initiated is a session the client asked for, secured.
func (w *World) Initiated(p *Peer) *Chat {
	c := w.ClientChats(p)
	c.Accept()
	c.Respond()
	c.ConfirmResponder()
	return c
}

// Responded is a session the peer asked for, secured.
func (w *World) Responded(p *Peer) *Chat {
	c := w.PeerChats(p)
	c.ClientAccepts()
	c.SendHS1()
	c.ConfirmInitiator()
	return c
}

// Content is the plaintext of a message record: a content object (spec §6.4).
func Content(text string) []byte {
	data, err := wire.Content{Text: text, SentAt: time.Now().UnixMilli()}.MarshalJSON()
	if err != nil {
		panic(err) // a text within the schema's bounds always encodes
	}
	return data
}

// Seal seals plaintext as the peer's next msg record.
func (c *Chat) Seal(pt []byte) *wire.MsgRecord {
	rec, err := c.Sess.Seal(nil, pt)
	if err != nil {
		c.w.T.Fatalf("clientsuite: seal: %v", err)
	}
	return &wire.MsgRecord{N: int64(rec.N), Ct: rec.CT}
}

// PeerSends sends text from the peer and waits for the client to deliver it with its counter.
func (c *Chat) PeerSends(text string) {
	rec := c.Seal(Content(text))
	c.Peer.Relay(c.SID, rec)
	c.ExpectDelivered(text, rec.N)
}

// ExpectDelivered waits for the message event of text, with counter n.
func (c *Chat) ExpectDelivered(text string, n int64) {
	l := c.w.Expect("", "the message event of "+text, MessageText(text))
	if l.Str("session") != c.ID || l.Str("from") != c.Peer.Name {
		c.w.T.Errorf("message event %s: want session %s from %s", l, c.ID, c.Peer.Name)
	}
	if got, _ := l.Int("n"); got != n {
		c.w.T.Errorf("message event %s: want n %d", l, n)
	}
}

// ClientSends makes the client send text and opens the record the peer receives: its counter
// must be the one the driver answered and the next of the direction (REC-1), and its plaintext
// a content object carrying text.
func (c *Chat) ClientSends(text string) int64 {
	n, _ := c.w.D.OK("send", "session", c.ID, "text", text).Int("n")
	rel, rec, pt := c.nextMessage()
	if rec.N != n {
		c.w.T.Errorf("send answered n %d, but the record carries n %d", n, rec.N)
	}
	c.last = rel
	content, err := wire.DecodeContent(pt)
	switch {
	case err != nil:
		c.w.T.Mismatch("MSG-6", "a content object as plaintext (schemas/e2e/content.json)", err.Error())
	case content.Text != text:
		c.w.T.Mismatch("REC-8", "the text "+text, content.Text)
	}
	return rec.N
}

// nextMessage takes the client's next msg record of the session that is not a receipt, opens
// it and checks its counter (REC-1); the receipts before it are opened, counted and kept in
// c.Receipts (spec §6.7).
func (c *Chat) nextMessage() (*wire.Relay, *wire.MsgRecord, []byte) {
	for {
		rel := c.Peer.AwaitRelay("", c.SID, "msg")
		rec := rel.Payload.(*wire.MsgRecord)
		pt := c.openOwn(rec)
		if !c.takeReceipt(pt) {
			return rel, rec, pt
		}
	}
}

// openOwn opens a msg record of the client as the peer, after checking its counter.
func (c *Chat) openOwn(rec *wire.MsgRecord) []byte {
	c.checkCounter(rec.N)
	pt, err := c.Sess.Open(nil, direct.Record{Kind: direct.KindMsg, N: uint64(rec.N), CT: rec.Ct})
	if err != nil {
		c.fatalPeer("a record the peer opens", err)
	}
	return pt
}

// takeReceipt records pt when it is a receipt object and reports whether it was.
func (c *Chat) takeReceipt(pt []byte) bool {
	r, err := wire.DecodeReceipt(pt)
	if err != nil {
		return false
	}
	c.Receipts = append(c.Receipts, r.Receipt)
	return true
}

// AwaitReceipt takes the client's records of the session until a receipt that covers the
// peer's record n (spec §6.7 [RCP-1]); a message record before it fails the case.
func (c *Chat) AwaitReceipt(n int64) {
	for {
		for _, got := range c.Receipts {
			if got >= n {
				return
			}
		}
		rel := c.Peer.AwaitRelay("RCP-1", c.SID, "msg")
		if pt := c.openOwn(rel.Payload.(*wire.MsgRecord)); !c.takeReceipt(pt) {
			c.w.T.FatalMismatch("RCP-1", "a receipt covering record "+itoa(int(n)), "a message record before it")
		}
	}
}

// checkCounter checks that the client numbers its records 0, 1, 2, … (spec §6.4 [REC-1]).
func (c *Chat) checkCounter(n int64) {
	if n != c.nextN {
		c.w.T.MismatchMsg("REC-1", "record counter "+itoa(int(c.nextN)), "counter "+itoa(int(n)),
			"the client's record %d of session %s carries counter %d: its counters must run 0, 1, 2, … over the records it sends", c.nextN, c.ID, n)
	}
	c.nextN = n + 1
}

// ClientEnds makes the client end the session (driver end): the peer must receive a close record
// that opens, and only then chat_terminate (spec §6.5 [REC-9]).
func (c *Chat) ClientEnds() {
	c.w.D.OK("end", "session", c.ID)
	var m wire.Message
	for {
		m = c.Peer.Await("REC-9", "the close record of "+c.ID, func(m wire.Message) bool {
			r, isRelay := m.(*wire.Relay)
			t, isTerm := m.(*wire.ChatTerminate)
			return (isRelay && bytes.Equal(r.Session, c.SID) && (r.Payload.PayloadKind() == "close" || r.Payload.PayloadKind() == "msg")) ||
				(isTerm && bytes.Equal(t.Session, c.SID))
		})
		r, isRelay := m.(*wire.Relay)
		if !isRelay || r.Payload.PayloadKind() != "msg" {
			break
		}
		if !c.takeReceipt(c.openOwn(r.Payload.(*wire.MsgRecord))) { // receipts may come before the end (§6.7)
			c.w.T.FatalMismatch("REC-9", "the close record", "a message record the driver did not ask for")
		}
	}
	rel, ok := m.(*wire.Relay)
	if !ok {
		c.w.T.FatalMismatch("REC-9", "the close record, then chat_terminate", "chat_terminate without a close record before it")
	}
	rec := rel.Payload.(*wire.CloseRecord)
	c.checkCounter(rec.N)
	if _, err := c.Sess.Open(nil, direct.Record{Kind: direct.KindClose, N: uint64(rec.N), CT: rec.Ct}); err != nil {
		c.fatalPeer("a close record the peer opens", err)
	}
	c.Peer.Await("REC-9", "chat_terminate after the close record of "+c.ID, func(m wire.Message) bool {
		t, ok := m.(*wire.ChatTerminate)
		return ok && bytes.Equal(t.Session, c.SID)
	})
}

// PeerEnds ends the session from the peer's side, verified: the close record, then
// chat_terminate. The client must report the session ended, not ended unverified (REC-10).
func (c *Chat) PeerEnds() {
	rec, err := c.Sess.SealClose(nil)
	if err != nil {
		c.w.T.Fatalf("clientsuite: seal close: %v", err)
	}
	c.Peer.Relay(c.SID, &wire.CloseRecord{N: int64(rec.N), Ct: rec.CT})
	c.Peer.Terminate(c.SID)
	l := c.w.Expect("REC-10", "session "+c.ID+" ended", SessionState(c.ID, "ended", "ended_unverified", "failed"))
	if l.Str("state") != "ended" {
		c.w.T.Mismatch("REC-10", "session "+c.ID+" reported ended after a valid close record", l.String())
	}
	// spec §6.5 [REC-12]: the chat_terminate REC-9 sends after the close record is exempt.
	c.w.Sync()
	for _, l := range c.w.D.Untaken(IsSecurity) {
		if l.Str("session") == c.ID {
			c.w.T.MismatchMsg("REC-12", "the chat_terminate that follows a valid close record accepted silently", l.String(),
				"the client rejected the chat_terminate of %s that followed its close record", c.ID)
		}
	}
}
