// Package natstest runs a NATS cluster with JetStream inside a test process: N nats-server
// instances routed to each other on loopback, on ports the kernel picks, each with its own
// storage directory, for the tests of the relay's cluster mode. It follows how nats-server's own
// tests embed a cluster (one server.Options per node, a shared route list, a wait for the
// JetStream meta leader).
package natstest

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/blindpost/blindpost/impl/server/servertest/timescale"
	"github.com/blindpost/blindpost/internal/nodeargs"
)

// Cluster is a running set of embedded NATS servers forming one JetStream cluster.
type Cluster struct {
	t       testing.TB
	Servers []*server.Server // nil once a node is stopped
}

// pollEvery is how often Wait* look at the servers' state: nats-server offers no notification
// of a meta leader being elected or a route coming up, so the waits poll a condition up to a
// deadline (they never sleep to let time pass blindly).
const pollEvery = 10 * time.Millisecond

// Start starts n routed servers with JetStream and waits until they see each other and the
// JetStream meta group has a leader. The servers are shut down when the test ends.
func Start(t testing.TB, n int) *Cluster {
	t.Helper()
	c := &Cluster{t: t}
	c.Servers = Routed(t, n, func(ctx context.Context, i int, addrs []string) (*server.Server, error) {
		return startNode(ctx, t, i, addrs)
	}, shutdown)
	for i := range c.Servers {
		t.Cleanup(func() { c.Stop(i) })
	}
	c.WaitReady()
	return c
}

// startNode starts node i of a cluster routed to the route listeners at addrs (its own is
// addrs[i]) and waits until it accepts connections, or until a fatal error from the server says
// why it never will.
func startNode(ctx context.Context, t testing.TB, i int, addrs []string) (*server.Server, error) {
	_, p, err := net.SplitHostPort(addrs[i])
	if err != nil {
		return nil, err
	}
	port, err := strconv.Atoi(p)
	if err != nil {
		return nil, err
	}
	var routes []string
	for _, a := range addrs {
		routes = append(routes, "nats-route://"+a)
	}
	s, err := server.NewServer(&server.Options{
		ServerName:             fmt.Sprintf("n%d", i+1),
		Host:                   "127.0.0.1",
		Port:                   server.RANDOM_PORT,
		NoSigs:                 true,
		JetStream:              true,
		StoreDir:               t.TempDir(),
		JetStreamMaxMemory:     64 << 20,
		JetStreamMaxStore:      1 << 30,
		DisableJetStreamBanner: true,
		Cluster: server.ClusterOpts{
			Name: "blindpost-test",
			Host: "127.0.0.1",
			Port: port,
		},
		Routes: server.RoutesFromStr(strings.Join(routes, ",")),
	})
	if err != nil {
		return nil, fmt.Errorf("natstest: node %d: %w", i+1, err)
	}
	fatal := make(chan error, 1)
	s.SetLoggerV2(fatalLogger(fatal), false, false, false)
	go s.Start()
	ctx, cancel := context.WithTimeout(ctx, timescale.Of(10*time.Second))
	defer cancel()
	tick := time.NewTicker(pollEvery)
	defer tick.Stop()
	for !s.ReadyForConnections(time.Millisecond) {
		select {
		case err := <-fatal:
			s.Shutdown()
			return nil, fmt.Errorf("natstest: node %d: %w", i+1, err)
		case <-ctx.Done():
			s.Shutdown()
			return nil, fmt.Errorf("natstest: node %d is not accepting connections: %w", i+1, context.Cause(ctx))
		case <-tick.C:
		}
	}
	return s, nil
}

// fatalLogger discards nats-server's log lines and hands its first fatal error to a channel
// (nats-server has no logger by default, and then a listener that cannot bind only stops).
type fatalLogger chan<- error

func (fatalLogger) Noticef(string, ...any) {}
func (fatalLogger) Warnf(string, ...any)   {}
func (fatalLogger) Errorf(string, ...any)  {}
func (fatalLogger) Debugf(string, ...any)  {}
func (fatalLogger) Tracef(string, ...any)  {}

func (l fatalLogger) Fatalf(format string, v ...any) {
	select {
	case l <- fmt.Errorf(format, v...):
	default:
	}
}

