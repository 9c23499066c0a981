package serversuite

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"github.com/blindpost/blindpost/conformance/harness"
	"github.com/blindpost/blindpost/conformance/hostile"
	"github.com/blindpost/blindpost/impl/wire"
)

func init() {
	add(harness.Case{ID: "tls/version", Rules: []string{"TLS-1"},
		Description: "the server negotiates TLS 1.3 and refuses a client that offers at most TLS 1.2",
		Run:         tlsVersion})
	add(harness.Case{ID: "websocket/subprotocol", Rules: []string{"WS-1"},
		Description: "the server selects blindpost.v1 when it is offered among others, and refuses with HTTP 400 an upgrade that does not offer it",
		Run:         subprotocol})
	add(harness.Case{ID: "websocket/origin", Rules: []string{"WS-2"},
		Description: "an upgrade with an Origin header that no operator allowed is refused with HTTP 403",
		Run:         origin})
	add(harness.Case{ID: "websocket/fragmented", Rules: []string{"WS-3"},
		Description: "a text message sent in many WebSocket fragments is one message, and is relayed",
		Run:         fragmented})
	add(harness.Case{ID: "limits/binary-1003", Rules: []string{"WS-3", "ERR-2", "WS-10"},
		Description: "a binary message, before or after registration, gets an error and close 1003; other clients are still served",
		Run:         binary1003})
	add(harness.Case{ID: "limits/invalid-utf8-1007", Rules: []string{"WS-4", "ENC-9", "ERR-2", "WS-10"},
		Description: "text messages that are not valid UTF-8 (stray continuation, 0xff, overlong, encoded surrogate, truncated, above U+10FFFF) close with 1007, after at most an error bad_message without id",
		Run:         invalidUTF8})
	add(harness.Case{ID: "limits/max-message", Rules: []string{"WS-5", "WS-10"},
		Description: "a message of exactly max_message bytes is accepted, one byte more closes the connection with 1009, registered or not",
		Run:         maxMessage})
	add(harness.Case{ID: "limits/rate-limited", Rules: []string{"LIM-3", "LIM-4", "ERR-1"},
		Description: "relays sent faster than the announced burst and rate get rate_limited beyond the bucket and are not forwarded; the accepted ones arrive in order; fewer rate_limited errors than LIM-4 guarantees do not close the connection",
		Run:         rateLimited})
	add(harness.Case{ID: "limits/flood-4003", Rules: []string{"LIM-4", "LIM-3", "ERR-2", "WS-10"}, Exclusive: true,
		Description: "a connection that keeps sending over its rate gets rate_limited errors, then close 4003; other clients are still served",
		Run:         flood})
	add(harness.Case{ID: "limits/slow-reader-4002", Rules: []string{"LIM-1", "LIM-2", "LIM-5", "WS-10"}, Exclusive: true,
		Description: "a recipient that stops reading does not delay relays between others; when its queue overflows the sender gets user_offline and the reader is closed with 4002",
		Run:         slowReader})
	add(harness.Case{ID: "keepalive/pong-after-queue", Rules: []string{"WS-11"},
		Description: "a client that stops reading, has relays queued for it and then pings finds, when it reads again, every relay and then the pong carrying the ping's data, and stays connected",
		Run:         pongAfterQueue})
	add(harness.Case{ID: "keepalive/ping-and-timeout", Rules: []string{"WS-7", "WS-11"},
		Description: "the server announces its ping interval and pong timeout, pings within that interval, closes a client that answers nothing within the pong timeout, keeps a client that answers, and answers its ping with a pong that carries the ping's data",
		Run:         keepalive})
}

func tlsVersion(t *harness.T) {
	env := envOf(t)
	// Both handshakes go to one URL, the case's first.
	tg := env.next(t)
	dial := func(cfg *tls.Config) (*tls.Conn, error) {
		d := &net.Dialer{Timeout: env.cfg.Wait}
		return tls.DialWithDialer(d, "tcp", tg.hostPort(), cfg)
	}
	old := tg.tls.Clone()
	old.MinVersion, old.MaxVersion = tls.VersionTLS10, tls.VersionTLS12
	if conn, err := dial(old); err == nil {
		v := conn.ConnectionState().Version
		conn.Close()
		t.Mismatch("TLS-1", "the handshake refused when the client offers at most TLS 1.2", "negotiated "+tls.VersionName(v))
	} else {
		t.Logf("TLS 1.2 refused: %v", err)
	}
	conn, err := dial(tg.tls.Clone())
	if err != nil {
		t.Fatalf("TLS 1.3 handshake failed: %v", err)
	}
	defer conn.Close()
	if v := conn.ConnectionState().Version; v < tls.VersionTLS13 {
		t.Mismatch("TLS-1", "TLS 1.3", tls.VersionName(v))
	}
}

