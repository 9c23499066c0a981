// Package natsbase is the third system of the relay and latency benchmarks (README
// "Performance"): a NATS server (github.com/nats-io/nats-server/v2, embedded) serving its
// WebSocket listener over TLS, and clients speaking the NATS protocol over wss://
// (github.com/nats-io/nats.go). Each benchmark endpoint subscribes to a subject of its own and
// publishes to its partner's, so that a pair of the load generator maps onto publish/subscribe
// one to one: what a general-purpose broker costs for the same forwarding.
//
// The server's TLS is the relay's (TLS 1.3, full-size records) on a certificate of the same
// kind; its plain client port listens on loopback only and is not used.
package natsbase

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/blindpost/blindpost/internal/tlspin"
)

// Config says where the server listens and keeps its certificate.
type Config struct {
	Listen  string       // host:port of the WebSocket listener; port 0 picks one
	DataDir string       // where the certificate is generated or found
	Logger  *slog.Logger // nil discards
}

// Server is an embedded NATS server with a TLS WebSocket listener.
type Server struct {
	cfg Config
	ns  *server.Server
	pin string
}

// New configures the server and loads or generates its certificate.
func New(cfg Config) (*Server, error) {
	if cfg.Listen == "" || cfg.DataDir == "" {
		return nil, errors.New("natsbase: a listen address and a data directory are required")
	}
	host, portText, err := net.SplitHostPort(cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("natsbase: listen address: %w", err)
	}
	port, err := strconv.Atoi(portText)
	if err != nil {
		return nil, fmt.Errorf("natsbase: listen port: %w", err)
	}
	if port == 0 {
		port = server.RANDOM_PORT
	}
	// The same kind of certificate as the relay's, from the same code.
	id, err := tlspin.LoadOrCreate(cfg.DataDir)
	if err != nil {
		return nil, fmt.Errorf("natsbase: %w", err)
	}
	cert, pin := id.Cert, id.Pin.String()
	opts := &server.Options{
		Host:   "127.0.0.1",
		Port:   server.RANDOM_PORT,
		NoLog:  true,
		NoSigs: true,
		Websocket: server.WebsocketOpts{
			Host: host,
			Port: port,
			TLSConfig: &tls.Config{
				MinVersion:                  tls.VersionTLS13,
				Certificates:                []tls.Certificate{cert},
				DynamicRecordSizingDisabled: true,
			},
			HandshakeTimeout: 10 * time.Second,
		},
	}
	ns, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("natsbase: %w", err)
	}
	return &Server{cfg: cfg, ns: ns, pin: pin}, nil
}

// Start serves in the background and returns once the listeners accept connections.
func (s *Server) Start() error {
	s.ns.Start()
	if !s.ns.ReadyForConnections(10 * time.Second) {
		s.ns.Shutdown()
		return errors.New("natsbase: the server was not ready within 10 s")
	}
	return nil
}

// URL returns wss://HOST:PORT of the WebSocket listener.
func (s *Server) URL() string { return s.ns.WebsocketURL() }

// Pin returns the pin of the server's certificate, sha256:….
func (s *Server) Pin() string { return s.pin }

// Close shuts the server down and waits for it.
func (s *Server) Close() error {
	s.ns.Shutdown()
	s.ns.WaitForShutdown()
	return nil
}
