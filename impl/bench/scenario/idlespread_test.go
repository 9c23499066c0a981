package scenario

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/blindpost/blindpost/impl/bench/load"
	"github.com/blindpost/blindpost/impl/bench/target"
	"github.com/blindpost/blindpost/impl/server"
	"github.com/blindpost/blindpost/impl/server/servertest"
)

// loadChildEnv, set in the environment, makes the test binary a child load process (the part
// of blindpost-bench idle-load that RunLoadChild is), so that the spread test runs real child
// processes.
const loadChildEnv = "BLINDPOST_BENCH_TEST_LOAD_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(loadChildEnv) == "1" {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		err := RunLoadChild(ctx, os.Stdin, os.Stdout)
		stop()
		if err != nil {
			os.Stderr.WriteString(err.Error() + "\n")
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestIdleSpread holds 40 registered connections from two child load processes over two
// in-process relays, with two background pairs, and checks the aggregate: every connection
// opened and held, half on each relay (connection g goes to URL g mod 2), each process its
// half, no error, the background pairs delivering without error, and the relays' memory
// reported unknown (they are not processes the benchmark started).
func TestIdleSpread(t *testing.T) {
	var nodes []*target.System
	for range 2 {
		srv := servertest.Start(t, func(c *server.Config) { c.Rate, c.Burst = 1000000, 1000000 })
		pin := srv.Pin
		nodes = append(nodes, target.Remote(srv.URL, load.Trust{Pin: &pin}, 0))
	}
	const conns = 40
	o := SpreadOptions{
		Common: Common{Duration: 300 * time.Millisecond, Prefix: "spread-", Progress: testWriter{t}},
		Conns:  conns, Procs: 2, BackgroundPairs: 2, BackgroundRate: 200, Settle: 100 * time.Millisecond,
		Launcher: target.Launcher{Path: os.Args[0], Env: []string{loadChildEnv + "=1"}, Stderr: os.Stderr},
	}
	res, err := RunIdleSpread(t.Context(), o, nodes)
	if err != nil {
		t.Fatal(err)
	}
	if res.Opened != conns || res.Held != conns || res.Errors != 0 {
		t.Errorf("%d opened, %d held, %d errors (first: %s); want %d, %d, 0", res.Opened, res.Held, res.Errors, res.FirstError, conns, conns)
	}
	for i, n := range res.Nodes {
		if n.URL != nodes[i].URL || n.Held != conns/2 {
			t.Errorf("node %d: %s held %d, want %s with %d", i, n.URL, n.Held, nodes[i].URL, conns/2)
		}
	}
	if len(res.Procs) != 2 {
		t.Fatalf("%d load processes reported, want 2", len(res.Procs))
	}
	for i, p := range res.Procs {
		if p.First != i*conns/2 || p.Conns != conns/2 || p.Held != conns/2 || p.Errors != 0 || p.RSS <= 0 {
			t.Errorf("load process %d: %+v, want first %d, %d held, no error, its RSS", i, p, i*conns/2, conns/2)
		}
	}
	if res.RSSKnown || res.RSSNote == "" {
		t.Errorf("the relays' memory is reported known (%v, %q), but they are not processes the benchmark started", res.RSSKnown, res.RSSNote)
	}
	if b := res.Background; b == nil || b.Errors != 0 || b.Delivered == 0 || b.Latency.Count == 0 {
		t.Errorf("background: %+v, want deliveries and no error", b)
	}
	for _, line := range res.Spread() {
		t.Log(line)
	}
}

// testWriter writes progress lines to the test log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

// TestIdleResultJSON checks that figures that could not be measured (a relay whose process is
// not known) are written as null: JSON has no NaN, and the report must still be written.
func TestIdleResultJSON(t *testing.T) {
	b, err := json.Marshal(IdleResult{System: "ours", Conns: 3, RSSPerConn: math.NaN(), HoldCPU: math.NaN()})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"server_rss_per_conn_bytes":null`, `"server_cpu_s_while_held":null`, `"conns":3`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("%s lacks %s", b, want)
		}
	}
	if _, err := json.Marshal(SpreadResult{Nodes: []NodeResult{{URL: "wss://a/"}}}.Figures()); err != nil {
		t.Errorf("the figures of a spread run without memory figures or baseline: %v", err)
	}
}

// TestSteady: the relays count as quiet once their CPU has stopped falling, whatever its level.
func TestSteady(t *testing.T) {
	cases := []struct {
		shares []float64
		want   bool
	}{
		{[]float64{0.2, 0.2, 0.2, 0.2, 0.2}, false},                          // too few seconds to tell
		{[]float64{0.9, 0.8, 0.7, 0.5, 0.4, 0.3}, false},                     // still falling
		{[]float64{0.25, 0.13, 0.21, 0.13, 0.14, 0.12}, false},               // a third lower: falling
		{[]float64{0.17, 0.16, 0.15, 0.16, 0.15, 0.16}, true},                // level
		{[]float64{0.5, 0.4, 0.3, 0.15, 0.16, 0.17, 0.16, 0.15, 0.16}, true}, // level after a fall
		{[]float64{0.15, 0.16, 0.15, 0.30, 0.35, 0.40}, true},                // rising: not falling either
	}
	for _, tc := range cases {
		if got := steady(tc.shares); got != tc.want {
			t.Errorf("steady(%v) = %v, want %v", tc.shares, got, tc.want)
		}
	}
}
