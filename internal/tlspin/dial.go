package tlspin

import (
	"crypto/tls"
	"fmt"
	"time"

	"github.com/gorilla/websocket"

	"github.com/blindpost/blindpost/impl/wire"
)

// MismatchError reports a server certificate whose pin is not the one a pinned configuration
// accepts.
type MismatchError struct {
	Want, Got Pin
}

// Error names both pins.
func (e *MismatchError) Error() string {
	return fmt.Sprintf("tlspin: the server's certificate has pin %s, not %s", e.Got, e.Want)
}

// ClientConfig returns a client configuration that negotiates TLS 1.3 only (MinVersion, spec
// §4.1 [TLS-1]) and accepts exactly a leaf certificate whose pin is p: the pin replaces the chain
// and host name checks, as spec §4.1 [TLS-2] allows for a pinned SPKI fingerprint. A mismatch
// fails the handshake with a *MismatchError. The version is left to MinVersion alone, so that a
// conformance case can lower it on a clone to see whether a server accepts TLS 1.2.
func (p Pin) ClientConfig() *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS13,
		// A pinned certificate is usually self-signed, so the chain check cannot run; the pin
		// check replaces it and runs on every connection, resumptions included
		// (VerifyConnection is called whatever InsecureSkipVerify says).
		InsecureSkipVerify: true,
		VerifyConnection: func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return fmt.Errorf("tlspin: the server sent no certificate")
			}
			if got := Of(cs.PeerCertificates[0]); got != p { // spec §4.1 [TLS-2]
				return &MismatchError{Want: p, Got: got}
			}
			return nil
		},
	}
}

// NewDialer returns a WebSocket dialer that speaks TLS configured by cfg, offers the subprotocol
// wire.Subprotocol (spec §4.2 [WS-1]) and bounds the TLS and upgrade handshakes by timeout (0:
// no bound). Callers may set its other fields (buffers, NetDialContext) before they dial.
func NewDialer(cfg *tls.Config, timeout time.Duration) *websocket.Dialer {
	return &websocket.Dialer{
		TLSClientConfig:  cfg,
		Subprotocols:     []string{wire.Subprotocol},
		HandshakeTimeout: timeout,
	}
}

// Dialer returns a WebSocket dialer that trusts exactly the certificate pinned by p
// (ClientConfig) and offers wire.Subprotocol, with the handshake timeout of NewDialer.
func (p Pin) Dialer(timeout time.Duration) *websocket.Dialer {
	return NewDialer(p.ClientConfig(), timeout)
}
