package servercmd

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/spf13/pflag"

	"github.com/blindpost/blindpost/impl/server/admin"
	"github.com/blindpost/blindpost/impl/server/cluster"
	"github.com/blindpost/blindpost/impl/server/cluster/embedded"
	"github.com/blindpost/blindpost/impl/server/cluster/kvstore"
)

// clusterOptions are the flags of cluster mode (README "Running a cluster"): the relay joins a
// cluster of relays through an existing NATS deployment (--cluster) or through a NATS server
// it runs itself (--cluster-embedded). Without either, the relay is one relay on its bbolt
// directory, the default.
type clusterOptions struct {
	urls     string // --cluster: nats://h:4222,… of an existing deployment
	creds    string
	ca       string
	bucket   string
	replicas int

	embedded    bool
	listen      string
	routeListen string
	routes      []string
	dir         string
	name        string
	routeCert   string
	routeKey    string
	wait        time.Duration
	node        string
}

// clusterConnectFlags are the flags that reach a cluster: the relay's and the offline
// administration commands' (users, invites, status).
func (c *clusterOptions) connectFlags(fs *pflag.FlagSet) {
	fs.StringVar(&c.urls, "cluster", "", "join a cluster of relays through existing NATS servers with JetStream: nats://HOST:4222[,nats://…] (tls:// for TLS); "+
		"users, invites and status then work on the cluster's directory")
	fs.StringVar(&c.creds, "cluster-creds", "", "with --cluster: the NATS credentials file (.creds) of the relays' NATS user")
	fs.StringVar(&c.ca, "cluster-ca", "", "with --cluster: the CA (PEM) of the NATS servers' certificates; with --cluster-embedded and --cluster-route-cert: the CA of every node's route certificate")
	fs.StringVar(&c.bucket, "cluster-bucket", kvstore.DefaultBucket, "the JetStream key-value bucket of the cluster's directory, the same on every relay")
}

// serveFlags are the flags of a relay node: the embedded NATS server and the node's name.
func (c *clusterOptions) serveFlags(fs *pflag.FlagSet) {
	fs.IntVar(&c.replicas, "cluster-replicas", 0, "copies of the directory kept by JetStream (0: 3 on a NATS cluster, 1 on a single NATS server); set when the bucket is first created")
	fs.BoolVar(&c.embedded, "cluster-embedded", false, "run a NATS server with JetStream inside this relay, routed to the other nodes by --cluster-routes: a cluster with nothing else installed")
	fs.StringVar(&c.listen, "cluster-listen", embedded.DefaultListen, "with --cluster-embedded: the embedded NATS server's client address, for the administration commands (--cluster nats://…); a loopback address: it authenticates no client")
	fs.StringVar(&c.routeListen, "cluster-route-listen", "", "with --cluster-embedded: the address the other nodes route to, HOST:6222 (needs --cluster-routes)")
	fs.StringSliceVar(&c.routes, "cluster-routes", nil, "with --cluster-embedded: the route addresses of the nodes, nats-route://HOST:6222 or HOST:6222, comma-separated or repeated (this node's own may be listed)")
	fs.StringVar(&c.dir, "cluster-dir", "", "with --cluster-embedded: JetStream's storage, this node's copy of the directory: back it up (default: nats under --data)")
	fs.StringVar(&c.name, "cluster-name", embedded.DefaultClusterName, "with --cluster-embedded: the NATS cluster's name, the same on every node")
	fs.StringVar(&c.routeCert, "cluster-route-cert", "", "with --cluster-embedded: this node's certificate (PEM) for mutual TLS on the routes; needs --cluster-route-key and --cluster-ca")
	fs.StringVar(&c.routeKey, "cluster-route-key", "", "with --cluster-embedded: the private key (PEM) of --cluster-route-cert")
	fs.DurationVar(&c.wait, "cluster-wait", embedded.DefaultWait, "with --cluster-embedded and routes: how long to wait for a majority of the nodes to be up")
	fs.StringVar(&c.node, "node-name", "", "this relay's name in the cluster, unique, letters, digits, '-' and '_' (default: the host name up to its first dot)")
}

// active reports whether the relay runs as a node of a cluster.
func (c *clusterOptions) active() bool { return c.urls != "" || c.embedded }

