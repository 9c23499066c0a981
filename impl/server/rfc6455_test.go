package server_test

import (
	"strings"
	"testing"
	"time"

	"github.com/blindpost/blindpost/conformance/harness"
	"github.com/blindpost/blindpost/conformance/serversuite"
	"github.com/blindpost/blindpost/impl/server"
	"github.com/blindpost/blindpost/impl/server/servertest"
	"github.com/blindpost/blindpost/impl/server/servertest/timescale"
)

// wsRules are the rules of spec §4.2 on the relay's WebSocket layer that the ws/ conformance
// cases check (RFC 6455 conformance): failing the connection (WS-12), the upgrade (WS-13), no
// extension (WS-14), masking (WS-15), the relay's own frames (WS-16), reserved bits and opcodes
// (WS-17), control frames (WS-18), fragmentation (WS-19), lengths (WS-20), unsolicited pongs
// (WS-21), the close handshake (WS-22), bad close frames (WS-23), the size limit read from the
// headers (WS-24) and UTF-8 across fragments (WS-25).
var wsRules = []string{"WS-12", "WS-13", "WS-14", "WS-15", "WS-16", "WS-17", "WS-18", "WS-19", "WS-20", "WS-21", "WS-22", "WS-23", "WS-24", "WS-25"}

// TestRFC6455 runs the ws/ cases of the conformance server suite against the relay, with its
// default limits and with the smallest limits schemas/s2c/hello_ack.json allows (the cases size
// everything from hello_ack.limits), so that a change of the relay's frame layer is checked by
// `go test ./impl/server` alone. Every rule of wsRules must be claimed by a case.
func TestRFC6455(t *testing.T) {
	var cases []harness.Case
	claimed := map[string]bool{}
	for _, c := range harness.SuiteCases(serversuite.Suite) {
		if strings.HasPrefix(c.ID, serversuite.Suite+"/ws/") {
			cases = append(cases, c)
			for _, r := range c.Rules {
				claimed[r] = true
			}
		}
	}
	for _, r := range wsRules {
		if !claimed[r] {
			t.Errorf("no ws/ case claims %s", r)
		}
	}
	for _, tc := range []struct {
		name   string
		limits func(*server.Config)
	}{
		{"defaults", func(*server.Config) {}},
		{"smallest", func(c *server.Config) {
			c.MaxMessage, c.Rate, c.Burst, c.MaxGroups, c.MaxGroupMembers = 1024, server.MinRate, server.MinBurst, 1, 1
			c.QueueBytes = 4 * c.MaxMessage
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := servertest.Start(t, tc.limits)
			env, err := serversuite.NewEnv(serversuite.Config{URL: srv.URL, Pin: srv.Pin.String(),
				Wait: timescale.Of(4 * time.Second), Slack: timescale.Of(time.Second)})
			if err != nil {
				t.Fatal(err)
			}
			if err := env.Preflight(t.Context()); err != nil {
				t.Fatal(err)
			}
			harness.RunTests(t, cases, harness.Options{Seed: uint64(time.Now().UnixNano()), Env: env, TimeoutFor: env.TimeoutFor, Parallel: 4})
		})
	}
}
