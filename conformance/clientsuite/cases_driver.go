package clientsuite

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"

	"github.com/blindpost/blindpost/conformance/harness"
	"github.com/blindpost/blindpost/impl/e2ee/identity"
	"github.com/blindpost/blindpost/impl/wire"
)

// The driver protocol (spec Appendix A) and the client's duties towards the relay (spec §4,
// §5.1, §5.2).
func init() {
	harness.Register(
		harness.Case{ID: "client/driver/seed", Rules: []string{"DRV-5", "KEY-2"},
			Description: "connect with a seed: the client registers the identity of that seed, and the seed never appears in " +
				"anything it sends",
			Run: seedCase},
		harness.Case{ID: "client/driver/fresh-identities", Rules: []string{"KEY-1", "HS-1", "DRV-5"},
			Description: "two drivers started afresh and connected without a seed register different identity and group keys, " +
				"and every chat either client asks for has a session id of its own",
			Run: freshIdentities},
		harness.Case{ID: "client/driver/commands", Rules: []string{"DRV-1", "DRV-4"},
			Description: "list_users answers the relay's list; an unknown command and a malformed one each get exactly one " +
				"failure response; the client still works after them",
			Run: driverCommands},
		harness.Case{ID: "client/driver/quit", Rules: []string{"DRV-1"},
			Description: "quit is answered, then the client closes its connection and exits with status 0",
			Run:         quitCase},
		harness.Case{ID: "client/tls/wrong-pin", Rules: []string{"TLS-2", "REG-11", "DRV-7"},
			Description: "connect with a pin that does not match the relay's certificate: refused with tls_pin_mismatch, and no WebSocket is opened",
			Run:         wrongPin},
		harness.Case{ID: "client/transport/invalid-utf8", Rules: []string{"WS-4"},
			Description: "the relay sends a text message that is not valid UTF-8: the client closes with code 1007",
			Run:         invalidUTF8},
		harness.Case{ID: "client/transport/ping", Rules: []string{"WS-8"},
			Description: "the relay pings: the client answers with a pong carrying the same data",
			Run:         pingCase},
		harness.Case{ID: "client/transport/max-message", Rules: []string{"WS-6", "REC-1"},
			Description: "the relay announces max_message 1024: sending a longer message is refused without anything larger " +
				"reaching the relay, and the next message keeps the counters consecutive",
			Run: maxMessage},
		harness.Case{ID: "client/transport/malformed-messages", Rules: []string{"MSG-1", "MSG-2", "MSG-3", "MSG-4", "ENC-6", "ENC-10"},
			Description: "the relay injects records that break the JSON rules or the schema (duplicate member, trailing data, " +
				"unknown member, a string counter, non-canonical base64, deep nesting, a lone surrogate): each is rejected " +
				"as malformed and never delivered; the session goes on",
			Run: malformedMessages},
		harness.Case{ID: "client/transport/unknown-error-code", Rules: []string{"ERR-5", "MSG-1", "CLI-2"},
			Description: "the relay answers list_users, then a chat_request, with an error whose code spec §5.7 does not have: " +
				"each time the client reports a malformed message and the command fails at once; the client goes on working",
			Run: unknownErrorCode},
	)
}

func seedCase(t *harness.T) {
	w := Launch(t)
	seed := w.RandBytes(identity.SeedSize)
	w.Connect(ClientName, seed)
	want, err := identity.FromSeed(seed)
	if err != nil {
		t.Fatalf("clientsuite: %v", err)
	}
	if !bytes.Equal(w.Me.IdentityKey, want.Public()) {
		t.Mismatch("DRV-5", "the identity key of the seed given in connect, "+b64(want.Public()), b64(w.Me.IdentityKey))
	}
	bob := w.NewPeer("bob")
	c := w.Initiated(bob)
	c.ClientSends(w.Text("hello"))
	c.ClientEnds()
	forms := [][]byte{seed, []byte(b64(seed)), []byte(hex.EncodeToString(seed))}
	for _, f := range w.Relay.Frames() {
		for _, form := range forms {
			if bytes.Contains(f, form) {
				t.MismatchMsg("KEY-2", "no identity seed in anything sent", printable(f), "the client sent its identity seed to the relay")
			}
		}
	}
}

