package serversuite

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/blindpost/blindpost/conformance/harness"
	"github.com/blindpost/blindpost/impl/wire"
)

func init() {
	add(harness.Case{ID: "directory/get-pubkey", Rules: []string{"SRV-3", "REG-12"},
		Description: "get_pubkey returns the stored keys of a bound user online or offline, and unknown_user for a name never bound",
		Run:         getPubkey})
	add(harness.Case{ID: "directory/latest-group-key", Rules: []string{"REG-12", "SRV-3"},
		Description: "after a later registration of the same identity with another group key, get_pubkey returns the newer group key and signature",
		Run:         latestGroupKey})
	add(harness.Case{ID: "directory/list-users", Rules: []string{"SRV-4"},
		Description: "list_users lists the users registered now, sorted, once each, the requester included, truncated false; a user who left is no longer listed",
		Run:         listUsers})
	add(harness.Case{ID: "relay/from-stamped", Rules: []string{"SRV-1", "SRV-6", "SRV-8"},
		Description: "chat_request, chat_response, chat_terminate and relay of every payload kind arrive with from set to the sender, no to, the same session and payload, and the sender gets ack",
		Run:         fromStamped})
	add(harness.Case{ID: "relay/from-forged", Rules: []string{"SRV-2", "SRV-1", "ERR-3"},
		Description: "a forwarded request carrying its own from is refused with bad_message and not forwarded; the connection stays open",
		Run:         fromForged})
	add(harness.Case{ID: "relay/fidelity", Rules: []string{"SRV-6", "ENC-8"},
		Description: "payloads with members in another order, escaped characters and integers written 3.0, 1E1 or -0 arrive as the same JSON value",
		Run:         fidelity})
	add(harness.Case{ID: "relay/ordering", Rules: []string{"SRV-7", "SRV-13"},
		Description: "a burst of relays from one connection to one recipient arrives in order, and the acks come back in order",
		Run:         ordering})
	add(harness.Case{ID: "relay/errors", Rules: []string{"SRV-9", "SRV-8", "ERR-1", "ERR-3"},
		Description: "relay and chat_request to a bound user offline get user_offline, to a name never bound unknown_user, to the sender bad_target",
		Run:         relayErrors})
	add(harness.Case{ID: "relay/not-stored", Rules: []string{"SRV-10"},
		Description: "a relay refused because the recipient was offline is not delivered when the recipient connects",
		Run:         notStored})
	add(harness.Case{ID: "relay/recipient-only", Rules: []string{"SRV-10"},
		Description: "a relay reaches its recipient and no other connection",
		Run:         recipientOnly})
	add(harness.Case{ID: "relay/too-large", Rules: []string{"SRV-11", "SRV-14", "WS-5"},
		Description: "a relay that fits max_message but whose forwarded form (longer from than to) would not gets too_large and is not forwarded; one whose forwarded form fits exactly is delivered; the size is checked before the recipient (too_large, not unknown_user, for a name never bound)",
		Run:         tooLarge})
	add(harness.Case{ID: "ack/one-response-in-order", Rules: []string{"SRV-13", "MSG-5", "ERR-3"},
		Description: "pipelined requests of every kind, valid and not, get exactly one response each, in order, each with its id",
		Run:         oneResponseInOrder})
	add(harness.Case{ID: "envelope/ids-echoed", Rules: []string{"MSG-5"},
		Description: "every response and error echoes the request's id (1 to 64 characters of the id alphabet), and carries none when the request had none",
		Run:         idsEchoed})
	add(harness.Case{ID: "errors/no-echo", Rules: []string{"ERR-4", "ERR-3"},
		Description: "errors about messages carrying long distinctive values (unknown members, bad keys, bad sessions) do not repeat those values",
		Run:         noEcho})
	add(harness.Case{ID: "schemas/every-server-message", Rules: []string{"MSG-6", "ENC-5", "ENC-7"},
		Description: "the server is driven to send every server message type, and each one validates against schemas/server-message.json with canonical base64 and plain integers",
		Run:         everyServerMessage})
}

