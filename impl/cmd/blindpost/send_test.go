package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/blindpost/blindpost/impl/client"
	"github.com/blindpost/blindpost/impl/client/profile"
	"github.com/blindpost/blindpost/impl/client/tlstrust"
	"github.com/blindpost/blindpost/impl/e2ee/identity"
	"github.com/blindpost/blindpost/impl/e2ee/trust"
	"github.com/blindpost/blindpost/impl/server"
	"github.com/blindpost/blindpost/impl/server/servertest"
)

// bot is a library client that answers chat requests and records what it receives.
type bot struct {
	c       *client.Client
	decline bool
	mu      sync.Mutex
	got     []string
	ended   chan client.SessionState
}

func startBot(t *testing.T, srv *servertest.Server, user string, decline bool) *bot {
	t.Helper()
	key, _ := identity.Generate(nil)
	pin := srv.Pin
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, client.Options{URL: srv.URL, User: user, Identity: key, TLS: tlstrust.Policy{Pin: &pin}, PollUsers: -1})
	if err != nil {
		t.Fatal(err)
	}
	b := &bot{c: c, decline: decline, ended: make(chan client.SessionState, 8)}
	done := make(chan struct{})
	go b.serve(done)
	t.Cleanup(func() { c.Close(); <-done })
	return b
}

func (b *bot) serve(done chan struct{}) {
	defer close(done)
	for ev := range b.c.Events() {
		switch e := ev.(type) {
		case client.ChatRequestEvent:
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			if b.decline {
				b.c.Decline(ctx, e.Session)
			} else {
				b.c.Accept(ctx, e.Session)
			}
			cancel()
		case client.MessageEvent:
			b.mu.Lock()
			b.got = append(b.got, e.Text)
			b.mu.Unlock()
		case client.SessionEvent:
			if e.State.Ended() && e.State != client.SessionDeclined {
				b.ended <- e.State
			}
		}
	}
}

func (b *bot) messages() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.got...)
}

// cli runs blindpost in process with the given standard input.
type cli struct {
	t    *testing.T
	root string
}

func (c cli) run(stdin string, args ...string) (int, string, string) {
	var stdout, stderr bytes.Buffer
	a := newApp(strings.NewReader(stdin), &stdout, &stderr)
	code := a.runContext(context.Background(), append([]string{"--config-dir", c.root}, args...))
	return code, stdout.String(), stderr.String()
}

// TestSend sends one-shot messages to a bot through the real relay and checks every documented
// exit status. Rules: CLI-1 (the output names the peer's key), TLS-2, TLS-4, TRUST-2, HS-2,
// REC-9.
func TestSend(t *testing.T) {
	srv := servertest.Start(t, func(c *server.Config) { c.Rate, c.Burst = 10000, 10000 })
	bob := startBot(t, srv, "bob", false)
	startBot(t, srv, "dora", true)
	root := t.TempDir()
	p, _ := profile.Open(root, "alice")
	if _, err := p.CreateIdentity(profile.CreateOptions{NoPassphrase: true}); err != nil {
		t.Fatal(err)
	}
	c := cli{t: t, root: root}
	pin := srv.Pin.String()
	base := []string{"send", "--user", "alice", "--server", srv.URL}

	code, out, errOut := c.run("", append(base, "--server-pin", pin, "--to", "bob", "hello", "bob")...)
	if code != exitOK {
		t.Fatalf("send: exit %d\n%s", code, errOut)
	}
	want := fmt.Sprintf("Sent 1 message(s) to bob, end-to-end encrypted to %s.\n", bob.c.Fingerprint())
	if out != want {
		t.Fatalf("stdout %q, want %q [CLI-1]", out, want)
	}
	if st := <-bob.ended; st != client.SessionEnded {
		t.Fatalf("bob saw the session %s, want a verified end [REC-9]", st)
	}
	code, _, errOut = c.run("line one\n\nline two\n", append(base, "--server-pin", pin, "--to", "bob")...)
	if code != exitOK {
		t.Fatalf("send from stdin: exit %d\n%s", code, errOut)
	}
	<-bob.ended
	if got := strings.Join(bob.messages(), "|"); got != "hello bob|line one|line two" {
		t.Fatalf("bob received %q", got)
	}

	tests := []struct {
		name    string
		args    []string
		code    int
		errText string
	}{
		{"unknown certificate [TLS-2]", []string{"--to", "bob", "x"}, exitConnect, "--server-pin " + pin},
		{"wrong pin [TLS-2]", []string{"--server-pin", "sha256:" + strings.Repeat("00", 32), "--to", "bob", "x"}, exitConnect, "refusing to connect"},
		{"offline peer", []string{"--server-pin", pin, "--to", "nobody", "x"}, exitPeer, "unknown_user"},
		{"declined", []string{"--server-pin", pin, "--to", "dora", "x"}, exitPeer, "declined"},
		{"bad pin syntax", []string{"--server-pin", "nope", "--to", "bob", "x"}, exitUsage, "does not start with"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errOut := c.run("", append(base, tc.args...)...)
			if code != tc.code || !strings.Contains(errOut, tc.errText) {
				t.Fatalf("exit %d, want %d; stderr %q, want it to contain %q", code, tc.code, errOut, tc.errText)
			}
		})
	}
}

