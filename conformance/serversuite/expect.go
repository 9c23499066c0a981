package serversuite

import (
	"fmt"
	"strings"
	"time"

	"github.com/gorilla/websocket"

	"github.com/blindpost/blindpost/conformance/harness"
	"github.com/blindpost/blindpost/impl/wire"
)

// Next returns the next frame, or stops the case with "timed out waiting for what on the
// connection" after the configured wait.
func (c *Client) Next(what string) Frame {
	f, ok := c.NextWithin(what, c.env.cfg.Wait)
	if !ok {
		c.t.Fatalf("timed out waiting for %s on %s (%s)", what, c.label, c.env.cfg.Wait)
	}
	return f
}

// NextWithin returns the next frame within d; false when none came (or the connection had
// ended and every frame was taken).
func (c *Client) NextWithin(what string, d time.Duration) (Frame, bool) {
	c.t.Waiting(what + " on " + c.label)
	defer c.t.Waiting("")
	return c.inbox.next(c.t.Context(), d)
}

// Expect reads the next frame, which must be a message of type typ; otherwise the case stops
// with a failure of rule.
func (c *Client) Expect(rule, typ string) Frame {
	f := c.Next(typ)
	if f.Kind != KindText || f.Type != typ {
		c.t.FatalMismatch(rule, typ+" on "+c.label, f.Short())
	}
	return f
}

// Response returns the next response (hello_ack, register_ack, pubkey, user_list, ack or
// error); the forwarded messages and announcements that come before it stay in the mailbox, in
// order, for the case to read next. A close or the end of the connection is returned as it is.
func (c *Client) Response(what string) Frame {
	var skipped []Frame
	defer func() { c.inbox.unshift(skipped) }()
	for {
		f, ok := c.NextWithin(what, c.env.cfg.Wait)
		if !ok {
			c.inbox.unshift(skipped)
			skipped = nil
			c.t.Fatalf("timed out waiting for %s on %s (%s)", what, c.label, c.env.cfg.Wait)
		}
		if f.Kind != KindText || f.IsResponse() {
			return f
		}
		skipped = append(skipped, f)
	}
}

// ExpectResponse reads the next response, which must be of type typ and carry id (MSG-5).
func (c *Client) ExpectResponse(rule, id, typ string) Frame {
	f := c.Response(typ)
	if f.Kind != KindText || f.Type != typ {
		c.t.FatalMismatch(rule, describe(typ, id), f.Short())
	}
	c.checkID(id, f)
	return f
}

// ExpectAck reads the next response, which must be an ack for a request of type forType.
func (c *Client) ExpectAck(rule, id, forType string) Frame {
	f := c.ExpectResponse(rule, id, "ack")
	if got := f.Str("for"); got != forType {
		c.t.Mismatch("SRV-13", "ack for "+forType, f.Short())
	}
	return f
}

// ExpectError reads the next response, which must be an error with code answering a request of
// type forType (checked when the error names one) and id.
func (c *Client) ExpectError(rule, id, code, forType string) Frame {
	f := c.Response("error " + code)
	if f.Kind != KindText || f.Type != "error" || f.Str("code") != code {
		c.t.FatalMismatch(rule, describe("error "+code, id), f.Short())
	}
	c.checkID(id, f)
	if forType != "" && f.Has("for") && f.Str("for") != forType {
		c.t.MismatchMsg("ERR-1", "error.for "+forType, f.Short(), "the error names another request type")
	}
	return f
}

func describe(what, id string) string {
	if id == "" {
		return what + " without id"
	}
	return fmt.Sprintf("%s with id %q", what, id)
}

// checkRequestID applies MSG-5 to the bad_message answering a malformed request: it carries
// the id, and names the type in for, exactly when the top-level object holds one schema-valid
// id (type) member. A text that starts as an object but is not exactly one JSON value is not
// judged: the spec does not say whether such a text has a top-level object.
func (c *Client) checkRequestID(data []byte, f Frame) {
	id, typ, judged := RequestMeta(data)
	if !judged {
		return
	}
	c.checkID(id, f)
	if got := f.Str("for"); got != typ {
		want := "no for"
		if typ != "" {
			want = "for " + typ
		}
		c.t.MismatchMsg("MSG-5", want, f.Short(), "error.for does not follow the request's one schema-valid type member")
	}
}