func getPubkey(t *harness.T) {
	bob := Register(t, "bob")
	alice := Register(t, "alice")
	check := func(when string) {
		id := alice.ID()
		alice.Send(&wire.GetPubkey{ID: id, User: bob.Name})
		f := alice.ExpectResponse("SRV-3", id, "pubkey")
		want := fmt.Sprintf("pubkey of %s with identity_key %s, group_key %s", bob.Name, b64(bob.Key.Public()), b64(bob.Key.GroupPublic()))
		if f.Str("user") != bob.Name || f.Str("identity_key") != b64(bob.Key.Public()) || f.Str("group_key") != b64(bob.Key.GroupPublic()) ||
			f.Str("group_key_sig") != b64(bob.Key.GroupKeySig(bob.Name)) {
			t.MismatchMsg("SRV-3", want, f.Short(), "wrong keys for %s %s", bob.Name, when)
		}
	}
	check("online")
	bob.CloseAndWait()
	check("offline")
	id := alice.ID()
	alice.Send(&wire.GetPubkey{ID: id, User: Name(t, "never-bound")})
	alice.ExpectError("SRV-3", id, "unknown_user", "get_pubkey")
}

func latestGroupKey(t *harness.T) {
	first := Register(t, "alice")
	first.CloseAndWait()
	c := Dial(t, "alice")
	c.Hello(first.Name)
	gk, sig := GroupKeyWithSig(t, first.Key, first.Name)
	id := c.ID()
	m := RegisterMsg(id, first.Key, first.Name, c.Challenge, c.Pin)
	m.GroupKey, m.GroupKeySig = gk, sig
	m.Proof = first.Key.Sign(registerInput(c.Challenge, c.Pin, first.Name, first.Key.Public(), gk))
	c.Key = first.Key
	c.Send(m)
	c.ExpectResponse("REG-3", id, "register_ack")
	viewer := Register(t, "viewer")
	id = viewer.ID()
	viewer.Send(&wire.GetPubkey{ID: id, User: first.Name})
	f := viewer.ExpectResponse("SRV-3", id, "pubkey")
	if f.Str("group_key") != b64(gk) || f.Str("group_key_sig") != b64(sig) {
		t.Mismatch("REG-12", "the group key and signature of the latest registration: "+b64(gk), f.Short())
	}
}

func listUsers(t *harness.T) {
	alice, bob := Register(t, "alice"), Register(t, "bob")
	users := func() (Frame, []string) {
		id := alice.ID()
		alice.Send(&wire.ListUsers{ID: id})
		f := alice.ExpectResponse("SRV-4", id, "user_list")
		var names []string
		for _, u := range listOf(f, "users") {
			names = append(names, fmt.Sprint(u))
		}
		return f, names
	}
	f, names := users()
	switch {
	case !slices.IsSorted(names) || len(slices.Compact(slices.Clone(names))) != len(names):
		t.Mismatch("SRV-4", "users sorted by byte value without duplicates", f.Short())
	case !slices.Contains(names, alice.Name) || !slices.Contains(names, bob.Name):
		t.Mismatch("SRV-4", fmt.Sprintf("users including %s and %s", alice.Name, bob.Name), f.Short())
	case f.Msg["truncated"] != (len(names) >= 1000):
		t.Mismatch("SRV-4", "truncated true exactly when names were left out", f.Short())
	}
	bob.CloseAndWait()
	Eventually(t, "SRV-4", bob.Name+" no longer listed after it disconnected", func() (bool, string) {
		f, names := users()
		return !slices.Contains(names, bob.Name), f.Short()
	})
}

func listOf(f Frame, key string) []any {
	l, _ := f.Msg[key].([]any)
	return l
}

// forwardCase is a request of each forwarded type, and what the recipient must get.
type forwardCase struct {
	req     wire.Message
	typ     string
	session []byte
	payload wire.Payload // relay only
	accept  *bool        // chat_response only
}

// forwardCases returns a request of each forwarded type to user to; the relays are on chat, a
// session to accepted (SES-2), the chat messages on a session of their own.
func forwardCases(t *harness.T, to string, chat []byte) []forwardCase {
	yes, no := true, false
	sid := Session(t)
	out := []forwardCase{
		{req: &wire.ChatRequest{To: to, Session: sid}, typ: "chat_request", session: sid},
		{req: &wire.ChatResponse{To: to, Session: sid, Accepted: true}, typ: "chat_response", session: sid, accept: &yes},
		{req: &wire.ChatResponse{To: to, Session: sid, Accepted: false}, typ: "chat_response", session: sid, accept: &no},
		{req: &wire.ChatTerminate{To: to, Session: sid}, typ: "chat_terminate", session: sid},
	}
	for _, p := range payloads(t) {
		out = append(out, forwardCase{req: &wire.Relay{To: to, Session: chat, Payload: p}, typ: "relay", session: chat, payload: p})
	}
	return out
}

