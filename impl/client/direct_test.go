package client_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/blindpost/blindpost/impl/client"
)

// TestChat runs a 1:1 session through the real relay: consent, handshake, messages both ways,
// and a verified end. Rules: HS-1, HS-2, HS-4, HS-10, REC-1, REC-9, REC-10, TRUST-1, CLI-1.
func TestChat(t *testing.T) {
	srv := startServer(t)
	alice := connect(t, srv, "alice")
	bob := connect(t, srv, "bob")

	sid := secure(t, alice, bob)
	for i, text := range []string{"hello bob", "second"} {
		n, err := alice.c.Send(ctx(t), sid, text)
		if err != nil || n != uint64(i) {
			t.Fatalf("send %q: n=%d err=%v, want n=%d [REC-1]", text, n, err, i)
		}
		m := bob.wait("message", message(text)).(client.MessageEvent)
		if m.From != "alice" || m.N != uint64(i) || m.Session != sid {
			t.Fatalf("bob got %+v", m)
		}
	}
	if _, err := bob.c.Send(ctx(t), sid, "hi alice"); err != nil {
		t.Fatal(err)
	}
	alice.wait("reply", message("hi alice"))

	if err := alice.c.End(ctx(t), sid); err != nil {
		t.Fatal(err)
	}
	alice.wait("ended", sessionState(sid, client.SessionEnded))
	bob.wait("ended by close record [REC-10]", sessionState(sid, client.SessionEnded))
	if _, err := alice.c.Send(ctx(t), sid, "too late"); err == nil {
		t.Fatal("send after end succeeded")
	}
	alice.noSecurityEvents()
	bob.noSecurityEvents()
}

// TestDecline checks that a declined request ends there, on both sides: spec §6.1 [HS-4],
// A.2 [DRV-3] (nothing is accepted without Accept).
func TestDecline(t *testing.T) {
	srv := startServer(t)
	alice := connect(t, srv, "alice")
	bob := connect(t, srv, "bob")
	sid, err := alice.c.Chat(ctx(t), "bob")
	if err != nil {
		t.Fatal(err)
	}
	alice.wait("requested", sessionState(sid, client.SessionRequested))
	bob.wait("request", chatRequest("alice"))
	for _, s := range bob.c.Sessions() {
		if s.Session == sid && s.State != "incoming" {
			t.Fatalf("request is %s before bob answered [DRV-3]", s.State)
		}
	}
	if err := bob.c.Decline(ctx(t), sid); err != nil {
		t.Fatal(err)
	}
	bob.wait("declined", sessionState(sid, client.SessionDeclined))
	alice.wait("declined [HS-4]", sessionState(sid, client.SessionDeclined))
	if _, err := alice.c.Send(ctx(t), sid, "x"); !errors.Is(err, client.ErrState) {
		t.Fatalf("send on a declined session: %v", err)
	}
	if err := bob.c.Accept(ctx(t), sid); !errors.Is(err, client.ErrState) {
		t.Fatalf("accept after decline: %v", err)
	}
}

// TestEndFromResponder checks that either side can end a session with a verified close:
// spec §6.5 [REC-9] [REC-10] [REC-12].
func TestEndFromResponder(t *testing.T) {
	srv := startServer(t)
	alice := connect(t, srv, "alice")
	bob := connect(t, srv, "bob")
	sid := secure(t, alice, bob)
	if err := bob.c.End(ctx(t), sid); err != nil {
		t.Fatal(err)
	}
	bob.wait("ended", sessionState(sid, client.SessionEnded))
	alice.wait("ended by bob's close record", sessionState(sid, client.SessionEnded))
	if err := alice.c.End(ctx(t), sid); !errors.Is(err, client.ErrState) {
		t.Fatalf("ending twice: %v", err)
	}
	// A new session with the same peer gets a new id (HS-1) and works.
	sid2 := secure(t, bob, alice)
	if sid2 == sid {
		t.Fatal("session id reused [HS-1]")
	}
	alice.noSecurityEvents()
	bob.noSecurityEvents()
}

// TestCloseEndsSessions checks that Close ends secured sessions with a close record, so the peer
// sees a verified end: spec §6.5 [REC-9].
func TestCloseEndsSessions(t *testing.T) {
	srv := startServer(t)
	alice := connect(t, srv, "alice")
	bob := connect(t, srv, "bob")
	sid := secure(t, alice, bob)
	alice.close()
	bob.wait("ended", sessionState(sid, client.SessionEnded))
	bob.noSecurityEvents()
}

// TestChatOffline checks that a request to a user who is not connected fails with the relay's
// error code (spec §5.5 [SRV-9], ERR-5).
func TestChatOffline(t *testing.T) {
	srv := startServer(t)
	alice := connect(t, srv, "alice")
	bob := connect(t, srv, "bob")
	bob.close()
	if _, err := alice.c.Chat(ctx(t), "bob"); !client.IsServerError(err, "user_offline") {
		t.Fatalf("chat with an offline user: %v", err)
	}
	if _, err := alice.c.Chat(ctx(t), "nobody"); !client.IsServerError(err, "unknown_user") {
		t.Fatalf("chat with an unknown user: %v", err)
	}
	if _, err := alice.c.Chat(ctx(t), "alice"); !errors.Is(err, client.ErrBadArgument) {
		t.Fatalf("chat with oneself: %v", err)
	}
}

// TestThreeClients runs three 1:1 sessions at once between three clients and checks that every
// message reaches exactly its session's peer, each session with its own keys: HS-1, REC-1,
// SRV-10.
func TestThreeClients(t *testing.T) {
	srv := startServer(t)
	alice := connect(t, srv, "alice")
	bob := connect(t, srv, "bob")
	carol := connect(t, srv, "carol")
	ab := secure(t, alice, bob)
	ac := secure(t, alice, carol)
	bc := secure(t, bob, carol)
	sends := []struct {
		from *peer
		sid  client.SessionID
		to   *peer
		text string
		n    uint64
	}{
		{alice, ab, bob, "alice to bob", 0},
		{alice, ac, carol, "alice to carol", 0},
		{bob, bc, carol, "bob to carol", 0},
		{carol, ac, alice, "carol to alice", 0},
		{bob, ab, alice, "bob to alice", 0},
		{carol, bc, bob, "carol to bob", 0},
	}
	for i, s := range sends {
		n, err := s.from.c.Send(ctx(t), s.sid, s.text)
		if err != nil {
			t.Fatal(err)
		}
		sends[i].n = n
	}
	for _, s := range sends {
		m := s.to.wait(s.text, message(s.text)).(client.MessageEvent)
		if m.From != s.from.name || m.Session != s.sid || m.N != s.n {
			t.Fatalf("%s got %+v", s.to.name, m)
		}
	}
	for _, p := range []*peer{alice, bob, carol} {
		for _, e := range p.seen {
			if m, ok := e.(client.MessageEvent); ok && !strings.Contains(m.Text, "to "+p.name) {
				t.Fatalf("%s received %q, meant for someone else", p.name, m.Text)
			}
		}
		p.noSecurityEvents()
	}
}