// checkID applies MSG-5 to a response: the request's id when it had one, none otherwise.
func (c *Client) checkID(id string, f Frame) {
	got, has := f.Msg["id"]
	switch {
	case id != "" && got != id:
		c.t.MismatchMsg("MSG-5", fmt.Sprintf("id %q echoed", id), f.Short(), "the response does not echo the request's id")
	case id == "" && has:
		c.t.MismatchMsg("MSG-5", "no id", f.Short(), "the response to a request without id carries one")
	}
}

// ExpectClose reads frames until the connection ends, which must be with a close frame of code;
// messages before it are logged.
func (c *Client) ExpectClose(rule string, code int) Frame {
	for n := 0; ; n++ {
		f := c.Next(fmt.Sprintf("close %d", code))
		switch f.Kind {
		case KindClose:
			if f.Code != code {
				c.t.Mismatch(rule, fmt.Sprintf("close %d on %s", code, c.label), f.Short())
			}
			return f
		case KindDropped:
			c.t.Mismatch(rule, fmt.Sprintf("close %d on %s", code, c.label), f.Short())
			return f
		}
		if n < 5 {
			c.t.Logf("%s: %s before the close", c.label, f.Short())
		}
	}
}

// ExpectErrorThenClose checks the refusal of spec §5.2 and ERR-2: the next frame is an error
// with code (and id), and then the connection closes with closeCode.
func (c *Client) ExpectErrorThenClose(rule, id, code string, closeCode int) {
	c.expectErrorThenClose(rule, code, closeCode, func(f Frame) { c.checkID(id, f) })
}

// ExpectRefusal is ExpectErrorThenClose for a malformed request: the id check is
// checkRequestID's.
func (c *Client) ExpectRefusal(rule string, data []byte, code string, closeCode int) {
	c.expectErrorThenClose(rule, code, closeCode, func(f Frame) { c.checkRequestID(data, f) })
}

func (c *Client) expectErrorThenClose(rule, code string, closeCode int, checkID func(Frame)) {
	f := c.Next("error " + code)
	switch {
	case f.Kind == KindClose || f.Kind == KindDropped:
		c.t.MismatchMsg("ERR-2", "error "+code+" before the close", f.Short(), "the server closed without sending the error that explains why")
		if f.Kind != KindClose || f.Code != closeCode {
			c.t.Mismatch(rule, fmt.Sprintf("close %d", closeCode), f.Short())
		}
		return
	case f.Type != "error" || f.Str("code") != code:
		c.t.FatalMismatch(rule, fmt.Sprintf("error %s, then close %d", code, closeCode), f.Short())
	}
	checkID(f)
	// The close answers the message; a server that kept the connection open until the
	// registration deadline closed it has not refused anything.
	if cl := c.ExpectClose(rule, closeCode); strings.Contains(strings.ToLower(cl.Text), "registration timeout") {
		c.t.Mismatch(rule, fmt.Sprintf("close %d in answer to the message", closeCode), cl.Short()+" (only at the registration deadline)")
	}
}

// Alive checks that the connection still serves requests: list_users gets its user_list.
func (c *Client) Alive(rule string) {
	id := c.ID()
	c.Send(&wire.ListUsers{ID: id})
	f := c.Response("user_list answering " + id)
	if f.Kind != KindText || f.Type != "user_list" || f.Str("id") != id {
		c.t.FatalMismatch(rule, fmt.Sprintf("the connection %s stays open and answers list_users %q", c.label, id), f.Short())
	}
}

// PingPong sends a WebSocket ping and expects, within Wait, a pong that carries its data back
// (WS-11). Pongs with other data (answers to earlier pings) are passed over.
func (c *Client) PingPong(rule string) {
	c.AwaitPong(rule, c.SendPing())
}

