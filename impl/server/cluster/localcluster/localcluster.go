// Package localcluster runs a cluster of relays on this machine for a person to try (make
// cluster, README "Running a cluster"): N blindpost-server processes on loopback, each with an
// embedded NATS server routed to the others (--cluster-embedded), one data directory per node
// and one certificate for all, so that clients pin one pin whichever node they reach.
//
// The nodes run this program again with the argument "node" (Main passes the rest to
// servercmd.Main), so that nothing needs to be built or installed first.
package localcluster

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/blindpost/blindpost/internal/nodeargs"
	"github.com/blindpost/blindpost/internal/tlspin"
)

// Options configure a local cluster.
type Options struct {
	Dir       string   // root: the certificate in Dir/tls, node rI's data in Dir/rI
	Nodes     int      // how many relays; 3 means a majority survives one lost node
	Host      string   // the address every listener binds, a loopback one
	Port      int      // the first node's wss:// port; node i listens on Port+i
	NATSPort  int      // the first embedded NATS client port, for the administration commands
	RoutePort int      // the first route port
	Extra     []string // more blindpost-server flags for every node
}

// DefaultOptions are those of make cluster.
func DefaultOptions() Options {
	return Options{Dir: "blindpost-cluster", Nodes: 3, Host: "127.0.0.1", Port: 8443, NATSPort: 4222, RoutePort: 6222}
}

// Node is one relay of a plan.
type Node struct {
	Name string   // rI, its --node-name
	URL  string   // wss://HOST:PORT/, where it will listen
	Data string   // its --data
	Args []string // its blindpost-server command line
}

// Plan is a prepared local cluster: directories made, certificate in place.
type Plan struct {
	Nodes    []Node
	Cert     string     // the certificate every node serves (PEM)
	Key      string     // its key
	Pin      tlspin.Pin // the pin of Cert: the cluster's one pin
	NATSURLs string     // the embedded NATS servers, for users/invites/status --cluster
}

// Prepare checks o, makes the directories and generates the cluster's certificate, or reuses
// the one a previous run generated (the pin stays the same, spec §4.1 [TLS-5]).
func Prepare(o Options) (*Plan, error) {
	if err := o.check(); err != nil {
		return nil, err
	}
	id, err := tlspin.LoadOrCreate(filepath.Join(o.Dir, "tls"))
	if err != nil {
		return nil, fmt.Errorf("localcluster: the cluster's certificate: %w", err)
	}
	p := &Plan{Cert: filepath.Join(o.Dir, "tls", tlspin.CertFile), Key: filepath.Join(o.Dir, "tls", tlspin.KeyFile), Pin: id.Pin}
	var routes, nats []string
	for i := range o.Nodes {
		routes = append(routes, net.JoinHostPort(o.Host, strconv.Itoa(o.RoutePort+i)))
		nats = append(nats, "nats://"+net.JoinHostPort(o.Host, strconv.Itoa(o.NATSPort+i)))
	}
	p.NATSURLs = strings.Join(nats, ",")
	for i := range o.Nodes {
		n := Node{Name: fmt.Sprintf("r%d", i+1), Data: filepath.Join(o.Dir, fmt.Sprintf("r%d", i+1))}
		listen := net.JoinHostPort(o.Host, strconv.Itoa(o.Port+i))
		n.URL = "wss://" + listen + "/"
		if err := os.MkdirAll(n.Data, 0o700); err != nil {
			return nil, fmt.Errorf("localcluster: %w", err)
		}
		n.Args = slices.Concat([]string{"--listen", listen, "--data", n.Data},
			nodeargs.Args(n.Name, i, net.JoinHostPort(o.Host, strconv.Itoa(o.NATSPort+i)), routes, p.Cert, p.Key), o.Extra)
		p.Nodes = append(p.Nodes, n)
	}
	return p, nil
}

