package benchcmd

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/blindpost/blindpost/impl/bench"
	"github.com/blindpost/blindpost/impl/bench/scenario"
	"github.com/blindpost/blindpost/impl/bench/sysstat"
	"github.com/blindpost/blindpost/impl/bench/target"
)

// figured is a scenario's result, with the rows it adds to the table.
type figured interface{ Figures() []bench.Figure }

// add puts a scenario's result into rep: its rows in the table, the whole result under name.
func add(rep *bench.Report, name string, res figured) {
	rep.Figures = append(rep.Figures, res.Figures()...)
	rep.Details[name] = res
}

// runScenario is the RunE of a scenario command: the systems the flags name, the scenario run
// on them with the shared settings (run may note problems in the report), and its report.
func runScenario[R figured](o *options, name string, run func(context.Context, scenario.Common, *target.Provider, *bench.Report) (R, error)) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, _ []string) error {
		prov, c, err := o.provider()
		if err != nil {
			return err
		}
		rep := newReport(cmd)
		res, err := run(cmd.Context(), c, prov, rep)
		if err != nil {
			return err
		}
		add(rep, name, res)
		return o.report(rep)
	}
}

func (o *options) relayCommand() *cobra.Command {
	ro := scenario.RelayOptions{}
	sequential := false
	nodes := 0
	plain := runScenario(o, "relay", func(ctx context.Context, c scenario.Common, prov *target.Provider, _ *bench.Report) (scenario.RelayComparison, error) {
		ro.Common = c
		if sequential || o.profile != "" {
			return scenario.RunRelaySequential(ctx, ro, prov)
		}
		return scenario.RunRelay(ctx, ro, prov)
	})
	cmd := &cobra.Command{
		Use:   "relay",
		Short: "Pairs relaying fixed-size ciphertexts, pipelined, on ours, both forwarders and NATS: msgs/s, server CPU per message, latency",
		Long: `relay opens --pairs pairs, each connection sending to its partner as fast as --window allows (or at
--rate), on the reference relay, the coalescing forwarder (the baseline), the typical forwarder
and NATS over wss, in alternating slices, and reports throughput, server CPU per message and
latency.

With --cluster N it compares a cluster of N reference relays with NATS inside them
(--cluster-embedded, routed on loopback, one certificate) against one reference relay instead,
in alternating slices: every pair has one connection on one node and the other on the next, so
every message crosses NATS; the cluster's CPU is that of all its nodes.

  blindpost-bench relay --cluster 3 --pairs 20 --duration 10s`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if nodes != 0 {
				return o.runRelayCluster(cmd, ro, nodes)
			}
			return plain(cmd, args)
		},
	}
	f := cmd.Flags()
	f.IntVar(&ro.Pairs, "pairs", 20, "connected pairs")
	f.IntVar(&ro.Size, "size", 200, "ciphertext bytes per message")
	f.Float64Var(&ro.Rate, "rate", 0, "offered messages per second over all connections (0: as fast as --window allows)")
	f.IntVar(&ro.Window, "window", 32, "messages a connection may have in flight")
	f.BoolVar(&sequential, "sequential", false, "measure each system in turn, in one run each, rather than in alternating slices (--profile implies it)")
	f.IntVar(&nodes, "cluster", 0, "compare a cluster of N reference relays started here (pairs across nodes) with one reference relay, instead of the other systems")
	return cmd
}

// runRelayCluster runs the relay scenario on a cluster of nodes reference relays against one.
func (o *options) runRelayCluster(cmd *cobra.Command, ro scenario.RelayOptions, nodes int) error {
	if err := checkClusterNodes(o, nodes); err != nil {
		return err
	}
	return runScenario(o, "relay-cluster", func(ctx context.Context, c scenario.Common, prov *target.Provider, _ *bench.Report) (scenario.ClusterRelayComparison, error) {
		ro.Common = c
		return scenario.RunRelayCluster(ctx, ro, nodes, scenario.ClusterStarter(prov.Launcher, nodes, prov.Server), prov.Ours)
	})(cmd, nil)
}

// maxClusterNodes bounds --cluster: every node is a relay process with a NATS server inside.
const maxClusterNodes = 9

// checkClusterNodes refuses a --cluster this tool cannot start.
func checkClusterNodes(o *options, nodes int) error {
	switch {
	case nodes < 2 || nodes > maxClusterNodes:
		return usageError{fmt.Errorf("--cluster %d: from 2 to %d nodes", nodes, maxClusterNodes)}
	case o.url != "":
		return usageError{fmt.Errorf("--cluster starts its relays here; --url measures one relay running elsewhere: give one")}
	}
	return nil
}