func subprotocol(t *harness.T) {
	c, resp, err := DialWith(t, "offers-two", DialOptions{Subprotocols: []string{"chat", wire.Subprotocol}})
	if err != nil {
		t.Fatalf("the upgrade offering chat and %s failed: %v%s", wire.Subprotocol, err, statusText(resp))
	}
	if got := c.ws.Subprotocol(); got != wire.Subprotocol {
		t.Mismatch("WS-1", "subprotocol "+wire.Subprotocol+" selected", fmt.Sprintf("%q", got))
	}
	for _, offer := range [][]string{{}, {"chat"}, {"blindpost.v2"}} {
		c, resp, err := DialWith(t, "offers-other", DialOptions{Subprotocols: offer})
		switch {
		case err == nil:
			t.Mismatch("WS-1", fmt.Sprintf("HTTP 400 for an upgrade offering %q", offer), "the upgrade succeeded with subprotocol "+fmt.Sprintf("%q", c.ws.Subprotocol()))
		case resp == nil:
			t.Mismatch("WS-1", fmt.Sprintf("HTTP 400 for an upgrade offering %q", offer), err.Error())
		case resp.StatusCode != http.StatusBadRequest:
			t.Mismatch("WS-1", fmt.Sprintf("HTTP 400 for an upgrade offering %q", offer), fmt.Sprintf("HTTP %d", resp.StatusCode))
		}
	}
}

func origin(t *harness.T) {
	h := http.Header{"Origin": {"https://attacker.example"}}
	c, resp, err := DialWith(t, "browser", DialOptions{Header: h})
	switch {
	case err == nil:
		t.Mismatch("WS-2", "HTTP 403 for Origin https://attacker.example", "the upgrade succeeded")
		c.Close()
	case resp == nil || resp.StatusCode != http.StatusForbidden:
		t.Mismatch("WS-2", "HTTP 403 for Origin https://attacker.example", err.Error()+statusText(resp))
	}
}

func fragmented(t *harness.T) {
	alice := RegisterWith(t, "alice", DialOptions{WriteBuffer: 256})
	bob := Register(t, "bob")
	sid := Chat(t, alice, bob)
	id := alice.ID()
	// Several fragments of the 256-byte write buffer, within the announced max_message for the
	// relay and its forwarded form (300 bytes cover the envelope and the names).
	p := msgPayload(t, 1, min(3000, int(alice.Limits.MaxMessage-300)*3/4))
	alice.Send(&wire.Relay{ID: id, To: bob.Name, Session: sid, Payload: p})
	f := bob.Expect("WS-3", "relay")
	want, _ := p.MarshalJSON()
	if !SameJSON(rawMember(f, "payload"), want) {
		t.Mismatch("WS-3", "the fragmented relay's payload", f.Short())
	}
	alice.ExpectAck("WS-3", id, "relay")
}

// closeWithError expects the error that explains a close (ERR-2), then close with code. The
// error answers a message that was not read as JSON: bad_message, without id or for (WS-3).
func closeWithError(c *Client, rule string, code int) {
	f := c.Next(fmt.Sprintf("an error, then close %d", code))
	if f.Kind == KindText && f.Type == "error" {
		closeWithErrorAfter(c, rule, code, f)
		return
	}
	c.t.MismatchMsg("ERR-2", fmt.Sprintf("an error before close %d", code), f.Short(), "the server closed %s without the error that explains why", c.label)
	if f.Kind != KindClose || f.Code != code {
		c.t.Mismatch(rule, fmt.Sprintf("close %d", code), f.Short())
	}
}

// closeMayExplain expects close with code, after at most an error bad_message without id or
// for: WS-4 lets the close code alone explain invalid UTF-8 (ERR-2).
func closeMayExplain(c *Client, rule string, code int) {
	f := c.Next(fmt.Sprintf("close %d, or an error then close %d", code, code))
	if f.Kind == KindText && f.Type == "error" {
		closeWithErrorAfter(c, rule, code, f)
		return
	}
	if f.Kind != KindClose || f.Code != code {
		c.t.Mismatch(rule, fmt.Sprintf("close %d", code), f.Short())
	}
}