// nodeNamePattern: a node's name is one token of a NATS subject (the relays route to each
// other on per-node subjects) and the embedded server's name.
var nodeNamePattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// embeddedOnly are the flags that mean something only with --cluster-embedded.
var embeddedOnly = []string{"cluster-listen", "cluster-route-listen", "cluster-routes", "cluster-dir", "cluster-name", "cluster-route-cert", "cluster-route-key", "cluster-wait"}

// validateConnect returns the problems of the flags that reach a cluster.
func (c *clusterOptions) validateConnect(fs *pflag.FlagSet, src sources) []string {
	var problems []string
	set := func(name string) bool { _, ok := src[name]; return ok }
	if c.urls != "" {
		for _, u := range strings.Split(c.urls, ",") {
			if err := checkNATSURL(strings.TrimSpace(u)); err != nil {
				problems = append(problems, src.of(fs, "cluster")+": "+err.Error())
			}
		}
	}
	if c.urls == "" && !c.embedded {
		for _, name := range []string{"cluster-creds", "cluster-ca", "cluster-bucket"} {
			if set(name) {
				problems = append(problems, src.of(fs, name)+": only with --cluster nats://… or --cluster-embedded")
			}
		}
	}
	if c.creds != "" && c.embedded {
		problems = append(problems, src.of(fs, "cluster-creds")+": credentials are for --cluster (an existing NATS deployment), not --cluster-embedded")
	}
	for _, name := range []string{"cluster-creds", "cluster-ca"} {
		if f := fs.Lookup(name); f != nil && f.Value.String() != "" {
			if _, err := os.Stat(f.Value.String()); err != nil {
				problems = append(problems, src.of(fs, name)+": "+err.Error())
			}
		}
	}
	if c.bucket == "" || !nodeNamePattern.MatchString(c.bucket) {
		problems = append(problems, src.of(fs, "cluster-bucket")+": letters, digits, '-' and '_' only")
	}
	return problems
}

// validate returns every problem of the cluster flags of a relay, each naming where its value
// came from.
func (c *clusterOptions) validate(fs *pflag.FlagSet, src sources) []string {
	problems := c.validateConnect(fs, src)
	set := func(name string) bool { _, ok := src[name]; return ok }
	if c.urls != "" && c.embedded {
		problems = append(problems, "--cluster and --cluster-embedded: give one (join existing NATS servers, or run one in this relay)")
	}
	if !c.embedded {
		for _, name := range embeddedOnly {
			if set(name) {
				problems = append(problems, src.of(fs, name)+": only with --cluster-embedded")
			}
		}
	}
	if !c.active() && set("node-name") {
		problems = append(problems, src.of(fs, "node-name")+": only with --cluster or --cluster-embedded")
	}
	if !c.active() && set("cluster-replicas") {
		problems = append(problems, src.of(fs, "cluster-replicas")+": only with --cluster or --cluster-embedded")
	}
	if c.replicas < 0 || c.replicas > 5 {
		problems = append(problems, src.of(fs, "cluster-replicas")+": must be between 1 and 5 (0: automatic)")
	}
	if set("node-name") && !nodeNamePattern.MatchString(c.node) {
		problems = append(problems, src.of(fs, "node-name")+": letters, digits, '-' and '_' only, at most 64")
	}
	if !c.embedded {
		return problems
	}
	if (c.routeListen == "") != (len(c.routes) == 0) {
		problems = append(problems, "--cluster-route-listen and --cluster-routes go together: the address this node listens on for routes, and the nodes it routes to")
	}
	if c.routeListen == "" && c.replicas > 1 {
		problems = append(problems, src.of(fs, "cluster-replicas")+": a single embedded node (no --cluster-routes) keeps one copy")
	}
	if (c.routeCert == "") != (c.routeKey == "") || (c.routeCert != "" && c.ca == "") {
		problems = append(problems, "--cluster-route-cert, --cluster-route-key and --cluster-ca go together (mutual TLS on the routes)")
	}
	if c.ca != "" && c.routeCert == "" {
		problems = append(problems, src.of(fs, "cluster-ca")+": with --cluster-embedded it is the CA of the route certificates: give --cluster-route-cert and --cluster-route-key")
	}
	for _, name := range []string{"cluster-listen", "cluster-route-listen"} {
		if v := fs.Lookup(name).Value.String(); v != "" {
			if _, _, err := net.SplitHostPort(v); err != nil {
				problems = append(problems, src.of(fs, name)+": "+err.Error())
			}
		}
	}
	// The embedded server's clients are not authenticated: whoever reaches the port can
	// rewrite the directory. Only this machine's processes may.
	if host, _, err := net.SplitHostPort(c.listen); err == nil {
		if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
			problems = append(problems, src.of(fs, "cluster-listen")+": must be a loopback address, such as 127.0.0.1:4222: "+
				"the embedded NATS server does not authenticate its clients (administer the cluster from a node, or run NATS apart with --cluster and credentials)")
		}
	}
	if c.wait < time.Second {
		problems = append(problems, src.of(fs, "cluster-wait")+": at least 1s")
	}
	return problems
}

