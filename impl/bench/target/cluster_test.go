package target

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/spf13/pflag"

	"github.com/blindpost/blindpost/impl/server/cluster/embedded"
	"github.com/blindpost/blindpost/internal/nodeargs"
	"github.com/blindpost/blindpost/internal/tlspin"
)

// fakeClusterEnv makes the server child a stand-in for a relay node of a cluster: it starts
// the embedded NATS server its cluster flags describe (so the routes StartCluster hands out
// must really form one JetStream cluster), then announces itself as blindpost-server does, its
// node name in the URL, and waits for SIGTERM. The relay itself is not needed to test the
// plumbing.
const fakeClusterEnv = "BLINDPOST_BENCH_FAKE_CLUSTER_NODE"

func fakeClusterNode(args []string) int {
	fs := pflag.NewFlagSet("server", pflag.ContinueOnError)
	fs.ParseErrorsAllowlist.UnknownFlags = true
	name := fs.String("node-name", "", "")
	data := fs.String("data", "", "")
	cert := fs.String("tls-cert", "", "")
	routeListen := fs.String("cluster-route-listen", "", "")
	routes := fs.StringSlice("cluster-routes", nil, "")
	embed := fs.Bool("cluster-embedded", false, "")
	if err := fs.Parse(args); err != nil || !*embed {
		fmt.Fprintln(os.Stderr, "fake node: not a cluster node:", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	s, err := embedded.Start(ctx, embedded.Options{Name: *name, Listen: "127.0.0.1:0", RouteListen: *routeListen, Routes: *routes,
		StoreDir: filepath.Join(*data, "nats"), Wait: 30 * time.Second})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer s.Close()
	pin, err := tlspin.PinOfFile(*cert)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Printf("listening on wss://127.0.0.1:1/%s\nserver pin: %s\nmetrics on http://127.0.0.1:1/metrics\n", *name, pin)
	<-ctx.Done()
	return 0
}

// TestStartCluster: StartCluster starts the nodes at once with routes that form one cluster,
// one certificate (one pin) for all, measures them together, and Close stops every node and
// removes the cluster's directory.
func TestStartCluster(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	l := Launcher{Path: exe, Env: []string{childEnv + "=1", fakeClusterEnv + "=1"}}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	c, err := l.StartCluster(ctx, 3, ServerOptions{Extra: []string{"--queue", "64"}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if c.Name != ClusterName || len(c.Members) != 3 || !c.Local() || c.Trust.Pin == nil {
		t.Fatalf("cluster %q: %d members, local %v, pin %v", c.Name, len(c.Members), c.Local(), c.Trust.Pin)
	}
	var names []string
	pids := map[int]bool{}
	for _, m := range c.Members {
		if m.Trust.Pin == nil || *m.Trust.Pin != *c.Trust.Pin {
			t.Errorf("%s has pin %v, the cluster %v: one certificate for all", m.URL, m.Trust.Pin, c.Trust.Pin)
		}
		names = append(names, m.URL[strings.LastIndex(m.URL, "/")+1:])
		pids[m.PID] = true
		if !strings.Contains(m.Command, "--queue 64") || !strings.Contains(m.Command, "--cluster-embedded") {
			t.Errorf("node command %q lacks the cluster flags or the extra ones", m.Command)
		}
	}
	if !slices.Equal(names, []string{"b1", "b2", "b3"}) || len(pids) != 3 {
		t.Errorf("nodes %v in %d processes, want b1 b2 b3 in 3", names, len(pids))
	}
	sum, err := c.Sample()
	if err != nil {
		t.Fatal(err)
	}
	one, err := c.Members[0].Sample()
	if err != nil {
		t.Fatal(err)
	}
	if sum.RSS <= one.RSS || sum.Thread <= one.Thread {
		t.Errorf("the cluster's sample %+v does not sum its nodes' (one: %+v)", sum, one)
	}
	dir := c.dir
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	for pid := range pids {
		if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
			t.Errorf("node process %d is still there after Close: %v", pid, err)
		}
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("the cluster's directory %s is left behind: %v", dir, err)
	}
}

// TestStartClusterOnATakenPort: when another process holds a route port StartCluster picked,
// the node that cannot bind it exits with the reason, which the error says, and the cluster is
// started again on fresh ports; with every attempt on a taken port it fails with every reason.
func TestStartClusterOnATakenPort(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	calls := 0
	takeFirst := func(limit int) func(int) ([]string, error) {
		return func(n int) ([]string, error) {
			calls++
			addrs, err := nodeargs.FreeAddrs(n)
			if err == nil && calls <= limit {
				addrs[1] = taken.Addr().String()
			}
			return addrs, err
		}
	}
	defer func(f func(int) ([]string, error)) { freeAddrs = f }(freeAddrs)
	l := Launcher{Path: exe, Env: []string{childEnv + "=1", fakeClusterEnv + "=1"}}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()

	freeAddrs = takeFirst(1)
	c, err := l.StartCluster(ctx, 3, ServerOptions{})
	if err != nil {
		t.Fatalf("the second attempt, on fresh ports, failed: %v", err)
	}
	c.Close()
	if calls != 2 {
		t.Errorf("%d attempts, want 2", calls)
	}

	calls = 0
	freeAddrs = takeFirst(nodeargs.Attempts)
	if c, err := l.StartCluster(ctx, 3, ServerOptions{}); err == nil {
		c.Close()
		t.Fatal("a cluster started on a taken route port")
	} else if n := strings.Count(err.Error(), "address already in use"); calls != nodeargs.Attempts || n != nodeargs.Attempts {
		t.Errorf("%d attempts, %d reasons in %q; want %d of each", calls, n, err, nodeargs.Attempts)
	}
}

// TestClusterArgs: node i listens for routes on its own address, routes to all, and serves the
// cluster's certificate.
func TestClusterArgs(t *testing.T) {
	got := ClusterArgs(1, []string{"127.0.0.1:1", "127.0.0.1:2", "127.0.0.1:3"}, "c.pem", "k.pem")
	want := []string{"--tls-cert", "c.pem", "--tls-key", "k.pem", "--cluster-embedded", "--node-name", "b2", "--cluster-listen", "127.0.0.1:0",
		"--cluster-route-listen", "127.0.0.1:2", "--cluster-routes", "127.0.0.1:1,127.0.0.1:2,127.0.0.1:3"}
	if !slices.Equal(got, want) {
		t.Fatalf("ClusterArgs:\n got %q\nwant %q", got, want)
	}
}
