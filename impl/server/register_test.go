package server_test

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/blindpost/blindpost/impl/e2ee/identity"
	"github.com/blindpost/blindpost/impl/server"
	"github.com/blindpost/blindpost/impl/server/servertest"
	"github.com/blindpost/blindpost/impl/server/servertest/timescale"
)

// TestRegisterHappyPath checks REG-1 (a fresh 32-byte challenge per hello), the limits of
// hello_ack that clients keep to (LIM-3, WS-6, LIM-6), register_ack with the fingerprint, and
// SRV-3/REG-12 (the directory serves the keys that registered).
func TestRegisterHappyPath(t *testing.T) {
	srv := servertest.Start(t)
	alice := dial(t, srv, "alice")
	alice.send(msg{"type": "hello", "id": "h1", "protocol": "blindpost/1", "user": "alice"})
	ack := alice.expect("hello_ack")
	if ack["id"] != "h1" || ack["server"] != server.Software {
		t.Fatalf("hello_ack = %s", compact(ack))
	}
	limits := ack["limits"].(msg)
	cfg := server.DefaultConfig()
	// spec §4.2 [WS-7], [WS-9]: the timers are announced too, in milliseconds.
	want := msg{"max_message": cfg.MaxMessage, "rate": cfg.Rate, "burst": cfg.Burst, "max_groups": cfg.MaxGroups, "max_group_members": cfg.MaxGroupMembers,
		"ping_interval_ms": 30000, "pong_timeout_ms": 60000, "register_timeout_ms": 10000}
	if !sameJSON(limits, want) {
		t.Errorf("limits = %s, want %s", compact(limits), compact(want))
	}
	challenge := unb64(t, ack["challenge"].(string))
	if len(challenge) != 32 {
		t.Fatalf("challenge is %d bytes, want 32", len(challenge))
	}
	alice.send(alice.registerMsg(challenge, srv.Pin.Bytes()))
	reg := alice.expect("register_ack")
	if reg["id"] != "r1" || reg["user"] != "alice" || reg["fingerprint"] != identity.Fingerprint(alice.key.Public()) {
		t.Fatalf("register_ack = %s", compact(reg))
	}

	// REG-1: another connection gets another challenge.
	other := dial(t, srv, "bob")
	if c2 := other.hello(); string(c2) == string(challenge) {
		t.Error("two connections got the same challenge")
	}

	alice.send(msg{"type": "get_pubkey", "id": "k", "user": "alice"})
	pk := alice.expect("pubkey")
	if pk["id"] != "k" || pk["identity_key"] != b64(alice.key.Public()) || pk["group_key"] != b64(alice.key.GroupPublic()) ||
		pk["group_key_sig"] != b64(alice.key.GroupKeySig("alice")) {
		t.Fatalf("pubkey = %s", compact(pk))
	}
}

