package mutants

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/blindpost/blindpost/internal/tlspin"
)

// fakeRelayEnv makes the test binary act as a relay for startCluster: it prints the lines
// blindpost-server prints once it listens, with the pin the variable gives ("" for the
// certificate of its --tls-cert), and exits on an interrupt, or fails as failFirst or failOnce
// say.
const fakeRelayEnv = "BLINDPOST_MUTANTS_FAKE_RELAY"

// The fake relay's failures: failFirst, every node of a first start exits at once (a start
// that fails however often its nodes are started again); failOnce, each node exits at once the
// first time it is started, as a node that lost the race for the buckets does.
const (
	failFirst = "fail-first"
	failOnce  = "fail-once"
)

func TestMain(m *testing.M) {
	if pin, ok := os.LookupEnv(fakeRelayEnv); ok {
		os.Exit(fakeRelay(pin, os.Args[1:]))
	}
	os.Exit(m.Run())
}

// fakeRelay is the relay the test binary plays: "listening on" names its --node-name, so that
// the test can tell the nodes apart.
func fakeRelay(pin string, args []string) int {
	interrupt := make(chan os.Signal, 1)
	signal.Notify(interrupt, os.Interrupt)
	node, cert := argValue(args, "--node-name"), argValue(args, "--tls-cert")
	if pin == failOnce {
		marker := filepath.Join(argValue(args, "--data"), "started-once")
		if _, err := os.Stat(marker); err != nil {
			_ = os.WriteFile(marker, nil, 0o600)
			fmt.Fprintln(os.Stderr, "stream not found")
			return 1
		}
		pin = ""
	}
	if pin == failFirst {
		if !strings.Contains(argValue(args, "--data"), string(filepath.Separator)+"try2"+string(filepath.Separator)) {
			fmt.Fprintln(os.Stderr, "stream not found")
			return 1
		}
		pin = ""
	}
	if pin == "" {
		p, err := tlspin.PinOfFile(cert)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		pin = p.String()
	}
	fmt.Printf("listening on wss://%s.invalid/\nserver pin: %s\n", node, pin)
	<-interrupt
	return 0
}

// argValue returns the value after flag in args, or "".
func argValue(args []string, flag string) string {
	if i := slices.Index(args, flag); i >= 0 && i+1 < len(args) {
		return args[i+1]
	}
	return ""
}

func TestParseCluster(t *testing.T) {
	const good = "role: server\nrule: CLU-2\nbug: b\nfile: impl/server/x.go\ncluster: 3\n-- find --\na\n-- replace --\nb\n"
	m, err := Parse("220-ok.txtar", []byte(good))
	if err != nil {
		t.Fatalf("a good cluster mutant: %v", err)
	}
	if m.Cluster != 3 {
		t.Errorf("Cluster = %d, want 3", m.Cluster)
	}
	for _, tc := range []struct{ text, want string }{
		{strings.Replace(good, "cluster: 3", "cluster: 1", 1), `cluster "1"`},
		{strings.Replace(good, "cluster: 3", "cluster: 6", 1), `cluster "6"`},
		{strings.Replace(good, "cluster: 3", "cluster: three", 1), `cluster "three"`},
		{strings.Replace(strings.Replace(good, "role: server", "role: client", 1), "impl/server/", "impl/client/", 1), "only a server mutant"},
	} {
		_, err := Parse("220-x.txtar", []byte(tc.text))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Parse(%q) = %v, want an error mentioning %q", tc.text, err, tc.want)
		}
	}
}

// TestClusterSetupApart checks that a cluster mutant's cases run on their own setup: its
// baseline runs against a cluster too, in a directory of its own.
func TestClusterSetupApart(t *testing.T) {
	one := &Mutant{ID: "01-a", Role: Server, Rule: "REG-3", Run: []string{"server/registration/"}}
	three := &Mutant{ID: "220-b", Role: Server, Rule: "CLU-1", Run: []string{"server/cluster/one-relay"}, Cluster: 3}
	if setupOf(one) == setupOf(three) || setupOf(one).name() == setupOf(three).name() {
		t.Fatalf("one relay and a cluster share the setup %v (%s)", setupOf(one), setupOf(one).name())
	}
	got := rolePatterns([]*Mutant{one, three})
	if want := []string{"server/cluster/one-relay"}; !slices.Equal(got[setupOf(three)], want) {
		t.Errorf("the cluster's baseline runs %q, want %q", got[setupOf(three)], want)
	}
}

