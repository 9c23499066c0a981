// Package servertest starts an in-process Blindpost relay for tests, as nats-server's
// RunServer does: on 127.0.0.1 port 0, with real TLS (a certificate generated in a temporary
// data directory) and the pin clients must trust (spec §4.1), logs off unless the environment
// variable BLINDPOST_TEST_LOG=1, ready when Start returns (the listener is bound), and stopped
// when the test ends.
//
//	srv := servertest.Start(t, func(c *server.Config) { c.Rate = 1000 })
//	ws := srv.Dial(t) // a WebSocket with subprotocol blindpost.v1, the certificate pinned
//
// The client library and the conformance runner start servers the same way.
package servertest

import (
	"crypto/tls"
	"log/slog"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/blindpost/blindpost/impl/server"
	"github.com/blindpost/blindpost/internal/tlspin"
)

// LogEnv turns server logs on in tests when set to 1 (at debug level).
const LogEnv = "BLINDPOST_TEST_LOG"

// ParkEnv chooses how the relays of tests park idle connections (server.Config.Park): "off"
// never, "fast" after 30ms of waiting, so that nearly every pause of a test parks (CI runs the
// relay's tests both ways); unset, as the defaults say.
const ParkEnv = "BLINDPOST_TEST_PARK"

// Server is a running in-process relay.
type Server struct {
	*server.Server
	URL     string     // wss://127.0.0.1:PORT/
	Pin     tlspin.Pin // the pin registration proofs are bound to
	DataDir string     // certificate and directory; kept across Restart
	Config  server.Config
}

// Option changes the configuration before the server starts.
type Option func(*server.Config)

// Config returns the test configuration: DefaultConfig on 127.0.0.1:0 with data in dataDir and
// the test logger.
func Config(t testing.TB, dataDir string) server.Config {
	cfg := server.DefaultConfig()
	cfg.Listen = "127.0.0.1:0"
	cfg.DataDir = dataDir
	cfg.Logger = Logger(t)
	switch os.Getenv(ParkEnv) {
	case "off":
		cfg.Park = false
	case "fast":
		cfg.Park, cfg.ParkAfter = true, 30*time.Millisecond
	}
	return cfg
}

// Start starts a relay with a fresh data directory and stops it when the test ends.
func Start(t testing.TB, opts ...Option) *Server {
	t.Helper()
	return StartIn(t, t.TempDir(), opts...)
}

// StartIn starts a relay with the data directory dir (to restart on the same certificate and
// directory) and stops it when the test ends.
func StartIn(t testing.TB, dir string, opts ...Option) *Server {
	t.Helper()
	cfg := Config(t, dir)
	for _, o := range opts {
		o(&cfg)
	}
	srv, err := server.New(cfg)
	if err != nil {
		t.Fatalf("servertest: %v", err)
	}
	if err := srv.Start(); err != nil {
		_ = srv.Close()
		t.Fatalf("servertest: %v", err)
	}
	s := &Server{Server: srv, URL: srv.URL(), Pin: srv.Pin(), DataDir: dir, Config: cfg}
	t.Cleanup(func() { _ = srv.Close() })
	return s // ready: Start returns once the listener is bound
}

// Restart stops the server and starts a new one on the same data directory and options; the
// certificate (so the pin) and the directory carry over, the port does not.
func (s *Server) Restart(t testing.TB, opts ...Option) *Server {
	t.Helper()
	if err := s.Close(); err != nil {
		t.Fatalf("servertest: stop: %v", err)
	}
	keep := s.Config
	return StartIn(t, s.DataDir, append([]Option{func(c *server.Config) {
		logger := c.Logger
		*c = keep
		c.Listen = "127.0.0.1:0"
		c.Logger = logger
	}}, opts...)...)
}

// TLSConfig returns a client TLS configuration that trusts exactly the server's certificate by
// its SPKI pin (spec §4.1 [TLS-2]) and negotiates TLS 1.3 only (TLS-1).
func (s *Server) TLSConfig() *tls.Config { return s.CertificatePin().ClientConfig() }

// Dialer returns a WebSocket dialer for the server: pinned TLS, subprotocol blindpost.v1.
func (s *Server) Dialer() *websocket.Dialer { return s.CertificatePin().Dialer(5 * time.Second) }

// Dial opens a WebSocket connection to the server and closes it when the test ends.
func (s *Server) Dial(t testing.TB) *websocket.Conn {
	t.Helper()
	ws, resp, err := s.Dialer().Dial(s.URL, nil)
	if err != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		t.Fatalf("servertest: dial %s: %v (HTTP %d)", s.URL, err, status)
	}
	t.Cleanup(func() { ws.Close() })
	return ws
}

// DialWith dials with a request header and returns the HTTP status of a refused upgrade.
func (s *Server) DialWith(header http.Header, subprotocols ...string) (*websocket.Conn, int, error) {
	d := s.Dialer()
	d.Subprotocols = subprotocols
	ws, resp, err := d.Dial(s.URL, header)
	status := 0
	if resp != nil {
		status = resp.StatusCode
	}
	return ws, status, err
}

// Logger returns the logger for servers in tests: discarded, or debug-level text on standard
// error when BLINDPOST_TEST_LOG=1.
func Logger(t testing.TB) *slog.Logger {
	if os.Getenv(LogEnv) == "1" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})).With("test", t.Name())
	}
	return slog.New(slog.DiscardHandler)
}
