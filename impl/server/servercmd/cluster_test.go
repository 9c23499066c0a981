package servercmd

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/spf13/pflag"

	"github.com/blindpost/blindpost/impl/e2ee/identity"
	"github.com/blindpost/blindpost/impl/server/cluster/embedded"
	"github.com/blindpost/blindpost/impl/server/cluster/kvstore"
	"github.com/blindpost/blindpost/impl/server/cluster/natstest"
	"github.com/blindpost/blindpost/impl/server/directory"
	"github.com/blindpost/blindpost/impl/server/servertest/timescale"
)

// TestClusterFlagErrors: combinations of the cluster flags that cannot work are refused before
// anything starts, all at once, each naming where its value came from.
func TestClusterFlagErrors(t *testing.T) {
	creds := filepath.Join(t.TempDir(), "relay.creds")
	if err := os.WriteFile(creds, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		env  env
		args []string
		want []string
	}{
		{"both modes", nil, []string{"--cluster", "nats://a:4222", "--cluster-embedded"}, []string{"--cluster and --cluster-embedded: give one"}},
		{"not a NATS URL", nil, []string{"--cluster", "nats://a:4222,http://b"}, []string{`--cluster=nats://a:4222,http://b (command line): "http://b": a NATS URL is`}},
		{"embedded flags alone", env{"BLINDPOST_CLUSTER_ROUTES": "h:6222"}, []string{"--cluster-dir", "x"},
			[]string{`BLINDPOST_CLUSTER_ROUTES="h:6222" (environment): only with --cluster-embedded`, "--cluster-dir=x (command line): only with --cluster-embedded"}},
		{"node name alone", nil, []string{"--node-name", "r1"}, []string{"--node-name=r1 (command line): only with --cluster"}},
		{"node name not a token", nil, []string{"--cluster-embedded", "--node-name", "r1.example"}, []string{"--node-name=r1.example (command line): letters, digits"}},
		{"routes without listen", nil, []string{"--cluster-embedded", "--cluster-routes", "h:6222"}, []string{"--cluster-route-listen and --cluster-routes go together"}},
		{"listen without routes", nil, []string{"--cluster-embedded", "--cluster-route-listen", "h:6222"}, []string{"go together"}},
		{"bad route listen", nil, []string{"--cluster-embedded", "--cluster-route-listen", "h", "--cluster-routes", "h:1"}, []string{"--cluster-route-listen=h (command line): address h: missing port"}},
		{"creds with embedded", nil, []string{"--cluster-embedded", "--cluster-creds", creds}, []string{"credentials are for --cluster"}},
		{"missing creds", nil, []string{"--cluster", "nats://a:4222", "--cluster-creds", "/nonexistent.creds"}, []string{"/nonexistent.creds (command line): stat /nonexistent.creds: no such file"}},
		{"creds without cluster", nil, []string{"--cluster-creds", creds}, []string{"only with --cluster nats://… or --cluster-embedded"}},
		{"half route TLS", nil, []string{"--cluster-embedded", "--cluster-route-cert", creds}, []string{"--cluster-route-cert, --cluster-route-key and --cluster-ca go together"}},
		{"CA without route cert", nil, []string{"--cluster-embedded", "--cluster-ca", creds}, []string{"CA of the route certificates"}},
		{"replicas on one embedded node", nil, []string{"--cluster-embedded", "--cluster-replicas", "3"}, []string{"a single embedded node (no --cluster-routes) keeps one copy"}},
		{"replicas out of range", nil, []string{"--cluster", "nats://a:4222", "--cluster-replicas", "7"}, []string{"must be between 1 and 5"}},
		{"client port not on loopback", nil, []string{"--cluster-embedded", "--cluster-listen", "0.0.0.0:4222"}, []string{"--cluster-listen=0.0.0.0:4222 (command line): must be a loopback address"}},
		{"short wait", nil, []string{"--cluster-embedded", "--cluster-wait", "10ms"}, []string{"--cluster-wait=10ms (command line): at least 1s"}},
		{"bad bucket", nil, []string{"--cluster", "nats://a:4222", "--cluster-bucket", "a.b"}, []string{"--cluster-bucket=a.b (command line): letters"}},
		{"admin command, bad URL", nil, []string{"users", "list", "--cluster", "ftp://x"}, []string{"a NATS URL is"}},
		{"admin command, bad URL from the environment", env{"BLINDPOST_CLUSTER": "ftp://x"}, []string{"status"}, []string{`BLINDPOST_CLUSTER="ftp://x" (environment)`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := run(t, tt.env, append(tt.args, "--data", t.TempDir())...)
			if code != ExitConfig {
				t.Fatalf("exit %d, want %d\n%s", code, ExitConfig, stderr)
			}
			for _, w := range tt.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr)
				}
			}
		})
	}
}

