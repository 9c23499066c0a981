// Package server is the Blindpost relay: the server side of spec §4 (TLS and WebSocket) and §5
// (registration, the directory and online users, forwarding with `from` stamping,
// acknowledgements, errors, limits and flow control, groups), within the threat model of §10:
// it authenticates who is connected, sequences group commits and keeps which 1:1 chats the
// recipients accepted (chats.go, §5.5), and forwards everything else without reading, logging
// or storing it. Connections are counted and bounded from Accept on, per source address too,
// and every frame is charged to its connection's budget (admit.go, §5.10).
//
// A Server owns a TLS listener, the connections, the hub of online users and groups (memory
// only), and the persistent directory of identity keys, invites and each group's epoch and last
// commit (package directory), served to the operator on an administration socket while it runs
// (package admin). Every client
// message is decoded by the generated codec impl/wire before anything else looks at it. Each
// connection has a bounded send queue; nothing a connection does ever blocks another one: a
// recipient whose queue is full is closed with 4002 (LIM-1, LIM-2).
//
// A connection costs as little as its state allows (README "Performance"): its reader goroutine reads and
// answers in order (conn.go, dispatch.go); a writer goroutine runs only while its queue holds
// something, and writes what it finds queued in one TLS record and one system call (queue.go,
// cork.go); an idle reader waits for its socket with a small stack (idle.go) and, after a while,
// gives its goroutine up to the server's epoll set until the socket, the keepalive or a close
// needs it again (park.go, poller_linux.go). Nothing of this changes what a client sees.
//
// In a cluster (Config.Cluster, package cluster; spec §5.11) the relay is one node of several
// that share the directory: the hub holds this node's connections, and users, chats and groups
// span every node through NATS (clusterhub.go, clustergroups.go; relays to other nodes are
// pipelined, pipeline.go). Nothing of it changes what a client sees.
//
// Origin policy (spec §4.2 [WS-2]): an upgrade request without an Origin header (native clients)
// is accepted; one with an Origin is accepted only when that origin is in Config.AllowOrigins
// (--allow-origin), compared as scheme://host[:port] without regard to case or a trailing slash,
// and refused with 403 otherwise. The default allow-list is empty: no web page can open a relay
// connection on a visitor's behalf.
package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gobwas/ws"

	"github.com/blindpost/blindpost/impl/server/directory"
	"github.com/blindpost/blindpost/impl/server/metrics"
	"github.com/blindpost/blindpost/internal/tlspin"
)

// Server is a running or ready relay. Create it with New, start it with Start (or Run), stop it
// with Shutdown.
type Server struct {
	cfg     Config
	log     *slog.Logger
	metrics *metrics.Metrics
	tlsID   *tlspin.Identity
	pin     tlspin.Pin // the pin registration proofs are bound to (TLS-6)
	dir     directory.Store
	hub     *hub

	policy   directory.Policy // the registration policy (spec §5.2.1)
	regLimit *regLimiter      // the registration rates (spec §5.2.1 [INV-5])
	admin    *adminServer     // the administration socket; nil when off
	started  time.Time

	upgrader ws.HTTPUpgrader
	httpSrv  *http.Server
	ln       net.Listener
	mSrv     *http.Server
	mLn      net.Listener

	poller   *poller       // watches parked connections (park.go); nil: they do not park
	stopIdle chan struct{} // ends the idle scan
	stopBG   chan struct{} // ends the name release (spec §5.2.1 [INV-7])
	adm      *admission    // connections counted from Accept on (admit.go)
	nextID   atomic.Uint64
	stopping atomic.Bool
	connsMu  sync.Mutex
	conns    map[*conn]struct{}
	connWG   sync.WaitGroup
	serveWG  sync.WaitGroup
	stopOnce sync.Once
	stopErr  error
}

// New validates cfg, creates the data directory, loads or generates the TLS certificate and
// opens the directory of identity keys. It does not listen yet.
func New(cfg Config) (*Server, error) {
	if errs := cfg.Validate(); len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("server: create data directory: %w", err)
	}
	id, err := loadTLS(&cfg)
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	pin := id.Pin
	if cfg.PublicPin != "" {
		// spec §4.1 [TLS-6]: behind a TLS-terminating proxy, proofs carry the proxy's pin.
		pin, _ = tlspin.Parse(cfg.PublicPin) // validated above
	}
	dir, err := openStore(&cfg)
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	policy, _ := directory.ParsePolicy(cfg.Registration) // validated above
	s := &Server{
		cfg:     cfg,
		log:     log,
		metrics: metrics.New(),
		tlsID:   id,
		pin:     pin,
		dir:     dir,
		conns:   make(map[*conn]struct{}),
		adm:     newAdmission(&cfg),

		policy:   policy,
		regLimit: newRegLimiter(&cfg, dir),
	}
	s.hub = newHub(s)
	// Origin is checked by handleUpgrade before the upgrade runs (WS-2).
	s.upgrader = newUpgrader(cfg.RegisterTimeout)
	return s, nil
}

