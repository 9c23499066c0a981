package client_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/blindpost/blindpost/impl/client"
	"github.com/blindpost/blindpost/impl/client/backoff"
	"github.com/blindpost/blindpost/impl/client/tlstrust"
	"github.com/blindpost/blindpost/impl/e2ee/identity"
	"github.com/blindpost/blindpost/impl/server"
	"github.com/blindpost/blindpost/impl/server/servertest"
)

// waitFor bounds every wait for an event; tests never sleep to synchronise.
const waitFor = 15 * time.Second

// startServer runs an in-process relay with limits loose enough for fast tests.
func startServer(t *testing.T, opts ...servertest.Option) *servertest.Server {
	t.Helper()
	opts = append([]servertest.Option{func(c *server.Config) { c.Rate, c.Burst = 10000, 10000 }}, opts...)
	return servertest.Start(t, opts...)
}

// peer is a test client: the library client and the events it produced so far.
type peer struct {
	t    *testing.T
	name string
	c    *client.Client
	key  *identity.PrivateKey
	seen []client.Event
}

// peerOption adjusts the client options of a peer.
type peerOption func(*client.Options)

// connect dials srv as user with a fresh identity, a known_peers file in a temporary directory
// and the server pinned.
func connect(t *testing.T, srv *servertest.Server, user string, opts ...peerOption) *peer {
	t.Helper()
	key, err := identity.Generate(nil)
	if err != nil {
		t.Fatal(err)
	}
	return connectAs(t, srv, user, key, filepath.Join(t.TempDir(), "known_peers"), opts...)
}

func connectAs(t *testing.T, srv *servertest.Server, user string, key *identity.PrivateKey, peersFile string, opts ...peerOption) *peer {
	t.Helper()
	pin := srv.Pin
	o := client.Options{
		URL:            srv.URL,
		User:           user,
		Identity:       key,
		TLS:            tlstrust.Policy{Pin: &pin},
		KnownPeersFile: peersFile,
		PollUsers:      -1,
		Backoff:        backoff.Policy{Initial: time.Millisecond, Max: 10 * time.Millisecond, Multiplier: 2},
	}
	for _, f := range opts {
		f(&o)
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	c, err := client.Dial(ctx, o)
	if err != nil {
		t.Fatalf("%s: dial: %v", user, err)
	}
	p := &peer{t: t, name: user, c: c, key: key}
	t.Cleanup(p.close)
	p.wait("connected", func(e client.Event) bool {
		ce, ok := e.(client.ConnectionEvent)
		return ok && ce.State == client.Connected
	})
	return p
}

// close closes the client and drains its events, so that no goroutine outlives the test.
func (p *peer) close() {
	p.c.Close()
	for e := range p.c.Events() {
		p.seen = append(p.seen, e)
	}
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), waitFor)
	t.Cleanup(cancel)
	return c
}

// wait reads events until one matches, and fails the test after waitFor.
func (p *peer) wait(what string, match func(client.Event) bool) client.Event {
	p.t.Helper()
	timeout := time.NewTimer(waitFor)
	defer timeout.Stop()
	for {
		select {
		case e, ok := <-p.c.Events():
			if !ok {
				p.t.Fatalf("%s: events closed while waiting for %s; saw:\n%s", p.name, what, p.history())
			}
			p.seen = append(p.seen, e)
			if match(e) {
				return e
			}
		case <-timeout.C:
			p.t.Fatalf("%s: timed out waiting for %s; saw:\n%s", p.name, what, p.history())
		}
	}
}

// saw reports whether an event seen so far matches.
func (p *peer) saw(match func(client.Event) bool) bool {
	for _, e := range p.seen {
		if match(e) {
			return true
		}
	}
	return false
}

func (p *peer) history() string {
	var b strings.Builder
	for _, e := range p.seen {
		fmt.Fprintf(&b, "  %T %+v\n", e, e)
	}
	return b.String()
}

// The matchers tests wait for.

func sessionState(sid client.SessionID, st client.SessionState) func(client.Event) bool {
	return func(e client.Event) bool {
		se, ok := e.(client.SessionEvent)
		return ok && (sid.IsZero() || se.Session == sid) && se.State == st
	}
}

func chatRequest(from string) func(client.Event) bool {
	return func(e client.Event) bool {
		cr, ok := e.(client.ChatRequestEvent)
		return ok && cr.From == from
	}
}

func message(text string) func(client.Event) bool {
	return func(e client.Event) bool {
		m, ok := e.(client.MessageEvent)
		return ok && m.Text == text
	}
}

func groupMessage(group, text string) func(client.Event) bool {
	return func(e client.Event) bool {
		m, ok := e.(client.GroupMessageEvent)
		return ok && m.Group == group && m.Text == text
	}
}

// groupEpoch matches the acceptance of an epoch of group whose members are exactly members.
func groupEpoch(group string, members ...string) func(client.Event) bool {
	want := strings.Join(members, ",")
	return func(e client.Event) bool {
		g, ok := e.(client.GroupEvent)
		return ok && g.Group == group && strings.Join(g.Members, ",") == want
	}
}

func security(code, rule string) func(client.Event) bool {
	return func(e client.Event) bool {
		s, ok := e.(client.SecurityEvent)
		return ok && string(s.Code) == code && (rule == "" || s.Rule == rule)
	}
}

// securityEvents returns the security events a peer has seen so far.
func (p *peer) securityEvents() []client.SecurityEvent {
	var out []client.SecurityEvent
	for _, e := range p.seen {
		if s, ok := e.(client.SecurityEvent); ok {
			out = append(out, s)
		}
	}
	return out
}

// noSecurityEvents fails the test when a peer reported a rejection.
func (p *peer) noSecurityEvents() {
	p.t.Helper()
	if s := p.securityEvents(); len(s) > 0 {
		p.t.Errorf("%s: unexpected security events: %+v", p.name, s)
	}
}

// secure runs a whole 1:1 setup: a asks b, b accepts, both see the session secured.
func secure(t *testing.T, a, b *peer) client.SessionID {
	t.Helper()
	sid, err := a.c.Chat(ctx(t), b.name)
	if err != nil {
		t.Fatalf("%s: chat %s: %v", a.name, b.name, err)
	}
	b.wait("chat request", chatRequest(a.name))
	if err := b.c.Accept(ctx(t), sid); err != nil {
		t.Fatalf("%s: accept: %v", b.name, err)
	}
	a.wait("secured", sessionState(sid, client.SessionSecured))
	b.wait("secured", sessionState(sid, client.SessionSecured))
	return sid
}
