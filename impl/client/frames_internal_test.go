package client

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/blindpost/blindpost/impl/client/tlstrust"
	"github.com/blindpost/blindpost/impl/wire"
	"github.com/blindpost/blindpost/internal/tlspin"
)

// TestPongs checks that the client answers pings with pongs that carry their data, so that the
// relay keeps the connection: spec §4.2 [WS-8]. Of pings sent together, only the latest needs
// its pong; the pongs that come carry the pings' data in their order, ending with the latest.
func TestPongs(t *testing.T) {
	pongs := make(chan string, 3)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		up := websocket.Upgrader{Subprotocols: []string{wire.Subprotocol}}
		ws, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer ws.Close()
		ws.SetPongHandler(func(data string) error { pongs <- data; return nil })
		for _, p := range []string{"one", "two", "three"} {
			ws.WriteControl(websocket.PingMessage, []byte(p), time.Now().Add(time.Second))
		}
		ws.SetReadDeadline(time.Now().Add(5 * time.Second))
		for {
			if _, _, err := ws.ReadMessage(); err != nil {
				return
			}
		}
	}))
	defer srv.Close()
	ws, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	cn := newConn(dialResult{ws: ws}, helloAck{limits: limits{maxMessage: 65536, rate: 100, burst: 100}}, slog.New(slog.DiscardHandler), func(inbound) {})
	defer cn.close()
	pings := []string{"one", "two", "three"}
	timeout := time.After(5 * time.Second)
	for next := 0; ; {
		select {
		case got := <-pongs:
			i := slices.Index(pings[next:], got)
			if i < 0 {
				t.Fatalf("pong %q, want one of %q, the pings not yet answered [WS-8]", got, pings[next:])
			}
			if next += i + 1; next == len(pings) {
				return
			}
		case <-timeout:
			t.Fatalf("no pong for the latest ping %q [WS-8]", pings[len(pings)-1])
		}
	}
}

// TestSubprotocolRequired checks that the client refuses a server that does not select the
// blindpost.v1 subprotocol: spec §4.2 [WS-1].
func TestSubprotocolRequired(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if got := r.Header.Get("Sec-WebSocket-Protocol"); got != wire.Subprotocol {
			t.Errorf("offered subprotocols %q, want %q [WS-1]", got, wire.Subprotocol)
		}
		up := websocket.Upgrader{} // selects none
		if ws, err := up.Upgrade(w, r, nil); err == nil {
			ws.Close()
		}
	}))
	defer srv.Close()
	pin := tlspin.Of(srv.Certificate())
	_, err := dialWS(t.Context(), "wss"+strings.TrimPrefix(srv.URL, "https")+"/", policyPin(pin))
	if err == nil || !strings.Contains(err.Error(), "subprotocol") {
		t.Fatalf("dial a server without the subprotocol: %v [WS-1]", err)
	}
}

func policyPin(p tlstrust.Pin) tlstrust.Policy { return tlstrust.Policy{Pin: &p} }