func closeWithErrorAfter(c *Client, rule string, code int, f Frame) {
	c.t.Logf("%s: error %s: %s", c.label, f.Str("code"), f.Str("message"))
	if f.Str("code") != "bad_message" || f.Has("id") || f.Has("for") {
		c.t.Mismatch(rule, fmt.Sprintf("error bad_message without id and for before close %d", code), f.Short())
	}
	c.ExpectClose(rule, code)
}

func binary1003(t *harness.T) {
	probe := NewProbe(t)
	probe.Check("before the binary messages")
	reg := Register(t, "binary")
	reg.SendBinary([]byte(`{"type":"list_users"}`))
	closeWithError(reg, "WS-3", websocket.CloseUnsupportedData)
	early := Dial(t, "binary-early")
	early.SendBinary([]byte{0x00, 0xff, 0x10})
	closeWithError(early, "WS-3", websocket.CloseUnsupportedData)
	probe.Check("after the binary messages")
}

func invalidUTF8(t *harness.T) {
	probe := NewProbe(t)
	probe.Check("before the invalid UTF-8")
	frames := hostile.InvalidUTF8([]byte(`{"type":"list_users","id":"u8"}`))
	for i, f := range frames {
		var c *Client
		if i == 0 {
			c = Dial(t, "utf8-early")
		} else {
			c = Register(t, "utf8")
		}
		t.Logf("%s: %s", c.label, f.Name)
		c.SendRaw(f.Data)
		closeMayExplain(c, "WS-4", websocket.CloseInvalidFramePayloadData)
	}
	probe.Check("after the invalid UTF-8")
}

func maxMessage(t *harness.T) {
	c := Register(t, "alice")
	limit := int(c.Limits.MaxMessage)
	exact := padTo([]byte(`{"type":"list_users","id":"max"}`), limit)
	c.SendRaw(exact)
	f := c.Response("the answer to a message of exactly max_message bytes")
	if f.Type != "user_list" || f.Str("id") != "max" {
		t.Mismatch("WS-5", fmt.Sprintf("user_list for a message of exactly max_message (%d) bytes", limit), f.Short())
	}
	c.SendRaw(padTo([]byte(`{"type":"list_users","id":"over"}`), limit+1))
	c.ExpectClose("WS-5", websocket.CloseMessageTooBig)
	early := Dial(t, "early")
	early.SendRaw(padTo([]byte(`{"type":"hello","protocol":"blindpost/1","user":"a"}`), limit+1))
	early.ExpectClose("WS-5", websocket.CloseMessageTooBig)
}

// padTo pads a JSON object with spaces before its closing brace to n bytes.
func padTo(obj []byte, n int) []byte {
	out := append([]byte(nil), obj[:len(obj)-1]...)
	out = append(out, bytes.Repeat([]byte(" "), max(n-len(obj), 0))...)
	return append(out, '}')
}