// TestRegisterFailures checks the registration refusals of spec §5.2, each an error and then
// close 1008 (ERR-2, WS-10): REG-3 and REG-11 (bad proof: wrong key, a pin other than the
// server's, another connection's challenge),
// REG-4 (bad group key signature), REG-8 (out of order), REG-10 (schema-invalid).
func TestRegisterFailures(t *testing.T) {
	srv := servertest.Start(t)
	stranger, err := identity.Generate(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		run  func(c *client)
		code string
	}{
		{"REG-3 proof signed by another key", func(c *client) {
			m := c.registerMsg(c.hello(), srv.Pin.Bytes())
			proof, _ := stranger.RegisterProof(unb64(t, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="), srv.Pin.Bytes(), c.name)
			m["proof"] = b64(proof)
			c.send(m)
		}, "bad_proof"},
		{"REG-3 proof for another server pin", func(c *client) {
			other := sha256.Sum256([]byte("another server"))
			c.send(c.registerMsg(c.hello(), other[:]))
		}, "bad_proof"},
		{"REG-3 proof for another user", func(c *client) {
			challenge := c.hello()
			m := c.registerMsg(challenge, srv.Pin.Bytes())
			proof, _ := c.key.RegisterProof(challenge, srv.Pin.Bytes(), "mallory")
			m["proof"] = b64(proof)
			c.send(m)
		}, "bad_proof"},
		{"REG-2 REG-3 challenge of another connection", func(c *client) {
			other := dial(t, srv, c.name)
			challenge := other.hello()
			c.hello()
			c.send(c.registerMsg(challenge, srv.Pin.Bytes()))
		}, "bad_proof"},
		{"REG-4 bad group key signature", func(c *client) {
			m := c.registerMsg(c.hello(), srv.Pin.Bytes())
			m["group_key_sig"] = b64(stranger.GroupKeySig(c.name))
			c.send(m)
		}, "bad_proof"},
		{"REG-8 register before hello", func(c *client) {
			c.send(c.registerMsg(make([]byte, 32), srv.Pin.Bytes()))
		}, "out_of_order"},
		{"REG-8 second hello", func(c *client) {
			c.hello()
			c.send(msg{"type": "hello", "protocol": "blindpost/1", "user": c.name})
		}, "out_of_order"},
		{"REG-8 SRV-1 relay before registration", func(c *client) {
			c.send(msg{"type": "relay", "to": "bob", "session": session(), "payload": msgPayload(0, 20)})
		}, "out_of_order"},
		{"REG-8 list_users after hello", func(c *client) {
			c.hello()
			c.send(msg{"type": "list_users"})
		}, "out_of_order"},
		{"REG-10 schema-invalid hello", func(c *client) {
			c.send(msg{"type": "hello", "protocol": "blindpost/2", "user": c.name})
		}, "bad_message"},
		{"REG-10 not JSON", func(c *client) {
			c.sendRaw("hello")
		}, "bad_message"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := dial(t, srv, "user"+string(rune('a'+i)))
			c.t = t
			tt.run(c)
			c.expectErrorThenClose(tt.code, websocket.ClosePolicyViolation)
		})
	}
}

// TestRegisterBinding checks REG-5 (the first key holds the name, across restarts), REG-6
// (identity_mismatch for another key), REG-7 (a newer login of the same identity replaces the
// older with 4001, and the older leaves its groups, GSV-3), and REG-12 (the latest group key).
func TestRegisterBinding(t *testing.T) {
	srv := servertest.Start(t)
	first := connect(t, srv, "alice")
	watcher := connect(t, srv, "bob")
	first.send(msg{"type": "group_join", "id": "j", "group": "room"})
	first.expectAck("j", "group_join")
	first.expect("group_members")
	watcher.send(msg{"type": "group_join", "id": "j", "group": "room"})
	watcher.expectAck("j", "group_join")
	watcher.expect("group_members")
	first.expect("group_members")

	// REG-6: another key for a bound name.
	thief := dial(t, srv, "alice")
	thief.send(thief.registerMsg(thief.hello(), srv.Pin.Bytes()))
	thief.expectErrorThenClose("identity_mismatch", websocket.ClosePolicyViolation)
	// REG-14: with a proof for another pin, the proof fails first: bad_proof.
	thief = dial(t, srv, "alice")
	thief.send(thief.registerMsg(thief.hello(), make([]byte, 32)))
	thief.expectErrorThenClose("bad_proof", websocket.ClosePolicyViolation)

	// REG-7: the same key on a new connection replaces the old one.
	second := dial(t, srv, "alice")
	second.key = first.key
	second.register()
	first.expectClose(server.CloseReplaced)
	gm := watcher.expect("group_members") // GSV-3: the replaced connection left the group
	if !sameJSON(gm["members"], []string{"bob"}) {
		t.Fatalf("after replacement: %s", compact(gm))
	}
	if users := second.sync()["users"]; !sameJSON(users, []string{"alice", "bob"}) {
		t.Fatalf("user_list = %v", users)
	}

	// REG-5: across a restart, the binding holds.
	srv = srv.Restart(t)
	thief = dial(t, srv, "alice")
	thief.send(thief.registerMsg(thief.hello(), srv.Pin.Bytes()))
	thief.expectErrorThenClose("identity_mismatch", websocket.ClosePolicyViolation)
	back := dial(t, srv, "alice")
	back.key = first.key
	back.register()
}

// TestRegistrationDeadline checks WS-9 and REG-2: a connection that has not registered within
// the deadline is closed with 1008, and its challenge is not accepted afterwards.
func TestRegistrationDeadline(t *testing.T) {
	srv := servertest.Start(t, func(c *server.Config) { c.RegisterTimeout = timescale.Of(500 * time.Millisecond) })
	idle := dial(t, srv, "idle")
	late := dial(t, srv, "late")
	challenge := late.hello()
	idle.expectClose(websocket.ClosePolicyViolation)
	late.expectClose(websocket.ClosePolicyViolation)
	// The challenge died with its connection: a new connection cannot use it (REG-2).
	again := dial(t, srv, "late")
	again.hello()
	again.send(again.registerMsg(challenge, srv.Pin.Bytes()))
	again.expectErrorThenClose("bad_proof", websocket.ClosePolicyViolation)
}

// TestReusedChallenge checks REG-2 and REG-9: a second register on a registered connection is
// out_of_order and the connection stays open.
func TestReusedChallenge(t *testing.T) {
	srv := servertest.Start(t)
	c := dial(t, srv, "alice")
	challenge := c.hello()
	c.send(c.registerMsg(challenge, srv.Pin.Bytes()))
	c.expect("register_ack")
	c.send(c.registerMsg(challenge, srv.Pin.Bytes()))
	c.expectError("out_of_order", "r1")
	c.send(msg{"type": "hello", "id": "h2", "protocol": "blindpost/1", "user": "alice"})
	c.expectError("out_of_order", "h2")
	c.sync() // still open (REG-9)
}

// TestServerFull checks REG-13: a full directory refuses a new name with server_full and 1008,
// while bound names still register.
func TestServerFull(t *testing.T) {
	srv := servertest.Start(t, func(c *server.Config) { c.MaxUsers = 1 })
	alice := connect(t, srv, "alice")
	bob := dial(t, srv, "bob")
	bob.send(bob.registerMsg(bob.hello(), srv.Pin.Bytes()))
	bob.expectErrorThenClose("server_full", websocket.ClosePolicyViolation)
	again := dial(t, srv, "alice")
	again.key = alice.key
	again.register()
}

// TestPublicPin checks TLS-6 and REG-11: behind a TLS-terminating proxy the server verifies
// proofs against the configured public pin, the pin the clients saw, not its own certificate's.
func TestPublicPin(t *testing.T) {
	public := sha256.Sum256([]byte("the proxy's certificate"))
	pinText := "sha256:" + hex.EncodeToString(public[:])
	srv := servertest.Start(t, func(c *server.Config) { c.PublicPin = pinText })
	if srv.Pin.String() != pinText || srv.CertificatePin() == srv.Pin {
		t.Fatalf("Pin() = %s, certificate %s", srv.Pin, srv.CertificatePin())
	}
	c := dial(t, srv, "alice")
	c.register() // signs for srv.Pin, the public pin
	own := dial(t, srv, "bob")
	cert := srv.CertificatePin()
	own.send(own.registerMsg(own.hello(), cert.Bytes()))
	own.expectErrorThenClose("bad_proof", websocket.ClosePolicyViolation)
}