// Routed starts n nodes at once with start, each given its index and the route listen
// addresses of all n (127.0.0.1:port, one per node, its own at index i), on ports picked free
// just before, and returns them once every start has returned without error; it fails the test
// otherwise. A cluster whose node finds its port taken meanwhile is started again on fresh ports
// (nodeargs.Routed says how); CI runs many test binaries that take loopback ports.
func Routed[T any](t testing.TB, n int, start func(ctx context.Context, i int, addrs []string) (T, error), stop func(T)) []T {
	t.Helper()
	nodes, err := nodeargs.Routed(t.Context(), n, nil, start, stop)
	if err != nil {
		t.Fatalf("natstest: starting %d routed nodes: %v", n, err)
	}
	return nodes
}

// FreePorts returns n distinct loopback ports the kernel just handed out and released, for
// cluster listeners: every node's route list must name all of them before any node starts.
func FreePorts(t testing.TB, n int) []int {
	t.Helper()
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("natstest: reserve a port: %v", err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports
}

// WaitReady waits until every running server is routed to every other running server and the
// JetStream meta group has a leader that every running server follows and that knows every
// running server's JetStream as online.
func (c *Cluster) WaitReady() {
	c.t.Helper()
	c.WaitFor("a routed cluster with a JetStream meta leader", func() bool {
		running := c.running()
		leaders := 0
		for _, s := range running {
			if c.Peers(s) != len(running)-1 || !s.JetStreamIsCurrent() {
				return false
			}
			// The leader places streams only on the servers whose JetStream it has heard from
			// ("no suitable peers, peer offline" until then).
			if s.JetStreamIsLeader() {
				leaders++
				if len(s.JetStreamClusterPeers()) != len(running) {
					return false
				}
			}
		}
		return leaders == 1
	})
}

// WaitFor polls cond until it holds or 20 s have passed, stretched by the tests' timescale
// (then the test fails, saying what did not happen): for a state of the servers that
// nats-server does not notify, such as a stream leader elected after a node is lost.
func (c *Cluster) WaitFor(what string, cond func() bool) {
	c.t.Helper()
	limit := timescale.Of(20 * time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	tick := time.NewTicker(pollEvery)
	defer tick.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			c.t.Fatalf("natstest: no %s within %v", what, limit)
		case <-tick.C:
		}
	}
}

func (c *Cluster) running() []*server.Server {
	var out []*server.Server
	for _, s := range c.Servers {
		if s != nil {
			out = append(out, s)
		}
	}
	return out
}

// Peers returns the number of other servers s has a route to (nats-server pools several route
// connections to each peer, so NumRoutes counts more).
func (c *Cluster) Peers(s *server.Server) int {
	rz, err := s.Routez(nil)
	if err != nil {
		return 0
	}
	names := map[string]bool{}
	for _, r := range rz.Routes {
		names[r.RemoteName] = true
	}
	return len(names)
}

// Index returns the index of the running node named name (n1, n2, …), or -1.
func (c *Cluster) Index(name string) int {
	for i, s := range c.Servers {
		if s != nil && s.Name() == name {
			return i
		}
	}
	return -1
}

// URL returns the client URL of node i.
func (c *Cluster) URL(i int) string { return c.Servers[i].ClientURL() }

// URLs returns the client URLs of the running nodes, comma-separated, as nats.Connect takes them.
func (c *Cluster) URLs() string {
	var us []string
	for _, s := range c.running() {
		us = append(us, s.ClientURL())
	}
	return strings.Join(us, ",")
}

// Connect opens a client connection to node i that may fail over to the other nodes; it is
// closed when the test ends.
func (c *Cluster) Connect(i int) *nats.Conn {
	c.t.Helper()
	urls := []string{c.URL(i)}
	for j, s := range c.Servers {
		if j != i && s != nil {
			urls = append(urls, s.ClientURL())
		}
	}
	nc, err := nats.Connect(strings.Join(urls, ","), nats.DontRandomize(), nats.MaxReconnects(-1),
		nats.ReconnectWait(20*time.Millisecond))
	if err != nil {
		c.t.Fatalf("natstest: connect to node %d: %v", i+1, err)
	}
	c.t.Cleanup(nc.Close)
	return nc
}

// Stop shuts node i down and waits until it has stopped: for fault tests, a node that dies. The
// node's storage stays where it was. Stopping a stopped node does nothing.
func (c *Cluster) Stop(i int) {
	s := c.Servers[i]
	if s == nil {
		return
	}
	c.Servers[i] = nil
	shutdown(s)
}

// shutdown stops s and waits until it has.
func shutdown(s *server.Server) {
	s.Shutdown()
	s.WaitForShutdown()
}
