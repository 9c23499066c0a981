package client_test

import (
	"errors"
	"path/filepath"
	"testing"

	"github.com/blindpost/blindpost/impl/client"
	"github.com/blindpost/blindpost/impl/e2ee/identity"
	"github.com/blindpost/blindpost/impl/server"
	"github.com/blindpost/blindpost/impl/server/directory"
	"github.com/blindpost/blindpost/impl/server/servertest"
)

// restartWithout stops the relay, removes user from its directory as the operator command does
// (spec §5.2), and starts it again on the same address, so that connected clients reconnect.
func restartWithout(t *testing.T, srv *servertest.Server, user string) *servertest.Server {
	t.Helper()
	addr := srv.Addr().String()
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	d, err := directory.Open(filepath.Join(srv.DataDir, directory.FileName), directory.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Remove(user); err != nil {
		t.Fatal(err)
	}
	d.Close()
	return srv.Restart(t, func(c *server.Config) { c.Listen = addr })
}

// TestKeyChange checks the pin after the directory rebinds a name to a new key: the change is
// reported, every new session with that peer is refused until the user re-trusts, and the
// re-trust is reported. Rules: TRUST-1, TRUST-2, TRUST-3, HS-2, CLI-2, CLI-3 (alice reconnects
// across the restart).
func TestKeyChange(t *testing.T) {
	srv := startServer(t)
	alice := connect(t, srv, "alice")
	bob := connect(t, srv, "bob")
	oldFP := bob.c.Fingerprint()
	secure(t, alice, bob)
	if !alice.saw(func(e client.Event) bool { return isPin(e, "bob") }) {
		t.Fatal("no PinEvent for bob's first key [TRUST-1]")
	}
	bob.close()

	srv = restartWithout(t, srv, "bob")
	alice.wait("reconnected [CLI-3]", connState(client.Connected))
	key, err := identity.Generate(nil)
	if err != nil {
		t.Fatal(err)
	}
	bob2 := connectAs(t, srv, "bob", key, filepath.Join(t.TempDir(), "known_peers"))
	if bob2.c.Fingerprint() == oldFP {
		t.Fatal("the new key has the old fingerprint")
	}

	_, err = alice.c.Chat(ctx(t), "bob")
	if !isOutcome(err, "key_changed") {
		t.Fatalf("chat with a changed key: %v, want key_changed [HS-2] [TRUST-2]", err)
	}
	alice.wait("key change reported [CLI-2]", security("key_changed", "TRUST-2"))
	if fp, _ := alice.c.PinnedFingerprint("bob"); fp != oldFP {
		t.Fatalf("the old pin was not kept [TRUST-2]: %s", fp)
	}
	if _, err := alice.c.Chat(ctx(t), "bob"); !isOutcome(err, "key_changed") {
		t.Fatalf("second attempt: %v, want key_changed until re-trust [TRUST-2]", err)
	}
	if err := alice.c.Trust(ctx(t), "bob"); err != nil {
		t.Fatal(err)
	}
	ev := alice.wait("re-pinned", func(e client.Event) bool { return isPin(e, "bob") }).(client.PinEvent)
	if !ev.Replaced || ev.Fingerprint != bob2.c.Fingerprint() {
		t.Fatalf("pin event %+v", ev)
	}
	sid := secure(t, alice, bob2)
	if _, err := alice.c.Send(ctx(t), sid, "welcome back"); err != nil {
		t.Fatal(err)
	}
	bob2.wait("message", message("welcome back"))
}

func isPin(e client.Event, peer string) bool {
	p, ok := e.(client.PinEvent)
	return ok && p.Peer == peer
}

func connState(st client.ConnState) func(client.Event) bool {
	return func(e client.Event) bool {
		c, ok := e.(client.ConnectionEvent)
		return ok && c.State == st
	}
}

// TestSafetyNumber checks that both sides compute the same 60 digits from their pins and that a
// request is reported as an event: spec §6.6 [TRUST-4] [TRUST-5].
func TestSafetyNumber(t *testing.T) {
	srv := startServer(t)
	alice := connect(t, srv, "alice")
	bob := connect(t, srv, "bob")
	a, err := alice.c.SafetyNumber(ctx(t), "bob")
	if err != nil {
		t.Fatal(err)
	}
	b, err := bob.c.SafetyNumber(ctx(t), "alice")
	if err != nil {
		t.Fatal(err)
	}
	if a != b || len(a) != 60 {
		t.Fatalf("safety numbers %q and %q differ or are not 60 digits [TRUST-5]", a, b)
	}
	ev := alice.wait("safety number event", func(e client.Event) bool { _, ok := e.(client.SafetyNumberEvent); return ok })
	if ev.(client.SafetyNumberEvent).Digits != a {
		t.Fatalf("event %+v", ev)
	}
	if _, err := alice.c.SafetyNumber(ctx(t), "alice"); !errors.Is(err, client.ErrBadArgument) {
		t.Fatalf("safety number with oneself: %v", err)
	}
}
