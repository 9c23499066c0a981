// Package embedded runs a NATS server with JetStream inside the relay process, for the
// self-contained cluster mode (blindpost-server --cluster-embedded, README "Running a
// cluster"): three relays on three machines, each with its own NATS server routed to the
// others, form one JetStream cluster with nothing else installed. The relay's cluster mode
// (spec "Relays in a cluster") then uses the server like any NATS deployment, through a
// connection from Server.Connect.
//
// Start waits until the server accepts clients and, when it has routes, until the cluster's
// JetStream meta group has a leader (a quorum of the nodes is up), or fails with an error that
// says what did not happen; nats-server's own fatal errors (a port in use, storage that cannot
// be opened) are returned as errors instead of ending the process.
package embedded

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// Defaults of Options.
const (
	DefaultListen      = "127.0.0.1:4222" // loopback: only this machine's processes reach it
	DefaultClusterName = "blindpost"
	DefaultWait        = 2 * time.Minute
)

// pollEvery is how often Start looks for a meta leader: nats-server offers no notification of
// one being elected, so Start polls up to its deadline.
const pollEvery = 20 * time.Millisecond

// Options configure Start.
type Options struct {
	// Name is the server's name, unique in the cluster (the relay's --node-name).
	Name string
	// Listen is the client listener, host:port; "" means DefaultListen. Port 0 picks a free
	// port (tests).
	Listen string
	// ClusterName names the NATS cluster; every node must use the same. "" means
	// DefaultClusterName.
	ClusterName string
	// RouteListen is the listener for the other nodes' routes, host:port; "" means a single
	// node without routes. Port 0 picks a free port.
	RouteListen string
	// Routes are the other nodes' route addresses, nats-route://host:port or host:port (a
	// node's own address may be listed too: nats-server ignores a route to itself).
	Routes []string
	// StoreDir is where JetStream keeps its streams: the cluster's copy of the directory on
	// this node, to back up.
	StoreDir string
	// RouteTLS, when set, secures the routes with mutual TLS: every node presents a
	// certificate signed by the CA that every node verifies.
	RouteTLS *RouteTLS
	// Wait bounds the wait for the JetStream meta leader (the other nodes must start within
	// it); 0 means DefaultWait.
	Wait time.Duration
	// Logger receives the server's log lines; nil discards them. Its notices (some forty lines
	// at start, each route made or lost) are logged at Debug, its warnings and errors as such.
	Logger *slog.Logger
}

// RouteTLS names the PEM files of mutual TLS between the nodes.
type RouteTLS struct {
	Cert, Key, CA string
}

// Server is a running embedded NATS server.
type Server struct {
	ns      *server.Server
	fatal   <-chan error
	started chan struct{} // closed when ns.Start has returned
	once    sync.Once
}

// Start starts the server and waits until it is ready (see the package comment). On ctx's end
// or any error the server is shut down before Start returns.
func Start(ctx context.Context, o Options) (*Server, error) {
	opts, err := o.serverOptions()
	if err != nil {
		return nil, err
	}
	ns, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("embedded: %w", err)
	}
	fatal := make(chan error, 1)
	ns.SetLoggerV2(&logger{log: o.Logger, fatal: fatal}, false, false, false)
	s := &Server{ns: ns, fatal: fatal, started: make(chan struct{})}
	// nats-server writes the ports it picked back into opts while it starts: the waits read
	// a copy taken before.
	snap := *opts
	go func() {
		defer close(s.started)
		ns.Start()
	}()
	if err := s.waitReady(ctx, o, &snap); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// serverOptions translates o into nats-server's options, reporting every problem at once.