// checkNATSURL accepts the URLs nats.Connect does: nats://, tls://, ws:// or wss://, with a
// host.
func checkNATSURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return err
	}
	switch u.Scheme {
	case "nats", "tls", "ws", "wss":
	default:
		return fmt.Errorf("%q: a NATS URL is nats://HOST:4222 (or tls://)", s)
	}
	if u.Hostname() == "" {
		return fmt.Errorf("%q: no host", s)
	}
	return nil
}

// nodeName is --node-name, or the host name up to its first dot, made a subject token.
func (c *clusterOptions) nodeName() string {
	if c.node != "" {
		return c.node
	}
	host, err := os.Hostname()
	if err != nil {
		host = "relay"
	}
	host, _, _ = strings.Cut(host, ".")
	host = regexp.MustCompile(`[^A-Za-z0-9_-]`).ReplaceAllString(host, "_")
	return cmp.Or(host[:min(len(host), 64)], "relay")
}

// clusterConn is a relay's connection to its cluster: the NATS connection, and the embedded
// server when this relay runs one.
type clusterConn struct {
	Conn     *nats.Conn
	NodeName string
	Bucket   string
	Replicas int // the bucket's replication when this relay creates it
	Server   *embedded.Server
}

// describe says which NATS the node uses.
func (cc *clusterConn) describe() string {
	if cc.Server != nil {
		return "embedded NATS, clients on " + cc.Server.ClientURL()
	}
	return "NATS " + cc.Conn.ConnectedUrlRedacted()
}

// drainWait bounds Close's wait for the connection to drain.
const drainWait = 5 * time.Second

// Close closes the connection after flushing what it sends and waits until it has closed, then
// stops the embedded server. Drain works in the background, and the closed handler may be the
// cluster mode's, so Close polls the connection's state.
func (cc *clusterConn) Close() error {
	err := cc.Conn.Drain()
	if err != nil {
		cc.Conn.Close()
	}
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(drainWait)
	for !cc.Conn.IsClosed() {
		select {
		case <-tick.C:
		case <-deadline:
			cc.Conn.Close()
		}
	}
	if errors.Is(err, nats.ErrConnectionClosed) {
		err = nil
	}
	if cc.Server != nil {
		err = errors.Join(err, cc.Server.Close())
	}
	return err
}

// connect starts the embedded server or connects to the NATS servers of --cluster, with the
// reconnection settings of a relay: it keeps reconnecting to any of the servers, the relay's
// cluster mode closing its clients while the connection is lost.
func (c *clusterOptions) connect(ctx context.Context, dataDir string, log *slog.Logger) (*clusterConn, error) {
	cc := &clusterConn{NodeName: c.nodeName(), Bucket: c.bucket, Replicas: c.replicas}
	log = log.With("node", cc.NodeName)
	opts := []nats.Option{
		nats.Name("blindpost-relay " + cc.NodeName),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(250 * time.Millisecond),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil { // nil: closed by this relay
				log.Warn("cluster: lost NATS", "err", err)
			}
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) { log.Info("cluster: NATS reconnected", "url", nc.ConnectedUrlRedacted()) }),
	}
	var err error
	if c.embedded {
		eo := embedded.Options{Name: cc.NodeName, Listen: c.listen, ClusterName: c.name, RouteListen: c.routeListen, Routes: c.routes,
			StoreDir: cmp.Or(c.dir, filepath.Join(dataDir, "nats")), Wait: c.wait, Logger: log}
		if c.routeCert != "" {
			eo.RouteTLS = &embedded.RouteTLS{Cert: c.routeCert, Key: c.routeKey, CA: c.ca}
		} else if len(c.routes) > 0 {
			log.Warn("cluster: the routes between the nodes are neither encrypted nor authenticated: keep them on a private network, or give --cluster-route-cert, --cluster-route-key and --cluster-ca")
		}
		if cc.Server, err = embedded.Start(ctx, eo); err != nil {
			return nil, fmt.Errorf("cluster: %w", err)
		}
		if cc.Conn, err = cc.Server.Connect(opts...); err != nil {
			cc.Server.Close()
			return nil, fmt.Errorf("cluster: %w", err)
		}
		if cc.Replicas == 0 {
			cc.Replicas = 1
			if len(c.routes) > 0 {
				cc.Replicas = 3
			}
		}
		return cc, nil
	}
	if cc.Conn, err = dial(c.urls, c.creds, c.ca, opts...); err != nil {
		return nil, err
	}
	if cc.Replicas == 0 {
		cc.Replicas = 3
		if cc.Conn.ConnectedClusterName() == "" {
			cc.Replicas = 1 // one NATS server: JetStream keeps one copy
		}
	}
	return cc, nil
}