// SendPing sends a WebSocket ping and returns its data.
func (c *Client) SendPing() string {
	data := fmt.Sprintf("conform ping %d", c.nextID.Add(1))
	if err := c.ws.WriteControl(websocket.PingMessage, []byte(data), time.Now().Add(c.env.cfg.Wait)); err != nil {
		c.t.Fatalf("ping on %s: %v", c.label, err)
	}
	c.chargeControl()
	c.t.Transcript().Add(c.label, harness.Out, "ping", []byte(data))
	return data
}

// AwaitPong expects, within Wait, a pong that carries data, and returns how many text messages
// the client had read before it (WS-11). Pongs with other data are passed over.
func (c *Client) AwaitPong(rule, data string) int64 {
	timer := time.NewTimer(c.env.cfg.Wait)
	defer timer.Stop()
	var others []string
	for {
		select {
		case got := <-c.pongs:
			if got.data == data {
				return got.texts
			}
			others = append(others, fmt.Sprintf("%q", got.data))
		case <-timer.C:
			actual := "no pong"
			if len(others) > 0 {
				actual = "only pongs carrying " + strings.Join(others, ", ")
			}
			c.t.FatalMismatch(rule, fmt.Sprintf("a pong carrying %q on %s within %s", data, c.label, c.env.cfg.Wait), actual)
		case <-c.t.Context().Done():
			return 0
		}
	}
}

// Quiet checks that nothing arrived on the connection that the case did not expect: it sends
// list_users and requires its user_list to be the very next frame.
func (c *Client) Quiet(rule, why string) {
	id := c.ID()
	c.Send(&wire.ListUsers{ID: id})
	for {
		f := c.Next("user_list answering " + id)
		if f.Type == "user_list" && f.Str("id") == id {
			return
		}
		c.t.MismatchMsg(rule, "nothing more on "+c.label, f.Short(), "%s", why)
		if f.Kind != KindText {
			c.t.Fatalf("the connection %s ended", c.label)
		}
	}
}

// Session returns a new 16-byte session id from the case's seeded source.
func Session(t *harness.T) []byte { return Random(t, 16) }

// Probe is the liveness probe of the hostile cases: a registered pair that must keep relaying
// to each other within the wait, before and after the hostile input.
type Probe struct {
	a, b *Client
	sid  []byte
	n    int64
}

// NewProbe registers the probe pair of the case, with a chat between them (SES-2).
func NewProbe(t *harness.T) *Probe {
	a, b := Register(t, "probe-a"), Register(t, "probe-b")
	return &Probe{a: a, b: b, sid: Chat(t, a, b)}
}

// Chat has a ask b for a chat that b accepts (spec §5.5 [SES-1]) and returns its session id:
// from then on relays between a and b on that session are forwarded (SES-2).
func Chat(t *harness.T, a, b *Client) []byte {
	sid := Session(t)
	id := a.ID()
	a.Send(&wire.ChatRequest{ID: id, To: b.Name, Session: sid})
	a.ExpectAck("SES-1", id, "chat_request")
	b.Expect("SES-1", "chat_request")
	id = b.ID()
	b.Send(&wire.ChatResponse{ID: id, To: a.Name, Session: sid, Accepted: true})
	b.ExpectAck("SES-1", id, "chat_response")
	a.Expect("SES-1", "chat_response")
	return sid
}

// Check relays one message from the first to the second member of the pair, which must arrive
// (and be acked) within the wait; otherwise the case stops with a failure of ERR-3.
func (p *Probe) Check(when string) {
	t := p.a.t
	id := p.a.ID()
	p.n++
	p.a.Send(&wire.Relay{ID: id, To: p.b.Name, Session: p.sid, Payload: msgPayload(p.a.t, p.n, 32)})
	deadline := p.a.env.cfg.Wait
	for _, step := range []struct {
		c    *Client
		want string
	}{{p.b, "relay"}, {p.a, "ack"}} {
		f, ok := step.c.NextWithin(step.want, deadline)
		if !ok || f.Type != step.want {
			actual := "nothing within " + deadline.String()
			if ok {
				actual = f.Short()
			}
			t.FatalMismatch("ERR-3", fmt.Sprintf("liveness probe %s: %s on %s", when, step.want, step.c.label), actual)
		}
	}
}
