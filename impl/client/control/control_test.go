package control_test

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/blindpost/blindpost/impl/client"
	"github.com/blindpost/blindpost/impl/client/control"
	"github.com/blindpost/blindpost/impl/client/internal/testrelay"
	"github.com/blindpost/blindpost/impl/client/tlstrust"
	"github.com/blindpost/blindpost/impl/client/wiretap"
	"github.com/blindpost/blindpost/impl/e2ee/identity"
	"github.com/blindpost/blindpost/impl/wire"
)

const waitFor = 15 * time.Second

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(t.Context(), waitFor)
	t.Cleanup(cancel)
	return c
}

// socketPath is a short path for the socket: unix socket paths are limited to about 100 bytes.
func socketPath(t *testing.T) string {
	dir, err := os.MkdirTemp("", "bpctl")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return filepath.Join(dir, control.SocketName)
}

// TestSocketMode: the socket is the owner's alone (spec Appendix C, control.sock, mode 0600).
func TestSocketMode(t *testing.T) {
	path := socketPath(t)
	l, err := control.Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode()&os.ModeSocket == 0 || fi.Mode().Perm() != 0o600 {
		t.Fatalf("control socket mode %v, want a socket with 0600", fi.Mode())
	}
}

// TestSecondClientRefused: while one client serves the socket a second Listen fails with
// ErrRunning and leaves the first one working; a stale socket of a dead client is replaced.
func TestSecondClientRefused(t *testing.T) {
	path := socketPath(t)
	first, err := control.Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := control.Listen(path); !errors.Is(err, control.ErrRunning) {
		t.Fatalf("second Listen: %v, want ErrRunning", err)
	}
	if err := control.Serve(ctx(t), path, nil); !errors.Is(err, control.ErrRunning) {
		t.Fatalf("second Serve: %v, want ErrRunning", err)
	}
	if _, err := control.Dial(path); err != nil {
		t.Fatalf("the first client stopped answering after the refused second: %v", err)
	}
	first.Close()
	if _, err := control.Dial(path); !errors.Is(err, control.ErrNotRunning) {
		t.Fatalf("Dial with no client: %v, want ErrNotRunning", err)
	}

	// A client that died leaves its socket file behind.
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	ln.SetUnlinkOnClose(false)
	ln.Close()
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("no stale socket to test with: %v", err)
	}
	again, err := control.Listen(path)
	if err != nil {
		t.Fatalf("Listen over a stale socket: %v", err)
	}
	again.Close()
}

func dial(t *testing.T, r *testrelay.Relay, user string) *client.Client {
	t.Helper()
	key, err := identity.Generate(nil)
	if err != nil {
		t.Fatal(err)
	}
	pin := r.Pin()
	c, err := client.Dial(ctx(t), client.Options{URL: r.URL(), User: user, Identity: key,
		TLS: tlstrust.Policy{Pin: &pin}, PollUsers: -1, NoReconnect: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.Close()
		for range c.Events() {
		}
	})
	return c
}

// accepting accepts every chat request bob gets and forwards his messages' texts to got.
func accepting(t *testing.T, bob *client.Client, got chan<- string) {
	go func() {
		for ev := range bob.Events() {
			switch e := ev.(type) {
			case client.ChatRequestEvent:
				if err := bob.Accept(t.Context(), e.Session); err != nil && t.Context().Err() == nil {
					t.Errorf("bob accept: %v", err)
				}
			case client.MessageEvent:
				got <- e.Text
			}
		}
	}()
}

// TestSendAndTrustThroughRunningClient: send and trust go through alice's running client, on
// its own connection: the relay never sees a second login of alice (which would close the first
// with 4001).
func TestSendAndTrustThroughRunningClient(t *testing.T) {
	r := testrelay.Start(t)
	alice, bob := dial(t, r, "alice"), dial(t, r, "bob")
	got := make(chan string, 4)
	accepting(t, bob, got)
	go func() {
		for range alice.Events() {
		}
	}()
	path := socketPath(t)
	sctx, stop := context.WithCancel(t.Context())
	served := make(chan error, 1)
	l, err := control.Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	go func() { served <- l.Serve(sctx, alice) }()

	cn, err := control.Dial(path)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := cn.Do(ctx(t), control.Request{Cmd: "send", To: "bob", Texts: []string{"one", "two"}})
	if err != nil || !resp.OK || resp.Sent != 2 || resp.Fingerprint == "" {
		t.Fatalf("send: %+v, %v", resp, err)
	}
	for _, want := range []string{"one", "two"} {
		select {
		case text := <-got:
			if text != want {
				t.Fatalf("bob got %q, want %q", text, want)
			}
		case <-time.After(waitFor):
			t.Fatalf("bob did not get %q", want)
		}
	}
	resp, err = cn.Do(ctx(t), control.Request{Cmd: "trust", Peer: "bob", Fingerprint: "sha256:0000"})
	if err != nil || resp.OK {
		t.Fatalf("trust with a wrong fingerprint: %+v, %v", resp, err)
	}
	resp, err = cn.Do(ctx(t), control.Request{Cmd: "trust", Peer: "bob"})
	if err != nil || !resp.OK {
		t.Fatalf("trust: %+v, %v", resp, err)
	}
	resp, err = cn.Do(ctx(t), control.Request{Cmd: "send", To: "nobody-here", Texts: []string{"x"}})
	if err != nil || resp.OK || resp.Kind != control.KindPeer {
		t.Fatalf("send to an unknown user: %+v, %v", resp, err)
	}
	resp, err = cn.Do(ctx(t), control.Request{Cmd: "reboot"})
	if err != nil || resp.OK || resp.Kind != control.KindUsage {
		t.Fatalf("unknown command: %+v, %v", resp, err)
	}

	logins := 0
	for _, m := range r.Sent(t, wiretap.ToRelay) {
		if h, ok := m.Msg.(*wire.Hello); ok && h.User == "alice" {
			logins++
		}
	}
	if logins != 1 {
		t.Fatalf("alice logged in %d times, want once: a second connection would replace the first", logins)
	}
	stop()
	if err := <-served; err != nil {
		t.Fatalf("Serve: %v", err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("the socket outlived Serve: %v", err)
	}
}
