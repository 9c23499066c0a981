package scenario

import (
	"context"
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/blindpost/blindpost/impl/bench/load"
	"github.com/blindpost/blindpost/impl/bench/target"
	"github.com/blindpost/blindpost/impl/wire"
	"github.com/blindpost/blindpost/internal/tlspin"
)

// refusingRelay is a relay that answers the first refusals registrations with the error code
// (spec §5.7) and accepts the ones after; it counts the registrations it was sent.
type refusingRelay struct {
	refusals int64
	code     wire.ErrorCode
	seen     atomic.Int64
}

func (f *refusingRelay) serve(w http.ResponseWriter, r *http.Request) {
	up := websocket.Upgrader{Subprotocols: []string{wire.Subprotocol}}
	ws, err := up.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	defer ws.Close()
	send := func(m wire.Message) bool {
		b, err := wire.Encode(m)
		return err == nil && ws.WriteMessage(websocket.TextMessage, b) == nil
	}
	if _, _, err := ws.ReadMessage(); err != nil { // hello
		return
	}
	ack := &wire.HelloAck{Challenge: make([]byte, 32), Server: "refusing-relay", Limits: wire.Limits{
		MaxMessage: 65536, Rate: 100, Burst: 100, MaxGroups: 8, MaxGroupMembers: 8,
		PingIntervalMs: 30000, PongTimeoutMs: 10000, RegisterTimeoutMs: 10000}}
	if !send(ack) {
		return
	}
	if _, _, err := ws.ReadMessage(); err != nil { // register
		return
	}
	if f.seen.Add(1) <= f.refusals {
		send(&wire.ErrorMessage{Code: f.code, Message: "refused by the test", For: wire.RequestTypeRegister})
		return
	}
	send(&wire.RegisterAck{User: "u", Fingerprint: "sha256:" + strings.Repeat("0", 64)})
	_, _, _ = ws.ReadMessage() // until the client closes
}

// TestHolderRetriesInternal checks that the idle scenario tries a registration the relay
// answered internal again, as spec §5.7 allows ("the request may be retried"), and counts the
// tries, while any other refusal is an error at once.
func TestHolderRetriesInternal(t *testing.T) {
	cases := []struct {
		name      string
		code      wire.ErrorCode
		refusals  int64
		wantErr   bool
		wantSeen  int64
		wantRetry int64
	}{
		{"internal once", wire.ErrorCodeInternal, 1, false, 2, 1},
		{"internal every time", wire.ErrorCodeInternal, maxRegisterTries, true, maxRegisterTries, maxRegisterTries - 1},
		{"identity mismatch", wire.ErrorCodeIdentityMismatch, 1, true, 1, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			id, err := tlspin.LoadOrCreate(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			relay := &refusingRelay{refusals: tc.refusals, code: tc.code}
			srv := httptest.NewUnstartedServer(http.HandlerFunc(relay.serve))
			srv.TLS = &tls.Config{Certificates: []tls.Certificate{id.Cert}}
			srv.StartTLS()
			t.Cleanup(srv.Close)

			h := &holder{sys: &target.System{Kind: target.Blindpost}, retryPause: time.Millisecond}
			d := &load.Dialer{URL: "wss" + strings.TrimPrefix(srv.URL, "https") + "/", Trust: load.Trust{Pin: &id.Pin}}
			ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
			defer cancel()
			c, err := h.dial(ctx, d, "u")
			if (err != nil) != tc.wantErr {
				t.Fatalf("dial: err = %v, want an error: %v", err, tc.wantErr)
			}
			if c != nil {
				c.Close()
			}
			if got := relay.seen.Load(); got != tc.wantSeen {
				t.Errorf("registrations sent = %d, want %d", got, tc.wantSeen)
			}
			if got := h.retried.Load(); got != tc.wantRetry {
				t.Errorf("retried = %d, want %d", got, tc.wantRetry)
			}
		})
	}
}
