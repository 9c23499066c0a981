package clientsuite

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/blindpost/blindpost/conformance/harness"
	"github.com/blindpost/blindpost/impl/e2ee/identity"
	"github.com/blindpost/blindpost/impl/wire"
)

// textFrame is the WebSocket frame type of every protocol message (spec §4.2 WS-3).
const textFrame = websocket.TextMessage

// relayName is the server name the relay announces in hello_ack.
const relayName = "blindpost-conform/1"

// Registration is what the client registered with (spec §5.2): the runner learns its keys here.
type Registration struct {
	User        string
	IdentityKey []byte
	GroupKey    []byte
	GroupKeySig []byte
}

// Received is one message the client sent after registering, decoded, in arrival order.
type Received struct {
	Seq int
	Msg wire.Message
}

// CloseInfo is how the client closed a connection.
type CloseInfo struct {
	Code   int
	Reason string
}

// Relay is the server a case's client connects to: TLS 1.3 on 127.0.0.1 with the suite's
// certificate, WebSocket with the blindpost.v1 subprotocol, and enough of spec §5 to be an honest
// relay (relay_route.go). What the client sends to a virtual peer lands in that peer's inbox and
// what the case sends reaches the client through Send, so that the case decides, message by
// message, how honest the relay is.
type Relay struct {
	t   *harness.T
	URL string
	srv *http.Server
	ln  net.Listener

	registered chan struct{} // closed once the client registered
	reg        Registration
	closes     *mailbox[CloseInfo]
	pongs      *mailbox[string]

	mu      sync.Mutex
	limits  wire.Limits     // announced in hello_ack; loose, so that the client never waits
	ws      *websocket.Conn // the client's current connection
	wmu     sync.Mutex      // serialises writes on ws
	peers   map[string]*Peer
	keys    map[string]wire.Pubkey // what get_pubkey serves, by username
	groups  map[string]*relayGroup
	answers map[string]func(wire.Message) []byte // AnswerNext, by request type
	log     []Received
	frames  [][]byte // every text message of the client, as it came
	conns   int
	served  sync.WaitGroup
	stopped bool
}

// startRelay starts the relay of case t; it stops when the case ends.
func startRelay(t *harness.T, env *Env) *Relay {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("clientsuite: relay listen: %v", err)
	}
	r := &Relay{
		t: t, ln: ln, URL: "wss://" + ln.Addr().String() + "/",
		limits:     wire.Limits{MaxMessage: 65536, Rate: 10000, Burst: 10000, MaxGroups: 16, MaxGroupMembers: 100, PingIntervalMs: 30000, PongTimeoutMs: 60000, RegisterTimeoutMs: 10000},
		registered: make(chan struct{}), closes: newMailbox[CloseInfo](), pongs: newMailbox[string](),
		peers: map[string]*Peer{}, keys: map[string]wire.Pubkey{}, groups: map[string]*relayGroup{},
		answers: map[string]func(wire.Message) []byte{},
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS13, Certificates: []tls.Certificate{env.cert}} // spec §4.1 [TLS-1]
	r.srv = &http.Server{Handler: http.HandlerFunc(r.upgrade), TLSConfig: tc, ReadHeaderTimeout: env.cfg.Wait,
		ErrorLog: log.New(io.Discard, "", 0)} // a client refusing the certificate is a case's business
	r.srv.SetKeepAlivesEnabled(false)
	go func() { _ = r.srv.ServeTLS(ln, "", "") }()
	t.Cleanup(r.stop)
	return r
}

// stop closes the listener and every connection, and waits for the connection goroutines.
func (r *Relay) stop() {
	r.mu.Lock()
	r.stopped = true
	ws := r.ws
	r.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = r.srv.Shutdown(ctx)
	if ws != nil {
		_ = ws.Close()
	}
	r.served.Wait()
}