func fromStamped(t *harness.T) {
	alice, bob := Register(t, "alice"), Register(t, "bob")
	for _, fc := range forwardCases(t, bob.Name, Chat(t, alice, bob)) {
		id := alice.ID()
		alice.Send(withID(fc.req, id))
		f := bob.Expect("SRV-1", fc.typ)
		if f.Str("from") != alice.Name || f.Has("to") || f.Str("session") != b64(fc.session) {
			t.Mismatch("SRV-1", fmt.Sprintf("%s with from %q, no to, session %s", fc.typ, alice.Name, b64(fc.session)), f.Short())
		}
		if fc.accept != nil && f.Msg["accepted"] != *fc.accept {
			t.Mismatch("SRV-1", fmt.Sprintf("chat_response with accepted %v", *fc.accept), f.Short())
		}
		if fc.payload != nil {
			want, _ := json.Marshal(fc.payload)
			if !SameJSON(rawMember(f, "payload"), want) {
				t.Mismatch("SRV-6", "payload "+string(want), f.Short())
			}
		}
		alice.ExpectAck("SRV-8", id, fc.typ)
	}
}

func fromForged(t *harness.T) {
	alice, bob, carol := Register(t, "alice"), Register(t, "bob"), Register(t, "carol")
	sid := b64(Session(t))
	for i, raw := range []string{
		fmt.Sprintf(`{"type":"relay","id":"f0","to":"%s","from":"%s","session":"%s","payload":{"kind":"msg","n":0,"ct":"AAAAAAAAAAAAAAAAAAAAAA=="}}`, bob.Name, carol.Name, sid),
		fmt.Sprintf(`{"type":"chat_request","id":"f1","from":"%s","to":"%s","session":"%s"}`, bob.Name, carol.Name, sid),
	} {
		alice.SendRaw([]byte(raw))
		alice.ExpectError("SRV-2", fmt.Sprintf("f%d", i), "bad_message", "")
	}
	alice.Alive("ERR-3")
	bob.Quiet("SRV-2", "the server forwarded a message whose from the client wrote")
	carol.Quiet("SRV-2", "the server forwarded a message whose from the client wrote")
}

// fidelity sends payloads in forms other than the canonical one; each must arrive as the same
// JSON value (the server may re-encode it).
func fidelity(t *harness.T) {
	alice, bob := Register(t, "alice"), Register(t, "bob")
	sid := b64(Chat(t, alice, bob))
	ct := b64(Random(t, 40))
	e := b64(Random(t, 32))
	for i, payload := range []string{
		`{"ct":"` + ct + `","n":3,"kind":"msg"}`,
		`{"kind":"msg","n":3.0,"ct":"` + ct + `"}`,
		`{"kind":"msg","n":1E1,"ct":"` + ct + `"}`,
		`{"kind":"msg","n":-0,"ct":"` + ct + `"}`,
		`{"kind":"msg","n":30e-1,"ct":"` + ct + `"}`,
		`{"kind":"m\u0073g","n":4,"ct":"` + strings.Replace(ct, "/", `\/`, -1) + `"}`,
		`{ "kind" : "hs1" , "suites" : [ "x25519-hkdf-sha256-aes256gcm" , "b" ] , "e" : "` + e + `" }`,
	} {
		id := fmt.Sprintf("p%d", i)
		raw := fmt.Sprintf(`{"type":"relay","id":"%s","to":"%s","session":"%s","payload":%s}`, id, bob.Name, sid, payload)
		alice.SendRaw([]byte(raw))
		f := bob.Expect("SRV-6", "relay")
		if !SameJSON(rawMember(f, "payload"), []byte(payload)) {
			t.Mismatch("SRV-6", "the payload as the same JSON value: "+payload, f.Short())
		}
		alice.ExpectAck("ENC-8", id, "relay")
	}
}

func ordering(t *harness.T) {
	alice, bob := Register(t, "alice"), Register(t, "bob")
	n := envOf(t).cfg.Burst
	sid := Chat(t, alice, bob)
	for i := range n {
		alice.Send(&wire.Relay{ID: fmt.Sprintf("o%d", i), To: bob.Name, Session: sid, Payload: msgPayload(t, int64(i), 24)})
	}
	for i := range n {
		f := bob.Expect("SRV-7", "relay")
		if got := fmt.Sprint(nested(f, "payload", "n")); got != fmt.Sprint(i) {
			t.FatalMismatch("SRV-7", fmt.Sprintf("relay number %d of the burst of %d", i, n), f.Short())
		}
	}
	for i := range n {
		alice.ExpectAck("SRV-13", fmt.Sprintf("o%d", i), "relay")
	}
}