func rateLimited(t *harness.T) {
	alice, bob := Register(t, "alice"), Register(t, "bob")
	burst, rateN := int(alice.Limits.Burst), float64(alice.Limits.Rate)
	// spec §5.8 [LIM-4]: fewer than Lim4Floor rate_limited errors within 10 s never close. hello,
	// register and chat_request took three tokens, so at most Lim4Floor-1 relays of these are
	// over the bucket.
	n := burst + Lim4Floor - 4
	sid := Chat(t, alice, bob)
	// Encoded before the clock starts: the bucket refills while they are sent, so the faster
	// they go, the more of them the relay must refuse.
	frames := make([][]byte, n)
	for i := range n {
		frames[i] = enc(&wire.Relay{ID: fmt.Sprintf("x%d", i), To: bob.Name, Session: sid, Payload: msgPayload(t, int64(i), 16)})
	}
	start := time.Now()
	for i, data := range frames {
		if err := alice.SendNow(data); err != nil {
			t.Fatalf("sending relay %d: %v", i, err)
		}
	}
	elapsed := time.Since(start)
	var accepted []int
	limited := 0
	for i := range n {
		f := alice.Response(fmt.Sprintf("the answer to relay x%d", i))
		switch {
		case f.Type == "ack" && f.Str("id") == fmt.Sprintf("x%d", i):
			accepted = append(accepted, i)
		case f.Type == "error" && f.Str("code") == "rate_limited" && f.Str("id") == fmt.Sprintf("x%d", i):
			limited++
			if f.Str("for") != "relay" {
				t.Mismatch("LIM-3", fmt.Sprintf("rate_limited for relay x%d with for \"relay\" (MSG-5's readable id and type)", i), f.Short())
			}
		case f.Kind == KindClose && f.Code == 4003:
			t.FatalMismatch("LIM-4", fmt.Sprintf("no close 4003 after %d rate_limited errors, fewer than %d", limited, Lim4Floor), f.Short())
		default:
			t.FatalMismatch("LIM-3", fmt.Sprintf("ack or rate_limited for relay x%d", i), f.Short())
		}
	}
	allowed := float64(burst) + rateN*(elapsed+time.Since(start)).Seconds() + 1
	t.Logf("%d relays in %s: %d accepted, %d rate_limited (burst %d, rate %.0f/s)", n, elapsed.Round(time.Millisecond), len(accepted), limited, burst, rateN)
	if float64(len(accepted)) > allowed {
		t.Mismatch("LIM-3", fmt.Sprintf("at most %.0f relays accepted (the burst plus the rate over the time taken)", allowed), fmt.Sprintf("%d accepted", len(accepted)))
	}
	// The relays the bucket cannot have covered, however the refill fell, must be refused. On a
	// machine so slow that the refill covered them all, nothing is owed (the bound above still
	// holds).
	if owed := float64(n) - allowed; owed >= 1 && float64(limited) < owed {
		t.Mismatch("LIM-3", fmt.Sprintf("rate_limited for at least %.0f of the relays beyond a burst of %d", owed, burst), fmt.Sprintf("%d rate_limited of %d sent in %s", limited, n, elapsed.Round(time.Millisecond)))
	}
	for _, i := range accepted {
		f := bob.Expect("LIM-3", "relay")
		if got := fmt.Sprint(nested(f, "payload", "n")); got != fmt.Sprint(i) {
			t.FatalMismatch("LIM-3", fmt.Sprintf("relay %d, the next accepted one", i), f.Short())
		}
	}
	bob.Quiet("LIM-3", "a relay answered rate_limited was forwarded")
	// The server's bucket is empty: pace from an empty one too, then the connection must be open.
	alice.emptyPace()
	alice.Alive("LIM-4")
}

// Lim4Floor is the number of rate_limited errors within 10 seconds below which the server must
// not close a connection with 4003 (spec §5.8 [LIM-4]).
const Lim4Floor = 10

func flood(t *harness.T) {
	probe := NewProbe(t)
	probe.Check("before the flood")
	c := Register(t, "flooder")
	frame := enc(&wire.ListUsers{})
	max := envOf(t).cfg.FloodMax
	sent := 0
	for ; sent < max && !c.Ended(); sent++ {
		if err := c.SendNow(frame); err != nil {
			break
		}
	}
	t.Logf("sent %d messages at once", sent)
	limited, last := 0, Frame{}
	for {
		f := c.Next("close 4003 after the flood")
		if f.Kind != KindText {
			if f.Kind != KindClose || f.Code != 4003 {
				t.Mismatch("LIM-4", "close 4003 for a connection that keeps exceeding its rate", f.Short())
			}
			if last.Type != "error" || last.Str("code") != "rate_limited" {
				t.MismatchMsg("ERR-2", "error rate_limited just before close 4003", last.Short(), "the close is not explained")
			}
			break
		}
		if f.Type == "error" && f.Str("code") == "rate_limited" {
			limited++
		}
		last = f
	}
	t.Logf("%d rate_limited errors before the close", limited)
	if limited == 0 {
		t.Mismatch("LIM-3", "rate_limited errors for the messages over the rate", "none")
	}
	probe.Check("after the flood")
}

