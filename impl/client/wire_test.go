package client_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/blindpost/blindpost/impl/client"
	"github.com/blindpost/blindpost/impl/client/wiretap"
	"github.com/blindpost/blindpost/impl/e2ee"
	"github.com/blindpost/blindpost/impl/e2ee/identity"
	"github.com/blindpost/blindpost/impl/server"
	"github.com/blindpost/blindpost/impl/wire"
)

// TestMalformedFromRelay injects messages that break the JSON rules of spec §2.4 and §5.1:
// each is rejected and reported with the rule it broke, and the connection lives on.
// Rules: MSG-1, MSG-2, MSG-3, MSG-4, ENC-9, ENC-10, CLI-2.
func TestMalformedFromRelay(t *testing.T) {
	tp := startTapped(t)
	alice := tp.connect(t, "alice")
	tests := []struct{ data, rule string }{
		{`{"type":"relay","from":"bob","session":"AAAAAAAAAAAAAAAAAAAAAA==","payload":{"kind":"msg","n":0,"ct":"AAAAAAAAAAAAAAAAAAAAAAA="},"extra":1}`, "MSG-1"},
		{`{"type":"chat_request","from":"bob","from":"eve","session":"AAAAAAAAAAAAAAAAAAAAAA=="}`, "MSG-2"},
		{`{"type":"chat_request","from":"bob","session":"AAAAAAAAAAAAAAAAAAAAAA=="} {}`, "MSG-3"},
		{strings.Repeat("[", 40) + strings.Repeat("]", 40), "MSG-4"},
		{"{\"type\":\"chat_request\",\"from\":\"b\xffb\",\"session\":\"AAAAAAAAAAAAAAAAAAAAAA==\"}", ""}, // WS-4: closes 1007
		{`{"type":"error","code":"internal","message":"\ud800"}`, "ENC-10"},
	}
	for _, tc := range tests {
		if tc.rule == "" {
			continue
		}
		tp.InjectRaw(t, "alice", []byte(tc.data))
		alice.wait(tc.rule, security("malformed", tc.rule))
	}
	if _, _, err := alice.c.ListUsers(ctx(t)); err != nil {
		t.Fatalf("the connection did not survive malformed messages: %v", err)
	}
}

// TestUnknownErrorCode plays a relay that answers a request with an error whose code is not in
// the closed set of spec §5.7: the client reports it as malformed, the request fails at once with
// that outcome instead of waiting for an answer that will not come, and the connection goes on.
// Rules: ERR-5, MSG-1, CLI-2.
func TestUnknownErrorCode(t *testing.T) {
	tp := startTapped(t)
	alice := tp.connect(t, "alice")
	ids := make(chan string, 1)
	tp.DropWhen(func(f wiretap.Frame) bool {
		if f.Direction != wiretap.ToClient || !bytes.Contains(f.Data, []byte(`"type":"user_list"`)) {
			return false
		}
		m, err := wire.Decode(wire.FromServer, f.Data)
		ul, ok := m.(*wire.UserList)
		if err != nil || !ok {
			return false
		}
		ids <- ul.ID
		return true
	})
	failed := make(chan error, 1)
	go func() {
		_, _, err := alice.c.ListUsers(ctx(t))
		failed <- err
	}()
	var id string
	select {
	case id = <-ids:
	case err := <-failed:
		t.Fatalf("list_users ended before the relay answered: %v", err)
	}
	tp.DropWhen(nil)
	tp.InjectRaw(t, "alice", fmt.Appendf(nil, `{"type":"error","id":%q,"code":"maintenance","message":"down for maintenance","for":"list_users"}`, id))
	if err := <-failed; !errors.Is(err, e2ee.Malformed) {
		t.Fatalf("list_users answered by an error outside spec §5.7: %v; want the outcome malformed [ERR-5]", err)
	}
	alice.wait("the malformed error", security("malformed", "MSG-1"))
	if _, _, err := alice.c.ListUsers(ctx(t)); err != nil {
		t.Fatalf("the connection did not survive the malformed error: %v", err)
	}
}

