package driver_test

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/blindpost/blindpost/impl/client/driver"
	"github.com/blindpost/blindpost/impl/client/internal/testrelay"
	"github.com/blindpost/blindpost/impl/e2ee/identity"
	"github.com/blindpost/blindpost/impl/wire"
)

// connectDriver starts a driver and connects it as user through the relay.
func connectDriver(t *testing.T, r *testrelay.Relay, user string, args ...any) *harness {
	t.Helper()
	h := startDriver(t, user, driver.Options{})
	h.ok("connect", append([]any{"url", r.URL(), "user", user, "pin", r.Pin().String()}, args...)...)
	return h
}

// TestDriverSession drives two clients through a whole 1:1 session and the group with every
// command of spec A.1, checking every result and event of A.2. Rules: DRV-1, DRV-3, DRV-4,
// DRV-5, DRV-34, HS-4, REC-10, TRUST-4.
func TestDriverSession(t *testing.T) {
	r := testrelay.Start(t)
	seed := make([]byte, 32)
	seed[0] = 7
	alice := startDriver(t, "alice", driver.Options{})
	res := alice.ok("connect", "url", r.URL(), "user", "alice", "pin", r.Pin().String(), "seed", base64.StdEncoding.EncodeToString(seed))
	pub := ed25519.NewKeyFromSeed(seed).Public().(ed25519.PublicKey)
	if res.str("identity_key") != base64.StdEncoding.EncodeToString(pub) || res.str("fingerprint") != identity.Fingerprint(pub) {
		t.Fatalf("connect with a seed answered %v, want the seed's key [DRV-5]", res)
	}
	bob := startDriver(t, "bob", driver.Options{})
	if res := bob.ok("connect", "url", r.URL(), "user", "bob", "pin", r.Pin().String()); res.str("identity_key") == "" {
		t.Fatal("connect without a seed gave no identity key [DRV-5]")
	}

	users := alice.ok("list_users")["users"].([]any)
	if len(users) != 2 || users[0] != "alice" || users[1] != "bob" {
		t.Fatalf("list_users = %v", users)
	}

	// A declined request.
	sid := alice.ok("chat", "peer", "bob").str("session")
	alice.event(map[string]any{"event": "pinned", "peer": "bob", "reason": "first_use"}) // TRUST-1
	alice.event(map[string]any{"event": "session", "session": sid, "state": "requested"})
	bob.event(map[string]any{"event": "chat_request", "from": "alice", "session": sid})
	bob.ok("decline", "session", sid)
	alice.event(map[string]any{"event": "session", "session": sid, "peer": "bob", "state": "declined"})

	// An accepted one: nothing happens before accept (DRV-3).
	sid = alice.ok("chat", "peer", "bob").str("session")
	bob.event(map[string]any{"event": "chat_request", "from": "alice", "session": sid})
	bob.ok("accept", "session", sid)
	bob.event(map[string]any{"event": "pinned", "peer": "alice", "reason": "first_use"}) // TRUST-1, HS-2
	bob.event(map[string]any{"event": "session", "session": sid, "state": "handshaking"})
	alice.event(map[string]any{"event": "session", "session": sid, "state": "handshaking"})
	alice.event(map[string]any{"event": "session", "session": sid, "state": "secured"})
	bob.event(map[string]any{"event": "session", "session": sid, "state": "secured"})
	if n := alice.ok("send", "session", sid, "text", "hello bob").num("n"); n != 0 {
		t.Fatalf("first record n=%d", n)
	}
	bob.event(map[string]any{"event": "message", "session": sid, "from": "alice", "text": "hello bob", "n": 0})
	bob.ok("send", "session", sid, "text", "hi alice")
	alice.event(map[string]any{"event": "message", "from": "bob", "text": "hi alice"})

	a := alice.ok("safety_number", "peer", "bob").str("digits")
	b := bob.ok("safety_number", "peer", "alice").str("digits")
	if a != b || len(a) != 60 {
		t.Fatalf("safety numbers %q %q [TRUST-4]", a, b)
	}
	alice.ok("trust", "peer", "bob")

	alice.ok("end", "session", sid)
	alice.event(map[string]any{"event": "session", "session": sid, "state": "ended"})
	bob.event(map[string]any{"event": "session", "session": sid, "state": "ended"})
	alice.fail("out_of_order", "send", "session", sid, "text", "late")

	// The group.
	alice.ok("group_join", "group", "broadcast")
	alice.event(map[string]any{"event": "group", "group": "broadcast", "epoch": 1})
	bob.ok("group_join", "group", "broadcast")
	// spec A.2 [DRV-34]: bob committed epoch 2 and claims nobody until alice acknowledges it.
	bob.event(map[string]any{"event": "group", "group": "broadcast", "epoch": 2, "secured_with": []string{}, "missing": []string{"alice"}})
	alice.event(map[string]any{"event": "group", "group": "broadcast", "epoch": 2, "secured_with": []string{"bob"}, "missing": []string{}})
	bob.event(map[string]any{"event": "group", "group": "broadcast", "epoch": 2, "secured_with": []string{"alice"}, "missing": []string{}})
	g := bob.ok("group_send", "group", "broadcast", "text", "hello group")
	if g.num("epoch") != 2 || g.num("n") != 0 {
		t.Fatalf("group_send answered %v", g)
	}
	alice.event(map[string]any{"event": "group_message", "group": "broadcast", "from": "bob", "text": "hello group", "epoch": 2, "n": 0})
	bob.ok("group_leave", "group", "broadcast")
	alice.event(map[string]any{"event": "group", "group": "broadcast", "epoch": 3})

	alice.ok("quit")
	bob.ok("quit")
	if sec := append(alice.securityEvents(), bob.securityEvents()...); len(sec) > 0 {
		t.Fatalf("unexpected security events %v", sec)
	}
}