// upgrade accepts the client's WebSocket, which must offer blindpost.v1 (spec §4.2 [WS-1]).
func (r *Relay) upgrade(w http.ResponseWriter, req *http.Request) {
	offered := websocket.Subprotocols(req)
	if !slices.Contains(offered, wire.Subprotocol) {
		r.t.Mismatch("WS-1", "an upgrade request offering the subprotocol "+wire.Subprotocol, fmt.Sprintf("subprotocols %q", offered))
		http.Error(w, "the blindpost.v1 subprotocol is required", http.StatusBadRequest)
		return
	}
	up := websocket.Upgrader{Subprotocols: []string{wire.Subprotocol}, CheckOrigin: func(*http.Request) bool { return true }}
	ws, err := up.Upgrade(w, req, nil)
	if err != nil {
		r.t.Transcript().Notef("relay", "upgrade failed: %v", err)
		return
	}
	r.mu.Lock()
	if r.stopped {
		r.mu.Unlock()
		_ = ws.Close()
		return
	}
	r.conns++
	r.ws = ws
	r.served.Add(1)
	r.mu.Unlock()
	r.t.Transcript().Notef("relay", "connection %d from %s, TLS 1.3, subprotocol %s", r.conns, req.RemoteAddr, wire.Subprotocol)
	go r.serve(ws)
}

// serve runs one connection: registration, then every request until it ends.
func (r *Relay) serve(ws *websocket.Conn) {
	defer r.served.Done()
	defer ws.Close()
	ws.SetReadLimit(r.Limits().MaxMessage)
	ws.SetPongHandler(func(data string) error { r.pongs.put(data); return nil })
	if !r.register(ws) {
		return
	}
	for {
		data, ok := r.read(ws)
		if !ok {
			return
		}
		r.handle(data)
	}
}

// read returns the next text message of the client; false when the connection ended.
func (r *Relay) read(ws *websocket.Conn) ([]byte, bool) {
	typ, data, err := ws.ReadMessage()
	if err != nil {
		var ce *websocket.CloseError
		switch {
		case errors.As(err, &ce):
			r.t.Transcript().Add("relay", harness.In, "close", fmt.Appendf(nil, "%d %s", ce.Code, ce.Text))
			r.closes.put(CloseInfo{Code: ce.Code, Reason: ce.Text})
		case errors.Is(err, websocket.ErrReadLimit):
			r.t.Mismatch("WS-6", fmt.Sprintf("messages of at most the announced max_message, %d bytes", r.Limits().MaxMessage), "a larger message")
		default:
			r.t.Transcript().Notef("relay", "connection ended: %v", err)
			r.closes.put(CloseInfo{Code: websocket.CloseAbnormalClosure, Reason: err.Error()})
		}
		return nil, false
	}
	r.t.Transcript().Add("relay", harness.In, "text", data)
	r.mu.Lock()
	r.frames = append(r.frames, data)
	r.mu.Unlock()
	if typ != websocket.TextMessage {
		r.t.Mismatch("WS-3", "text messages only", "a binary message")
		return nil, true
	}
	return data, true
}

// register runs hello and register (spec §5.2), verifying the proof against this relay's pin and
// the group key signature (REG-11, KEY-4); the runner learns the client's keys from it.
func (r *Relay) register(ws *websocket.Conn) bool {
	data, ok := r.read(ws)
	if !ok {
		return false
	}
	hello, ok := r.decodeAs(data, "hello").(*wire.Hello)
	if !ok {
		return false
	}
	challenge := make([]byte, identity.ChallengeSize)
	_, _ = rand.Read(challenge)
	r.Send(&wire.HelloAck{ID: hello.ID, Challenge: challenge, Server: relayName, Limits: r.Limits()})
	if data, ok = r.read(ws); !ok {
		return false
	}
	reg, ok := r.decodeAs(data, "register").(*wire.Register)
	if !ok {
		return false
	}
	if err := identity.VerifyRegisterProof(challenge, r.pinBytes(), hello.User, reg.IdentityKey, reg.GroupKey, reg.Proof); err != nil {
		r.t.Mismatch("REG-11", "a registration proof over this relay's pin, the challenge, the user and both keys", err.Error())
		r.Send(&wire.ErrorMessage{ID: reg.ID, Code: "bad_proof", Message: "the proof does not verify", For: "register"})
		return false
	}
	if err := identity.VerifyGroupKeySig(hello.User, reg.IdentityKey, reg.GroupKey, reg.GroupKeySig); err != nil {
		r.t.Mismatch("KEY-4", "a group key published with a valid group_key_sig", err.Error())
		r.Send(&wire.ErrorMessage{ID: reg.ID, Code: "bad_proof", Message: "the group key signature does not verify", For: "register"})
		return false
	}
	r.mu.Lock()
	r.reg = Registration{User: hello.User, IdentityKey: reg.IdentityKey, GroupKey: reg.GroupKey, GroupKeySig: reg.GroupKeySig}
	r.keys[hello.User] = wire.Pubkey{User: hello.User, IdentityKey: reg.IdentityKey, GroupKey: reg.GroupKey, GroupKeySig: reg.GroupKeySig}
	first := r.conns == 1
	r.mu.Unlock()
	r.Send(&wire.RegisterAck{ID: reg.ID, User: hello.User, Fingerprint: identity.Fingerprint(reg.IdentityKey)})
	if first {
		close(r.registered)
	}
	return true
}