// dial connects to the NATS servers of urls, with the credentials and CA files when given.
func dial(urls, creds, ca string, opts ...nats.Option) (*nats.Conn, error) {
	opts = append(opts, nats.Timeout(5*time.Second))
	if creds != "" {
		opts = append(opts, nats.UserCredentials(creds))
	}
	if ca != "" {
		opts = append(opts, nats.RootCAs(ca))
	}
	nc, err := nats.Connect(urls, opts...)
	if err != nil {
		return nil, fmt.Errorf("cluster: connect to %s: %w (check --cluster, --cluster-creds and --cluster-ca, and that the NATS servers run)", urls, err)
	}
	return nc, nil
}

// joinCluster connects this relay to its cluster and makes it a node of it; leave closes both.
// It runs after the configuration is validated and before server.New, which takes the node in
// its configuration.
func (o *options) joinCluster(ctx context.Context, log *slog.Logger) (leave func(), err error) {
	cc, err := o.cluster.connect(ctx, o.cfg.DataDir, log)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(o.stdout, "cluster node %s: %s, directory in bucket %q (R%d)\n", cc.NodeName, cc.describe(), cc.Bucket, cc.Replicas)
	node, err := cluster.Join(ctx, cluster.Options{Conn: cc.Conn, Bucket: cc.Bucket,
		Replicas: cc.Replicas, NodeName: cc.NodeName, Logger: log})
	if err != nil {
		cc.Close()
		return nil, err
	}
	o.cfg.Cluster = node
	return func() { node.Close(); cc.Close() }, nil
}

// clusterAdminWait bounds connecting to the cluster and one administration command on it.
const clusterAdminWait = 30 * time.Second

// doCluster runs an administration command on the cluster's directory, the key-value bucket,
// directly: every relay of the cluster reads and writes the same bucket, so no relay needs to
// be asked (and "online" is not known here).
func (o *options) doCluster(ctx context.Context, req admin.Request) (admin.Response, error) {
	c := &o.cluster
	ctx, cancel := context.WithTimeout(ctx, clusterAdminWait)
	defer cancel()
	nc, err := dial(c.urls, c.creds, c.ca, nats.Name("blindpost-server "+req.Command))
	if err != nil {
		return admin.Response{}, err
	}
	defer nc.Close()
	store, err := openClusterStore(ctx, nc, c.bucket)
	if err != nil {
		return admin.Response{}, err
	}
	defer store.Close()
	resp := admin.Execute(store, nil, time.Now(), req)
	return resp, respErr(resp)
}

// openClusterStore opens the directory in bucket, refusing clearly when no relay has created
// it: an administration command must not create an empty directory by mistake (a wrong
// --cluster-bucket).
func openClusterStore(ctx context.Context, nc *nats.Conn, bucket string) (*kvstore.Store, error) {
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, fmt.Errorf("cluster: %w", err)
	}
	if _, err := js.KeyValue(ctx, bucket); err != nil {
		if errors.Is(err, jetstream.ErrBucketNotFound) {
			return nil, fmt.Errorf("cluster: no bucket %q on %s: start a relay with --cluster once, or pass the --cluster-bucket of your relays", bucket, nc.ConnectedUrlRedacted())
		}
		return nil, fmt.Errorf("cluster: bucket %q: %w", bucket, err)
	}
	return kvstore.Open(ctx, js, kvstore.Options{Bucket: bucket})
}