// TestInvalidFrames checks that the client closes the connection on a binary message (1003) and
// on text that is not UTF-8 (1007), then reconnects: spec §4.2 [WS-3] [WS-4], CLI-3.
func TestInvalidFrames(t *testing.T) {
	tp := startTapped(t)
	alice := tp.connect(t, "alice")
	if err := tp.tap.InjectBinary(tp.Conn("alice"), wiretap.ToClient, []byte("{}")); err != nil {
		t.Fatal(err)
	}
	d := alice.wait("closed on binary", connState(client.Disconnected)).(client.ConnectionEvent)
	if d.Code != 1003 {
		t.Fatalf("closed with %d, want 1003 [WS-3]", d.Code)
	}
	alice.wait("reconnected", connState(client.Connected))
	tp.InjectRaw(t, "alice", []byte("{\"type\":\"ack\",\"for\":\"relay\",\"x\":\"\xff\"}"))
	d = alice.wait("closed on invalid UTF-8", connState(client.Disconnected)).(client.ConnectionEvent)
	if d.Code != 1007 {
		t.Fatalf("closed with %d, want 1007 [WS-4]", d.Code)
	}
	alice.wait("reconnected", connState(client.Connected))
}

// TestOversizeRefused checks that the client refuses to send a message larger than the relay
// announced, before sending anything: spec §4.2 [WS-6].
func TestOversizeRefused(t *testing.T) {
	srv := startServer(t, func(c *server.Config) { c.MaxMessage = 1024 })
	alice := connect(t, srv, "alice")
	bob := connect(t, srv, "bob")
	sid := secure(t, alice, bob)
	if _, err := alice.c.Send(ctx(t), sid, strings.Repeat("x", 1000)); err == nil {
		t.Fatal("an oversize record was sent [WS-6]")
	}
	if _, err := alice.c.Send(ctx(t), sid, "small"); err == nil {
		// The refused record took counter 0; the next one still arrives (REC-3 allows gaps).
		bob.wait("the next record", message("small"))
	} else {
		t.Fatal(err)
	}
	if !alice.c.Connected() {
		t.Fatal("the client disconnected")
	}
}

// TestRekeyGroup commits a new epoch for the same members on request, the path a sender takes
// before its counter runs out: spec §7.2 [GRP-18], GRP-13.
func TestRekeyGroup(t *testing.T) {
	srv := startServer(t)
	alice := connect(t, srv, "alice")
	bob := connect(t, srv, "bob")
	joinAll(t, "g", alice, bob)
	if _, _, err := alice.c.GroupSend(ctx(t), "g", "epoch 2"); err != nil {
		t.Fatal(err)
	}
	if err := alice.c.RekeyGroup(ctx(t), "g"); err != nil {
		t.Fatal(err)
	}
	ev := bob.wait("rekeyed", groupEpoch("g", "alice", "bob")).(client.GroupEvent)
	if ev.Epoch != 3 || ev.Committer != "alice" {
		t.Fatalf("rekey %+v, want epoch 3 by alice", ev)
	}
	epoch, n, err := alice.c.GroupSend(ctx(t), "g", "epoch 3")
	if err != nil || epoch != 3 || n != 0 {
		t.Fatalf("after the rekey: epoch %d n %d err %v; want epoch 3, counter 0 again [GRP-13]", epoch, n, err)
	}
	bob.wait("message in the new epoch", groupMessage("g", "epoch 3"))
	if err := alice.c.RekeyGroup(ctx(t), "nogroup"); err == nil {
		t.Fatal("rekey of a group the client is not in")
	}
}