// TestSendTrustOnFirstUse checks that an unknown relay certificate is trusted only after the
// user confirms its pin, which is then stored and used: spec §4.1 [TLS-4].
func TestSendTrustOnFirstUse(t *testing.T) {
	srv := servertest.Start(t, func(c *server.Config) { c.Rate, c.Burst = 10000, 10000 })
	bob := startBot(t, srv, "bob", false)
	root := t.TempDir()
	p, _ := profile.Open(root, "alice")
	p.CreateIdentity(profile.CreateOptions{NoPassphrase: true})

	run := func(answer bool) (int, string) {
		var stdout, stderr bytes.Buffer
		a := newApp(strings.NewReader(""), &stdout, &stderr)
		a.confirm = func(q string) (bool, error) {
			fmt.Fprintln(&stderr, q)
			return answer, nil
		}
		code := a.runContext(context.Background(), []string{"--config-dir", root, "send", "--user", "alice", "--server", srv.URL, "--to", "bob", "hi"})
		return code, stderr.String()
	}
	code, errOut := run(false)
	if code != exitConnect || !strings.Contains(errOut, srv.Pin.String()) {
		t.Fatalf("declined confirmation: exit %d, stderr %s", code, errOut)
	}
	code, errOut = run(true)
	if code != exitOK {
		t.Fatalf("confirmed: exit %d, stderr %s", code, errOut)
	}
	<-bob.ended
	data, err := os.ReadFile(filepath.Join(root, "alice", "known_servers"))
	if err != nil || !strings.Contains(string(data), srv.Pin.String()) {
		t.Fatalf("known_servers %q, %v", data, err)
	}
	var stdout, stderr bytes.Buffer
	a := newApp(strings.NewReader(""), &stdout, &stderr) // no terminal: the stored pin suffices
	if code := a.runContext(context.Background(), []string{"--config-dir", root, "send", "--user", "alice", "--server", srv.URL, "--to", "bob", "again"}); code != exitOK {
		t.Fatalf("with the stored pin: exit %d, %s", code, stderr.String())
	}
}

// TestSendKeyChanged checks that send refuses a peer whose key differs from the pin (exit 5)
// until `peers trust` re-pins it, and that --fingerprint guards the re-trust. Rules: TRUST-2,
// HS-2, CLI-2.
func TestSendKeyChanged(t *testing.T) {
	srv := servertest.Start(t, func(c *server.Config) { c.Rate, c.Burst = 10000, 10000 })
	bob := startBot(t, srv, "bob", false)
	root := t.TempDir()
	p, _ := profile.Open(root, "alice")
	p.CreateIdentity(profile.CreateOptions{NoPassphrase: true})
	store, _ := trust.Open(p.Path(profile.KnownPeers))
	other, _ := identity.Generate(nil)
	if err := store.Trust("bob", other.Public()); err != nil { // a pin that is not bob's key
		t.Fatal(err)
	}
	c := cli{t: t, root: root}
	flags := []string{"--user", "alice", "--server", srv.URL, "--server-pin", srv.Pin.String()}
	code, _, errOut := c.run("", append([]string{"send", "--to", "bob", "x"}, flags...)...)
	if code != exitSecurity || !strings.Contains(errOut, "key_changed") {
		t.Fatalf("send to a changed key: exit %d, stderr %s", code, errOut)
	}
	code, _, errOut = c.run("", append([]string{"peers", "trust", "bob", "--fingerprint", identity.Fingerprint(other.Public())}, flags...)...)
	if code != exitSecurity || !strings.Contains(errOut, "nothing changed") {
		t.Fatalf("trust with the wrong fingerprint: exit %d, stderr %s", code, errOut)
	}
	code, out, errOut := c.run("", append([]string{"peers", "trust", "bob", "--fingerprint", bob.c.Fingerprint()}, flags...)...)
	if code != exitOK || !strings.Contains(out, bob.c.Fingerprint()) {
		t.Fatalf("trust: exit %d, stdout %s stderr %s", code, out, errOut)
	}
	code, _, errOut = c.run("", append([]string{"send", "--to", "bob", "x"}, flags...)...)
	if code != exitOK {
		t.Fatalf("send after trust: exit %d, %s", code, errOut)
	}
}