// slowReader fills the queue of a client that stops reading with large relays from several
// senders, while a probe pair keeps relaying (LIM-1), until a sender is told user_offline
// (LIM-2); the slow client then reads again and must find close 4002 at the end. A sender may
// hear rate_limited meanwhile, once it holds its share of the queue (SES-5).
func slowReader(t *harness.T) {
	env := envOf(t)
	probe := NewProbe(t)
	probe.Check("before the slow reader")
	slow := Register(t, "slow")
	if slow.Limits.MaxMessage < 16384 {
		// Small relays at a low rate would take minutes to fill the kernel's buffers.
		slow.shrinkReadBuffer(4096)
	}
	// Enough senders to send about 200 relays a second within the announced rate, each in a chat
	// that slow accepted (SES-2).
	senders := make([]*Client, max(4, min(32, 250/int(slow.Limits.Rate))))
	sids := make([][]byte, len(senders))
	for i := range senders {
		senders[i] = Register(t, fmt.Sprintf("sender%d", i))
		sids[i] = Chat(t, senders[i], slow)
	}
	slow.Pause()
	keepAlive := slow.pingEvery(env.cfg.PongTimeout / 3) // it reads nothing, but it is not silent (WS-7)
	defer keepAlive()
	ctSize := min(32766, int(senders[0].Limits.MaxMessage-400)*3/4)
	ctx, stop := context.WithCancel(t.Context())
	defer stop()
	probeErr := make(chan error, 1)
	go func() { probeErr <- probeLoop(ctx, probe, env.cfg.Wait) }()

	var sent atomic.Int64
	var overflow atomic.Bool
	failures := make(chan string, len(senders))
	var wg sync.WaitGroup
	for i, s := range senders {
		wg.Go(func() {
			sid := sids[i]
			for ctx.Err() == nil && !overflow.Load() && sent.Load() < int64(env.cfg.FloodMax) {
				id := s.ID()
				if s.pace.Wait(ctx) != nil {
					return
				}
				if err := s.SendNow(enc(&wire.Relay{ID: id, To: slow.Name, Session: sid, Payload: &wire.MsgRecord{N: sent.Add(1), Ct: Random(t, ctSize)}})); err != nil {
					failures <- fmt.Sprintf("%s: write: %v", s.label, err)
					return
				}
				f, ok := s.NextWithin("the answer to "+id, env.cfg.Wait)
				for ok && f.Type == "chat_terminate" {
					// SES-3: slow was closed for the overflow, maybe before this answer.
					f, ok = s.NextWithin("the answer to "+id, env.cfg.Wait)
				}
				switch {
				case !ok:
					failures <- fmt.Sprintf("%s: no answer to %s within %s: the sender was delayed by the slow reader", s.label, id, env.cfg.Wait)
					return
				case f.Type == "error" && f.Str("code") == "user_offline":
					overflow.Store(true)
				case f.Type == "error" && f.Str("code") == "rate_limited":
					// SES-5: this sender holds its share of slow's queue; the others fill the rest.
				case f.Type != "ack":
					failures <- fmt.Sprintf("%s: %s answered %s", s.label, id, f.Short())
					return
				}
			}
		})
	}
	wg.Wait()
	stop()
	close(failures)
	for msg := range failures {
		t.Mismatch("LIM-1", "ack for every relay until the queue overflows, then user_offline", msg)
	}
	if err := <-probeErr; err != nil {
		t.Mismatch("LIM-1", "relays between other clients delivered within "+env.cfg.Wait.String()+" while a reader is slow", err.Error())
	}
	if !overflow.Load() {
		t.FatalMismatch("LIM-2", "user_offline once the slow reader's bounded queue is full",
			fmt.Sprintf("%d relays of %d bytes accepted without overflow", sent.Load(), ctSize))
	}
	t.Logf("the queue overflowed after %d relays of %d bytes", sent.Load(), ctSize)
	keepAlive()
	slow.ResumeSkimming()
	slow.ExpectClose("LIM-2", 4002)
	probe.Check("after the slow reader")
}

// probeLoop relays on the probe pair until ctx ends; every relay must arrive within d.
func probeLoop(ctx context.Context, p *Probe, d time.Duration) error {
	for n := 0; ctx.Err() == nil; n++ {
		id := p.a.ID()
		if err := p.a.pace.Wait(ctx); err != nil {
			return nil
		}
		start := time.Now()
		if err := p.a.SendNow(enc(&wire.Relay{ID: id, To: p.b.Name, Session: p.sid, Payload: msgPayload(p.a.t, int64(n), 32)})); err != nil {
			return err
		}
		for _, c := range []*Client{p.b, p.a} {
			f, ok := c.inbox.next(ctx, d)
			switch {
			case !ok && ctx.Err() != nil:
				return nil
			case !ok:
				return fmt.Errorf("relay %s from %s to %s not delivered and acked within %s", id, p.a.Name, p.b.Name, d)
			case f.Kind != KindText:
				return errors.New(c.label + ": " + f.Short())
			}
		}
		if took := time.Since(start); took > d {
			return fmt.Errorf("relay %s took %s", id, took)
		}
	}
	return nil
}

