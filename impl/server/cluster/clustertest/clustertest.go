// Package clustertest starts relays in cluster mode inside a test process (spec §5.11): an
// embedded NATS cluster (package natstest), and on it relays started as servertest starts one,
// each with its own node, listener and data directory, all presenting one certificate (so one
// pin holds for the cluster, as clients need: a registration proof binds the pin, spec §4.1).
//
//	c := clustertest.Start(t, 3, 3) // three NATS servers, three relays
//	ws := c.Relays[1].Dial(t)
package clustertest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/blindpost/blindpost/impl/server"
	"github.com/blindpost/blindpost/impl/server/cluster"
	"github.com/blindpost/blindpost/impl/server/cluster/natstest"
	"github.com/blindpost/blindpost/impl/server/servertest"
	"github.com/blindpost/blindpost/internal/tlspin"
)

// Cluster is a running cluster of relays.
type Cluster struct {
	t      testing.TB
	NATS   *natstest.Cluster
	Nodes  []*cluster.Node
	Conns  []*nats.Conn         // relay i's NATS connection
	Relays []*servertest.Server // nil once stopped
	opts   []servertest.Option
	certs  string // the data directory whose certificate every relay presents
}

// Start starts natsServers embedded NATS servers and relays relays, relay i connected to NATS
// server i modulo natsServers (failing over to the others), each configured by opts after the
// test defaults. Everything stops when the test ends.
func Start(t testing.TB, natsServers, relays int, opts ...servertest.Option) *Cluster {
	t.Helper()
	c := &Cluster{t: t, NATS: natstest.Start(t, natsServers), opts: opts}
	for i := range relays {
		c.StartRelay(i % natsServers)
	}
	return c
}

// StartRelay starts one more relay, connected to NATS server natsIndex, and returns its index.
func (c *Cluster) StartRelay(natsIndex int) int {
	c.t.Helper()
	i := len(c.Relays)
	nc := c.NATS.Connect(natsIndex)
	// The first relay creates the buckets, which JetStream may refuse to place until it has
	// heard from every server ("no suitable peers"): joining is tried again until it works.
	var n *cluster.Node
	var err error
	c.NATS.WaitFor(fmt.Sprintf("relay %d joining the cluster", i+1), func() bool {
		n, err = cluster.Join(context.Background(), cluster.Options{
			Conn: nc, NodeName: fmt.Sprintf("r%d", i+1), Logger: servertest.Logger(c.t),
		})
		return err == nil
	})
	c.t.Cleanup(func() { _ = n.Close() })
	dir := c.t.TempDir()
	if c.certs == "" {
		c.certs = dir
	} else {
		copyCert(c.t, c.certs, dir)
	}
	srv := servertest.StartIn(c.t, dir, append([]servertest.Option{func(cfg *server.Config) { cfg.Cluster = n }}, c.opts...)...)
	c.Nodes = append(c.Nodes, n)
	c.Conns = append(c.Conns, nc)
	c.Relays = append(c.Relays, srv)
	return i
}

// copyCert copies the certificate and key of the data directory from into to.
func copyCert(t testing.TB, from, to string) {
	t.Helper()
	for _, f := range []string{tlspin.CertFile, tlspin.KeyFile} {
		raw, err := os.ReadFile(filepath.Join(from, f))
		if err != nil {
			t.Fatalf("clustertest: %v", err)
		}
		if err := os.WriteFile(filepath.Join(to, f), raw, 0o600); err != nil {
			t.Fatalf("clustertest: %v", err)
		}
	}
}

// URLs returns the URLs of the running relays.
func (c *Cluster) URLs() []string {
	var out []string
	for _, r := range c.Relays {
		if r != nil {
			out = append(out, r.URL)
		}
	}
	return out
}

// StopRelay shuts relay i down, as a relay leaving the cluster does: its clients are closed
// with 1001, and its node closes.
func (c *Cluster) StopRelay(i int) {
	c.t.Helper()
	if c.Relays[i] == nil {
		return
	}
	if err := c.Relays[i].Close(); err != nil {
		c.t.Errorf("clustertest: stop relay %d: %v", i+1, err)
	}
	_ = c.Nodes[i].Close()
	c.Relays[i] = nil
}

// WaitBuckets waits until every bucket of the cluster has a stream leader, after a NATS server
// was stopped: until then the relays' reads and writes wait for the election.
func (c *Cluster) WaitBuckets() {
	c.t.Helper()
	var nc *nats.Conn
	for i, r := range c.Relays {
		if r != nil {
			nc = c.Conns[i]
			break
		}
	}
	js, err := jetstream.New(nc)
	if err != nil {
		c.t.Fatalf("clustertest: %v", err)
	}
	streams := []string{"KV_" + cluster.DefaultBucket, "KV_" + cluster.DefaultBucket + "-presence", "KV_" + cluster.DefaultBucket + "-members"}
	c.NATS.WaitFor("a leader for every bucket", func() bool {
		for _, name := range streams {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			st, err := js.Stream(ctx, name)
			var info *jetstream.StreamInfo
			if err == nil {
				info, err = st.Info(ctx)
			}
			cancel()
			if err != nil || info.Cluster == nil || info.Cluster.Leader == "" {
				return false
			}
		}
		return true
	})
}