// TestDriverErrors checks the answers to commands a driver cannot run: unknown (unimplemented),
// malformed (bad_command), out of order, a relay refusal with its code, lines without an id, and
// failed connects. Rules: DRV-1, DRV-6, DRV-7, ERR-5.
func TestDriverErrors(t *testing.T) {
	r := testrelay.Start(t)
	h := startDriver(t, "alice", driver.Options{})
	h.fail("out_of_order", "list_users")
	h.fail("unimplemented", "teleport")
	h.fail("bad_command", "chat")                             // no peer
	h.fail("bad_command", "chat", "peer", "Bob")              // bad username
	h.fail("bad_command", "send", "session", "x", "text", "") // not a session
	h.fail("bad_command", "connect", "url", r.URL(), "user", "alice", "pin", "sha256:00")
	h.fail("bad_command", "list_users", "extra", 1)
	h.raw(`{"id":"dup","cmd":"quit","cmd":"quit"}`)
	if l := h.response("dup"); l.str("error") != "bad_command" {
		t.Fatalf("duplicate member answered %v [MSG-2]", l)
	}
	// spec A.1 [DRV-6]: a line without a usable id gets a failure without id, and the driver goes on.
	for _, raw := range []string{`not json`, `{"cmd":"quit"}`, `{"id":"a b","cmd":"quit"}`} {
		h.raw(raw)
		if l := h.next("the failure to " + raw); l["id"] != nil || l["ok"] != false || l.str("error") != "bad_command" {
			t.Fatalf("%s answered %v [DRV-6]", raw, l)
		}
	}
	// spec A.1 [DRV-7]: a connect that fails at TLS or at the transport has its own code.
	h.fail("tls_pin_mismatch", "connect", "url", r.URL(), "user", "alice", "pin", "sha256:"+strings.Repeat("ab", 32))
	h.fail("connect_failed", "connect", "url", "wss://127.0.0.1:1/", "user", "alice", "pin", r.Pin().String())
	h.ok("connect", "url", r.URL(), "user", "alice", "pin", r.Pin().String())
	h.fail("out_of_order", "connect", "url", r.URL(), "user", "alice", "pin", r.Pin().String())
	h.fail("unknown_user", "chat", "peer", "nobody")
	h.fail("bad_command", "accept", "session", "AAAAAAAAAAAAAAAAAAAAAA==")
	h.fail("out_of_order", "group_send", "group", "nogroup", "text", "x")
	h.ok("quit")
}

