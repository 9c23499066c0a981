package serversuite_test

import (
	"testing"
	"time"

	"github.com/blindpost/blindpost/conformance/harness"
	"github.com/blindpost/blindpost/conformance/serversuite"
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

// TestConformServerClusterLimits runs the cases of the limits over the whole relay against a
// cluster of three relays, their connections spread over the three URLs: the directory's bound
// (REG-13) and the registration limit over all addresses (INV-5) are one limit for the cluster,
// not one per relay (spec §5.11 [CLU-7]). Three relays each with its own bound would let three
// times as many names in.
func TestConformServerClusterLimits(t *testing.T) {
	for _, tc := range []struct {
		name   string
		caseID string
		relay  func(*server.Config)
		suite  func(*serversuite.Config)
	}{
		{"rate-global", configuredCases[1], func(c *server.Config) { c.RegisterBurstGlobal, c.RegisterRateGlobal = 3, 0.001 },
			func(c *serversuite.Config) { c.RegisterBurst = 3 }},
		{"full", serversuite.Suite + "/registration/server-full", func(c *server.Config) { c.MaxUsers = 2 },
			func(c *serversuite.Config) { c.MaxUsers = 2 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := clustertest.Start(t, 3, 3, func(cfg *server.Config) {
				cfg.RegisterTimeout, cfg.PingInterval, cfg.PongTimeout = registerTimeout, pingInterval, pongTimeout
				tc.relay(cfg)
			})
			cfg := serversuite.Config{URLs: c.URLs(), Pin: c.Relays[0].Pin.String(),
				RegisterTimeout: registerTimeout, PingInterval: pingInterval, PongTimeout: pongTimeout,
				Wait: 4 * time.Second, Slack: time.Second}
			tc.suite(&cfg)
			runCase(t, cfg, tc.caseID)
		})
	}
}