// pongAfterQueue checks WS-11 for a slow reader: the pong comes, after what was queued before
// the ping. Whether it waited in the server's queue or in the kernel's buffers cannot be told
// from outside; that it is neither lost nor ahead of the relays can.
func pongAfterQueue(t *harness.T) {
	slow, sender := Register(t, "slow"), Register(t, "sender")
	sid := Chat(t, sender, slow) // relays are forwarded only inside an accepted chat (SES-2)
	before := slow.texts.Load()  // a read under way when it pauses may take one relay still
	slow.Pause()
	const queued = 5
	for i := range queued {
		id := sender.ID()
		sender.Send(&wire.Relay{ID: id, To: slow.Name, Session: sid, Payload: msgPayload(t, int64(i), 64)})
		sender.ExpectAck("WS-11", id, "relay")
	}
	data := slow.SendPing()
	slow.Resume()
	for range queued {
		slow.Expect("WS-11", "relay")
	}
	if at := slow.AwaitPong("WS-11", data); at < before+queued {
		t.Mismatch("WS-11", fmt.Sprintf("the pong after the %d relays queued before the ping", queued),
			fmt.Sprintf("the pong after %d of them", at-before))
	}
	slow.Alive("WS-11")
}

func keepalive(t *harness.T) {
	cfg := envOf(t).cfg
	responsive := Register(t, "responsive")
	silent := Register(t, "silent")
	silent.Silence()
	since := time.Now() // the silent client's last frame was its register
	// spec §4.2 [WS-7]: the timers this connection was announced, the pong timeout at least
	// twice the ping interval.
	pingEvery, pongTimeout, _ := AnnouncedTimers(silent.Limits)
	if pongTimeout < 2*pingEvery {
		t.Mismatch("WS-7", "hello_ack.limits with pong_timeout_ms at least twice ping_interval_ms",
			fmt.Sprintf("ping_interval_ms %d, pong_timeout_ms %d", silent.Limits.PingIntervalMs, silent.Limits.PongTimeoutMs))
	}
	closeBy := since.Add(pongTimeout + cfg.Slack)
	pingBy := since.Add(pingEvery + cfg.Slack)
	var closed Frame
	for {
		f, ok := silent.NextWithin("the close of a client that answers nothing", time.Until(closeBy))
		if !ok {
			t.FatalMismatch("WS-7", fmt.Sprintf("the silent client closed within %s (pong_timeout_ms %d plus --slack)", pongTimeout+cfg.Slack, silent.Limits.PongTimeoutMs),
				fmt.Sprintf("still open after %s", time.Since(since).Round(time.Millisecond)))
		}
		if f.Kind == KindClose || f.Kind == KindDropped {
			closed = f
			break
		}
		t.Logf("silent: %s", f.Short())
	}
	took := time.Since(since)
	t.Logf("the silent client was closed after %s: %s", took.Round(time.Millisecond), closed.Short())
	if closed.Kind != KindClose || closed.Code != websocket.ClosePolicyViolation {
		t.Mismatch("WS-7", "close 1008 for a connection silent for the pong timeout", closed.Short())
	}
	// Clients only answer pings (WS-8): without the server's pings a healthy idle client would
	// be closed, so pinging within the announced interval is a MUST.
	if silent.Pings() == 0 && time.Now().After(pingBy) {
		t.Mismatch("WS-7", fmt.Sprintf("a ping within %s of the last frame (ping_interval_ms %d plus --slack)", pingEvery+cfg.Slack, silent.Limits.PingIntervalMs),
			fmt.Sprintf("no ping in %s", took.Round(time.Millisecond)))
	}
	if took < pongTimeout/2 {
		t.Logf("note: closed after %s, well before pong_timeout_ms %d", took.Round(time.Millisecond), silent.Limits.PongTimeoutMs)
	}
	responsive.Alive("WS-7")
	t.Logf("the responsive client got %d pings and is still served", responsive.Pings())
	responsive.PingPong("WS-11")
}