func freshIdentities(t *harness.T) {
	first := Start(t)
	t.Transcript().Notef("case", "a second driver, started afresh, connects without a seed")
	second := Start(t)
	for _, k := range []struct{ what, first, second string }{
		{"identity key", b64(first.Me.IdentityKey), b64(second.Me.IdentityKey)},
		{"group key", b64(first.Me.GroupKey), b64(second.Me.GroupKey)},
	} {
		if k.first == k.second {
			t.MismatchMsg("KEY-1", "two clients connected without a seed register different keys", "both registered the "+k.what+" "+k.first,
				"two drivers started afresh registered the same %s: without a seed in connect, a client creates an identity of its own "+
					"from a cryptographically secure generator (DRV-5)", k.what)
		}
	}
	seen := map[string]string{}
	for i, w := range []*World{first, second} {
		for _, name := range []string{"alice", "bob", "erin"} {
			c := w.ClientChats(w.NewPeer(name))
			where := fmt.Sprintf("client %d's chat with %s", i+1, name)
			if prev, dup := seen[c.ID]; dup {
				t.Mismatch("HS-1", "a fresh session id for every session", fmt.Sprintf("%s and %s both have session id %s", prev, where, c.ID))
			}
			seen[c.ID] = where
		}
	}
}

func driverCommands(t *harness.T) {
	w := Start(t)
	bob := w.NewPeer("bob")
	users := w.D.OK("list_users").Strs("users")
	if want := w.Relay.Online(); !slices.Equal(users, want) {
		t.Errorf("list_users answered %v, the relay lists %v", users, want)
	}
	if l := w.D.Do("frobnicate"); l.OK() || (l.Str("error") != "unimplemented" && l.Str("error") != "bad_command") {
		t.Mismatch("DRV-1", "an unknown command answered with error unimplemented", l.String())
	}
	if l := w.D.Do("chat"); l.OK() || l.Str("error") != "bad_command" {
		t.Mismatch("DRV-1", "chat without peer answered with error bad_command", l.String())
	}
	if l := w.D.Do("send", "session", b64(w.RandBytes(16)), "text", "nobody"); l.OK() {
		t.Mismatch("DRV-1", "send on an unknown session answered with an error", l.String())
	}
	w.Initiated(bob).PeerSends(w.Text("still working"))
}

func quitCase(t *harness.T) {
	w := Start(t)
	w.D.OK("quit")
	gone, err := w.D.WaitExit(w.Wait)
	switch {
	case !gone:
		t.Errorf("the driver did not exit within %s of answering quit", w.Wait)
	case err != nil:
		t.Errorf("after quit the driver exited with %s, want exit status 0", exitText(err))
	}
	if ci, ok := w.Relay.closes.next(t, "the end of the client's connection", w.Wait); ok {
		t.Logf("the client ended its connection: %d %q", ci.Code, ci.Reason)
	} else {
		t.Errorf("the connection to the relay was still open %s after quit", w.Wait)
	}
}

func wrongPin(t *harness.T) {
	w := Launch(t)
	pin := "sha256:" + hex.EncodeToString(w.RandBytes(32))
	l := w.D.Response(w.D.Send("connect", "url", w.Relay.URL, "user", ClientName, "pin", pin), "connect", w.Env.cfg.StartupWait)
	w.D.unimplemented("connect", l)
	if l.OK() {
		t.Mismatch("TLS-2", "connect refused: the relay's certificate does not match the pin", l.String())
	} else if l.Str("error") != "tls_pin_mismatch" {
		t.Mismatch("DRV-7", "connect refused with error tls_pin_mismatch", l.String())
	}
	if n := w.Relay.Conns(); n > 0 {
		t.Mismatch("TLS-2", "no WebSocket over a certificate the pin rejects", itoa(n)+" connection(s) upgraded")
	}
}