// openStore opens the directory: the cluster's when the relay is a node of one (spec §5.11),
// otherwise the bbolt file in the data directory.
func openStore(cfg *Config) (directory.Store, error) {
	if cfg.Cluster != nil {
		return cfg.Cluster.StoreFor(cfg.MaxUsers, cfg.Clock), nil
	}
	return directory.Open(filepath.Join(cfg.DataDir, directory.FileName), directory.Options{MaxUsers: cfg.MaxUsers, Now: cfg.Clock})
}

func loadTLS(cfg *Config) (*tlspin.Identity, error) {
	if cfg.TLSCert != "" {
		return tlspin.LoadFiles(cfg.TLSCert, cfg.TLSKey)
	}
	return tlspin.LoadOrCreate(cfg.DataDir)
}

// Pin returns the server pin registration proofs are bound to: --public-pin when configured,
// otherwise the pin of the certificate the server presents (spec §4.1).
func (s *Server) Pin() tlspin.Pin { return s.pin }

// CertificatePin returns the pin of the certificate this process presents.
func (s *Server) CertificatePin() tlspin.Pin { return s.tlsID.Pin }

// GeneratedCertificate reports whether New generated the certificate just now (first start).
func (s *Server) GeneratedCertificate() bool { return s.tlsID.Generated }

// Metrics returns the server's metrics.
func (s *Server) Metrics() *metrics.Metrics { return s.metrics }

// Config returns the configuration the server runs with.
func (s *Server) Config() Config { return s.cfg }

// Start listens on cfg.Listen (and cfg.MetricsListen when set) and serves in the background.
func (s *Server) Start() error {
	s.started = time.Now() // before the admin socket, whose status reports it
	if err := s.startAdmin(); err != nil {
		return fmt.Errorf("server: %w", err)
	}
	ln, err := net.Listen("tcp", s.cfg.Listen)
	if err != nil {
		s.closeAdmin()
		return fmt.Errorf("server: listen on %s: %w", s.cfg.Listen, err)
	}
	if s.cfg.MetricsListen != "" {
		mln, err := net.Listen("tcp", s.cfg.MetricsListen)
		if err != nil {
			s.closeAdmin()
			ln.Close()
			return fmt.Errorf("server: metrics listen on %s: %w", s.cfg.MetricsListen, err)
		}
		s.mLn = mln
		s.mSrv = &http.Server{Handler: s.metrics.Handler(func() bool { return !s.stopping.Load() }), ReadHeaderTimeout: 10 * time.Second}
		s.serveWG.Go(func() { _ = s.mSrv.Serve(mln) })
	}
	tlsCfg := &tls.Config{
		MinVersion:   tls.VersionTLS13, // spec §4.1 [TLS-1]
		Certificates: []tls.Certificate{s.tlsID.Cert},
		NextProtos:   []string{"http/1.1"}, // WebSocket upgrades need HTTP/1.1
		// Full-size records from the start: a corked writer's batch leaves in one record.
		DynamicRecordSizingDisabled: true,
	}
	s.ln = corkListener{Listener: ln, cfg: tlsCfg, adm: s.adm, refused: func(reason string) {
		s.metrics.RefusedTotal.WithLabelValues(reason).Inc()
	}}
	s.httpSrv = &http.Server{
		Handler: http.HandlerFunc(s.handleUpgrade),
		// spec §5.10 [ABU-2]: the TLS handshake and the upgrade request, within HandshakeTimeout
		// of Accept; one request per connection, so that none idles between requests.
		ReadHeaderTimeout: s.cfg.HandshakeTimeout,
		IdleTimeout:       s.cfg.HandshakeTimeout,
		MaxHeaderBytes:    16 << 10,
		TLSNextProto:      map[string]func(*http.Server, *tls.Conn, http.Handler){}, // no HTTP/2
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	if s.cfg.Park {
		if p, err := newPoller(); err == nil {
			s.poller, s.stopIdle = p, make(chan struct{})
			s.serveWG.Go(func() { s.parkIdle(s.stopIdle) })
		} else {
			s.log.Info("idle connections will not park", "err", err)
		}
	}
	if s.cfg.Cluster != nil {
		if err := s.cfg.Cluster.Attach(s.hub); err != nil {
			s.closeAdmin()
			ln.Close()
			return fmt.Errorf("server: %w", err)
		}
	}
	s.stopBG = make(chan struct{})
	s.serveWG.Go(func() { s.runRelease(s.stopBG) })
	if s.cfg.Cluster != nil {
		s.serveWG.Go(func() { s.runSweep(s.stopBG) })
	}
	s.httpSrv.SetKeepAlivesEnabled(false)
	s.serveWG.Go(func() { _ = s.httpSrv.Serve(s.ln) })
	s.log.Info("listening", "url", s.URL(), "pin", s.pin.String(), "metrics", s.cfg.MetricsListen)
	return nil
}

// Addr returns the address of the WebSocket listener, once started.
func (s *Server) Addr() net.Addr {
	if s.ln == nil {
		return nil
	}
	return s.ln.Addr()
}

// URL returns wss://ADDR/ for the WebSocket listener, once started.
func (s *Server) URL() string {
	if s.ln == nil {
		return ""
	}
	return "wss://" + s.ln.Addr().String() + "/"
}

// MetricsAddr returns the address of the metrics listener, or nil when it is off.
func (s *Server) MetricsAddr() net.Addr {
	if s.mLn == nil {
		return nil
	}
	return s.mLn.Addr()
}

// Run starts the server and serves until ctx is done, then shuts down gracefully.
func (s *Server) Run(ctx context.Context) error {
	if err := s.Start(); err != nil {
		s.closeDirectory()
		return err
	}
	<-ctx.Done()
	sctx, cancel := context.WithTimeout(context.Background(), s.shutdownBudget())
	defer cancel()
	return s.Shutdown(sctx)
}

func (s *Server) shutdownBudget() time.Duration {
	return 2*s.cfg.WriteTimeout + s.cfg.CloseGrace + time.Second
}

// Shutdown stops accepting connections, closes every client with 1001 (spec §4.2), waits for the
// connections to end (until ctx is done, then drops them), and flushes and closes the directory.
// It is safe to call more than once.
func (s *Server) Shutdown(ctx context.Context) error {
	s.stopOnce.Do(func() { s.stopErr = s.shutdown(ctx) })
	return s.stopErr
}

// Close is Shutdown with the default time budget.
func (s *Server) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), s.shutdownBudget())
	defer cancel()
	return s.Shutdown(ctx)
}

