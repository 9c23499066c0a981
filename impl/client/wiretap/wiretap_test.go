package wiretap

import (
	"bytes"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/blindpost/blindpost/impl/client/tlstrust"
	"github.com/blindpost/blindpost/impl/wire"
	"github.com/blindpost/blindpost/internal/tlspin"
)

// wait bounds every read of the tests; nothing in them waits for time to pass.
const wait = 10 * time.Second

// relay is a stand-in upstream: it answers each text message m with "echo m", and closes with
// code 4001 when told "close".
func relay(t *testing.T) (url string, pin tlstrust.Pin) {
	t.Helper()
	up := websocket.Upgrader{Subprotocols: []string{wire.Subprotocol}}
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer c.Close()
		for {
			_, data, err := c.ReadMessage()
			if err != nil {
				return
			}
			if string(data) == "close" {
				c.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(4001, "replaced"), time.Now().Add(wait))
				continue
			}
			if err := c.WriteMessage(websocket.TextMessage, append([]byte("echo "), data...)); err != nil {
				return
			}
		}
	}))
	t.Cleanup(srv.Close)
	return "wss://" + srv.Listener.Addr().String() + "/", tlspin.Of(srv.Certificate())
}

// tap starts a proxy in front of a fresh relay and returns it with a channel of what it observed.
func tap(t *testing.T, intercept func(Frame) bool) (*Proxy, <-chan Frame) {
	t.Helper()
	seen := make(chan Frame, 64)
	p, err := Listen(Options{Observe: func(f Frame) { seen <- f }, Intercept: intercept})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	p.SetUpstream(relay(t))
	return p, seen
}

// dial connects a client to the proxy, trusting the proxy's pin only.
func dial(t *testing.T, p *Proxy, pin tlstrust.Pin) (*websocket.Conn, error) {
	t.Helper()
	c, _, err := pin.Dialer(wait).Dial(p.URL(), nil)
	if err == nil {
		t.Cleanup(func() { c.Close() })
		c.SetReadDeadline(time.Now().Add(wait))
	}
	return c, err
}