// TestClusterFlagsAccepted: the flags of a real three-node embedded cluster and of an external
// one validate cleanly.
func TestClusterFlagsAccepted(t *testing.T) {
	for _, args := range [][]string{
		{"--cluster-embedded", "--node-name", "r1", "--cluster-route-listen", "10.0.0.1:6222", "--cluster-routes", "10.0.0.1:6222,10.0.0.2:6222,10.0.0.3:6222",
			"--cluster-dir", "/var/lib/blindpost/nats", "--cluster-name", "chat", "--cluster-wait", "5m", "--cluster-listen", "127.0.0.1:4223"},
		{"--cluster", "nats://n1:4222, tls://n2:4222", "--node-name", "relay_2", "--cluster-replicas", "3", "--cluster-bucket", "chat-dir"},
	} {
		var c clusterOptions
		fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
		c.connectFlags(fs)
		c.serveFlags(fs)
		if err := fs.Parse(args); err != nil {
			t.Fatal(err)
		}
		src, err := applyEnv(fs, env(nil).lookup)
		if err != nil {
			t.Fatal(err)
		}
		if problems := c.validate(fs, src); len(problems) > 0 {
			t.Errorf("%v: %v", args, problems)
		}
		if !c.active() {
			t.Errorf("%v: not a cluster node", args)
		}
	}
}

// quiet is a logger that drops everything (STYLE: servers in tests log nothing).
var quiet = slog.New(slog.DiscardHandler)

// TestClusterConnectEmbedded: --cluster-embedded starts a NATS server in the process, stores
// under --data unless --cluster-dir, and hands the relay a connected connection; three nodes
// routed to each other share one bucket (R3), so what one binds the other reads.
func TestClusterConnectEmbedded(t *testing.T) {
	t.Run("one node", func(t *testing.T) {
		data := t.TempDir()
		c := clusterOptions{embedded: true, listen: "127.0.0.1:0", name: "blindpost", bucket: kvstore.DefaultBucket, wait: 30 * time.Second, node: "solo"}
		cc, err := c.connect(t.Context(), data, quiet)
		if err != nil {
			t.Fatal(err)
		}
		if !cc.Conn.IsConnected() || cc.Replicas != 1 || cc.NodeName != "solo" || cc.Server == nil {
			t.Fatalf("connected %v, replicas %d, node %q, server %v", cc.Conn.IsConnected(), cc.Replicas, cc.NodeName, cc.Server)
		}
		if _, err := os.Stat(filepath.Join(data, "nats", "jetstream")); err != nil {
			t.Errorf("JetStream storage not under --data/nats: %v", err)
		}
		if err := cc.Close(); err != nil {
			t.Fatal(err)
		}
		if cc.Conn.IsConnected() {
			t.Fatal("the connection is still open after Close")
		}
	})
	t.Run("three nodes", func(t *testing.T) {
		conns := natstest.Routed(t, 3, func(ctx context.Context, i int, routes []string) (*clusterConn, error) {
			c := clusterOptions{embedded: true, listen: "127.0.0.1:0", routeListen: routes[i], routes: routes, name: "blindpost",
				bucket: kvstore.DefaultBucket, wait: timescale.Of(30 * time.Second), node: fmt.Sprintf("r%d", i+1), dir: t.TempDir()}
			return c.connect(ctx, t.TempDir(), quiet)
		}, func(cc *clusterConn) { cc.Close() })
		for i, cc := range conns {
			t.Cleanup(func() { cc.Close() })
			if cc.Replicas != 3 {
				t.Errorf("node %d: replicas %d, want 3", i+1, cc.Replicas)
			}
		}
		alice := entry(t, "alice")
		if _, err := storeOn(t, conns[0].Conn, 3).Bind(alice, directory.Admission{}); err != nil {
			t.Fatal(err)
		}
		if got, err := storeOn(t, conns[2].Conn, 3).Lookup("alice"); err != nil || string(got.IdentityKey) != string(alice.IdentityKey) {
			t.Fatalf("node 3 reads alice as %v, %v", got, err)
		}
	})
}