func invalidUTF8(t *harness.T) {
	w := Start(t)
	w.Relay.SendRaw(textFrame, []byte("{\"type\":\"chat_request\",\"from\":\"b\xffb\",\"session\":\"AAAAAAAAAAAAAAAAAAAAAA==\"}"))
	ci, ok := w.Relay.closes.next(t, "the client's close frame", w.Wait)
	switch {
	case !ok:
		t.Mismatch("WS-4", "close 1007 after a text message that is not valid UTF-8", "the connection stayed open")
	case ci.Code != 1007:
		t.Mismatch("WS-4", "close 1007 after a text message that is not valid UTF-8", "close "+itoa(ci.Code)+" "+ci.Reason)
	}
}

func pingCase(t *harness.T) {
	w := Start(t)
	w.Relay.Ping("conform-ping")
	data, ok := w.Relay.pongs.next(t, "the client's pong", w.Wait)
	switch {
	case !ok:
		t.Mismatch("WS-8", "a pong answering the ping", "no pong")
	case data != "conform-ping":
		t.Mismatch("WS-8", `a pong carrying the ping's data "conform-ping"`, data)
	}
}

func maxMessage(t *harness.T) {
	w := Launch(t)
	w.Relay.SetMaxMessage(1024)
	w.Connect(ClientName, nil)
	bob := w.NewPeer("bob")
	c := w.Initiated(bob)
	l := w.D.Do("send", "session", c.ID, "text", strings.Repeat("x", 1000))
	if l.OK() {
		t.Mismatch("WS-6", "send refused: its record exceeds the announced max_message of 1024 bytes", l.String())
	}
	w.Sync()
	c.ClientSends(w.Text("short"))
}

// unknownCodes are requests the relay answers with an error whose code is not in spec §5.7, with
// the driver command that makes the client send each.
var unknownCodes = []struct {
	typ, code string
	cmd       func(bob *Peer) (string, []any)
}{
	{"list_users", "maintenance", func(*Peer) (string, []any) { return "list_users", nil }},
	{"chat_request", "blocked", func(bob *Peer) (string, []any) { return "chat", []any{"peer", bob.Name} }},
}

func unknownErrorCode(t *harness.T) {
	w := Start(t)
	bob := w.NewPeer("bob")
	for _, v := range unknownCodes {
		w.Relay.AnswerNext(v.typ, func(m wire.Message) []byte {
			return fmt.Appendf(nil, `{"type":"error","id":%q,"code":%q,"message":"not a code of protocol version 1","for":%q}`,
				requestID(m), v.code, v.typ)
		})
		cmd, args := v.cmd(bob)
		what := fmt.Sprintf("an error with code %s answering %s", v.code, v.typ)
		expected := fmt.Sprintf("%s fails at once: %s is malformed (spec §5.7)", cmd, what)
		l, ok := w.D.ResponseWithin(w.D.Send(cmd, args...), cmd, w.Wait)
		switch {
		case !ok:
			t.MismatchMsg("ERR-5", expected, "no response within "+w.Wait.String(),
				"the client still waited for an answer to its %s after %s%s", v.typ, what, w.D.exitNote())
			return
		case l.OK():
			t.MismatchMsg("ERR-5", expected, l.String(), "the client took %s for a success", what)
		default:
			w.D.unimplemented(cmd, l)
		}
		w.ExpectReject(Reject{What: what, Code: "malformed", Rules: []string{"ERR-5", "MSG-1"}})
	}
	c := w.Initiated(bob)
	c.ClientSends(w.Text("still working"))
	w.Sync()
	w.NoSecurityEvents("")
}

// requestID returns the id of a request of the client.
func requestID(m wire.Message) string {
	switch m := m.(type) {
	case *wire.ListUsers:
		return m.ID
	case *wire.ChatRequest:
		return m.ID
	}
	panic(fmt.Sprintf("clientsuite: no id for %s", m.MessageType()))
}

