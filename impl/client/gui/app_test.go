package gui

import (
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/blindpost/blindpost/impl/client"
	"github.com/blindpost/blindpost/impl/client/backoff"
	"github.com/blindpost/blindpost/impl/client/control"
	"github.com/blindpost/blindpost/impl/client/profile"
	"github.com/blindpost/blindpost/impl/e2ee/keyfile"
	"github.com/blindpost/blindpost/impl/server/servertest"
	"github.com/blindpost/blindpost/schemas"
)

const waitFor = 20 * time.Second

// testOptions are the options of a graphical client in a test: a fast scrypt, a fast backoff.
func testOptions(root, user string) Options {
	return Options{
		Root: root, User: user,
		Keyfile: &keyfile.Options{WorkFactor: 10},
		Configure: func(o *client.Options) {
			o.Backoff = backoff.Policy{Initial: 50 * time.Millisecond, Max: 200 * time.Millisecond, Multiplier: 2}
			o.PollUsers = 200 * time.Millisecond
		},
	}
}

// startGUI runs a graphical client with its page until the test ends.
func startGUI(t *testing.T, opts Options) *Page {
	t.Helper()
	app, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return startPage(t, ListenOptions{}, app.ServeWS)
}

// pageConn is the page's side of the WebSocket, as a test drives it: every line it reads is
// validated against schemas/driver/output.json and checked for secrets (DRV-32).
type pageConn struct {
	t       *testing.T
	ws      *websocket.Conn
	next    int
	events  []map[string]any
	secrets []string
}

// sessions holds the logged-in HTTP client of each page: the token works once, so a reloaded
// page reuses the cookie.
var sessions sync.Map // *Page → *http.Client

// openPage opens the page's WebSocket with its session cookie, logging in the first time.
func openPage(t *testing.T, p *Page, secrets ...string) *pageConn {
	t.Helper()
	var c *http.Client
	if v, ok := sessions.Load(p); ok {
		c = v.(*http.Client)
	} else {
		c = login(t, p)
		sessions.Store(p, c)
	}
	u, _ := http.NewRequest(http.MethodGet, "http://"+p.Addr()+"/", nil)
	h := http.Header{"Origin": {p.Origin()}}
	for _, ck := range c.Jar.Cookies(u.URL) {
		h.Add("Cookie", ck.Name+"="+ck.Value)
	}
	ws, resp, err := websocket.DefaultDialer.Dial("ws://"+p.Addr()+WSPath, h)
	if err != nil {
		t.Fatalf("websocket: %v (%v)", err, resp)
	}
	t.Cleanup(func() { ws.Close() })
	return &pageConn{t: t, ws: ws, secrets: secrets}
}

func (c *pageConn) read() map[string]any {
	c.t.Helper()
	_ = c.ws.SetReadDeadline(time.Now().Add(waitFor))
	_, data, err := c.ws.ReadMessage()
	if err != nil {
		c.t.Fatalf("read: %v", err)
	}
	if v, err := schemas.Check(schemas.DriverOutput, data); err != nil || len(v) > 0 {
		c.t.Fatalf("output line %s breaks schemas/driver/output.json: %v %v", data, v, err)
	}
	for _, s := range c.secrets {
		if strings.Contains(string(data), s) {
			c.t.Fatalf("output line carries a secret [DRV-32]: %s", data)
		}
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		c.t.Fatal(err)
	}
	return m
}

// call sends a command and returns its response; events read meanwhile are kept.
func (c *pageConn) call(cmd string, args map[string]any) map[string]any {
	c.t.Helper()
	c.next++
	id := strconv.Itoa(c.next)
	line := map[string]any{"id": id, "cmd": cmd}
	for k, v := range args {
		line[k] = v
	}
	data, _ := json.Marshal(line)
	if err := c.ws.WriteMessage(websocket.TextMessage, data); err != nil {
		c.t.Fatal(err)
	}
	for {
		m := c.read()
		if _, ev := m["event"]; ev {
			c.events = append(c.events, m)
			continue
		}
		if m["id"] != id {
			c.t.Fatalf("response %v to another command than %s", m, id)
		}
		return m
	}
}

// ok calls and fails the test unless the command succeeded.
func (c *pageConn) ok(cmd string, args map[string]any) map[string]any {
	c.t.Helper()
	r := c.call(cmd, args)
	if r["ok"] != true {
		c.t.Fatalf("%s: %v", cmd, r)
	}
	return r
}

