package serversuite_test

import (
	"testing"

	"github.com/blindpost/blindpost/conformance/harness"
	"github.com/blindpost/blindpost/impl/server"
	"github.com/blindpost/blindpost/impl/server/cluster/clustertest"
)

// TestConformServerCluster runs the whole server suite against three relays in cluster mode on
// a three-node NATS cluster, the connections of every case spread over the three relays' URLs
// (spread.go): the cluster is one relay to its clients (spec §5.11 [CLU-1]), so every case
// that passes against one relay passes against it.
func TestConformServerCluster(t *testing.T) {
	c := clustertest.Start(t, 3, 3, func(cfg *server.Config) {
		cfg.RegisterTimeout, cfg.PingInterval, cfg.PongTimeout = registerTimeout, pingInterval, pongTimeout
		cfg.MaxUsers = maxUsers
		cfg.HandshakeTimeout = handshakeTimeout
	})
	s := seed()
	t.Logf("seed %d (replay with -args -conform.seed=%d)", s, s)
	rep := conformServer(t, c.Relays[0], c.URLs(), s, func(r harness.Result) bool {
		return r.ID == "server/relay/too-large" // as in TestConformServer/defaults
	})
	if len(rep.Targets) != 3 {
		t.Fatalf("the report lists %d URLs, want 3: %+v", len(rep.Targets), rep.Targets)
	}
	for _, tg := range rep.Targets {
		if tg.Connections == 0 {
			t.Errorf("no case connected to %s: the connections were not spread", tg.URL)
		}
		t.Logf("%s: %d connections", tg.URL, tg.Connections)
	}
}
