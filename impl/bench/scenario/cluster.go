package scenario

import (
	"context"
	"fmt"

	"github.com/blindpost/blindpost/impl/bench"
	"github.com/blindpost/blindpost/impl/bench/target"
)

// ClusterRelayComparison is the relay scenario on a cluster of reference relays, every pair
// split across two nodes so that every message crosses NATS, next to one reference relay with
// the same pairs, measured in alternating slices (ab.go): what crossing NATS costs in
// throughput, latency and server CPU per message (the cluster's CPU is that of all its nodes,
// the NATS servers inside them included).
type ClusterRelayComparison struct {
	Nodes   int         `json:"nodes"`
	Cluster RelayResult `json:"cluster"`
	Single  RelayResult `json:"single_node"`
}

// RunRelayCluster runs the relay load on the cluster startCluster starts and on single (one
// reference relay), alternately.
func RunRelayCluster(ctx context.Context, o RelayOptions, nodes int, startCluster, single func(context.Context) (*target.System, error)) (ClusterRelayComparison, error) {
	rs, err := relayAB(ctx, o, []starter{startCluster, single}, []float64{o.Rate, o.Rate}, "relay-cluster")
	out := ClusterRelayComparison{Nodes: nodes}
	if len(rs) == 2 {
		out.Cluster, out.Single = rs[0], rs[1]
	}
	return out, err
}

// Figures are the relay rows of the cluster with the single relay as the baseline column: the
// ratios are the cost of the cluster. They carry no goal: a cluster is for what one machine
// cannot hold, and README "Running a cluster" reports what it costs.
func (r ClusterRelayComparison) Figures() []bench.Figure {
	us := func(ns int64) float64 { return float64(ns) / 1e3 }
	scen := fmt.Sprintf("relay-cluster-%d", r.Nodes)
	row := func(name, unit string, v func(RelayResult) float64) bench.Figure {
		return bench.NewFigure(scen, name, unit, v(r.Cluster), v(r.Single), nil)
	}
	return []bench.Figure{
		row("cross-node throughput (baseline: one relay)", "msg/s", func(x RelayResult) float64 { return x.Throughput }),
		row("server CPU per message, all nodes", "µs", func(x RelayResult) float64 { return x.CPUPerMillion }),
		row("messages per server CPU-second", "msg/CPU-s", RelayResult.PerCPUSecond),
		row("latency p50 at max load", "µs", func(x RelayResult) float64 { return us(x.Latency.P50) }),
		row("latency p99 at max load", "µs", func(x RelayResult) float64 { return us(x.Latency.P99) }),
		row("relays' RSS", "MiB", func(x RelayResult) float64 { return float64(x.ServerRSS) / (1 << 20) }),
		bench.NewFigure(scen, "errors", "", float64(r.Cluster.Errors), float64(r.Single.Errors), bench.AbsoluteAtMost(0)),
	}
}

// ClusterStarter starts a cluster of n reference relays through l, for RunRelayCluster.
func ClusterStarter(l target.Launcher, n int, o target.ServerOptions) func(context.Context) (*target.System, error) {
	return func(ctx context.Context) (*target.System, error) { return l.StartCluster(ctx, n, o) }
}