// failed calls and fails the test unless the command failed with code.
func (c *pageConn) failed(cmd string, args map[string]any, code, rule string) map[string]any {
	c.t.Helper()
	r := c.call(cmd, args)
	if r["ok"] != false || r["error"] != code {
		c.t.Fatalf("%s: %v, want error %s [%s]", cmd, r, code, rule)
	}
	return r
}

// TestFirstRunAndUnlock walks the page's first run and a later unlock against a relay:
// create_identity reports the relay's pin instead of trusting it, trust_server trusts only
// that pin and keeps it in known_servers, an existing identity is never overwritten, a wrong
// passphrase is named, and no line carries the passphrase. Rules: DRV-30, DRV-32, DRV-33,
// TLS-4.
func TestFirstRunAndUnlock(t *testing.T) {
	srv := servertest.Start(t)
	root := t.TempDir()
	const pass = "correct horse battery staple"
	p := startGUI(t, testOptions(root, ""))
	pc := openPage(t, p, pass)

	if st := pc.ok("status", nil); st["state"] != "no_identity" {
		t.Fatalf("status %v, want no_identity", st)
	}
	pc.failed("unlock", map[string]any{"passphrase": pass}, "no_identity", "DRV-33")
	st := pc.ok("create_identity", map[string]any{"user": "alice", "passphrase": pass, "server": srv.URL})
	if st["state"] != "untrusted" || st["pin"] != srv.CertificatePin().String() {
		t.Fatalf("create_identity: %v, want untrusted with the relay's pin %s [TLS-4]", st, srv.CertificatePin())
	}
	known := filepath.Join(root, "alice", profile.KnownServers)
	if _, err := os.Stat(known); err == nil {
		t.Fatal("known_servers written before consent [DRV-30] [TLS-4]")
	}
	pc.failed("trust_server", map[string]any{"pin": "sha256:" + strings.Repeat("ab", 32)}, "pin_mismatch", "DRV-30")
	if _, err := os.Stat(known); err == nil {
		t.Fatal("known_servers written for a pin that was not shown [DRV-30]")
	}
	st = pc.ok("trust_server", map[string]any{"pin": srv.CertificatePin().String()})
	if st["state"] != "ready" || st["user"] != "alice" {
		t.Fatalf("trust_server: %v, want ready", st)
	}
	data, err := os.ReadFile(known)
	if err != nil || !strings.Contains(string(data), srv.CertificatePin().String()) {
		t.Fatalf("known_servers %q, %v: the pin is not kept [DRV-30]", data, err)
	}
	pc.failed("trust_server", map[string]any{"pin": srv.CertificatePin().String()}, "out_of_order", "DRV-30")
	pc.failed("create_identity", map[string]any{"user": "alice", "passphrase": "another one", "server": srv.URL}, "identity_exists", "DRV-33")
	pc.ws.Close()

	// A new page session: the identity is locked again; a wrong passphrase is named; the
	// relay is known, so unlocking connects at once.
	pc = openPage(t, p, pass)
	if st := pc.ok("status", nil); st["state"] != "locked" || st["server"] != "wss://"+srv.Addr().String()+"/" {
		t.Fatalf("status after reload %v, want locked with the known relay", st)
	}
	pc.failed("unlock", map[string]any{"passphrase": "wrong"}, "bad_passphrase", "DRV-32")
	if st := pc.ok("unlock", map[string]any{"passphrase": pass}); st["state"] != "ready" {
		t.Fatalf("unlock: %v", st)
	}
}

// TestMarkVerified: the mark covers only the key whose safety number was shown. Rules: DRV-31,
// TRUST-4.
func TestMarkVerified(t *testing.T) {
	srv := servertest.Start(t)
	const pass = "a long enough passphrase"
	alice := readyPage(t, srv, t.TempDir(), "alice", pass)
	bob := readyPage(t, srv, t.TempDir(), "bob", pass)
	sid := alice.ok("chat", map[string]any{"peer": "bob"})["session"]
	bob.waitEvent(func(e map[string]any) bool { return e["event"] == "chat_request" })
	bob.ok("accept", map[string]any{"session": sid})
	alice.waitEvent(func(e map[string]any) bool { return e["event"] == "session" && e["state"] == "secured" })

	va := alice.ok("verification", map[string]any{"peer": "bob"})
	vb := bob.ok("verification", map[string]any{"peer": "alice"})
	if va["digits"] != vb["digits"] || len(va["digits"].(string)) != 60 || !strings.HasPrefix(va["qr_svg"].(string), "<svg ") {
		t.Fatalf("safety numbers %v and %v [TRUST-4]", va["digits"], vb["digits"])
	}
	if va["verified"] != false {
		t.Fatalf("verified before any mark: %v", va)
	}
	alice.failed("mark_verified", map[string]any{"peer": "bob", "fingerprint": "sha256:" + strings.Repeat("cd", 32)}, "key_changed", "DRV-31")
	alice.ok("mark_verified", map[string]any{"peer": "bob", "fingerprint": va["fingerprint"]})
	if v := alice.ok("verification", map[string]any{"peer": "bob"}); v["verified"] != true {
		t.Fatalf("after the mark: %v [DRV-31]", v)
	}
	keys := alice.ok("peer_keys", map[string]any{"peer": "bob"})
	if keys["pinned"] != va["fingerprint"] || keys["served"] != va["fingerprint"] {
		t.Fatalf("peer_keys %v, want both %v", keys, va["fingerprint"])
	}
}

