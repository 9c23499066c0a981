package server_test

import (
	"context"
	"crypto/tls"
	"io"
	"net/http"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/blindpost/blindpost/impl/server"
	"github.com/blindpost/blindpost/impl/server/directory"
	"github.com/blindpost/blindpost/impl/server/servertest"
	"github.com/blindpost/blindpost/impl/server/servertest/timescale"
	"github.com/blindpost/blindpost/impl/wire"
)

// TestUpgradeRefusals checks WS-1 (the subprotocol is selected, and required: 400), WS-2 (an
// Origin not allowed: 403; none, or an allowed one: accepted) and LIM-5 with ABU-1 (beyond
// max-conns: closed before TLS).
func TestUpgradeRefusals(t *testing.T) {
	srv := servertest.Start(t, func(c *server.Config) {
		c.AllowOrigins = []string{"https://chat.example.org"}
	})
	origin := func(o string) http.Header { return http.Header{"Origin": {o}} }
	tests := []struct {
		name         string
		header       http.Header
		subprotocols []string
		status       int
	}{
		{"WS-1 no subprotocol", nil, nil, http.StatusBadRequest},
		{"WS-1 another subprotocol", nil, []string{"chat"}, http.StatusBadRequest},
		{"WS-2 foreign origin", origin("https://evil.example"), []string{wire.Subprotocol}, http.StatusForbidden},
		{"WS-2 allowed origin", origin("https://chat.example.org"), []string{wire.Subprotocol}, http.StatusSwitchingProtocols},
		{"WS-1 offered among others", nil, []string{"chat", wire.Subprotocol}, http.StatusSwitchingProtocols},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ws, status, err := srv.DialWith(tt.header, tt.subprotocols...)
			if status != tt.status {
				t.Fatalf("status %d (%v), want %d", status, err, tt.status)
			}
			if ws != nil {
				if ws.Subprotocol() != wire.Subprotocol {
					t.Errorf("selected subprotocol %q", ws.Subprotocol())
				}
				ws.Close()
			}
		})
	}
	t.Run("LIM-5 max-conns", func(t *testing.T) {
		srv := servertest.Start(t, func(c *server.Config) { c.MaxConns = 3 })
		var open []*websocket.Conn
		for range 3 {
			open = append(open, srv.Dial(t))
		}
		// ABU-1: beyond max-conns, the connection is closed at once, before TLS.
		if ws, status, err := srv.DialWith(nil, wire.Subprotocol); ws != nil || status != 0 {
			t.Fatalf("connection beyond max-conns: status %d (%v), want closed before TLS", status, err)
		}
		open[0].Close()
		deadline := time.Now().Add(wait)
		for {
			ws, status, err := srv.DialWith(nil, wire.Subprotocol)
			if ws != nil {
				ws.Close()
				break
			}
			if status != 0 || time.Now().After(deadline) {
				t.Fatalf("after a close: status %d (%v)", status, err)
			}
		}
	})
	t.Run("not a WebSocket request", func(t *testing.T) {
		client := &http.Client{Transport: &http.Transport{TLSClientConfig: srv.TLSConfig()}}
		defer client.CloseIdleConnections()
		resp, err := client.Get("https://" + srv.Addr().String() + "/")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), "blindpost.v1") {
			t.Fatalf("plain GET: %d %q", resp.StatusCode, body)
		}
	})
}

