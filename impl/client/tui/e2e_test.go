package tui

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	uv "github.com/charmbracelet/ultraviolet"

	"github.com/blindpost/blindpost/impl/client"
	"github.com/blindpost/blindpost/impl/client/tlstrust"
	"github.com/blindpost/blindpost/impl/e2ee/identity"
	"github.com/blindpost/blindpost/impl/server"
	"github.com/blindpost/blindpost/impl/server/servertest"
)

// waitFor bounds each wait of the end-to-end test; nothing sleeps to synchronise.
const waitFor = 20 * time.Second

// live runs a Model on the real client library as a Bubble Tea program would, without a
// terminal: commands run on goroutines and their messages come back to Update on the test's
// goroutine, one at a time.
type live struct {
	t    *testing.T
	name string
	m    *Model
	c    *client.Client
	msgs chan tea.Msg
	quit bool
}

// startLive connects user to srv with a fresh identity and starts its model, joined to
// Broadcast.
func startLive(t *testing.T, srv *servertest.Server, user string) *live {
	t.Helper()
	key, err := identity.Generate(nil)
	if err != nil {
		t.Fatal(err)
	}
	pin := srv.Pin
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	c, err := client.Dial(ctx, client.Options{
		URL: srv.URL, User: user, Identity: key, TLS: tlstrust.Policy{Pin: &pin},
		KnownPeersFile: filepath.Join(t.TempDir(), "known_peers"), PollUsers: 20 * time.Millisecond,
	})
	if err != nil {
		t.Fatalf("%s: dial: %v", user, err)
	}
	l := &live{t: t, name: user, c: c, msgs: make(chan tea.Msg, 4096)}
	l.m = New(context.Background(), c, Options{JoinBroadcast: true})
	t.Cleanup(func() {
		c.Close()
		for range c.Events() {
		}
	})
	l.handle(tea.WindowSizeMsg{Width: 80, Height: 24})
	l.exec(l.m.Init())
	return l
}

// exec runs cmd on a goroutine; its message comes back through msgs.
func (l *live) exec(cmd tea.Cmd) {
	if cmd != nil {
		go func() { l.msgs <- cmd() }()
	}
}

// handle gives msg to the model, as the program's event loop does.
func (l *live) handle(msg tea.Msg) {
	switch msg := msg.(type) {
	case nil:
	case tea.BatchMsg:
		for _, c := range msg {
			l.exec(c)
		}
	case tea.QuitMsg:
		l.quit = true
	default:
		_, cmd := l.m.Update(msg)
		l.exec(cmd)
	}
}

// keys types a script of text and named keys (see harness.keys).
func (l *live) keys(script string) {
	l.t.Helper()
	var d uv.EventDecoder
	for _, chunk := range splitScript(script) {
		buf := []byte(chunk)
		if name, ok := strings.CutPrefix(chunk, "<"); ok {
			buf = []byte(keyNames[strings.TrimSuffix(name, ">")])
		}
		for len(buf) > 0 {
			n, ev := d.Decode(buf)
			buf = buf[n:]
			l.handle(tea.KeyPressMsg(ev.(uv.KeyPressEvent)))
		}
	}
}

// wait runs the model until cond holds, and fails after waitFor.
func (l *live) wait(what string, cond func() bool) {
	l.t.Helper()
	timeout := time.NewTimer(waitFor)
	defer timeout.Stop()
	for !cond() {
		select {
		case msg := <-l.msgs:
			l.handle(msg)
		case <-timeout.C:
			l.t.Fatalf("%s: timed out waiting for %s; screen:\n%s", l.name, what, ansiScreen(l.m))
		}
	}
}

// waitScreen runs the model until the screen shows each of want.
func (l *live) waitScreen(want ...string) {
	l.t.Helper()
	l.wait(strings.Join(want, ", "), func() bool {
		s := ansiScreen(l.m)
		for _, w := range want {
			if !strings.Contains(s, w) {
				return false
			}
		}
		return true
	})
}

// ansiScreen renders the model's screen as text.
func ansiScreen(m *Model) string {
	scr := uv.NewScreenBuffer(m.width, m.height)
	uv.NewStyledString(m.View().Content).Draw(scr, scr.Bounds())
	return scr.Buffer.String()
}

// TestEndToEnd drives two models, alice and bob, on the real client library and an in-process
// relay: alice asks bob for a chat with Enter, bob accepts with a, both status lines say
// secured with the other [CLI-1], they exchange messages through the input line, alice writes
// to Broadcast, and alice's Ctrl-C ends the session with a close record that bob verifies
// [REC-9, REC-10].
func TestEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a relay")
	}
	srv := servertest.Start(t, func(c *server.Config) { c.Rate, c.Burst = 10000, 10000 })
	alice := startLive(t, srv, "alice")
	bob := startLive(t, srv, "bob")

	alice.wait("bob online", func() bool { return alice.m.isOnline("bob") })
	alice.keys("<tab><enter>")
	bob.wait("alice's request", func() bool { return bob.m.conversation("alice").hasRequest() })
	bob.keys("<tab>")
	bob.waitScreen("alice asks to chat: /accept (a) or /decline (d)")
	bob.keys("a")
	bob.waitScreen("🔒 secured with alice · safety number not verified")
	alice.waitScreen("🔒 secured with bob · safety number not verified")

	alice.keys("hello bob<enter>")
	bob.waitScreen("alice: hello bob")
	bob.keys("hi alice<enter>")
	alice.waitScreen("bob: hi alice")
	bob.waitScreen("bob: hi alice")

	alice.wait("an epoch with bob", func() bool {
		c := alice.m.conversation(broadcastKey)
		return len(c.members) == 2
	})
	alice.keys("<s-tab>hello all<enter>")
	alice.waitScreen("alice: hello all")
	bob.wait("the group message", func() bool { return hasMessage(bob.m, broadcastKey, "hello all") })
	if bob.m.conversation(broadcastKey).unread == 0 {
		t.Fatal("Broadcast not marked unread for bob, who looks at alice")
	}

	alice.keys("<ctrl-c>")
	alice.wait("quit", func() bool { return alice.quit })
	bob.wait("the end of the session", func() bool { return bob.m.conversation("alice").state.Ended() })
	if st := bob.m.conversation("alice").state; st != client.SessionEnded {
		t.Fatalf("bob sees the session %s, want ended with a verified close record", st)
	}
	bob.waitScreen("ended · not secured")
}

// hasMessage reports whether the conversation key holds a message with text.
func hasMessage(m *Model, key, text string) bool {
	for _, ln := range m.conversation(key).lines {
		if ln.kind == lineMessage && ln.text == text {
			return true
		}
	}
	return false
}