// nested returns m[k1][k2] of a frame's message.
func nested(f Frame, k1, k2 string) any {
	inner, _ := f.Msg[k1].(map[string]any)
	return inner[k2]
}

func relayErrors(t *harness.T) {
	alice, bob := Register(t, "alice"), Register(t, "bob")
	bob.CloseAndWait()
	Eventually(t, "SRV-9", bob.Name+" offline", func() (bool, string) { on, list := online(alice, bob.Name); return !on, list })
	for _, tc := range []struct{ to, code string }{
		{bob.Name, "user_offline"},
		{Name(t, "never-bound"), "unknown_user"},
		{alice.Name, "bad_target"},
	} {
		id := alice.ID()
		alice.Send(&wire.Relay{ID: id, To: tc.to, Session: Session(t), Payload: msgPayload(t, 0, 20)})
		alice.ExpectError("SRV-9", id, tc.code, "relay")
		id = alice.ID()
		alice.Send(&wire.ChatRequest{ID: id, To: tc.to, Session: Session(t)})
		alice.ExpectError("SRV-9", id, tc.code, "chat_request")
	}
	alice.Alive("ERR-3")
}

// online reports whether name is in the user_list c gets now, and the list.
func online(c *Client, name string) (bool, string) {
	id := c.ID()
	c.Send(&wire.ListUsers{ID: id})
	f := c.ExpectResponse("SRV-4", id, "user_list")
	return countName(f, name) > 0, f.Short()
}

func notStored(t *harness.T) {
	alice := Register(t, "alice")
	bob := Register(t, "bob")
	bob.CloseAndWait()
	Eventually(t, "SRV-9", bob.Name+" offline", func() (bool, string) { on, list := online(alice, bob.Name); return !on, list })
	id := alice.ID()
	alice.Send(&wire.Relay{ID: id, To: bob.Name, Session: Session(t), Payload: msgPayload(t, 0, 20)})
	alice.ExpectError("SRV-9", id, "user_offline", "relay")
	back := RegisterAs(t, "bob", bob.Name, bob.Key)
	back.Quiet("SRV-10", "a relay refused while the recipient was offline was stored and delivered later")
}

func recipientOnly(t *harness.T) {
	alice, bob, carol := Register(t, "alice"), Register(t, "bob"), Register(t, "carol")
	for _, fc := range forwardCases(t, bob.Name, Chat(t, alice, bob)) {
		id := alice.ID()
		alice.Send(withID(fc.req, id))
		bob.Expect("SRV-10", fc.typ)
		alice.ExpectAck("SRV-8", id, fc.typ)
	}
	carol.Quiet("SRV-10", "a message forwarded to another user reached this connection")
	alice.Quiet("SRV-10", "the sender received its own forwarded message")
}

