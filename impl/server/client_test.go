package server_test

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"pgregory.net/rapid"

	"github.com/blindpost/blindpost/impl/e2ee/identity"
	"github.com/blindpost/blindpost/impl/server/servertest"
	"github.com/blindpost/blindpost/schemas"
)

// wait bounds every expectation: long enough for a loaded CI machine, and only ever reached
// when something is wrong.
const wait = 10 * time.Second

// msg is a JSON object, sent or received.
type msg = map[string]any

// frame is one WebSocket message received by a test client, or the error that ended its stream.
type frame struct {
	typ  int
	data []byte
	err  error
}

// tb is what a test client reports failures to: a *testing.T or a *rapid.T.
type tb = rapid.TB

// client is a wire-level test client: c.send(...) and c.expect(...) read like the protocol.
type client struct {
	t    tb
	srv  *servertest.Server
	ws   *websocket.Conn
	name string
	key  *identity.PrivateKey
	in   chan frame
	seq  int
}

// dial connects a client for user name (not yet registered) with a new identity key and starts
// its reader. The connection is closed when the test ends.
func dial(t tb, srv *servertest.Server, name string) *client {
	t.Helper()
	key, err := identity.Generate(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ws, _, err := srv.Dialer().Dial(srv.URL, nil)
	if err != nil {
		t.Fatalf("dial %s: %v", srv.URL, err)
	}
	t.(interface{ Cleanup(func()) }).Cleanup(func() { ws.Close() })
	c := &client{t: t, srv: srv, ws: ws, name: name, key: key, in: make(chan frame, 4096)}
	go c.read()
	return c
}

// connect dials and registers user name.
func connect(t tb, srv *servertest.Server, name string) *client {
	t.Helper()
	c := dial(t, srv, name)
	c.register()
	return c
}

func (c *client) read() {
	defer close(c.in)
	for {
		typ, data, err := c.ws.ReadMessage()
		c.in <- frame{typ, data, err}
		if err != nil {
			return
		}
	}
}

func (c *client) close() { c.ws.Close() }

// send writes m as one JSON text message.
func (c *client) send(m msg) {
	c.t.Helper()
	data, err := json.Marshal(m)
	if err != nil {
		c.t.Fatal(err)
	}
	c.sendRaw(string(data))
}

// sendRaw writes text as one text message, byte for byte.
func (c *client) sendRaw(text string) {
	c.t.Helper()
	if err := c.ws.WriteMessage(websocket.TextMessage, []byte(text)); err != nil {
		c.t.Fatalf("%s: send: %v", c.name, err)
	}
}

// id returns a fresh request id.
func (c *client) id() string {
	c.seq++
	return fmt.Sprintf("%s-%d", c.name, c.seq)
}

// next returns the next frame, failing the test after wait.
func (c *client) next() frame {
	c.t.Helper()
	select {
	case f, ok := <-c.in:
		if !ok {
			c.t.Fatalf("%s: connection already ended", c.name)
		}
		return f
	case <-time.After(wait):
		c.t.Fatalf("%s: nothing received within %v", c.name, wait)
	}
	return frame{}
}

// nextMsg returns the next message, which must be a text message valid against the
// server-to-client schema (spec §5.1 [MSG-6]).
func (c *client) nextMsg() msg {
	c.t.Helper()
	f := c.next()
	if f.err != nil {
		c.t.Fatalf("%s: connection ended: %v", c.name, f.err)
	}
	if f.typ != websocket.TextMessage {
		c.t.Fatalf("%s: received a non-text message (%d)", c.name, f.typ)
	}
	return decode(c.t, f.data)
}

// expect returns the next message, which must have type typ.
func (c *client) expect(typ string) msg {
	c.t.Helper()
	m := c.nextMsg()
	if m["type"] != typ {
		c.t.Fatalf("%s: got %s, want type %s", c.name, compact(m), typ)
	}
	return m
}

// expectAck expects the ack of request id of type typ (spec §5.6).
func (c *client) expectAck(id, typ string) {
	c.t.Helper()
	m := c.expect("ack")
	if m["id"] != id || m["for"] != typ {
		c.t.Fatalf("%s: got %s, want ack id=%s for=%s", c.name, compact(m), id, typ)
	}
}

// expectError expects an error with code; id must match when not empty (spec §5.1 [MSG-5]).
func (c *client) expectError(code, id string) msg {
	c.t.Helper()
	m := c.expect("error")
	if m["code"] != code {
		c.t.Fatalf("%s: got %s, want error %s", c.name, compact(m), code)
	}
	if id != "" && m["id"] != id {
		c.t.Fatalf("%s: got %s, want id %s", c.name, compact(m), id)
	}
	return m
}

// expectClose expects the connection to end with close code; messages before it are skipped
// unless they are errors, which fail the test when code is not the one explained.
func (c *client) expectClose(code int) {
	c.t.Helper()
	for {
		f := c.next()
		if f.err == nil {
			continue
		}
		var ce *websocket.CloseError
		if !errors.As(f.err, &ce) {
			c.t.Fatalf("%s: connection ended with %v, want close %d", c.name, f.err, code)
		}
		if ce.Code != code {
			c.t.Fatalf("%s: closed with %d %q, want %d", c.name, ce.Code, ce.Text, code)
		}
		return
	}
}

// expectErrorThenClose expects error code and then close closeCode (spec §5.7 [ERR-2]).
func (c *client) expectErrorThenClose(code string, closeCode int) {
	c.t.Helper()
	c.expectError(code, "")
	f := c.next()
	var ce *websocket.CloseError
	if !errors.As(f.err, &ce) || ce.Code != closeCode {
		c.t.Fatalf("%s: after error %s got %+v (%v), want close %d", c.name, code, string(f.data), f.err, closeCode)
	}
}

// sync is a barrier: every message the server queued for c before it read this list_users has
// been received when sync returns, and must have been consumed by then.
func (c *client) sync() msg {
	c.t.Helper()
	id := c.id()
	c.send(msg{"type": "list_users", "id": id})
	m := c.expect("user_list")
	if m["id"] != id {
		c.t.Fatalf("%s: got %s, want user_list %s", c.name, compact(m), id)
	}
	return m
}

// waitOnline polls list_users until the online users are exactly users, for at most wait.
func (c *client) waitOnline(users ...string) {
	c.t.Helper()
	deadline := time.Now().Add(wait)
	for {
		got := c.sync()["users"]
		if sameJSON(got, users) {
			return
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("%s: online users %v, want %v", c.name, got, users)
		}
	}
}

// hello sends hello and returns the challenge.
func (c *client) hello() []byte {
	c.t.Helper()
	c.send(msg{"type": "hello", "id": "h1", "protocol": "blindpost/1", "user": c.name})
	ack := c.expect("hello_ack")
	return unb64(c.t, ack["challenge"].(string))
}

// registerMsg builds a register with a valid proof for challenge and pin.
func (c *client) registerMsg(challenge, pin []byte) msg {
	c.t.Helper()
	proof, err := c.key.RegisterProof(challenge, pin, c.name)
	if err != nil {
		c.t.Fatal(err)
	}
	return msg{
		"type": "register", "id": "r1",
		"identity_key":  b64(c.key.Public()),
		"group_key":     b64(c.key.GroupPublic()),
		"group_key_sig": b64(c.key.GroupKeySig(c.name)),
		"proof":         b64(proof),
	}
}

// register runs hello and register and expects register_ack.
func (c *client) register() {
	c.t.Helper()
	challenge := c.hello()
	c.send(c.registerMsg(challenge, c.srv.Pin.Bytes()))
	ack := c.expect("register_ack")
	if ack["user"] != c.name || ack["fingerprint"] != identity.Fingerprint(c.key.Public()) {
		c.t.Fatalf("%s: register_ack %s", c.name, compact(ack))
	}
	registeredKeys.Store(c.name, c.key)
}

// registeredKeys holds the identity key each username last registered with, so that commitFor
// lists the keys the directory holds (GSV-4). The tests of this package do not run in parallel.
var registeredKeys sync.Map // string -> *identity.PrivateKey

// quiet asserts that nothing but the barrier arrives: c has no pending message.
func (c *client) quiet() {
	c.t.Helper()
	c.sync()
}

// decode checks data against the server-to-client schema and decodes it.
func decode(t tb, data []byte) msg {
	t.Helper()
	checkServerMessage(t, data)
	var m msg
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func checkServerMessage(t tb, data []byte) {
	t.Helper()
	vs, err := schemas.Check(schemas.ServerMessage, data)
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) > 0 {
		t.Fatalf("the server sent an invalid message %s: %v", data, vs)
	}
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

func unb64(t tb, s string) []byte {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func compact(m msg) string {
	data, _ := json.Marshal(m)
	if len(data) > 300 {
		return string(data[:300]) + "…"
	}
	return string(data)
}

// session returns a fresh session id in base64.
func session() string {
	b := make([]byte, 16)
	rand.Read(b)
	return b64(b)
}

// ciphertext returns canonical base64 of n random bytes (16 ≤ n).
func ciphertext(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return b64(b)
}

// msgPayload is a relay payload of kind msg with counter n and a ciphertext of size bytes.
func msgPayload(n, size int) msg {
	return msg{"kind": "msg", "n": n, "ct": ciphertext(size)}
}

// sameJSON reports whether a and b are the same JSON value.
func sameJSON(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}

func hasPrefixAny(s string, prefixes ...string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// chat opens a chat from a to b that b accepts (spec §5.5 [SES-1]), so that relays between them
// are forwarded (SES-2), and returns its session id.
func chat(a, b *client) string {
	sid := session()
	id := a.id()
	a.send(msg{"type": "chat_request", "id": id, "to": b.name, "session": sid})
	a.expectAck(id, "chat_request")
	b.expect("chat_request")
	id = b.id()
	b.send(msg{"type": "chat_response", "id": id, "to": a.name, "session": sid, "accepted": true})
	b.expectAck(id, "chat_response")
	a.expect("chat_response")
	return sid
}
