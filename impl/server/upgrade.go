package server

import (
	"encoding/base64"
	"net/http"
	"slices"
	"time"

	"github.com/gobwas/ws"
	"github.com/gorilla/websocket"

	"github.com/blindpost/blindpost/impl/wire"
)

// handleUpgrade admits a WebSocket connection (spec §4.2) and serves it until it ends. Refusals
// happen before the upgrade, as plain HTTP statuses.
func (s *Server) handleUpgrade(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/" {
		s.refuse(w, r, http.StatusNotFound, "not_found", "blindpost-server: the relay is at wss://HOST:PORT/")
		return
	}
	if !websocket.IsWebSocketUpgrade(r) {
		s.refuse(w, r, http.StatusBadRequest, "not_websocket", "blindpost-server: this is a WebSocket endpoint; connect with a Blindpost client (subprotocol blindpost.v1)")
		return
	}
	// spec §4.2 [WS-13]: version 13 and a key of 16 bytes, or a 4xx; a refused version is told
	// the one this relay speaks (RFC 6455 §4.4).
	if r.Header.Get("Sec-WebSocket-Version") != "13" {
		w.Header().Set("Sec-WebSocket-Version", "13")
		s.refuse(w, r, http.StatusBadRequest, "ws_version", "blindpost-server: WebSocket version 13 is required")
		return
	}
	if !validKey(r.Header.Values("Sec-WebSocket-Key")) {
		s.refuse(w, r, http.StatusBadRequest, "ws_key", "blindpost-server: Sec-WebSocket-Key must be the base64 of 16 bytes")
		return
	}
	// spec §4.2 [WS-1]: the client must offer blindpost.v1; refuse with 400 otherwise.
	if !slices.Contains(websocket.Subprotocols(r), wire.Subprotocol) {
		s.refuse(w, r, http.StatusBadRequest, "subprotocol", "blindpost-server: the WebSocket subprotocol blindpost.v1 is required")
		return
	}
	// spec §4.2 [WS-2]: an Origin header that is not allowed is refused with 403.
	if !s.cfg.originAllowed(r.Header.Get("Origin")) {
		s.refuse(w, r, http.StatusForbidden, "origin", "blindpost-server: origin not allowed")
		return
	}
	if s.stopping.Load() {
		s.refuse(w, r, http.StatusServiceUnavailable, "shutting_down", "blindpost-server: shutting down")
		return
	}
	// spec §5.8 [LIM-5]: the number of connections is bounded at Accept (admit.go, ABU-1).
	nc, rw, _, err := s.upgrader.Upgrade(r, w) // writes its own 4xx on a malformed handshake
	if err != nil {
		s.metrics.RefusedTotal.WithLabelValues("handshake").Inc()
		s.log.Debug("upgrade failed", "remote", r.RemoteAddr, "err", err)
		if nc != nil {
			nc.Close()
		}
		return
	}
	cork, ok := nc.(*corkConn)
	if !ok { // only a corkListener serves the relay
		s.log.Error("upgrade: not a relay connection", "remote", r.RemoteAddr)
		nc.Close()
		return
	}
	// What the client sent after the request and the HTTP server read already is the start of
	// its first frames; the HTTP server's reader is dropped.
	early, _ := rw.Reader.Peek(rw.Reader.Buffered())
	c := newConn(s, cork, early, r.RemoteAddr)
	if !s.track(c) {
		c.closeNow(closeGoingAway, "server shutting down")
		return
	}
	// The connection gets a goroutine of its own and the handler returns, so that net/http
	// lets go of what it held for the request (its buffers, the request, a deep stack): an
	// idle connection costs one small goroutine.
	go c.serve()
}

// newUpgrader returns the WebSocket handshake of spec §4.2: the subprotocol blindpost.v1 (WS-1,
// which handleUpgrade checked was offered), no extension, and the response written within
// timeout.
func newUpgrader(timeout time.Duration) ws.HTTPUpgrader {
	return ws.HTTPUpgrader{
		Timeout:  timeout,
		Protocol: func(p string) bool { return p == wire.Subprotocol },
	}
}

// validKey reports whether an upgrade request carries one Sec-WebSocket-Key that is the base64
// of 16 bytes (RFC 6455 §4.2.1).
func validKey(keys []string) bool {
	if len(keys) != 1 {
		return false
	}
	b, err := base64.StdEncoding.DecodeString(keys[0])
	return err == nil && len(b) == 16
}

func (s *Server) refuse(w http.ResponseWriter, r *http.Request, status int, reason, text string) {
	s.metrics.RefusedTotal.WithLabelValues(reason).Inc()
	s.log.Debug("upgrade refused", "remote", r.RemoteAddr, "status", status, "reason", reason)
	http.Error(w, text, status)
}