func (s *Server) shutdown(ctx context.Context) error {
	s.stopping.Store(true)
	if s.httpSrv == nil {
		// Never started (or Start failed): there is nothing to shut down but the directory,
		// and the log must not say that a relay that never ran has stopped.
		return s.closeDirectory()
	}
	s.log.Info("shutting down")
	var errs []error
	// Closes the listener; hijacked WebSocket connections are ours to close.
	if err := s.httpSrv.Shutdown(ctx); err != nil {
		errs = append(errs, fmt.Errorf("server: stop listener: %w", err))
	}
	for _, c := range s.snapshotConns() {
		c.requestClose(closeGoingAway, "server shutting down")
	}
	done := make(chan struct{})
	go func() { s.connWG.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		for _, c := range s.snapshotConns() {
			c.abort()
		}
		<-done
		errs = append(errs, fmt.Errorf("server: connections did not close in time: %w", ctx.Err()))
	}
	if s.cfg.Cluster != nil {
		s.cfg.Cluster.Detach() // every connection has ended and left the cluster's lists
	}
	if s.mSrv != nil {
		if err := s.mSrv.Shutdown(ctx); err != nil {
			s.mSrv.Close()
		}
	}
	if s.poller != nil {
		close(s.stopIdle)
		s.poller.close() // every connection has ended, so none is parked
	}
	if s.stopBG != nil {
		close(s.stopBG)
	}
	if err := s.closeAdmin(); err != nil {
		errs = append(errs, err)
	}
	s.serveWG.Wait()
	if err := s.closeDirectory(); err != nil {
		errs = append(errs, err)
	}
	s.log.Info("stopped")
	return errors.Join(errs...)
}

// closeAdmin stops serving the administration socket, if it is served.
func (s *Server) closeAdmin() error {
	if s.admin == nil {
		return nil
	}
	a := s.admin
	s.admin = nil
	if err := a.Close(); err != nil {
		return fmt.Errorf("server: %w", err)
	}
	return nil
}

func (s *Server) closeDirectory() error {
	if err := s.dir.Close(); err != nil {
		return fmt.Errorf("server: %w", err)
	}
	return nil
}

func (s *Server) snapshotConns() []*conn {
	s.connsMu.Lock()
	defer s.connsMu.Unlock()
	out := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		out = append(out, c)
	}
	return out
}

// track adds c to the set of open connections; it reports false once shutdown has begun.
func (s *Server) track(c *conn) bool {
	s.connsMu.Lock()
	defer s.connsMu.Unlock()
	if s.stopping.Load() {
		return false
	}
	s.conns[c] = struct{}{}
	s.connWG.Add(1)
	return true
}

// untrack removes c, which has ended, from the open connections.
func (s *Server) untrack(c *conn) {
	s.connsMu.Lock()
	delete(s.conns, c)
	s.connsMu.Unlock()
	s.connWG.Done()
}
