package embedded

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/blindpost/blindpost/impl/server/cluster/kvstore"
	"github.com/blindpost/blindpost/impl/server/cluster/natstest"
	"github.com/blindpost/blindpost/impl/server/servertest/timescale"
)

// TestOneNode: a single node with JetStream, no routes, accepts an in-process client that can
// create and use a key-value bucket.
func TestOneNode(t *testing.T) {
	s, err := Start(t.Context(), Options{Name: "solo", Listen: "127.0.0.1:0", StoreDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if !strings.HasPrefix(s.ClientURL(), "nats://127.0.0.1:") || strings.HasSuffix(s.ClientURL(), ":4222") {
		t.Errorf("ClientURL %q: want a loopback URL on a picked port", s.ClientURL())
	}
	if s.RouteAddr() != nil {
		t.Errorf("RouteAddr %v on a node without routes", s.RouteAddr())
	}
	putGet(t, s, 1)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("a second Close: %v", err)
	}
}

// testLogger shows the servers' logs when BLINDPOST_TEST_LOG is set, and discards them
// otherwise.
func testLogger() *slog.Logger {
	if os.Getenv("BLINDPOST_TEST_LOG") == "" {
		return nil
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// putGet writes and reads a key in an R-replicas bucket through an in-process connection.
func putGet(t *testing.T, s *Server, replicas int) {
	t.Helper()
	nc, err := s.Connect()
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	// Creating an R3 bucket goes through the meta leader and a stream leader's election: under
	// the race detector, on two cores shared with other test binaries, CI has seen it take more
	// than 20 s, so the limit stretches with the tests' timers (BLINDPOST_TEST_TIMESCALE).
	ctx, cancel := context.WithTimeout(t.Context(), timescale.Of(20*time.Second))
	defer cancel()
	// As the relay opens its buckets: a bucket just created has no stream leader for a moment,
	// and its first requests are sent again until one is elected (kvstore.OpenBucket).
	kv, _, err := kvstore.OpenBucket(ctx, js, "t", "test bucket", replicas, jetstream.FileStorage)
	if err != nil {
		t.Fatalf("create an R%d bucket: %v", replicas, err)
	}
	if _, err := kv.Create(ctx, "k", []byte("v")); err != nil {
		t.Fatal(err)
	}
	e, err := kv.Get(ctx, "k")
	if err != nil || string(e.Value()) != "v" {
		t.Fatalf("Get: %v, %v", e, err)
	}
}

// startCluster starts n routed nodes at once (each waits for a quorum of the others) and
// returns them once every one has seen the meta leader.
func startCluster(t *testing.T, n int, tlsFor func(i int) *RouteTLS) []*Server {
	t.Helper()
	servers := natstest.Routed(t, n, func(ctx context.Context, i int, routes []string) (*Server, error) {
		o := Options{Name: fmt.Sprintf("n%d", i+1), Listen: "127.0.0.1:0", RouteListen: routes[i], Routes: routes,
			StoreDir: t.TempDir(), Wait: timescale.Of(30 * time.Second), Logger: testLogger()}
		if tlsFor != nil {
			o.RouteTLS = tlsFor(i)
		}
		return Start(ctx, o)
	}, func(s *Server) { s.Close() })
	for _, s := range servers {
		t.Cleanup(func() { s.Close() })
	}
	return servers
}

// TestThreeNodesRouted: three nodes with each other's routes form one JetStream cluster: each
// is routed to the other two, all name the same meta leader, and an R3 bucket works.
func TestThreeNodesRouted(t *testing.T) {
	servers := startCluster(t, 3, nil)
	checkCluster(t, servers)
}

func checkCluster(t *testing.T, servers []*Server) {
	t.Helper()
	leader := servers[0].MetaLeader()
	for i, s := range servers {
		if got := s.Peers(); got != len(servers)-1 {
			t.Errorf("node %d is routed to %d peers, want %d", i+1, got, len(servers)-1)
		}
		if got := s.MetaLeader(); got == "" || got != leader {
			t.Errorf("node %d names meta leader %q, node 1 names %q", i+1, got, leader)
		}
	}
	putGet(t, servers[1], 3)
}

// TestRouteTLS: the same three nodes with mutual TLS on the routes, one CA for all.
func TestRouteTLS(t *testing.T) {
	dir := t.TempDir()
	ca, caKey := writeCA(t, dir)
	servers := startCluster(t, 3, func(i int) *RouteTLS {
		return writeLeaf(t, dir, fmt.Sprintf("n%d", i+1), ca, caKey)
	})
	checkCluster(t, servers)
}

// TestStartErrors: what cannot work fails with an error that says what, instead of hanging or
// ending the process (nats-server's own logger exits on a port in use).
func TestStartErrors(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	closed := natstest.FreePorts(t, 1)[0] // nothing listens there
	tests := []struct {
		name string
		opts Options
		want string
	}{
		{"no name", Options{Listen: "127.0.0.1:0", StoreDir: "x"}, "server name is required"},
		{"no storage", Options{Name: "a", Listen: "127.0.0.1:0"}, "storage directory is required"},
		{"bad listen", Options{Name: "a", Listen: "127.0.0.1", StoreDir: "x"}, "client listen address"},
		{"bad port", Options{Name: "a", Listen: "127.0.0.1:99999", StoreDir: "x"}, "from 0 to 65535"},
		{"routes without listen", Options{Name: "a", Listen: "127.0.0.1:0", StoreDir: "x", Routes: []string{"127.0.0.1:1"}}, "need a route listen address"},
		{"bad route scheme", Options{Name: "a", Listen: "127.0.0.1:0", StoreDir: "x", RouteListen: "127.0.0.1:0", Routes: []string{"http://h:1"}}, "scheme must be nats-route"},
		{"route TLS without files", Options{Name: "a", Listen: "127.0.0.1:0", StoreDir: "x", RouteListen: "127.0.0.1:0", Routes: []string{"127.0.0.1:1"}, RouteTLS: &RouteTLS{}}, "route TLS needs"},
		{"client port in use", Options{Name: "a", Listen: busy.Addr().String(), StoreDir: t.TempDir(), Wait: 10 * time.Second}, "address already in use"},
		{"route port in use", Options{Name: "a", Listen: "127.0.0.1:0", RouteListen: busy.Addr().String(), Routes: []string{busy.Addr().String()},
			StoreDir: t.TempDir(), Wait: 10 * time.Second}, "address already in use"},
		{"route listen without routes", Options{Name: "a", Listen: "127.0.0.1:0", RouteListen: "127.0.0.1:0", StoreDir: "x"}, "needs routes"},
		{"unreachable routes", Options{Name: "a", Listen: "127.0.0.1:0", RouteListen: "127.0.0.1:0", StoreDir: t.TempDir(), Wait: time.Second,
			Routes: []string{fmt.Sprintf("127.0.0.1:%d", closed), "127.0.0.1:1"}}, "no JetStream meta leader: routed to 0 other node(s)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Start(t.Context(), tt.opts)
			if err == nil {
				s.Close()
				t.Fatalf("Start succeeded, want an error with %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "embedded: ") {
				t.Fatalf("error %q, want embedded: … %q", err, tt.want)
			}
		})
	}
}

// TestStartCancelled: a cancelled context ends the wait for a meta leader.
func TestStartCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := Start(ctx, Options{Name: "a", Listen: "127.0.0.1:0", RouteListen: "127.0.0.1:0", StoreDir: t.TempDir(), Routes: []string{"127.0.0.1:1"}})
	if err == nil || !strings.Contains(err.Error(), "cancelled") {
		t.Fatalf("Start on a cancelled context: %v", err)
	}
}

func writeCA(t *testing.T, dir string) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test route CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	writePEM(t, filepath.Join(dir, "ca.pem"), "CERTIFICATE", der)
	ca, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return ca, key
}

func writeLeaf(t *testing.T, dir, name string, ca *x509.Certificate, caKey *ecdsa.PrivateKey) *RouteTLS {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	rt := &RouteTLS{Cert: filepath.Join(dir, name+".pem"), Key: filepath.Join(dir, name+"-key.pem"), CA: filepath.Join(dir, "ca.pem")}
	writePEM(t, rt.Cert, "CERTIFICATE", der)
	writePEM(t, rt.Key, "PRIVATE KEY", kder)
	return rt
}

func writePEM(t *testing.T, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}