func (o Options) serverOptions() (*server.Options, error) {
	var problems []string
	if o.Name == "" {
		problems = append(problems, "a server name is required (unique in the cluster)")
	}
	if o.StoreDir == "" {
		problems = append(problems, "a storage directory is required")
	}
	host, port, err := hostPort(cmp.Or(o.Listen, DefaultListen))
	if err != nil {
		problems = append(problems, "client listen address: "+err.Error())
	}
	opts := &server.Options{
		ServerName:             o.Name,
		Host:                   host,
		Port:                   port,
		NoSigs:                 true,
		JetStream:              true,
		StoreDir:               o.StoreDir,
		DisableJetStreamBanner: true,
	}
	if o.RouteListen == "" && len(o.Routes) > 0 {
		problems = append(problems, "routes need a route listen address: the other nodes route back to it")
	}
	if o.RouteListen != "" && len(o.Routes) == 0 {
		problems = append(problems, "a route listen address needs routes to the other nodes (a JetStream cluster)")
	}
	if o.RouteListen != "" {
		rhost, rport, err := hostPort(o.RouteListen)
		if err != nil {
			problems = append(problems, "route listen address: "+err.Error())
		}
		opts.Cluster = server.ClusterOpts{Name: cmp.Or(o.ClusterName, DefaultClusterName), Host: rhost, Port: rport}
		for _, r := range o.Routes {
			u, err := routeURL(r)
			if err != nil {
				problems = append(problems, err.Error())
				continue
			}
			opts.Routes = append(opts.Routes, u)
		}
	}
	if o.RouteTLS != nil {
		if o.RouteListen == "" {
			problems = append(problems, "route TLS needs a route listen address")
		}
		cfg, err := o.RouteTLS.config()
		if err != nil {
			problems = append(problems, err.Error())
		}
		opts.Cluster.TLSConfig, opts.Cluster.TLSTimeout = cfg, 5
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("embedded: %s", strings.Join(problems, "; "))
	}
	return opts, nil
}

// config builds the routes' mutual TLS: nats-server verifies the peer's certificate against CA
// in both directions.
func (t *RouteTLS) config() (*tls.Config, error) {
	if t.Cert == "" || t.Key == "" || t.CA == "" {
		return nil, errors.New("route TLS needs a certificate, its key and the CA of the other nodes' certificates")
	}
	cfg, err := server.GenTLSConfig(&server.TLSConfigOpts{CertFile: t.Cert, KeyFile: t.Key, CaFile: t.CA, Verify: true})
	if err != nil {
		return nil, fmt.Errorf("route TLS: %w", err)
	}
	// A node is also a TLS client of the routes it dials: it verifies the other node against
	// the same CA (GenTLSConfig fills only the server side, ClientCAs).
	cfg.RootCAs = cfg.ClientCAs
	return cfg, nil
}

// hostPort splits host:port; port 0 becomes nats-server's "pick a free port" (its 0 means the
// default port).
func hostPort(addr string) (string, int, error) {
	host, ps, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, err
	}
	port, err := strconv.Atoi(ps)
	if err != nil || port < 0 || port > 65535 {
		return "", 0, fmt.Errorf("%q: the port must be a number from 0 to 65535", addr)
	}
	if port == 0 {
		port = server.RANDOM_PORT
	}
	return cmp.Or(host, "0.0.0.0"), port, nil
}

// routeURL accepts host:port or nats-route://host:port, with a host and a port from 1 to 65535.
func routeURL(r string) (*url.URL, error) {
	addr := r
	if i := strings.Index(r, "://"); i >= 0 {
		if scheme := r[:i]; scheme != "nats-route" && scheme != "nats" {
			return nil, fmt.Errorf("route %q: the scheme must be nats-route://", r)
		}
		addr = r[i+3:]
	}
	host, ps, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("route %q: %v", r, err)
	}
	if port, err := strconv.Atoi(ps); err != nil || port < 1 || port > 65535 || host == "" {
		return nil, fmt.Errorf("route %q: a host and a port from 1 to 65535 are needed", r)
	}
	return &url.URL{Scheme: "nats-route", Host: net.JoinHostPort(host, ps)}, nil
}

// waitReady waits for the client listener, then, on a cluster, for a meta leader.
func (s *Server) waitReady(ctx context.Context, o Options, opts *server.Options) error {
	ctx, cancel := context.WithTimeout(ctx, cmp.Or(o.Wait, DefaultWait))
	defer cancel()
	tick := time.NewTicker(pollEvery)
	defer tick.Stop()
	clustered := opts.Cluster.Port != 0
	for {
		select {
		case err := <-s.fatal:
			return err
		case <-ctx.Done():
			return s.notReady(ctx, opts)
		case <-tick.C:
		}
		if !s.accepting() {
			continue
		}
		if !clustered {
			if s.ns.JetStreamEnabled() {
				return nil
			}
			continue
		}
		if s.MetaLeader() != "" && s.ns.JetStreamIsCurrent() {
			return nil
		}
	}
}

