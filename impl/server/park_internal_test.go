package server

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"

	"crypto/tls"

	"github.com/gorilla/websocket"

	"github.com/blindpost/blindpost/impl/e2ee/identity"
	"github.com/blindpost/blindpost/impl/server/servertest/timescale"
	"github.com/blindpost/blindpost/internal/tlspin"
)

// The tests of this file run the relay in process with parking after parkFast, and check that
// parked connections behave as any other: they receive, they are kept alive or closed by the
// keepalive of WS-7, replaced (REG-7) and shut down (1001).

const parkFast = 30 * time.Millisecond

func startParking(t *testing.T, edit func(*Config)) *Server {
	t.Helper()
	s := startRelay(t, edit)
	if s.poller == nil {
		t.Skip("connections do not park on this system")
	}
	return s
}

// startRelay starts the relay in process, parking after parkFast where it can park.
func startRelay(t *testing.T, edit func(*Config)) *Server {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Listen, cfg.DataDir, cfg.Logger = "127.0.0.1:0", t.TempDir(), slog.New(slog.DiscardHandler)
	cfg.ParkAfter = parkFast
	if edit != nil {
		edit(&cfg)
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// dialParking opens a WebSocket to s trusting its pin, and registers name with a fresh key.
func dialParking(t *testing.T, s *Server, name string) *websocket.Conn {
	t.Helper()
	key, err := identity.Generate(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return dialParkingAs(t, s, name, key)
}

// dialParkingAs is dialParking with the identity key given.
func dialParkingAs(t *testing.T, s *Server, name string, key *identity.PrivateKey) *websocket.Conn {
	t.Helper()
	pin := s.CertificatePin()
	ws, _, err := pin.Dialer(0).Dial(s.URL(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ws.Close() })
	b64 := base64.StdEncoding.EncodeToString
	send(t, ws, fmt.Sprintf(`{"type":"hello","protocol":"blindpost/1","user":%q}`, name))
	var ack struct{ Challenge []byte }
	expectType(t, ws, "hello_ack", &ack)
	proof, err := key.RegisterProof(ack.Challenge, s.Pin().Bytes(), name)
	if err != nil {
		t.Fatal(err)
	}
	send(t, ws, fmt.Sprintf(`{"type":"register","identity_key":%q,"group_key":%q,"group_key_sig":%q,"proof":%q}`,
		b64(key.Public()), b64(key.GroupPublic()), b64(key.GroupKeySig(name)), b64(proof)))
	expectType(t, ws, "register_ack", nil)
	return ws
}

func send(t *testing.T, ws *websocket.Conn, text string) {
	t.Helper()
	if err := ws.WriteMessage(websocket.TextMessage, []byte(text)); err != nil {
		t.Fatal(err)
	}
}

// expectType reads the next message, which must be of type typ, into v (when not nil).
func expectType(t *testing.T, ws *websocket.Conn, typ string, v any) {
	t.Helper()
	ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, data, err := ws.ReadMessage()
	if err != nil {
		t.Fatalf("waiting for %s: %v", typ, err)
	}
	if !strings.HasPrefix(string(data), `{"type":"`+typ+`"`) {
		t.Fatalf("got %s, want %s", data, typ)
	}
	if v != nil {
		if err := json.Unmarshal(data, v); err != nil {
			t.Fatal(err)
		}
	}
}

// waitParked waits until n connections of s are parked (polled, with a deadline).
func waitParked(t *testing.T, s *Server, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		parked := 0
		s.connsMu.Lock()
		for c := range s.conns {
			c.readerMu.Lock()
			if c.rstate == readerParked {
				parked++
			}
			c.readerMu.Unlock()
		}
		s.connsMu.Unlock()
		if parked >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d connections parked, want %d", parked, n)
		}
		time.Sleep(5 * time.Millisecond) // polling a condition with a deadline, not synchronisation
	}
}

func relay(to string, n int) string {
	return fmt.Sprintf(`{"type":"relay","id":"%d","to":%q,"session":"2ssslZEny/S/y5gWIrZ4Tg==","payload":{"kind":"msg","n":%d,"ct":"AAAAAAAAAAAAAAAAAAAAAA=="}}`, n, to, n)
}

// TestParkedConnectionsRelay checks that a connection idle for parkAfter parks, without a
// goroutine, and that a parked connection receives and sends as before (SRV-7, SRV-8): in
// order, acknowledged, each time parking again.
func TestParkedConnectionsRelay(t *testing.T) {
	s := startParking(t, nil)
	alice, bob := dialParking(t, s, "alice"), dialParking(t, s, "bob")
	// bob asks, alice accepts: relays between them are forwarded (spec §5.5 [SES-2]).
	send(t, bob, `{"type":"chat_request","to":"alice","session":"2ssslZEny/S/y5gWIrZ4Tg=="}`)
	expectType(t, bob, "ack", nil)
	expectType(t, alice, "chat_request", nil)
	send(t, alice, `{"type":"chat_response","to":"bob","session":"2ssslZEny/S/y5gWIrZ4Tg==","accepted":true}`)
	expectType(t, alice, "ack", nil)
	expectType(t, bob, "chat_response", nil)
	for round := range 3 {
		waitParked(t, s, 2)
		for i := range 3 {
			send(t, bob, relay("alice", 10*round+i))
		}
		for i := range 3 {
			var ack struct{ ID string }
			expectType(t, bob, "ack", &ack)
			var m struct{ Payload struct{ N int } }
			expectType(t, alice, "relay", &m)
			if want := 10*round + i; m.Payload.N != want || ack.ID != fmt.Sprint(want) {
				t.Fatalf("round %d: relay %d acked as %q, want %d", round, m.Payload.N, ack.ID, want)
			}
		}
	}
}

// TestParkedKeepalive checks WS-7 and WS-8 across parking: a client that answers pings stays
// connected for several pong timeouts, parking in between; a silent one is closed with 1008;
// and a ping from the client is answered (the reader goes back to its wait after it). The timers come
// from timescale, and the test counts time, not pings.
func TestParkedKeepalive(t *testing.T) {
	pingEvery, pongTimeout := timescale.Of(100*time.Millisecond), timescale.Of(500*time.Millisecond)
	s := startParking(t, func(c *Config) {
		c.PingInterval, c.PongTimeout = pingEvery, pongTimeout
	})
	alive, mute := dialParking(t, s, "alive"), dialParking(t, s, "mute")
	mute.SetPingHandler(func(string) error { return nil }) // never answers
	pings := make(chan struct{}, 100)
	answer := alive.PingHandler()
	alive.SetPingHandler(func(d string) error {
		select {
		case pings <- struct{}{}:
		default:
		}
		return answer(d)
	})
	aliveErr := make(chan error, 1)
	go func() {
		alive.SetReadDeadline(time.Time{})
		_, _, err := alive.ReadMessage()
		aliveErr <- err
	}()
	// Three pong timeouts, parking in between pings: the answering client must be pinged and
	// must not end.
	select {
	case <-pings:
	case err := <-aliveErr:
		t.Fatalf("the answering client ended: %v", err)
	case <-time.After(5 * time.Second):
		t.Fatal("no ping from the server")
	}
	select {
	case err := <-aliveErr:
		t.Fatalf("the answering client ended: %v", err)
	case <-time.After(3 * pongTimeout): // the span the keepalive must bridge
	}
	mute.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		_, _, err := mute.ReadMessage()
		if err == nil {
			continue
		}
		if !websocket.IsCloseError(err, websocket.ClosePolicyViolation) {
			t.Fatalf("the silent client ended with %v, want close 1008", err)
		}
		break
	}
	// A ping from a client is answered, and the connection goes on.
	pongs := make(chan struct{}, 1)
	waiter := dialParking(t, s, "waiter")
	waiter.SetPongHandler(func(string) error { pongs <- struct{}{}; return nil })
	waitParked(t, s, 1)
	if err := waiter.WriteControl(websocket.PingMessage, []byte("hi"), time.Now().Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	go func() { waiter.SetReadDeadline(time.Now().Add(5 * time.Second)); waiter.ReadMessage() }()
	select {
	case <-pongs:
	case <-time.After(5 * time.Second):
		t.Fatal("no pong")
	}
}

// TestParkedReplacedAndShutdown checks that a parked connection is woken to be closed: with
// 4001 when a newer login replaces it (REG-7), and 1001 at shutdown, leaving no goroutine.
func TestParkedReplacedAndShutdown(t *testing.T) {
	baseline := runtime.NumGoroutine()
	s := startParking(t, nil)
	key, err := identity.Generate(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	first := dialParkingAs(t, s, "alice", key)
	waitParked(t, s, 1)
	second := dialParkingAs(t, s, "alice", key)
	expectClose(t, first, CloseReplaced)
	waitParked(t, s, 1)
	// The client reads meanwhile, so that gorilla answers the close frame and the shutdown
	// does not wait for the close grace.
	closed := make(chan error, 1)
	go func() {
		second.SetReadDeadline(time.Now().Add(5 * time.Second))
		for {
			if _, _, err := second.ReadMessage(); err != nil {
				closed <- err
				return
			}
		}
	}()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-closed; !websocket.IsCloseError(err, websocket.CloseGoingAway) {
		t.Fatalf("ended with %v, want close 1001", err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > baseline+2 { // the two client connections' own
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("%d goroutines, baseline %d:\n%s", runtime.NumGoroutine(), baseline, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(5 * time.Millisecond) // polling a condition with a deadline, not synchronisation
	}
}

func expectClose(t *testing.T, ws *websocket.Conn, code int) {
	t.Helper()
	ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		_, _, err := ws.ReadMessage()
		if err == nil {
			continue
		}
		if !websocket.IsCloseError(err, code) {
			t.Fatalf("ended with %v, want close %d", err, code)
		}
		return
	}
}

// countingConn counts the writes that reach the network.
type countingConn struct {
	net.Conn
	writes int
}

func (c *countingConn) Write(p []byte) (int, error) {
	c.writes++
	return c.Conn.Write(p)
}

// TestCorkGathers checks that corked frames leave in one TLS record and one write, and that
// uncorked writes go straight through.
func TestCorkGathers(t *testing.T) {
	a, b := net.Pipe()
	counter := &countingConn{Conn: a}
	tlsServer, client := tlsPipe(t, counter, b)
	server := &corkConn{Conn: tlsServer}
	got := make(chan string, 1)
	go func() {
		data, _ := io.ReadAll(client)
		got <- string(data)
	}()
	if err := server.Handshake(); err != nil {
		t.Fatal(err)
	}
	before := counter.writes
	server.cork()
	for _, p := range []string{"one ", "two ", "three "} {
		if _, err := server.Write([]byte(p)); err != nil {
			t.Fatal(err)
		}
	}
	if counter.writes != before {
		t.Fatalf("%d writes while corked", counter.writes-before)
	}
	if err := server.uncork(); err != nil {
		t.Fatal(err)
	}
	if counter.writes != before+1 {
		t.Fatalf("%d writes for one corked batch, want 1", counter.writes-before)
	}
	if _, err := server.Write([]byte("four")); err != nil {
		t.Fatal(err)
	}
	if counter.writes != before+2 {
		t.Fatalf("an uncorked write made %d writes, want 1", counter.writes-before-1)
	}
	server.Close()
	if s := <-got; s != "one two three four" {
		t.Fatalf("the client read %q", s)
	}
}

// tlsPipe returns the two ends of a TLS 1.3 connection over server and client (the two ends of
// a pipe): the server's with a fresh certificate, the client's trusting any, as nothing on a
// pipe needs checking.
func tlsPipe(t testing.TB, server, client net.Conn) (*tls.Conn, *tls.Conn) {
	t.Helper()
	id, err := tlspin.LoadOrCreate(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return tls.Server(server, &tls.Config{Certificates: []tls.Certificate{id.Cert}, MinVersion: tls.VersionTLS13}),
		tls.Client(client, &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS13})
}

// parkedCount returns how many connections of s are parked.
func parkedCount(s *Server) int {
	parked := 0
	s.connsMu.Lock()
	defer s.connsMu.Unlock()
	for c := range s.conns {
		c.readerMu.Lock()
		if c.rstate == readerParked {
			parked++
		}
		c.readerMu.Unlock()
	}
	return parked
}

// TestParkOption checks Config.Park both ways: on (where the system has the poller) idle
// connections park, off (or on the portable path, a build tagged blindpost_noepoll) none ever
// does; either way the relay forwards in order and acknowledges (SRV-7, SRV-8) after the idle
// time, and shuts down with 1001.
func TestParkOption(t *testing.T) {
	for _, park := range []bool{true, false} {
		t.Run(fmt.Sprintf("park=%v", park), func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.Listen, cfg.DataDir, cfg.Logger = "127.0.0.1:0", t.TempDir(), slog.New(slog.DiscardHandler)
			cfg.Park, cfg.ParkAfter = park, parkFast
			s, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			parks := park && s.poller != nil
			if !park && s.poller != nil {
				t.Fatal("the poller runs with Park off")
			}
			alice, bob := dialParking(t, s, "alice"), dialParking(t, s, "bob")
			send(t, bob, `{"type":"chat_request","to":"alice","session":"2ssslZEny/S/y5gWIrZ4Tg=="}`)
			expectType(t, bob, "ack", nil)
			expectType(t, alice, "chat_request", nil)
			send(t, alice, `{"type":"chat_response","to":"bob","session":"2ssslZEny/S/y5gWIrZ4Tg==","accepted":true}`)
			expectType(t, alice, "ack", nil)
			expectType(t, bob, "chat_response", nil)
			for round := range 2 {
				if parks {
					waitParked(t, s, 2)
				} else {
					// Idle for several times ParkAfter: the condition under test, not a
					// synchronisation.
					<-time.After(5 * parkFast)
					if n := parkedCount(s); n != 0 {
						t.Fatalf("%d connections parked with Park off or no poller", n)
					}
				}
				send(t, bob, relay("alice", round))
				var ack struct{ ID string }
				expectType(t, bob, "ack", &ack)
				var m struct{ Payload struct{ N int } }
				expectType(t, alice, "relay", &m)
				if m.Payload.N != round || ack.ID != fmt.Sprint(round) {
					t.Fatalf("round %d: relay %d acked as %q", round, m.Payload.N, ack.ID)
				}
			}
			closed := make(chan error, 1)
			go func() {
				alice.SetReadDeadline(time.Now().Add(5 * time.Second))
				for {
					if _, _, err := alice.ReadMessage(); err != nil {
						closed <- err
						return
					}
				}
			}()
			go func() { bob.SetReadDeadline(time.Now().Add(5 * time.Second)); bob.ReadMessage() }()
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			if err := <-closed; !websocket.IsCloseError(err, websocket.CloseGoingAway) {
				t.Fatalf("ended with %v, want close 1001", err)
			}
		})
	}
}

// TestAnswersLeaveTogether checks that the answers to requests read together leave together:
// in one TLS record (so one write), with nothing held back until the client sends more (each
// request is still answered, in order: SRV-13).
func TestAnswersLeaveTogether(t *testing.T) {
	s := startRelay(t, func(c *Config) { c.Park = false })
	ws := dialParking(t, s, "batch")
	const n = 8
	var frames []byte
	mask := [4]byte{1, 2, 3, 4}
	for i := range n {
		payload := fmt.Appendf(nil, `{"type":"list_users","id":"b%d"}`, i)
		frames = append(frames, 0x81, 0x80|byte(len(payload)))
		frames = append(frames, mask[:]...)
		for j, b := range payload {
			frames = append(frames, b^mask[j%4])
		}
	}
	nc := ws.NetConn() // gorilla is not reading: the test reads the TLS connection itself
	nc.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := nc.Write(frames); err != nil {
		t.Fatal(err)
	}
	// crypto/tls returns at most one record per Read: everything read at once came in one.
	buf := make([]byte, 64<<10)
	got, err := nc.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	data := buf[:got]
	for i := range n {
		if len(data) < 4 || data[0] != 0x81 {
			t.Fatalf("answer %d is not in the first record (%d answers of %d bytes in it)", i, i, got)
		}
		size, hdr := int(data[1]&0x7f), 2
		if size == 126 {
			size, hdr = int(data[2])<<8|int(data[3]), 4
		}
		want := fmt.Sprintf(`"id":"b%d"`, i)
		if len(data) < hdr+size || !strings.Contains(string(data[hdr:hdr+size]), want) {
			t.Fatalf("answer %d: %q, want one with %s", i, data[hdr:min(len(data), hdr+size)], want)
		}
		data = data[hdr+size:]
	}
}