// tooLarge builds relays from a 32-character sender to a shorter recipient name, whose forwarded
// form is longer than the request by the difference.
func tooLarge(t *harness.T) {
	sender := Register(t, "sender-with-a-long-n") // 32 characters
	bob := Register(t, "b")
	max := int(sender.Limits.MaxMessage)
	sid := Chat(t, sender, bob)
	build := func(ctBytes int) (req, fwd []byte) {
		p := &wire.MsgRecord{N: 0, Ct: Random(t, ctBytes)}
		req, _ = wire.Encode(&wire.Relay{To: bob.Name, Session: sid, Payload: p})
		fwd, _ = wire.Encode(&wire.IncomingRelay{From: sender.Name, Session: sid, Payload: p})
		return req, fwd
	}
	// The largest ciphertext whose forwarded form still fits: the forwarded length grows with
	// the ciphertext, so a binary search finds it.
	fwdLen := func(n int) int { _, fwd := build(n); return len(fwd) }
	const lo, hi = 16, 32766
	if fwdLen(lo) > max || fwdLen(hi) <= max {
		t.Skipf("with max_message %d no valid relay fits while its forwarded form does not (forwarded forms are %d to %d bytes)", max, fwdLen(lo), fwdLen(hi))
	}
	fits := lo + sort.Search(hi-lo+1, func(i int) bool { return fwdLen(lo+i) > max }) - 1
	tooBig := fits + 1
	if req, _ := build(tooBig); len(req) > max {
		t.Skipf("with max_message %d the relay whose forwarded form is too large is itself too large (%d bytes)", max, len(req))
	}
	req, _ := build(tooBig)
	sender.SendRaw(req)
	sender.ExpectError("SRV-11", "", "too_large", "relay")
	// SRV-14: the size comes before the recipient. A name never bound, as long as bob's, so that
	// the forwarded form is the same size.
	nobody := Name(t, "n")
	over := bytes.Replace(req, []byte(`"`+bob.Name+`"`), []byte(`"`+nobody+`"`), 1)
	sender.SendRaw(over)
	sender.ExpectError("SRV-14", "", "too_large", "relay")
	req, fwd := build(fits)
	sender.SendRaw(req)
	f := bob.Expect("SRV-11", "relay")
	if len(f.Data) > max {
		t.Mismatch("WS-5", fmt.Sprintf("a forwarded message of at most %d bytes", max), fmt.Sprintf("%d bytes", len(f.Data)))
	}
	sender.ExpectAck("SRV-11", "", "relay")
	t.Logf("max_message %d: a request of %d bytes forwarded as %d bytes was delivered", max, len(req), len(fwd))
	bob.Quiet("SRV-11", "the too-large relay was forwarded")
}

func oneResponseInOrder(t *harness.T) {
	alice, bob := Register(t, "alice"), Register(t, "bob")
	sid := Chat(t, alice, bob)
	group := GroupName(t, "g")
	type req struct {
		raw  []byte
		want string // response type, or error code
	}
	enc := func(m wire.Message) []byte { b, _ := wire.Encode(m); return b }
	reqs := []req{
		{enc(&wire.GetPubkey{ID: "q0", User: bob.Name}), "pubkey"},
		{enc(&wire.GetPubkey{ID: "q1", User: Name(t, "nobody")}), "unknown_user"},
		{enc(&wire.ListUsers{ID: "q2"}), "user_list"},
		{enc(&wire.Relay{ID: "q3", To: bob.Name, Session: sid, Payload: msgPayload(t, 0, 20)}), "ack"},
		{[]byte(`{"type":"relay","id":"q4","to":"` + bob.Name + `"}`), "bad_message"},
		{enc(&wire.Relay{ID: "q5", To: alice.Name, Session: Session(t), Payload: msgPayload(t, 0, 20)}), "bad_target"},
		{enc(&wire.GroupJoin{ID: "q6", Group: group}), "ack"},
		{enc(&wire.GroupJoin{ID: "q7", Group: group}), "already_member"},
		{enc(&wire.GroupLeave{ID: "q8", Group: GroupName(t, "other")}), "not_member"},
		{enc(&wire.ChatRequest{ID: "q9", To: bob.Name, Session: Session(t)}), "ack"},
		{enc(&wire.Hello{ID: "q10", Protocol: "blindpost/1", User: alice.Name}), "out_of_order"},
		{enc(&wire.GroupLeave{ID: "q11", Group: group}), "ack"},
	}
	for _, r := range reqs {
		alice.SendRaw(r.raw)
	}
	for i, r := range reqs {
		id := fmt.Sprintf("q%d", i)
		f := alice.Response(fmt.Sprintf("the response to request %s", id))
		got := f.Type
		if got == "error" {
			got = f.Str("code")
		}
		if f.Str("id") != id || got != r.want {
			t.FatalMismatch("SRV-13", fmt.Sprintf("response %d of %d: %s with id %s", i+1, len(reqs), r.want, id), f.Short())
		}
	}
	alice.Alive("ERR-3")
}

func idsEchoed(t *harness.T) {
	alice, bob := Register(t, "alice"), Register(t, "bob")
	group := GroupName(t, "g")
	long := strings.Repeat("Az09._:-", 8)
	for _, id := range []string{"1", long, ""} {
		c := Dial(t, "hello")
		c.Send(&wire.Hello{ID: id, Protocol: "blindpost/1", User: Name(t, "hello")})
		c.ExpectResponse("MSG-5", id, "hello_ack")
		c.Close()
		for _, m := range requestsTo(t, bob.Name, group) {
			alice.Send(withID(m, id))
			f := alice.Response(m.MessageType())
			alice.checkID(id, f)
			if _, ok := m.(*wire.GroupJoin); ok && f.Type == "ack" {
				alice.Expect("GSV-1", "group_members")
			}
		}
	}
}