// TestClusterConnectExternal: --cluster connects to existing NATS servers, keeping three copies
// on a NATS cluster and one on a single server, and says what to check when none answers.
func TestClusterConnectExternal(t *testing.T) {
	nc := natstest.Start(t, 3)
	c := clusterOptions{urls: nc.URLs(), bucket: kvstore.DefaultBucket, node: "ext"}
	cc, err := c.connect(t.Context(), t.TempDir(), quiet)
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	if cc.Replicas != 3 || cc.Server != nil {
		t.Errorf("on a NATS cluster: replicas %d (want 3), embedded server %v", cc.Replicas, cc.Server)
	}

	single, err := embedded.Start(t.Context(), embedded.Options{Name: "single", Listen: "127.0.0.1:0", StoreDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer single.Close()
	c = clusterOptions{urls: single.ClientURL(), bucket: kvstore.DefaultBucket, node: "ext"}
	cc1, err := c.connect(t.Context(), t.TempDir(), quiet)
	if err != nil {
		t.Fatal(err)
	}
	defer cc1.Close()
	if cc1.Replicas != 1 {
		t.Errorf("on one NATS server: replicas %d, want 1", cc1.Replicas)
	}

	c = clusterOptions{urls: fmt.Sprintf("nats://127.0.0.1:%d", natstest.FreePorts(t, 1)[0]), node: "ext"}
	if _, err := c.connect(t.Context(), t.TempDir(), quiet); err == nil || !strings.Contains(err.Error(), "check --cluster") {
		t.Fatalf("connect to nothing: %v", err)
	}
}

// TestAdminOnCluster: users, invites and status with --cluster work on the cluster's bucket
// directly, through any NATS node, and refuse a bucket no relay created.
func TestAdminOnCluster(t *testing.T) {
	nc := natstest.Start(t, 3)
	store := storeOn(t, nc.Connect(0), 3)
	for _, n := range []string{"bob", "alice"} {
		if _, err := store.Bind(entry(t, n), directory.Admission{}); err != nil {
			t.Fatal(err)
		}
	}
	e := env{"BLINDPOST_CLUSTER": nc.URL(2)}
	code, out, stderr := run(t, e, "users", "list")
	if code != ExitOK || !strings.Contains(out, "alice") || strings.Index(out, "alice") > strings.Index(out, "bob") {
		t.Fatalf("users list on the cluster: %d %q %q", code, out, stderr)
	}
	if !strings.Contains(out, "?") || strings.Contains(out, "false") {
		t.Errorf("users list on the cluster claims to know who is online:\n%s", out)
	}
	if code, out, stderr := run(t, nil, "users", "show", "alice", "--cluster", nc.URLs()); code != ExitOK || !strings.Contains(out, "fingerprint:") {
		t.Fatalf("users show on the cluster: %d %q %q", code, out, stderr)
	}
	if code, out, _ := run(t, e, "users", "remove", "alice", "carol"); code != ExitError || !strings.Contains(out, "removed alice") {
		t.Fatalf("users remove alice carol: %d %q", code, out)
	}
	if ok, err := store.Exists("alice"); err != nil || ok {
		t.Fatalf("alice still bound in the bucket after remove: %v %v", ok, err)
	}
	code, out, stderr = run(t, e, "invites", "create", "--uses", "2")
	if code != ExitOK || !strings.HasPrefix(out, "invite ") {
		t.Fatalf("invites create: %d %q %q", code, out, stderr)
	}
	id := strings.TrimSuffix(strings.Fields(out)[3], "):")
	if invs, err := store.Invites(); err != nil || len(invs) != 1 || invs[0].ID != id {
		t.Fatalf("the bucket's invites: %v %v, want %s", invs, err, id)
	}
	if code, out, _ := run(t, e, "status"); code != ExitOK || !strings.Contains(out, `not asked (read from the cluster's bucket "blindpost")`) ||
		!strings.Contains(out, "bound names:") || !strings.Contains(out, "usable invites:       1") {
		t.Fatalf("status on the cluster: %d\n%s", code, out)
	}
	if code, out, _ := run(t, e, "invites", "revoke", id); code != ExitOK || !strings.Contains(out, "revoked "+id) {
		t.Fatalf("invites revoke: %d %q", code, out)
	}
	if code, out, _ := run(t, e, "users", "prune", "--unused-since", "24h"); code != ExitOK || !strings.Contains(out, "released 0") {
		t.Fatalf("users prune: %d %q", code, out)
	}
	if code, _, stderr := run(t, e, "users", "list", "--cluster-bucket", "other"); code != ExitError || !strings.Contains(stderr, `no bucket "other"`) {
		t.Fatalf("users list on a bucket no relay created: %d %q", code, stderr)
	}
	if code, _, stderr := run(t, e, "users", "list", "--cluster-embedded"); code != ExitConfig || !strings.Contains(stderr, "unknown flag") {
		t.Fatalf("users list --cluster-embedded: %d %q", code, stderr)
	}
}

// storeOn opens the default bucket through nc, as a relay of the cluster would.
func storeOn(t *testing.T, nc *nats.Conn, replicas int) *kvstore.Store {
	t.Helper()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	s, err := kvstore.Open(t.Context(), js, kvstore.Options{Replicas: replicas})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// entry is a binding of name to a fresh identity key.
func entry(t *testing.T, name string) directory.Entry {
	t.Helper()
	k, err := identity.Generate(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return directory.Entry{User: name, IdentityKey: k.Public(), GroupKey: k.GroupPublic(), GroupKeySig: k.GroupKeySig(name)}
}

// TestClusterHelp: -h documents the cluster flags and shows a cluster among its examples.
func TestClusterHelp(t *testing.T) {
	code, out, _ := run(t, nil, "--help")
	for _, want := range []string{"--cluster-embedded", "--cluster-routes", "--node-name", "--cluster-creds", `README "Running a cluster"`} {
		if code != ExitOK || !strings.Contains(out, want) {
			t.Errorf("--help lacks %q", want)
		}
	}
	code, out, _ = run(t, nil, "users", "--help")
	if code != ExitOK || !strings.Contains(out, "--cluster string") || strings.Contains(out, "    --cluster-embedded") || !strings.Contains(out, "directory in NATS") {
		t.Errorf("users --help: the administration commands take --cluster, not --cluster-embedded:\n%s", out)
	}
}