// notReady explains what Start was still waiting for when ctx ended.
func (s *Server) notReady(ctx context.Context, opts *server.Options) error {
	if errors.Is(ctx.Err(), context.Canceled) {
		return fmt.Errorf("embedded: %s: start cancelled", opts.ServerName)
	}
	if !s.accepting() {
		return fmt.Errorf("embedded: %s: not accepting connections on %s:%d", opts.ServerName, opts.Host, opts.Port)
	}
	var routes []string
	for _, u := range opts.Routes {
		routes = append(routes, u.Host)
	}
	return fmt.Errorf("embedded: %s: no JetStream meta leader: routed to %d other node(s) of routes [%s]; "+
		"start the other nodes (a majority must be up), check that their route listen addresses are reachable from here and that every node has the same cluster name %q",
		opts.ServerName, s.Peers(), strings.Join(routes, " "), opts.Cluster.Name)
}

// accepting reports whether the server's listeners are up (ReadyForConnections checks once
// when given less than its own 25 ms poll).
func (s *Server) accepting() bool { return s.ns.ReadyForConnections(time.Millisecond) }

// MetaLeader returns the name of the JetStream meta group's leader, or "" while there is none.
func (s *Server) MetaLeader() string {
	info, err := s.ns.Jsz(nil)
	if err != nil || info.Meta == nil {
		return ""
	}
	return info.Meta.Leader
}

// Peers returns the number of other nodes this one has a route to (nats-server pools several
// route connections to each, so the routes are counted by remote name).
func (s *Server) Peers() int {
	rz, err := s.ns.Routez(nil)
	if err != nil {
		return 0
	}
	names := map[string]bool{}
	for _, r := range rz.Routes {
		names[r.RemoteName] = true
	}
	return len(names)
}

// ClientURL is the nats:// URL of the client listener.
func (s *Server) ClientURL() string { return s.ns.ClientURL() }

// RouteAddr is the address of the route listener, or nil without one.
func (s *Server) RouteAddr() *net.TCPAddr { return s.ns.ClusterAddr() }

// Name is the server's name.
func (s *Server) Name() string { return s.ns.Name() }

// Connect opens a connection to the server inside the process (no socket). It does not
// reconnect elsewhere: when this server stops, the relay on it has lost NATS.
func (s *Server) Connect(opts ...nats.Option) (*nats.Conn, error) {
	nc, err := nats.Connect("", append([]nats.Option{nats.InProcessServer(s.ns), nats.Name("blindpost-relay " + s.Name())}, opts...)...)
	if err != nil {
		return nil, fmt.Errorf("embedded: connect in process: %w", err)
	}
	return nc, nil
}

// Close shuts the server down and waits until it has stopped. It may be called more than once.
// It first lets Start finish: a server shut down while it is still starting goes on writing
// its storage directory afterwards.
func (s *Server) Close() error {
	s.once.Do(func() {
		<-s.started
		s.ns.Shutdown()
		s.ns.WaitForShutdown()
	})
	return nil
}

// logger passes nats-server's log lines to slog, and its fatal errors to Start, which would
// otherwise end the process (nats-server's own logger exits on Fatalf).
type logger struct {
	log   *slog.Logger
	fatal chan<- error
}

func (l *logger) logf(level slog.Level, format string, v []any) {
	if l.log != nil {
		l.log.Log(context.Background(), level, fmt.Sprintf(format, v...), "component", "nats")
	}
}

func (l *logger) Noticef(format string, v ...any) { l.logf(slog.LevelDebug, format, v) }
func (l *logger) Warnf(format string, v ...any)   { l.logf(slog.LevelWarn, format, v) }
func (l *logger) Errorf(format string, v ...any)  { l.logf(slog.LevelError, format, v) }
func (l *logger) Debugf(format string, v ...any)  { l.logf(slog.LevelDebug, format, v) }
func (l *logger) Tracef(string, ...any)           {}

// Fatalf logs and hands the error to Start (once; later ones are only logged).
func (l *logger) Fatalf(format string, v ...any) {
	l.logf(slog.LevelError, format, v)
	select {
	case l.fatal <- fmt.Errorf("embedded: nats-server: "+format, v...):
	default:
	}
}