func noEcho(t *harness.T) {
	alice := Register(t, "alice")
	canary := "CanaryValue" + b64(Random(t, 12))
	for _, raw := range []string{
		`{"type":"list_users","id":"e1","zz_unknown":"` + canary + `"}`,
		`{"type":"get_pubkey","id":"e2","user":"` + canary + `"}`,
		`{"type":"relay","id":"e3","to":"` + alice.Name + `","session":"` + canary + `","payload":{"kind":"msg","n":0,"ct":"AAAAAAAAAAAAAAAAAAAAAA=="}}`,
		`{"type":"relay","id":"e4","to":"` + alice.Name + `","session":"AAAAAAAAAAAAAAAAAAAAAA==","payload":{"kind":"msg","n":0,"ct":"` + canary + `!"}}`,
		`{"type":"chat_terminate","id":"e5","to":"` + alice.Name + `","session":"AAAAAAAAAAAAAAAAAAAAAA==","zz":{"deep":["` + canary + `"]}}`,
	} {
		alice.SendRaw([]byte(raw))
		f := alice.ExpectError("MSG-1", ReadableID([]byte(raw)), "bad_message", "")
		if strings.Contains(f.Str("message"), "Canary") {
			t.Mismatch("ERR-4", "an error without the value the client sent", f.Short())
		}
	}
	alice.Alive("ERR-3")
}

// everyServerMessage drives the server to send each of the 13 server message types; the client
// checks every one (MSG-6, ENC-7), and the case checks that each type was seen.
func everyServerMessage(t *harness.T) {
	alice, bob := Register(t, "alice"), Register(t, "bob")
	for _, fc := range forwardCases(t, bob.Name, Chat(t, alice, bob)) {
		id := alice.ID()
		alice.Send(withID(fc.req, id))
		bob.Expect("MSG-6", fc.typ)
		alice.ExpectAck("MSG-6", id, fc.typ)
	}
	id := alice.ID()
	alice.Send(&wire.GetPubkey{ID: id, User: bob.Name})
	alice.ExpectResponse("MSG-6", id, "pubkey")
	alice.Alive("MSG-6") // user_list
	id = alice.ID()
	alice.Send(&wire.GetPubkey{ID: id, User: Name(t, "nobody")})
	alice.ExpectError("MSG-6", id, "unknown_user", "get_pubkey")
	g := NewGroup(t, "g")
	g.Join("MSG-6", alice)
	if alice.Limits.MaxGroupMembers >= 2 {
		g.Join("MSG-6", bob)
	} else {
		t.Logf("max_group_members 1: no group_commit or group_message is forwarded to another member")
	}
	g.Commit("MSG-6", alice)
	groupSend(t, g, alice, "MSG-6")
	// hello_ack and register_ack came with registration; every frame was validated on arrival.
}

// groupSend has c send a group message for the group's current epoch; every other member gets
// it from c and c gets ack (GSV-6).
func groupSend(t *harness.T, g *Group, c *Client, rule string) {
	msg := wire.GroupMsg{Group: g.Name, Epoch: g.Epoch, N: 0, Ct: Random(t, 48), Sig: Random(t, 64)}
	id := c.ID()
	c.Send(&wire.GroupMessage{ID: id, Message: msg})
	c.ExpectAck(rule, id, "group_message")
	want, _ := json.Marshal(msg)
	for _, m := range g.Members {
		if m != c {
			g.ExpectForward(rule, m, c, "group_message", "message", want)
		}
	}
}

// Eventually runs check until it reports true, for at most the wait: for state the server
// updates after an event it need not acknowledge (a disconnect). Each check is a round trip, and
// the checks back off from 10 ms to 200 ms.
func Eventually(t *harness.T, rule, what string, check func() (bool, string)) {
	wait := envOf(t).cfg.Wait
	deadline := time.Now().Add(wait)
	backoff := 10 * time.Millisecond
	for {
		ok, last := check()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.FatalMismatch(rule, what+" within "+wait.String(), last)
		}
		timer := time.NewTimer(backoff)
		select {
		case <-timer.C:
		case <-t.Context().Done():
			timer.Stop()
			t.Fatalf("timed out waiting for %s", what)
		}
		backoff = min(2*backoff, 200*time.Millisecond)
	}
}