// malformedVariant breaks a valid relay message of a record in one way.
type malformedVariant struct {
	what, rule string
	breakIt    func(data []byte, rec *wire.MsgRecord) []byte
}

var malformedVariants = []malformedVariant{
	{"a duplicate member", "MSG-2", func(d []byte, _ *wire.MsgRecord) []byte {
		i := bytes.Index(d, []byte(`"from":`))
		j := i + bytes.IndexByte(d[i:], ',') + 1
		return slices.Concat(d[:j], d[i:j], d[j:])
	}},
	{"data after the object", "MSG-3", func(d []byte, _ *wire.MsgRecord) []byte { return append(slices.Clone(d), []byte(" {}")...) }},
	{"an unknown member in the payload", "MSG-1", func(d []byte, _ *wire.MsgRecord) []byte {
		return bytes.Replace(d, []byte(`"kind":"msg",`), []byte(`"kind":"msg","pad":0,`), 1)
	}},
	{"a counter written as a string", "MSG-1", func(d []byte, r *wire.MsgRecord) []byte {
		n := itoa(int(r.N))
		return bytes.Replace(d, []byte(`"n":`+n+`,`), []byte(`"n":"`+n+`",`), 1)
	}},
	{"a ciphertext in non-canonical base64", "ENC-6", func(d []byte, r *wire.MsgRecord) []byte {
		return bytes.Replace(d, []byte(b64(r.Ct)), []byte(nonCanonical(b64(r.Ct))), 1)
	}},
	{"nesting 40 levels deep", "MSG-4", func(d []byte, _ *wire.MsgRecord) []byte {
		deep := `"x":` + strings.Repeat("[", 40) + strings.Repeat("]", 40) + `,`
		return bytes.Replace(d, []byte(`"kind":"msg",`), []byte(`"kind":"msg",`+deep), 1)
	}},
	{"an escaped lone surrogate", "ENC-10", func(d []byte, _ *wire.MsgRecord) []byte {
		return bytes.Replace(d, []byte(`"kind":"msg",`), []byte(`"kind":"msg","x":"\ud800",`), 1)
	}},
}

// nonCanonical changes the unused low bits of the last base64 character before the padding,
// which a lax decoder ignores (spec §2.3 ENC-5, ENC-6).
func nonCanonical(s string) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	i := strings.IndexByte(s, '=') - 1
	if i < 0 {
		return s + "\n" // no padding: a line break is the non-canonical form
	}
	c := strings.IndexByte(alphabet, s[i])
	return s[:i] + string(alphabet[c|1]) + s[i+1:]
}

// paddedText returns a text whose record ciphertext needs "==" padding in base64, so that it
// has unused low bits to set.
func paddedText(w *World, label string) string {
	text := w.Text(label)
	for (len(Content(text))+16)%3 != 1 {
		text += "x"
	}
	w.texts = append(w.texts, text)
	return text
}

func malformedMessages(t *harness.T) {
	w := Start(t)
	bob := w.NewPeer("bob")
	c := w.Initiated(bob)
	for _, v := range malformedVariants {
		text := paddedText(w, "malformed")
		rec := c.Seal(Content(text))
		data, err := wire.Encode(&wire.IncomingRelay{From: bob.Name, Session: c.SID, Payload: rec})
		if err != nil {
			t.Fatalf("clientsuite: %v", err)
		}
		bad := v.breakIt(data, rec)
		if bytes.Equal(bad, data) {
			t.Fatalf("clientsuite: variant %q left %s unchanged", v.what, data)
		}
		w.Relay.SendRaw(textFrame, bad)
		w.ExpectReject(Reject{What: "a relay message with " + v.what, Code: "malformed", Rules: []string{v.rule, "MSG-1"},
			Accepted: MessageText(text)})
	}
	c.PeerSends(w.Text("the session goes on"))
}
