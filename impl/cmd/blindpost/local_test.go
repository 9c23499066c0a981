package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/blindpost/blindpost/impl/client"
	"github.com/blindpost/blindpost/impl/client/control"
	"github.com/blindpost/blindpost/impl/client/history"
	"github.com/blindpost/blindpost/impl/client/profile"
	"github.com/blindpost/blindpost/impl/client/tlstrust"
	"github.com/blindpost/blindpost/impl/server"
	"github.com/blindpost/blindpost/impl/server/servertest"
)

// TestSendThroughRunningClient: while a client runs for alice, send and peers trust go through
// its control socket instead of a second login that would replace it (close 4001), and a second
// client for alice is refused before it connects.
func TestSendThroughRunningClient(t *testing.T) {
	srv := servertest.Start(t, func(c *server.Config) { c.Rate, c.Burst = 10000, 10000 })
	bob := startBot(t, srv, "bob", false)
	root, err := os.MkdirTemp("", "bpcli") // short: unix socket paths are limited
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(root) })
	p, _ := profile.Open(root, "alice")
	key, err := p.CreateIdentity(profile.CreateOptions{NoPassphrase: true})
	if err != nil {
		t.Fatal(err)
	}
	a := newApp(strings.NewReader(""), new(strings.Builder), new(strings.Builder))
	ctl, err := a.listenControl(p)
	if err != nil {
		t.Fatal(err)
	}
	pin := srv.Pin
	ctx, cancel := context.WithTimeout(t.Context(), 15*time.Second)
	defer cancel()
	alice, err := client.Dial(ctx, client.Options{URL: srv.URL, User: "alice", Identity: key, TLS: tlstrust.Policy{Pin: &pin},
		KnownPeersFile: p.Path(profile.KnownPeers), PollUsers: -1})
	if err != nil {
		t.Fatal(err)
	}
	replaced := make(chan bool, 1)
	go func() {
		r := false
		for ev := range alice.Events() {
			if ce, ok := ev.(client.ConnectionEvent); ok && ce.State == client.Disconnected && ce.Code == 4001 {
				r = true
			}
		}
		replaced <- r
	}()
	served := make(chan struct{})
	go func() { serveControl(ctx, ctl, alice, a.log); close(served) }()

	if _, err := a.listenControl(p); err == nil || !strings.Contains(err.Error(), "already running") {
		t.Fatalf("a second client for alice: %v", err)
	}
	c := cli{t: t, root: root}
	code, out, errOut := c.run("", "send", "--user", "alice", "--to", "bob", "through", "chat")
	if code != exitOK || !strings.Contains(out, "Sent 1 message(s) to bob, end-to-end encrypted to "+bob.c.Fingerprint()) ||
		!strings.Contains(errOut, "already running") {
		t.Fatalf("send: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	<-bob.ended
	if got := strings.Join(bob.messages(), "|"); got != "through chat" {
		t.Fatalf("bob received %q", got)
	}
	code, out, errOut = c.run("", "peers", "trust", "bob", "--user", "alice")
	if code != exitOK || !strings.Contains(out, "Pinned bob: "+bob.c.Fingerprint()) {
		t.Fatalf("peers trust: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	code, _, _ = c.run("", "send", "--user", "alice", "--to", "nobody", "x")
	if code != exitPeer {
		t.Fatalf("send to an unknown user through the running client: exit %d, want %d", code, exitPeer)
	}
	cancel()
	<-served
	alice.Close()
	if <-replaced {
		t.Fatal("alice's running client was replaced (4001)")
	}
	if _, err := os.Stat(filepath.Join(root, "alice", control.SocketName)); !os.IsNotExist(err) {
		t.Fatalf("the socket outlived the client: %v", err)
	}
}

// TestHistoryClear deletes the encrypted history, and says so.
func TestHistoryClear(t *testing.T) {
	root := t.TempDir()
	p, _ := profile.Open(root, "alice")
	if _, err := p.CreateIdentity(profile.CreateOptions{NoPassphrase: true}); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p.Path(HistoryFile), []byte("x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c := cli{t: t, root: root}
	code, out, errOut := c.run("", "history", "clear", "--user", "alice")
	if code != exitOK || !strings.Contains(out, "Deleted") {
		t.Fatalf("history clear: exit %d, %q %q", code, out, errOut)
	}
	if _, err := os.Stat(p.Path(HistoryFile)); !os.IsNotExist(err) {
		t.Fatalf("history still there: %v", err)
	}
}

// TestOpenHistoryWrongKey: a history that another identity wrote is refused with the next step.
// Rule: CLI-24.
func TestOpenHistoryWrongKey(t *testing.T) {
	root := t.TempDir()
	p, _ := profile.Open(root, "alice")
	key, _ := p.CreateIdentity(profile.CreateOptions{NoPassphrase: true})
	q, _ := profile.Open(root, "mallory")
	other, _ := q.CreateIdentity(profile.CreateOptions{NoPassphrase: true})
	a := newApp(strings.NewReader(""), new(strings.Builder), new(strings.Builder))
	h, err := a.openHistory(p, other, false)
	if err != nil {
		t.Fatal(err)
	}
	h.Add(historyEntry("written under another key"))
	h.Close()
	if _, err := a.openHistory(p, key, false); err == nil || !strings.Contains(err.Error(), "blindpost history clear") {
		t.Fatalf("history of another identity: %v", err)
	}
	if h, err := a.openHistory(p, key, true); err != nil || h != nil {
		t.Fatalf("--no-history: %v, %v", h, err)
	}
}

func historyEntry(text string) history.Entry {
	return history.Entry{Kind: history.KindIn, Peer: "bob", From: "bob", Text: text}
}

// TestControlSocketUnavailable: a profile path too long for a unix socket costs only the
// shortcut, with a warning; the client still runs.
func TestControlSocketUnavailable(t *testing.T) {
	root := filepath.Join(t.TempDir(), strings.Repeat("d", 120))
	p, err := profile.Open(root, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(p.Dir, 0o700); err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	a := newApp(strings.NewReader(""), new(strings.Builder), &stderr)
	l, err := a.listenControl(p)
	if err != nil || l != nil || !strings.Contains(stderr.String(), "no control socket") {
		t.Fatalf("listener %v, err %v, stderr %q", l, err, stderr.String())
	}
	serveControl(t.Context(), nil, nil, a.log) // returns at once
}