// TestNothingSecretCrossesTheRelay runs 1:1 and group traffic and checks every message that
// crossed the relay: each is schema-valid and canonical, no identity seed or plaintext is in
// any, the published group keys are signed, and every handshake has fresh ephemeral keys.
// Rules: MSG-6, ENC-5, ENC-7, KEY-2, KEY-4, HS-5, HS-1, and §10 "What the server sees".
func TestNothingSecretCrossesTheRelay(t *testing.T) {
	tp := startTapped(t)
	alice := tp.connect(t, "alice")
	bob := tp.connect(t, "bob")
	texts := []string{"the eagle lands at dawn", "bring the blue folder"}
	for _, text := range texts {
		sid := secure(t, alice, bob)
		if _, err := alice.c.Send(ctx(t), sid, text); err != nil {
			t.Fatal(err)
		}
		bob.wait("message", message(text))
		if err := alice.c.End(ctx(t), sid); err != nil {
			t.Fatal(err)
		}
		bob.wait("ended", sessionState(sid, client.SessionEnded))
	}
	joinAll(t, client.Broadcast, alice, bob)
	if _, _, err := bob.c.GroupSend(ctx(t), client.Broadcast, "group secret"); err != nil {
		t.Fatal(err)
	}
	alice.wait("group message", groupMessage(client.Broadcast, "group secret"))

	var secrets [][]byte
	for _, p := range []*peer{alice, bob} {
		seed := p.key.Seed()
		secrets = append(secrets, seed, []byte(base64.StdEncoding.EncodeToString(seed)))
	}
	for _, text := range append(texts, "group secret") {
		secrets = append(secrets, []byte(text))
	}
	for _, f := range tp.Frames() {
		for _, s := range secrets {
			if bytes.Contains(f.Data, s) {
				t.Fatalf("a secret crossed the relay in %s [KEY-2]", f.Data)
			}
		}
	}
	seen := map[string]bool{}
	sessions := map[string]bool{}
	for _, m := range tp.sent(t) { // sent decodes strictly: MSG-6, ENC-5, ENC-7
		if reg, ok := m.(*wire.Register); ok {
			user := "alice"
			if bytes.Equal(reg.IdentityKey, bob.key.Public()) {
				user = "bob"
			}
			if err := identity.VerifyGroupKeySig(user, reg.IdentityKey, reg.GroupKey, reg.GroupKeySig); err != nil {
				t.Fatalf("register of %s: %v [KEY-4]", user, err)
			}
		}
		if r, ok := m.(*wire.Relay); ok {
			switch p := r.Payload.(type) {
			case *wire.HS1:
				seen[string(p.E)] = true
			case *wire.HS2:
				seen[string(p.E)] = true
			}
		}
		if cr, ok := m.(*wire.ChatRequest); ok {
			sessions[string(cr.Session)] = true
		}
	}
	if len(seen) != 4 || len(sessions) != 2 {
		t.Fatalf("%d distinct ephemerals in 2 handshakes (want 4) [HS-5], %d session ids (want 2) [HS-1]", len(seen), len(sessions))
	}
}

// TestPollUsers checks that the online list is refreshed by polling and reported when it
// changes: spec §5.4 [SRV-5].
func TestPollUsers(t *testing.T) {
	srv := startServer(t)
	alice := connect(t, srv, "alice", func(o *client.Options) { o.PollUsers = 10 * time.Millisecond })
	connect(t, srv, "bob")
	alice.wait("bob online", func(e client.Event) bool {
		u, ok := e.(client.UsersEvent)
		return ok && strings.Join(u.Users, ",") == "alice,bob"
	})
	if got := strings.Join(alice.c.Online(), ","); got != "alice,bob" {
		t.Fatalf("Online() = %s", got)
	}
}

// TestRatePacing sends faster than the relay's rate allows and checks that the client paces
// itself so that the relay refuses nothing: spec §5.8 [LIM-6].
func TestRatePacing(t *testing.T) {
	srv := startServer(t, func(c *server.Config) { c.Rate, c.Burst = 200, 20 })
	alice := connect(t, srv, "alice")
	bob := connect(t, srv, "bob")
	sid := secure(t, alice, bob)
	for i := 0; i < 80; i++ {
		if _, err := alice.c.Send(ctx(t), sid, "burst"); err != nil {
			t.Fatalf("message %d: %v [LIM-6]", i, err)
		}
	}
}