func (o *options) idleCommand() *cobra.Command {
	io := scenario.IdleOptions{}
	var sp spreadFlags
	single := runScenario(o, "idle", func(ctx context.Context, c scenario.Common, prov *target.Provider, rep *bench.Report) (scenario.IdleComparison, error) {
		io.Common = c
		if held, note := fitOpenFiles(io.Conns, 2*io.BackgroundPairs); held < io.Conns {
			fmt.Fprintf(o.stderr, "blindpost-bench: %s\n", note)
			rep.Problems = append(rep.Problems, note)
			io.Conns = held
		}
		return scenario.RunIdle(ctx, io, prov)
	})
	cmd := &cobra.Command{
		Use:   "idle",
		Short: "Hold many idle connections (registered on the relay): relay memory per connection",
		Long: `idle opens --conns connections (registered with hello and register on a Blindpost relay,
upgraded and silent on the two forwarders), waits for the relay's memory to settle, holds them for
--duration and reports the relay's resident memory per connection. With --background-pairs a
relay load runs on the side once the connections are open, through the hold, and its latency
and errors are reported too (a registration the relay answers internal is tried again after a
pause, up to five times, and counted):

  blindpost-bench idle --conns 10000 --background-pairs 50

One process holds at most RLIMIT_NOFILE descriptors (each connection takes one in the relay
and one in the load generator). With --procs N the connections are held by N child load
processes instead (--conns/N each), spread over --urls (the URLs of a relay system, such as the
nodes of a cluster, trusted by one --pin or --ca), over --relays M reference relays started
here, or over the nodes of a --cluster M started here (reference relays with NATS inside);
connection g goes to URL g mod the number of URLs. The report gives the connections held
and the errors, per node and in all, the background pairs' latency, and the relays' memory when
they are processes this program started (for --urls it is unknown, and the report says so).
The forwarders are single processes and not run; with --compare-single the baseline column is
the single-node run of the same size per node (--conns divided by the nodes, the same
background pairs) on a reference relay started here, run after the spread run.

  # 100,000 connections over six local reference relays (independent, not a cluster)
  blindpost-bench idle --conns 100000 --procs 6 --relays 6 --background-pairs 50 --duration 60s --compare-single

  # 100,000 connections over a cluster of six reference relays started here (make scale)
  blindpost-bench idle --cluster 6 --procs 6 --conns 100000 --background-pairs 50 --cross-node --duration 60s --compare-single

  # A cluster's three nodes, the background pairs across nodes
  blindpost-bench idle --urls wss://10.0.0.1:8443/,wss://10.0.0.2:8443/,wss://10.0.0.3:8443/ --pin sha256:… \
      --conns 100000 --procs 6 --background-pairs 50 --cross-node --duration 60s`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if sp.active() {
				return o.runSpread(cmd, io, sp)
			}
			return single(cmd, args)
		},
	}
	f := cmd.Flags()
	f.IntVar(&io.Conns, "conns", 10000, "idle connections to hold")
	f.IntVar(&io.BackgroundPairs, "background-pairs", 0, "pairs relaying in the background meanwhile")
	f.Float64Var(&io.BackgroundRate, "background-rate", 0, "their messages per second in all (default 100 per pair)")
	f.IntVar(&io.Size, "size", 200, "ciphertext bytes of the background messages")
	sp.register(f)
	return cmd
}

func (o *options) connectCommand() *cobra.Command {
	co := scenario.ConnectOptions{}
	cmd := &cobra.Command{
		Use:   "connect",
		Short: "New connections per second: TLS + WebSocket (+ hello/register on the relay)",
		Args:  cobra.NoArgs,
		RunE: runScenario(o, "connect", func(ctx context.Context, c scenario.Common, prov *target.Provider, _ *bench.Report) (scenario.ConnectComparison, error) {
			co.Common = c
			return scenario.RunConnect(ctx, co, prov)
		}),
	}
	cmd.Flags().IntVar(&co.Workers, "conns", 8, "connections being opened at once")
	return cmd
}

func (o *options) latencyCommand() *cobra.Command {
	lo := scenario.LatencyOptions{}
	cmd := &cobra.Command{
		Use:   "latency",
		Short: "The relay load at a fixed rate, half of the lowest maximum, on every system: latency p50/p99",
		Long: `latency first measures every system's maximum relay rate (ours, the coalescing forwarder,
the typical forwarder and NATS over wss, as the relay scenario does, unless --rate gives the
rate), then offers half of the lowest to all of them on a schedule, and reports the latency from
the scheduled send time to the delivery (no coordinated omission).`,
		Args: cobra.NoArgs,
		RunE: runScenario(o, "latency", func(ctx context.Context, c scenario.Common, prov *target.Provider, _ *bench.Report) (scenario.LatencyComparison, error) {
			lo.Common = c
			if lo.Rate > 0 {
				lo.Maxima = map[string]float64{}
				for _, n := range []string{target.Ours, target.Baseline, target.Typical, target.NATSName} {
					lo.Maxima[n] = lo.Rate / lo.Fraction
				}
			}
			return scenario.RunLatency(ctx, lo, prov)
		}),
	}
	f := cmd.Flags()
	f.IntVar(&lo.Pairs, "pairs", 20, "connected pairs")
	f.IntVar(&lo.Size, "size", 200, "ciphertext bytes per message")
	f.Float64Var(&lo.Rate, "rate", 0, "offered messages per second for both systems (default: --fraction of the lower maximum)")
	f.IntVar(&lo.Window, "window", 32, "messages a connection may have in flight")
	f.Float64Var(&lo.Fraction, "fraction", 0.5, "of the maximum to offer")
	return cmd
}

