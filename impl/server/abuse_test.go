package server_test

import (
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/blindpost/blindpost/impl/server"
	"github.com/blindpost/blindpost/impl/server/servertest"
	"github.com/blindpost/blindpost/impl/wire"
)

// rawTCP opens a TCP connection to the server from the local address from ("" lets the system
// choose) and sends nothing; it is closed when the test ends.
func rawTCP(t *testing.T, srv *servertest.Server, from string) net.Conn {
	t.Helper()
	d := net.Dialer{Timeout: wait}
	if from != "" {
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(from)}
	}
	c, err := d.Dial("tcp", srv.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// closedWithin reports whether the server closes c (EOF or reset) within d.
func closedWithin(c net.Conn, d time.Duration) bool {
	c.SetReadDeadline(time.Now().Add(d))
	_, err := io.Copy(io.Discard, c)
	var ne net.Error
	return !(errors.As(err, &ne) && ne.Timeout())
}

// dialFrom dials a WebSocket connection from the local address from.
func dialFrom(srv *servertest.Server, from string) (*websocket.Conn, error) {
	d := srv.Dialer()
	nd := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: wait}
	d.NetDial = nd.Dial
	ws, _, err := d.Dial(srv.URL, nil)
	return ws, err
}

// TestConnectionsCountedFromAccept checks ABU-1: TCP connections that never start TLS count
// against max-conns, a connection beyond it is closed at once (long before any deadline), and
// closing one makes room.
func TestConnectionsCountedFromAccept(t *testing.T) {
	srv := servertest.Start(t, func(c *server.Config) { c.MaxConns, c.HandshakeTimeout = 3, time.Minute })
	var idle []net.Conn
	for range 3 {
		idle = append(idle, rawTCP(t, srv, ""))
	}
	extra := rawTCP(t, srv, "")
	if !closedWithin(extra, wait) {
		t.Fatal("a fourth connection was not closed at once while three idle ones held max-conns 3")
	}
	if ws, status, err := srv.DialWith(nil, wire.Subprotocol); ws != nil {
		ws.Close()
		t.Fatalf("an upgrade succeeded beyond max-conns (status %d, %v)", status, err)
	}
	idle[0].Close()
	deadline := time.Now().Add(wait)
	for {
		ws, _, err := srv.DialWith(nil, wire.Subprotocol)
		if err == nil {
			ws.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no room after closing an idle connection: %v", err)
		}
	}
}

// TestHandshakeDeadline checks ABU-2: a connection that sends nothing, and one that completes
// TLS but sends its upgrade request too slowly, are closed at the handshake deadline, well
// before the registration deadline of WS-9.
func TestHandshakeDeadline(t *testing.T) {
	const deadline = 300 * time.Millisecond
	srv := servertest.Start(t, func(c *server.Config) { c.HandshakeTimeout = deadline })
	start := time.Now() // before the dial: the deadline runs from the relay's Accept
	silent := rawTCP(t, srv, "")
	if !closedWithin(silent, wait) {
		t.Fatal("a silent TCP connection was not closed")
	}
	if took := time.Since(start); took < deadline || took > deadline+3*time.Second {
		t.Fatalf("a silent TCP connection was closed after %s, want about %s", took, deadline)
	}

	slow := tls.Client(rawTCP(t, srv, ""), srv.TLSConfig())
	if err := slow.Handshake(); err != nil {
		t.Fatal(err)
	}
	start = time.Now()
	for _, line := range []string{"GET / HTTP/1.1\r\n", "Host: relay\r\n", "Upgrade: websocket\r\n"} {
		if _, err := slow.Write([]byte(line)); err != nil {
			break // closed already
		}
		time.Sleep(deadline / 2) // the client's own slowness, not a synchronisation
	}
	if !closedWithin(slow, wait) {
		t.Fatal("a slow upgrade request was not closed")
	}
	if took := time.Since(start); took > deadline+3*time.Second {
		t.Fatalf("a slow upgrade request was closed after %s, want about %s", took, deadline)
	}
}

// TestPerAddressConnections checks ABU-3: connections from one source address are bounded from
// Accept on (loopback included), while another address still connects.
func TestPerAddressConnections(t *testing.T) {
	srv := servertest.Start(t, func(c *server.Config) { c.MaxConnsPerAddr, c.HandshakeTimeout = 2, time.Minute })
	rawTCP(t, srv, "127.0.0.1")
	rawTCP(t, srv, "127.0.0.1")
	if !closedWithin(rawTCP(t, srv, "127.0.0.1"), wait) {
		t.Fatal("a third connection from 127.0.0.1 was not closed at once with max-conns-per-addr 2")
	}
	ws, err := dialFrom(srv, "127.0.0.2")
	if err != nil {
		t.Fatalf("another address could not connect: %v", err)
	}
	ws.Close()
}

// TestPerAddressJoins checks ABU-4: the group memberships of the connections of one source
// address are bounded (limit_exceeded beyond), and a leave frees one.
func TestPerAddressJoins(t *testing.T) {
	srv := servertest.Start(t, func(c *server.Config) { c.MaxJoinsPerAddr = 2 })
	alice, bob := connect(t, srv, "alice"), connect(t, srv, "bob")
	for _, g := range []string{"g1", "g2"} {
		alice.send(msg{"type": "group_join", "id": g, "group": g})
		alice.expectAck(g, "group_join")
		alice.expect("group_members")
	}
	bob.send(msg{"type": "group_join", "id": "j", "group": "g3"})
	if e := bob.expectError("limit_exceeded", "j"); e["for"] != "group_join" {
		t.Fatalf("got %s", compact(e))
	}
	alice.send(msg{"type": "group_leave", "id": "l", "group": "g1"})
	alice.expectAck("l", "group_leave")
	bob.send(msg{"type": "group_join", "id": "k", "group": "g3"})
	bob.expectAck("k", "group_join")
}