// TestTLS13Only checks TLS-1: a client limited to TLS 1.2 cannot connect.
func TestTLS13Only(t *testing.T) {
	srv := servertest.Start(t)
	cfg := srv.TLSConfig()
	cfg.MinVersion, cfg.MaxVersion = tls.VersionTLS12, tls.VersionTLS12
	if conn, err := tls.Dial("tcp", srv.Addr().String(), cfg); err == nil {
		conn.Close()
		t.Fatal("a TLS 1.2 handshake succeeded")
	}
	conn, err := tls.Dial("tcp", srv.Addr().String(), srv.TLSConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if v := conn.ConnectionState().Version; v != tls.VersionTLS13 {
		t.Fatalf("negotiated %x", v)
	}
}

// TestKeepalive checks WS-7: the server pings; a client that answers (WS-8) stays connected
// past several pong timeouts, and one that sends nothing is closed with 1008. The timers come
// from timescale, and the test counts time, not pings, so a loaded machine only stretches it.
func TestKeepalive(t *testing.T) {
	pingEvery, pongTimeout := timescale.Of(100*time.Millisecond), timescale.Of(500*time.Millisecond)
	srv := servertest.Start(t, func(c *server.Config) {
		c.PingInterval, c.PongTimeout = pingEvery, pongTimeout
	})
	pings := make(chan struct{}, 1000)
	alive := dial(t, srv, "alive")
	answer := alive.ws.PingHandler()
	alive.ws.SetPingHandler(func(d string) error {
		select {
		case pings <- struct{}{}:
		default:
		}
		return answer(d)
	})
	alive.register()

	mute := dial(t, srv, "mute")
	mute.ws.SetPingHandler(func(string) error { return nil }) // never answers
	mute.register()

	// Three pong timeouts: the answering client must still be served, and was pinged.
	select {
	case <-pings:
	case <-time.After(wait):
		t.Fatal("no ping from the server")
	}
	time.Sleep(3 * pongTimeout) // the span the keepalive must bridge, not a synchronisation
	alive.sync()
	mute.expectClose(websocket.ClosePolicyViolation)
}

// TestRestartKeepsPinAndDirectory checks TLS-5 and REG-5: after a restart on the same data
// directory the pin is the same and bindings hold.
func TestRestartKeepsPinAndDirectory(t *testing.T) {
	srv := servertest.Start(t)
	pin := srv.Pin
	if !srv.GeneratedCertificate() {
		t.Error("the first start did not generate the certificate")
	}
	alice := connect(t, srv, "alice")
	key := alice.key
	srv = srv.Restart(t)
	if srv.Pin != pin || srv.GeneratedCertificate() {
		t.Fatalf("pin %s after restart, want %s", srv.Pin, pin)
	}
	again := dial(t, srv, "alice")
	again.key = key
	again.register()
	thief := dial(t, srv, "alice")
	thief.send(thief.registerMsg(thief.hello(), srv.Pin.Bytes()))
	thief.expectErrorThenClose("identity_mismatch", websocket.ClosePolicyViolation)
}

// TestGracefulShutdown checks the shutdown of spec §4.2: every client is closed with 1001, new
// connections are refused, and the directory is flushed and released.
func TestGracefulShutdown(t *testing.T) {
	srv := servertest.Start(t)
	alice, bob := connect(t, srv, "alice"), connect(t, srv, "bob")
	unregistered := dial(t, srv, "carol")
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	for _, c := range []*client{alice, bob, unregistered} {
		c.expectClose(websocket.CloseGoingAway)
	}
	if ws, _, err := srv.DialWith(nil, wire.Subprotocol); err == nil {
		ws.Close()
		t.Fatal("a connection was accepted after shutdown")
	}
	d, err := directory.Open(filepath.Join(srv.DataDir, directory.FileName), directory.Options{})
	if err != nil {
		t.Fatalf("directory after shutdown: %v", err)
	}
	defer d.Close()
	if n, _ := d.Count(); n != 2 {
		t.Fatalf("directory holds %d names, want 2", n)
	}
}

// TestNoGoroutineLeak checks that connections of every kind, closed by either side, leave no
// goroutine behind: the count returns to its baseline (polled with a deadline).
func TestNoGoroutineLeak(t *testing.T) {
	baseline := runtime.NumGoroutine()
	func() {
		srv := servertest.Start(t, func(c *server.Config) { c.RegisterTimeout = timescale.Of(time.Second) })
		alice, bob := connect(t, srv, "alice"), connect(t, srv, "bob")
		alice.join("room")
		bob.join("room")
		alice.expect("group_members")
		liveness(t, alice, bob)
		dial(t, srv, "late").expectClose(websocket.ClosePolicyViolation) // registration deadline
		mal := connect(t, srv, "mal")
		mal.ws.WriteMessage(websocket.BinaryMessage, []byte("x"))
		mal.expectClose(websocket.CloseUnsupportedData)
		bob.close()
		alice.expect("group_members")
		alice.close()
		if err := srv.Close(); err != nil {
			t.Fatal(err)
		}
	}()
	deadline := time.Now().Add(wait)
	for runtime.NumGoroutine() > baseline {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("%d goroutines, baseline %d:\n%s", runtime.NumGoroutine(), baseline, buf[:runtime.Stack(buf, true)])
		}
		runtime.Gosched()
		time.Sleep(5 * time.Millisecond) // polling a condition with a deadline, not synchronisation
	}
}

// TestMetrics checks the observability of the relay: metrics and /healthz on their own
// listener, off unless configured.
func TestMetrics(t *testing.T) {
	if srv := servertest.Start(t); srv.MetricsAddr() != nil {
		t.Fatal("metrics listener on by default")
	}
	srv := servertest.Start(t, func(c *server.Config) { c.MetricsListen = "127.0.0.1:0" })
	alice, bob := connect(t, srv, "alice"), connect(t, srv, "bob")
	liveness(t, alice, bob)
	alice.send(msg{"type": "relay", "id": "x", "to": "nobody", "session": session(), "payload": msgPayload(0, 20)})
	alice.expectError("unknown_user", "x")
	get := func(path string) (int, string) {
		t.Helper()
		resp, err := http.Get("http://" + srv.MetricsAddr().String() + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	status, body := get("/metrics")
	if status != http.StatusOK {
		t.Fatalf("/metrics: %d", status)
	}
	for _, want := range []string{
		"blindpost_connections 2",
		"blindpost_connections_total 2",
		`blindpost_registrations_total{result="ok"} 2`,
		`blindpost_messages_relayed_total{type="relay"} 1`,
		`blindpost_errors_total{code="unknown_user"} 1`,
		`blindpost_relay_latency_seconds_count{type="relay"} 1`,
		"blindpost_online_users 2",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if strings.Contains(body, "alice") {
		t.Error("/metrics names a user")
	}
	if status, body := get("/healthz"); status != http.StatusOK || body != "ok\n" {
		t.Errorf("/healthz: %d %q", status, body)
	}
	if status, _ := get("/debug/pprof/"); status != http.StatusOK {
		t.Errorf("/debug/pprof/: %d", status)
	}
}