func TestPlanCluster(t *testing.T) {
	dir := t.TempDir()
	plan, err := planCluster(dir, 3, []string{"--extra", "x"})
	if err != nil {
		t.Fatal(err)
	}
	pin, err := tlspin.PinOfFile(filepath.Join(dir, "tls", tlspin.CertFile))
	if err != nil {
		t.Fatal(err)
	}
	if plan.pin != pin {
		t.Errorf("plan pin %s, certificate's %s", plan.pin, pin)
	}
	if len(plan.nodes) != 3 {
		t.Fatalf("%d nodes, want 3", len(plan.nodes))
	}
	routes := argValue(plan.nodes[0].args, "--cluster-routes")
	var listens []string
	for i, n := range plan.nodes {
		a := n.args
		if want := fmt.Sprintf("r%d", i+1); n.name != want || argValue(a, "--node-name") != want {
			t.Errorf("node %d: name %q, --node-name %q, want %s", i, n.name, argValue(a, "--node-name"), want)
		}
		if argValue(a, "--data") != n.data || filepath.Dir(n.data) != dir {
			t.Errorf("node %s: --data %q, data %q, want a directory of its own under %s", n.name, argValue(a, "--data"), n.data, dir)
		}
		if argValue(a, "--tls-cert") != filepath.Join(dir, "tls", tlspin.CertFile) || argValue(a, "--tls-key") != filepath.Join(dir, "tls", tlspin.KeyFile) {
			t.Errorf("node %s: certificate %q key %q, want the cluster's one", n.name, argValue(a, "--tls-cert"), argValue(a, "--tls-key"))
		}
		if !slices.Contains(a, "--cluster-embedded") || argValue(a, "--cluster-listen") != "127.0.0.1:0" {
			t.Errorf("node %s: %q, want --cluster-embedded with its NATS client listener on a free port", n.name, a)
		}
		if argValue(a, "--cluster-routes") != routes {
			t.Errorf("node %s: routes %q, node r1's %q: every node is given the same routes", n.name, argValue(a, "--cluster-routes"), routes)
		}
		if !slices.Equal(a[len(a)-2:], []string{"--extra", "x"}) || !slices.Contains(a, serverFlags[0]) {
			t.Errorf("node %s: %q, want the mutants' server flags and the extra flags last", n.name, a)
		}
		listens = append(listens, argValue(a, "--cluster-route-listen"))
	}
	if strings.Join(listens, ",") != routes {
		t.Errorf("route listeners %q, routes %q: want each node's listener among the routes, in order", listens, routes)
	}
	if distinct := slices.Compact(slices.Sorted(slices.Values(listens))); len(distinct) != 3 {
		t.Errorf("route listeners %q: want three distinct ports", listens)
	}
	again, err := planCluster(dir, 3, nil)
	if err != nil {
		t.Fatal(err)
	}
	if again.pin != plan.pin {
		t.Errorf("a second plan in the same directory has pin %s, the first %s: want the certificate kept", again.pin, plan.pin)
	}
}

// TestStartCluster starts a planned cluster of fake relays (this test binary), checks that it
// waits for every node and gives their URLs in order, and that stopRelays stops them all.
func TestStartCluster(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	plan, err := planCluster(t.TempDir(), 3, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv(fakeRelayEnv, "")
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	nodes, err := startCluster(ctx, self, plan)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range nodes {
		if want := fmt.Sprintf("wss://r%d.invalid/", i+1); r.url != want {
			t.Errorf("node %d: url %q, want %q", i, r.url, want)
		}
	}
	stopRelays(nodes)
	for _, r := range nodes {
		select {
		case <-r.exited:
		default:
			t.Errorf("relay %s still runs after stopRelays", r.url)
		}
	}
}

// TestStartClusterOtherPin checks that a node serving another pin than the cluster's fails the
// start, and that the nodes started are stopped.
func TestStartClusterOtherPin(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	plan, err := planCluster(t.TempDir(), 2, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv(fakeRelayEnv, "sha256:00")
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	nodes, err := startCluster(ctx, self, plan)
	if err == nil {
		stopRelays(nodes)
		t.Fatal("a cluster whose nodes serve another pin started")
	}
	if !strings.Contains(err.Error(), "not the cluster's "+plan.pin.String()) {
		t.Errorf("error %v, want one naming the cluster's pin", err)
	}
}

// TestStartFreshClusterRetries checks that a cluster whose first start fails is started once
// more in fresh directories, and that a cluster that never starts reports both attempts.
func TestStartFreshClusterRetries(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	t.Setenv(fakeRelayEnv, failFirst)
	dir := t.TempDir()
	plan, nodes, err := startFreshCluster(ctx, self, dir, 3, nil)
	if err != nil {
		t.Fatalf("the second start: %v", err)
	}
	stopRelays(nodes)
	if want := filepath.Join(dir, "try2", "r1"); plan.nodes[0].data != want {
		t.Errorf("node r1's data in %s, want %s", plan.nodes[0].data, want)
	}
	t.Setenv(fakeRelayEnv, "sha256:00")
	_, _, err = startFreshCluster(ctx, self, t.TempDir(), 2, nil)
	if err == nil || !strings.Contains(err.Error(), "start 1 of 2") || !strings.Contains(err.Error(), "start 2 of 2") {
		t.Errorf("error %v, want both starts reported", err)
	}
}

// TestStartClusterRestartsNode checks that a node that exits before it listens is started
// again, in the same directory, while the others wait.
func TestStartClusterRestartsNode(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	plan, err := planCluster(t.TempDir(), 3, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv(fakeRelayEnv, failOnce)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	nodes, err := startCluster(ctx, self, plan)
	if err != nil {
		t.Fatalf("nodes that fail once: %v", err)
	}
	defer stopRelays(nodes)
	for i, r := range nodes {
		if want := fmt.Sprintf("wss://r%d.invalid/", i+1); r.url != want {
			t.Errorf("node %d: url %q, want %q", i, r.url, want)
		}
	}
}