// decodeAs decodes a registration message that must be of type typ; anything else is answered
// and ends the connection.
func (r *Relay) decodeAs(data []byte, typ string) wire.Message {
	m, err := wire.Decode(wire.FromClient, data)
	if err != nil {
		r.t.Mismatch("MSG-6", "messages that validate against schemas/client-message.json", fmt.Sprintf("%s: %v", printable(data), err))
		r.Send(&wire.ErrorMessage{Code: "bad_message", Message: "the message does not validate"})
		return nil
	}
	if m.MessageType() != typ {
		r.t.Mismatch("REG-8", typ+" (hello then register)", m.MessageType())
		r.Send(&wire.ErrorMessage{Code: "out_of_order", Message: "hello, then register", For: wire.RequestType(m.MessageType())})
		return nil
	}
	return m
}

// Registered waits for the client to register and returns what it registered.
func (r *Relay) Registered(wait time.Duration) (Registration, bool) {
	r.t.Waiting("the client's registration at the relay")
	defer r.t.Waiting("")
	timer := time.NewTimer(wait)
	defer timer.Stop()
	select {
	case <-r.registered:
		r.mu.Lock()
		defer r.mu.Unlock()
		return r.reg, true
	case <-timer.C:
	case <-r.t.Context().Done():
	}
	return Registration{}, false
}

// pinBytes is the relay's pin as the 32 bytes a proof covers.
func (r *Relay) pinBytes() []byte { return envOf(r.t).pin.Bytes() }

// Send encodes a well-formed server message (wire.Encode validates it) and sends it.
func (r *Relay) Send(m wire.Message) {
	data, err := wire.Encode(m)
	if err != nil {
		r.t.Fatalf("clientsuite: the relay cannot encode %s: %v", m.MessageType(), err)
	}
	r.SendRaw(websocket.TextMessage, data)
}

// SendRaw sends one frame as it is: the malicious relay's injections.
func (r *Relay) SendRaw(kind int, data []byte) {
	r.mu.Lock()
	ws := r.ws
	r.mu.Unlock()
	if ws == nil {
		r.t.Fatalf("clientsuite: the relay has no connection to send on")
	}
	r.wmu.Lock()
	defer r.wmu.Unlock()
	name := "text"
	if kind == websocket.BinaryMessage {
		name = "binary"
	}
	r.t.Transcript().Add("relay", harness.Out, name, data)
	_ = ws.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if err := ws.WriteMessage(kind, data); err != nil {
		r.t.Transcript().Notef("relay", "write failed: %v", err)
	}
}

// Ping sends a WebSocket ping.
func (r *Relay) Ping(data string) {
	r.mu.Lock()
	ws := r.ws
	r.mu.Unlock()
	r.wmu.Lock()
	defer r.wmu.Unlock()
	r.t.Transcript().Add("relay", harness.Out, "ping", []byte(data))
	_ = ws.WriteControl(websocket.PingMessage, []byte(data), time.Now().Add(5*time.Second))
}

// Limits returns the limits the relay announces in hello_ack (spec §5.8).
func (r *Relay) Limits() wire.Limits {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.limits
}

// SetMaxMessage changes the max_message the relay announces to the next connection, and the
// size above which it fails a message of the client (WS-6).
func (r *Relay) SetMaxMessage(n int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.limits.MaxMessage = n
}

// Frames returns every message the client sent, registration included, as it came.
func (r *Relay) Frames() [][]byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.frames)
}

// Conns returns how many WebSocket connections the client opened.
func (r *Relay) Conns() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.conns
}

// Log returns every message the client sent since it registered, in order.
func (r *Relay) Log() []Received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.log)
}