// TestDriverSecurityEvents plays a malicious relay against a driven client: an injected
// chat_terminate without close ends the session unverified, a tampered record fails it, and
// every rejection is a security event with its code and rule. Rules: DRV-2, REC-5, REC-11,
// CLI-2.
func TestDriverSecurityEvents(t *testing.T) {
	r := testrelay.Start(t)
	alice := connectDriver(t, r, "alice")
	bob := connectDriver(t, r, "bob")
	secureDriven := func() string {
		sid := alice.ok("chat", "peer", "bob").str("session")
		bob.event(map[string]any{"event": "chat_request", "session": sid})
		bob.ok("accept", "session", sid)
		alice.event(map[string]any{"event": "session", "session": sid, "state": "secured"})
		bob.event(map[string]any{"event": "session", "session": sid, "state": "secured"})
		return sid
	}
	sid := secureDriven()
	sidBytes, _ := base64.StdEncoding.DecodeString(sid)
	r.Inject(t, "alice", &wire.IncomingChatTerminate{From: "bob", Session: sidBytes})
	alice.event(map[string]any{"event": "security", "code": "unverified_end", "rule": "REC-11", "peer": "bob", "session": sid})
	alice.event(map[string]any{"event": "session", "session": sid, "state": "ended_unverified"})

	sid = secureDriven()
	sidBytes, _ = base64.StdEncoding.DecodeString(sid)
	ct := make([]byte, 40)
	r.Inject(t, "alice", &wire.IncomingRelay{From: "bob", Session: sidBytes, Payload: &wire.MsgRecord{N: 0, Ct: ct}})
	alice.event(map[string]any{"event": "security", "code": "bad_tag", "rule": "REC-5", "session": sid})
	alice.event(map[string]any{"event": "session", "session": sid, "state": "failed"})

	r.Tap.Drop()
	d := alice.event(map[string]any{"event": "disconnected"})
	if d.num("code") != 1006 {
		t.Fatalf("disconnected %v, want code 1006", d)
	}
	if !strings.Contains(alice.dump(), `"disconnected"`) {
		t.Fatal("no disconnected event")
	}
}

// TestDriverOptionalCommands: the optional commands of spec A.5 are unimplemented in a driver
// that does not serve them, validated by the schema before they run in one that does, and
// their results and failure codes reach the response. Rules: DRV-1.
func TestDriverOptionalCommands(t *testing.T) {
	plain := startDriver(t, "plain", driver.Options{})
	plain.fail("unimplemented", "status")
	plain.fail("unimplemented", "verification", "peer", "bob")
	plain.ok("quit")

	ran := 0
	h := startDriver(t, "front-end", driver.Options{Extra: map[string]driver.Command{
		"status": func(ctx context.Context, s *driver.Session, args json.RawMessage) (driver.Results, error) {
			ran++
			return driver.Results{"state": "no_identity"}, nil
		},
		"unlock": func(ctx context.Context, s *driver.Session, args json.RawMessage) (driver.Results, error) {
			ran++
			return nil, &driver.Failure{Code: "bad_passphrase", Err: errors.New("wrong")}
		},
	}})
	if r := h.ok("status"); r.str("state") != "no_identity" {
		t.Fatalf("status: %v", r)
	}
	h.fail("bad_passphrase", "unlock", "passphrase", "x")
	h.fail("bad_command", "unlock", "passphrase", "") // minLength: never reaches the command
	h.fail("bad_command", "status", "user", "alice")
	h.fail("unimplemented", "verification", "peer", "bob")
	if ran != 2 {
		t.Fatalf("the commands ran %d times, want 2", ran)
	}
	h.ok("quit")
}