func (o *options) fanoutCommand() *cobra.Command {
	fo := scenario.FanoutOptions{}
	cmd := &cobra.Command{
		Use:   "fanout",
		Short: "One sender, a group of members (a real epoch commit on the relay): deliveries per second",
		Args:  cobra.NoArgs,
		RunE: runScenario(o, "fanout", func(ctx context.Context, c scenario.Common, prov *target.Provider, _ *bench.Report) (scenario.FanoutComparison, error) {
			fo.Common = c
			return scenario.RunFanout(ctx, fo, prov)
		}),
	}
	f := cmd.Flags()
	f.IntVar(&fo.Members, "conns", 100, "members of the group, the sender included")
	f.IntVar(&fo.Size, "size", 200, "characters of text per message")
	f.IntVar(&fo.Window, "window", 16, "messages the slowest member may have yet to receive")
	return cmd
}

func (o *options) e2eCommand() *cobra.Command {
	eo := scenario.E2EOptions{}
	cmd := &cobra.Command{
		Use:   "e2e",
		Short: "Two reference clients chatting end to end through the relay: round trips and client CPU",
		Args:  cobra.NoArgs,
		RunE: runScenario(o, "e2e", func(ctx context.Context, c scenario.Common, prov *target.Provider, _ *bench.Report) (scenario.E2EComparison, error) {
			eo.Common = c
			return scenario.RunE2E(ctx, eo, prov)
		}),
	}
	cmd.Flags().IntVar(&eo.Size, "size", 200, "characters of text per message")
	return cmd
}

// openFilesMargin is what a process needs besides its connections: listeners, the directory,
// the poller, pipes, the standard streams.
const openFilesMargin = 200

// fitOpenFiles returns how many of conns idle connections (next to extra other connections)
// fit in the open-file limit, which the relay started here inherits and which bounds every
// process of this machine: one connection is one descriptor on each side. When they do not
// all fit it explains why.
func fitOpenFiles(conns, extra int) (int, string) {
	limit, err := sysstat.RaiseOpenFiles()
	if err != nil {
		return conns, ""
	}
	fit := int(limit) - extra - openFilesMargin
	if conns <= fit {
		return conns, ""
	}
	return max(fit, 0), fmt.Sprintf("idle: %d connections requested, but RLIMIT_NOFILE is %d here (the hard limit; raising it needs "+
		"CAP_SYS_RESOURCE) and each connection takes a descriptor in the relay and in this program: holding %d", conns, limit, max(fit, 0))
}

func (o *options) attackCommand() *cobra.Command {
	ao := scenario.AttackOptions{}
	var ceilingMiB int64
	cmd := &cobra.Command{
		Use:   "attack",
		Short: "Honest pairs with and without attackers (registration flood, slowloris, ping and relay floods): delivery, p99, RSS",
		Long: `attack runs --pairs honest pairs relaying --rate messages a second in all on a relay with its
default limits, first alone, then while attackers run from other loopback addresses: a
registration flood, slowloris TCP connections that never start TLS, ping floods and floods of
relays outside any chat. It reports the honest delivery rate and latency under attack against
the quiet run (goal ≥ 0.9×), the share of honest registrations that succeeded, and the relay's
peak resident memory against --rss-ceiling:

  blindpost-bench attack --pairs 20 --rate 400 --duration 10s`,
		Args: cobra.NoArgs,
		RunE: runScenario(o, "attack", func(ctx context.Context, c scenario.Common, prov *target.Provider, _ *bench.Report) (scenario.AttackResult, error) {
			ao.Common = c
			ao.RSSCeiling = ceilingMiB << 20
			return scenario.RunAttack(ctx, ao, prov)
		}),
	}
	f := cmd.Flags()
	f.IntVar(&ao.Pairs, "pairs", 20, "honest pairs")
	f.Float64Var(&ao.Rate, "rate", 400, "honest messages per second over all honest connections")
	f.IntVar(&ao.Size, "size", 200, "ciphertext bytes per honest message")
	f.IntVar(&ao.Attackers, "attackers", 4, "connections of each flooding attack at once")
	f.IntVar(&ao.Slowloris, "slowloris", 2000, "idle TCP connections the slowloris attacker tries to hold")
	f.Int64Var(&ceilingMiB, "rss-ceiling", 512, "MiB the relay's resident memory must stay under")
	return cmd
}
