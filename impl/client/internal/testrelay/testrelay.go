// Package testrelay runs an in-process relay behind a wiretap proxy for the client's tests: the
// test sees every message that crosses the relay and can inject messages, playing a malicious
// relay (spec §10) against the real client.
package testrelay

import (
	"bytes"
	"sync"
	"testing"

	"github.com/blindpost/blindpost/impl/client/tlstrust"
	"github.com/blindpost/blindpost/impl/client/wiretap"
	"github.com/blindpost/blindpost/impl/server"
	"github.com/blindpost/blindpost/impl/server/servertest"
	"github.com/blindpost/blindpost/impl/wire"
)

// Relay is a relay behind a tap.
type Relay struct {
	Srv *servertest.Server
	Tap *wiretap.Proxy

	mu     sync.Mutex
	frames []wiretap.Frame
	drop   func(wiretap.Frame) bool
}

// Start starts the proxy, then the relay configured with the proxy's pin (spec §4.1 [TLS-6]),
// with rate limits loose enough for fast tests.
func Start(t testing.TB, opts ...servertest.Option) *Relay {
	t.Helper()
	r := &Relay{}
	tap, err := wiretap.Listen(wiretap.Options{Observe: r.observe, Intercept: r.intercept})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tap.Close() })
	r.Tap = tap
	opts = append([]servertest.Option{func(c *server.Config) {
		c.Rate, c.Burst = 10000, 10000
		c.PublicPin = tap.Pin().String()
	}}, opts...)
	r.Srv = servertest.Start(t, opts...)
	tap.SetUpstream(r.Srv.URL, r.Srv.CertificatePin())
	return r
}

// URL is what clients dial: the proxy.
func (r *Relay) URL() string { return r.Tap.URL() }

// Pin is the pin clients trust: the proxy's certificate.
func (r *Relay) Pin() tlstrust.Pin { return r.Tap.Pin() }

func (r *Relay) observe(f wiretap.Frame) {
	r.mu.Lock()
	r.frames = append(r.frames, f)
	r.mu.Unlock()
}

func (r *Relay) intercept(f wiretap.Frame) bool {
	r.mu.Lock()
	drop := r.drop
	r.mu.Unlock()
	return drop == nil || !drop(f)
}

// DropWhen makes the relay drop the messages match selects (nil: drop nothing).
func (r *Relay) DropWhen(match func(wiretap.Frame) bool) {
	r.mu.Lock()
	r.drop = match
	r.mu.Unlock()
}

// Frames returns every message that crossed the tap so far.
func (r *Relay) Frames() []wiretap.Frame {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]wiretap.Frame(nil), r.frames...)
}

// Conn returns the latest connection on which user sent hello, or 0.
func (r *Relay) Conn(user string) int64 {
	needle := []byte(`"type":"hello"`)
	var id int64
	for _, f := range r.Frames() {
		if f.Direction != wiretap.ToRelay || !bytes.Contains(f.Data, needle) {
			continue
		}
		if m, err := wire.Decode(wire.FromClient, f.Data); err == nil {
			if h, ok := m.(*wire.Hello); ok && h.User == user {
				id = f.Conn
			}
		}
	}
	return id
}

// Sent returns the messages decoded from the frames going in dir, in order, with the
// connection they crossed.
func (r *Relay) Sent(t testing.TB, dir wiretap.Direction) []Message {
	t.Helper()
	wdir := wire.FromClient
	if dir == wiretap.ToClient {
		wdir = wire.FromServer
	}
	var out []Message
	for _, f := range r.Frames() {
		if f.Direction != dir {
			continue
		}
		m, err := wire.Decode(wdir, f.Data)
		if err != nil {
			t.Fatalf("testrelay: invalid message %s on connection %d: %v [MSG-6]", dir, f.Conn, err)
		}
		out = append(out, Message{Conn: f.Conn, Msg: m})
	}
	return out
}

// Message is a decoded message and the connection it crossed.
type Message struct {
	Conn int64
	Msg  wire.Message
}

// Inject sends m to user's client as if the relay had sent it.
func (r *Relay) Inject(t testing.TB, user string, m wire.Message) {
	t.Helper()
	data, err := wire.Encode(m)
	if err != nil {
		t.Fatalf("testrelay: encode %T: %v", m, err)
	}
	r.InjectRaw(t, user, data)
}

// Send sends m to the relay as if user's client had sent it.
func (r *Relay) Send(t testing.TB, user string, m wire.Message) {
	t.Helper()
	data, err := wire.Encode(m)
	if err != nil {
		t.Fatalf("testrelay: encode %T: %v", m, err)
	}
	conn := r.Conn(user)
	if conn == 0 {
		t.Fatalf("testrelay: %s has no connection", user)
	}
	if err := r.Tap.Inject(conn, wiretap.ToRelay, data); err != nil {
		t.Fatalf("testrelay: inject: %v", err)
	}
}

// InjectRaw sends data to user's client as if the relay had sent it.
func (r *Relay) InjectRaw(t testing.TB, user string, data []byte) {
	t.Helper()
	conn := r.Conn(user)
	if conn == 0 {
		t.Fatalf("testrelay: %s has no connection", user)
	}
	if err := r.Tap.Inject(conn, wiretap.ToClient, data); err != nil {
		t.Fatalf("testrelay: inject: %v", err)
	}
}