// readyPage creates user's identity on a fresh graphical client and trusts the relay.
func readyPage(t *testing.T, srv *servertest.Server, root, user, pass string) *pageConn {
	t.Helper()
	p := startGUI(t, testOptions(root, user))
	pc := openPage(t, p, pass)
	st := pc.ok("create_identity", map[string]any{"user": user, "passphrase": pass, "server": srv.URL})
	if st["state"] == "untrusted" {
		st = pc.ok("trust_server", map[string]any{"pin": st["pin"]})
	}
	if st["state"] != "ready" {
		t.Fatalf("%s: %v", user, st)
	}
	return pc
}

// waitEvent returns the first event, kept or new, that matches.
func (c *pageConn) waitEvent(match func(map[string]any) bool) map[string]any {
	c.t.Helper()
	for i, e := range c.events {
		if match(e) {
			c.events = append(c.events[:i], c.events[i+1:]...)
			return e
		}
	}
	for {
		m := c.read()
		if _, ev := m["event"]; !ev {
			c.t.Fatalf("a response without a command: %v", m)
		}
		if match(m) {
			return m
		}
		c.events = append(c.events, m)
	}
}

// TestSecondClientRefused: while another client serves the profile's control socket, the page
// refuses to connect (client_running) instead of replacing that client's connection; once it is
// gone, the page connects and serves the socket itself, so that send goes through it.
func TestSecondClientRefused(t *testing.T) {
	srv := servertest.Start(t)
	root := t.TempDir()
	const pass = "a long enough passphrase"
	opts := testOptions(root, "alice")
	opts.ListenControl = func(p profile.Profile) (*control.Listener, error) { return control.Listen(p.Path(control.SocketName)) }
	p := startGUI(t, opts)
	pc := openPage(t, p, pass)
	st := pc.ok("create_identity", map[string]any{"user": "alice", "passphrase": pass, "server": srv.URL})
	other, err := control.Listen(filepath.Join(root, "alice", control.SocketName))
	if err != nil {
		t.Fatal(err)
	}
	pc.failed("trust_server", map[string]any{"pin": st["pin"]}, "client_running", "DRV-1")
	if err := other.Close(); err != nil {
		t.Fatal(err)
	}
	if st := pc.ok("unlock", map[string]any{"passphrase": pass}); st["state"] != "ready" {
		t.Fatalf("unlock after the other client quit: %v", st)
	}
	if _, err := control.Listen(filepath.Join(root, "alice", control.SocketName)); !errors.Is(err, control.ErrRunning) {
		t.Fatalf("the page's client does not serve the control socket: %v", err)
	}
}

// TestNextSteps: a name the relay holds for another key, and a relay that does not answer,
// are failures that name what to do next.
func TestNextSteps(t *testing.T) {
	srv := servertest.Start(t)
	connectPlain(t, srv, "alice")
	pc := openPage(t, startGUI(t, testOptions(t.TempDir(), "")), "a long enough passphrase")
	st := pc.ok("create_identity", map[string]any{"user": "alice", "passphrase": "a long enough passphrase", "server": srv.URL})
	r := pc.failed("trust_server", map[string]any{"pin": st["pin"]}, "identity_mismatch", "REG-6")
	if msg := r["message"].(string); !strings.Contains(msg, "ask the relay's operator") || !strings.Contains(msg, "users remove alice") {
		t.Fatalf("name taken: %q names no next step", msg)
	}

	pc = openPage(t, startGUI(t, testOptions(t.TempDir(), "")), "a long enough passphrase")
	r = pc.failed("create_identity", map[string]any{"user": "bob", "passphrase": "a long enough passphrase", "server": "wss://127.0.0.1:1/"}, "unreachable", "DRV-1")
	if msg := r["message"].(string); !strings.Contains(msg, "may not be running") {
		t.Fatalf("unreachable relay: %q names no next step", msg)
	}
}