func mustDial(t *testing.T, p *Proxy) *websocket.Conn {
	t.Helper()
	c, err := dial(t, p, p.Pin())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func send(t *testing.T, c *websocket.Conn, s string) {
	t.Helper()
	if err := c.WriteMessage(websocket.TextMessage, []byte(s)); err != nil {
		t.Fatal(err)
	}
}

func expect(t *testing.T, c *websocket.Conn, typ int, want string) {
	t.Helper()
	gotType, got, err := c.ReadMessage()
	if err != nil || gotType != typ || string(got) != want {
		t.Fatalf("read %d %q, %v; want %d %q", gotType, got, err, typ, want)
	}
}

func observed(t *testing.T, seen <-chan Frame, want Frame) {
	t.Helper()
	select {
	case f := <-seen:
		if f.Conn != want.Conn || f.Direction != want.Direction || !bytes.Equal(f.Data, want.Data) {
			t.Fatalf("observed %d %v %q; want %d %v %q", f.Conn, f.Direction, f.Data, want.Conn, want.Direction, want.Data)
		}
	case <-time.After(wait):
		t.Fatalf("observed nothing; want %v %q", want.Direction, want.Data)
	}
}

// closeCode reads until c fails and returns the close code it saw.
func closeCode(t *testing.T, c *websocket.Conn) (int, string) {
	t.Helper()
	for {
		_, _, err := c.ReadMessage()
		var ce *websocket.CloseError
		if errors.As(err, &ce) {
			return ce.Code, ce.Text
		}
		if err != nil {
			t.Fatalf("read ended with %v, want a close", err)
		}
	}
}

// TestForwardAndObserve: messages cross the proxy unchanged both ways, each reported once, in
// order, with its direction and the number of its connection.
func TestForwardAndObserve(t *testing.T) {
	p, seen := tap(t, nil)
	a := mustDial(t, p)
	send(t, a, `{"type":"hello"}`)
	expect(t, a, websocket.TextMessage, `echo {"type":"hello"}`)
	observed(t, seen, Frame{Conn: 1, Direction: ToRelay, Data: []byte(`{"type":"hello"}`)})
	observed(t, seen, Frame{Conn: 1, Direction: ToClient, Data: []byte(`echo {"type":"hello"}`)})
	b := mustDial(t, p)
	send(t, b, "second")
	expect(t, b, websocket.TextMessage, "echo second")
	observed(t, seen, Frame{Conn: 2, Direction: ToRelay, Data: []byte("second")})
	if ToRelay.String() != "client->relay" || ToClient.String() != "relay->client" {
		t.Errorf("directions print as %q and %q", ToRelay, ToClient)
	}
}

// TestIntercept: a message Intercept refuses is observed but not forwarded.
func TestIntercept(t *testing.T) {
	p, seen := tap(t, func(f Frame) bool { return !strings.HasPrefix(string(f.Data), "drop") })
	c := mustDial(t, p)
	send(t, c, "drop me")
	send(t, c, "keep")
	expect(t, c, websocket.TextMessage, "echo keep")
	observed(t, seen, Frame{Conn: 1, Direction: ToRelay, Data: []byte("drop me")})
	observed(t, seen, Frame{Conn: 1, Direction: ToRelay, Data: []byte("keep")})
}

// TestCloseCodePassedOn: the relay's close code and reason reach the client.
func TestCloseCodePassedOn(t *testing.T) {
	p, _ := tap(t, nil)
	c := mustDial(t, p)
	send(t, c, "close")
	if code, text := closeCode(t, c); code != 4001 || text != "replaced" {
		t.Fatalf("client saw close %d %q, want 4001 \"replaced\"", code, text)
	}
}

// TestInject: injected messages reach the chosen side without being observed; an unknown
// connection is an error.
func TestInject(t *testing.T) {
	p, seen := tap(t, nil)
	c := mustDial(t, p)
	send(t, c, "first") // the link exists once its first message crossed
	expect(t, c, websocket.TextMessage, "echo first")
	if err := p.Inject(1, ToClient, []byte("forged")); err != nil {
		t.Fatal(err)
	}
	expect(t, c, websocket.TextMessage, "forged")
	if err := p.InjectBinary(1, ToClient, []byte{0, 1}); err != nil {
		t.Fatal(err)
	}
	expect(t, c, websocket.BinaryMessage, "\x00\x01")
	if err := p.Inject(1, ToRelay, []byte("as the client")); err != nil {
		t.Fatal(err)
	}
	expect(t, c, websocket.TextMessage, "echo as the client")
	observed(t, seen, Frame{Conn: 1, Direction: ToRelay, Data: []byte("first")})
	observed(t, seen, Frame{Conn: 1, Direction: ToClient, Data: []byte("echo first")})
	observed(t, seen, Frame{Conn: 1, Direction: ToClient, Data: []byte("echo as the client")})
	if err := p.Inject(9, ToClient, []byte("x")); err == nil {
		t.Error("Inject on an unknown connection succeeded")
	}
	if err := p.InjectBinary(9, ToClient, []byte("x")); err == nil {
		t.Error("InjectBinary on an unknown connection succeeded")
	}
}

// TestDrop: Drop cuts the connections without a close frame (1006 at the client), and the proxy
// still accepts new ones.
func TestDrop(t *testing.T) {
	p, _ := tap(t, nil)
	c := mustDial(t, p)
	send(t, c, "before")
	expect(t, c, websocket.TextMessage, "echo before")
	p.Drop()
	if code, _ := closeCode(t, c); code != websocket.CloseAbnormalClosure {
		t.Fatalf("client saw close %d, want 1006", code)
	}
	d := mustDial(t, p)
	send(t, d, "after")
	expect(t, d, websocket.TextMessage, "echo after")
}

// TestNoUpstream: a client that connects before SetUpstream is closed with 1011.
func TestNoUpstream(t *testing.T) {
	p, err := Listen(Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	c := mustDial(t, p)
	if code, text := closeCode(t, c); code != websocket.CloseInternalServerErr || text != "relay unreachable" {
		t.Fatalf("client saw close %d %q, want 1011 \"relay unreachable\"", code, text)
	}
}

// TestPin: the proxy presents the certificate its Pin names, so a client pinning another key
// cannot connect.
func TestPin(t *testing.T) {
	p, _ := tap(t, nil)
	other := p.Pin()
	other[0] ^= 1
	if _, err := dial(t, p, other); err == nil {
		t.Fatal("a client with another pin connected")
	}
	mustDial(t, p)
}
