package tlspin

import (
	"crypto/tls"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/blindpost/blindpost/impl/wire"
)

// relay serves WebSocket upgrades that select wire.Subprotocol, over TLS with a fresh
// certificate whose highest version is maxVersion, and returns its URL and pin.
func relay(t *testing.T, maxVersion uint16) (string, Pin) {
	t.Helper()
	id, err := Ephemeral("tlspin test relay", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	up := websocket.Upgrader{Subprotocols: []string{wire.Subprotocol}}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := up.Upgrade(w, r, nil)
		if err == nil {
			ws.Close()
		}
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshakes are expected
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{id.Cert}, MaxVersion: maxVersion}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return "wss://" + srv.Listener.Addr().String() + "/", id.Pin
}

// TestPinnedDialer checks the pinned dialer: it connects to the certificate it pins, offering
// the subprotocol of WS-1, and to no other (TLS-2), and only with TLS 1.3 (TLS-1).
func TestPinnedDialer(t *testing.T) {
	url, pin := relay(t, 0)
	ws, _, err := pin.Dialer(5*time.Second).DialContext(t.Context(), url, nil)
	if err != nil {
		t.Fatalf("pinned dial: %v", err)
	}
	if got := ws.Subprotocol(); got != wire.Subprotocol {
		t.Errorf("subprotocol %q, want %q (WS-1)", got, wire.Subprotocol)
	}
	ws.Close()

	other := pin
	other[0] ^= 1
	_, _, err = other.Dialer(5*time.Second).DialContext(t.Context(), url, nil)
	var mismatch *MismatchError
	if !errors.As(err, &mismatch) || mismatch.Got != pin || mismatch.Want != other {
		t.Errorf("dial with another pin: err = %v, want a *MismatchError (TLS-2)", err)
	}

	url12, pin12 := relay(t, tls.VersionTLS12)
	if ws, _, err := pin12.Dialer(5*time.Second).DialContext(t.Context(), url12, nil); err == nil {
		ws.Close()
		t.Error("the pinned dialer connected to a TLS 1.2 server (TLS-1)")
	}
}

// TestNewDialer checks the dialer of a configuration the caller built (system roots, CA file):
// it keeps that configuration and offers the subprotocol.
func TestNewDialer(t *testing.T) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS13}
	d := NewDialer(cfg, 7*time.Second)
	if d.TLSClientConfig != cfg || d.HandshakeTimeout != 7*time.Second || len(d.Subprotocols) != 1 || d.Subprotocols[0] != wire.Subprotocol {
		t.Errorf("NewDialer = %+v", d)
	}
}