// TestFrameBudget checks ABU-5: pings beyond the rate close a registered connection with 4003
// and an unregistered one with 1008; a stream of empty continuation frames, which never makes a
// message, closes the connection too.
func TestFrameBudget(t *testing.T) {
	srv := servertest.Start(t)
	alice, bob := connect(t, srv, "alice"), connect(t, srv, "bob")
	flood := func(ws *websocket.Conn, frame []byte, want int) {
		t.Helper()
		go func() {
			for {
				if ws.WriteControl(websocket.PingMessage, frame, time.Now().Add(wait)) != nil {
					return
				}
			}
		}()
		expectCloseCode(t, ws, want)
	}
	registered := registerRaw(t, srv, "pinger")
	flood(registered, bytes.Repeat([]byte("p"), 125), server.CloseRateLimited)
	flood(srv.Dial(t), nil, websocket.ClosePolicyViolation)

	// A text frame that never ends: empty continuation frames, masked as a client's must be.
	early := srv.Dial(t)
	go func() {
		nc := early.NetConn()
		if _, err := nc.Write([]byte{0x01, 0x80, 1, 2, 3, 4}); err != nil {
			return
		}
		empty := bytes.Repeat([]byte{0x00, 0x80, 1, 2, 3, 4}, 1000)
		for {
			if _, err := nc.Write(empty); err != nil {
				return
			}
		}
	}()
	expectCloseCode(t, early, websocket.ClosePolicyViolation)
	liveness(t, alice, bob)
}

// TestFragmentCharge checks ABU-5's charge per fragment: a request in one-byte fragments is
// answered, and a message of a thousand empty fragments, 6,000 bytes on the wire and far within
// a byte budget of 20,480, closes the registered connection with 4003, as 1,000 ×
// FragmentCharge exceeds it.
func TestFragmentCharge(t *testing.T) {
	srv := servertest.Start(t, func(c *server.Config) {
		c.MaxMessage, c.Rate, c.Burst = 1024, server.MinRate, server.MinBurst
	})
	ws := registerRaw(t, srv, "alice")
	nc := ws.NetConn()
	request := []byte(`{"type":"list_users","id":"frag"}`)
	var frames []byte
	for i, b := range request {
		b0 := byte(opCont)
		if i == 0 {
			b0 = opText
		}
		if i == len(request)-1 {
			b0 |= fin
		}
		frames = append(frames, rawFrame(b0, []byte{b}, false)...)
	}
	if _, err := nc.Write(frames); err != nil {
		t.Fatal(err)
	}
	ws.SetReadDeadline(time.Now().Add(wait))
	if _, data, err := ws.ReadMessage(); err != nil || decode(t, data)["type"] != "user_list" {
		t.Fatalf("list_users in %d one-byte fragments: %s, %v; want user_list [WS-19]", len(request), data, err)
	}

	endless := rawFrame(opText, nil, false)
	for range 1000 {
		endless = append(endless, rawFrame(opCont, nil, false)...)
	}
	go func() { _, _ = nc.Write(endless) }() // the relay may close before it has read them all
	expectCloseCode(t, ws, server.CloseRateLimited)
}

// expectCloseCode reads ws until its close frame, which must carry code and say that the
// budget was exceeded (a registration timeout closes with 1008 too).
func expectCloseCode(t *testing.T, ws *websocket.Conn, code int) {
	t.Helper()
	ws.SetReadDeadline(time.Now().Add(wait))
	for {
		_, _, err := ws.ReadMessage()
		if err == nil {
			continue
		}
		var ce *websocket.CloseError
		if !errors.As(err, &ce) || ce.Code != code || ce.Text != "frame budget exceeded" {
			t.Fatalf("the connection ended with %v, want close %d for the frame budget", err, code)
		}
		return
	}
}

// TestOwedPongsFree checks ABU-5 with WS-8: the pong that answers the relay's ping takes no
// token, so a client at the smallest rate the spec allows, pinged at the shortest interval,
// keeps its whole rate for requests. Were pongs charged, ten a second on top of nine requests
// would empty the bucket of 20 within about three seconds and get rate_limited answers.
func TestOwedPongsFree(t *testing.T) {
	srv := servertest.Start(t, func(c *server.Config) {
		c.Rate, c.Burst = server.MinRate, server.MinBurst
		c.PingInterval, c.PongTimeout = server.MinPingInterval, time.Second
	})
	ws := registerRaw(t, srv, "alice") // gorilla's default ping handler answers every ping
	answers := make(chan msg, 64)
	go func() {
		defer close(answers)
		for {
			_, data, err := ws.ReadMessage()
			if err != nil {
				return
			}
			answers <- decode(t, data)
		}
	}()
	const requests = 45 // at 9 a second: five seconds, about 50 pings
	tick := time.NewTicker(time.Second / 9)
	defer tick.Stop()
	for i := range requests {
		<-tick.C // pacing the requests, not waiting for an event
		if err := ws.WriteJSON(msg{"type": "list_users", "id": fmt.Sprint(i)}); err != nil {
			t.Fatal(err)
		}
		select {
		case m, ok := <-answers:
			if !ok || m["type"] != "user_list" {
				t.Fatalf("request %d answered %v (open %v), want user_list: the owed pongs were charged [ABU-5]", i, m, ok)
			}
		case <-time.After(wait):
			t.Fatalf("request %d: no answer", i)
		}
	}
}