// check refuses options that cannot give a working cluster: no node, ports out of range or
// overlapping, a listener outside loopback (this is a cluster to try, not to expose).
func (o Options) check() error {
	var problems []string
	if o.Nodes < 1 || o.Nodes > 9 {
		problems = append(problems, fmt.Sprintf("--nodes %d: from 1 to 9", o.Nodes))
	}
	if ip := net.ParseIP(o.Host); ip == nil || !ip.IsLoopback() {
		problems = append(problems, fmt.Sprintf("--host %q: a loopback address (a local cluster is for trying; README \"Running a cluster\" puts one on several machines)", o.Host))
	}
	if o.Dir == "" {
		problems = append(problems, "--data: a directory is required")
	}
	ranges := []struct {
		flag  string
		first int
	}{{"--port", o.Port}, {"--nats-port", o.NATSPort}, {"--route-port", o.RoutePort}}
	for i, r := range ranges {
		if r.first < 1 || r.first+o.Nodes-1 > 65535 {
			problems = append(problems, fmt.Sprintf("%s %d: ports %d to %d must lie within 1 to 65535", r.flag, r.first, r.first, r.first+o.Nodes-1))
		}
		for _, q := range ranges[i+1:] {
			if r.first < q.first+o.Nodes && q.first < r.first+o.Nodes {
				problems = append(problems, fmt.Sprintf("%s %d and %s %d: the %d ports from each overlap", r.flag, r.first, q.flag, q.first, o.Nodes))
			}
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("localcluster: %s", strings.Join(problems, "; "))
	}
	return nil
}

// Launcher returns the command that runs one node with args (the blindpost-server flags).
type Launcher func(args []string) *exec.Cmd

// stopWait is how long a node has to shut down after SIGTERM before it is killed.
const stopWait = 15 * time.Second

// running is a started node.
type running struct {
	node   Node
	cmd    *exec.Cmd
	url    chan string   // its "listening on" line, once
	exited chan struct{} // closed after Wait
	err    error         // Wait's, once exited is closed
}

// Run starts every node, prints their lines prefixed with the node's name, then, once every
// node listens, the URLs and the pin; it returns when ctx ends (Ctrl-C) or a node exits, after
// stopping every node.
func (p *Plan) Run(ctx context.Context, launch Launcher, stdout io.Writer) error {
	out := &lockedWriter{w: stdout}
	var nodes []*running
	defer func() { stopAll(nodes) }()
	for _, n := range p.Nodes {
		r, err := start(n, launch, out)
		if err != nil {
			return err
		}
		nodes = append(nodes, r)
	}
	// The nodes wait for a majority of each other before listening: wait for all of them.
	for _, r := range nodes {
		select {
		case <-r.url:
		case <-r.exited:
			select {
			case <-r.url: // it listened before it exited (its URL is sent before exited closes): reported below
			default:
				return fmt.Errorf("localcluster: node %s exited before it listened: %v (its lines above say why)", r.node.Name, r.err)
			}
		case <-ctx.Done():
			return nil
		}
	}
	p.summary(out)
	exited := make(chan *running, len(nodes))
	for _, r := range nodes {
		go func() {
			<-r.exited
			exited <- r
		}()
	}
	select {
	case <-ctx.Done():
		fmt.Fprintf(out, "stopping the %d relays\n", len(nodes))
		return nil
	case r := <-exited:
		return fmt.Errorf("localcluster: node %s exited: %v; stopping the others", r.node.Name, r.err)
	}
}

// summary prints what a person needs to use the cluster.
func (p *Plan) summary(w io.Writer) {
	fmt.Fprintf(w, "\n%d relays, one cluster; any of them serves any user:\n", len(p.Nodes))
	for _, n := range p.Nodes {
		fmt.Fprintf(w, "  %s  (node %s, data in %s)\n", n.URL, n.Name, n.Data)
	}
	fmt.Fprintf(w, "server pin (the same on every node): %s\n", p.Pin)
	if len(p.Nodes) > 0 {
		fmt.Fprintf(w, "try:   go run ./impl/cmd/blindpost chat --user alice --server %s --server-pin %s\n", p.Nodes[0].URL, p.Pin)
		fmt.Fprintf(w, "       go run ./impl/cmd/blindpost chat --user bob --server %s --server-pin %s\n", p.Nodes[len(p.Nodes)-1].URL, p.Pin)
	}
	fmt.Fprintf(w, "users: go run ./impl/cmd/blindpost-server users list --cluster %s\n", p.NATSURLs)
	var urls []string
	for _, n := range p.Nodes {
		urls = append(urls, n.URL)
	}
	fmt.Fprintf(w, "check: go run ./conformance/cmd/blindpost-conform server %s --pin %s\n", strings.Join(urls, " "), p.Pin)
	fmt.Fprintln(w, "Ctrl-C stops them all.")
}

// start runs one node, copying its output with its name in front and catching its URL.
func start(n Node, launch Launcher, out io.Writer) (*running, error) {
	cmd := launch(n.Args)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("localcluster: %w", err)
	}
	cmd.Stderr = &prefixWriter{prefix: "[" + n.Name + "] ", w: out}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("localcluster: start node %s: %w", n.Name, err)
	}
	r := &running{node: n, cmd: cmd, url: make(chan string, 1), exited: make(chan struct{})}
	copied := make(chan struct{})
	go func() {
		defer close(copied)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			line := sc.Text()
			fmt.Fprintf(out, "[%s] %s\n", n.Name, line)
			if u, ok := strings.CutPrefix(line, "listening on "); ok {
				select {
				case r.url <- u:
				default:
				}
			}
		}
	}()
	go func() {
		<-copied // Wait closes the pipe: read it to the end first
		r.err = cmd.Wait()
		close(r.exited)
	}()
	return r, nil
}

// stopAll sends SIGTERM to every node still running and kills those that have not stopped
// within stopWait.
func stopAll(nodes []*running) {
	for _, r := range nodes {
		_ = r.cmd.Process.Signal(syscall.SIGTERM)
	}
	deadline := time.NewTimer(stopWait)
	defer deadline.Stop()
	expired := false
	for _, r := range nodes {
		if !expired {
			select {
			case <-r.exited:
				continue
			case <-deadline.C:
				expired = true
			}
		}
		_ = r.cmd.Process.Kill()
		<-r.exited
	}
}

// lockedWriter serialises the nodes' lines.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

// prefixWriter puts prefix before every line written to it.
type prefixWriter struct {
	prefix string
	w      io.Writer
	mu     sync.Mutex
	mid    bool // inside a line
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var buf []byte
	for _, c := range b {
		if !p.mid {
			buf = append(buf, p.prefix...)
			p.mid = true
		}
		buf = append(buf, c)
		if c == '\n' {
			p.mid = false
		}
	}
	if _, err := p.w.Write(buf); err != nil {
		return 0, err
	}
	return len(b), nil
}
