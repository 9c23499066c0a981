package benchcmd

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/blindpost/blindpost/impl/bench"
	"github.com/blindpost/blindpost/impl/bench/micro"
	"github.com/blindpost/blindpost/impl/bench/scenario"
	"github.com/blindpost/blindpost/impl/bench/target"
)

// suiteCommand is make bench: the micro-benchmarks of impl/wire and impl/e2ee, the relay's
// allocation benchmark, --runs repetitions of relay, latency and idle on every system, a short
// run of connect, fanout and e2e, and the goals of README "Performance" as the medians of the
// repetitions. It is sized to finish within five minutes on two cores.
func (o *options) suiteCommand() *cobra.Command {
	var (
		skipMicro   bool
		conns       int
		pairs       int
		benchTime   string
		benchCount  int
		runs        int
		runDuration time.Duration
	)
	cmd := &cobra.Command{
		Use:   "suite",
		Short: "Everything make bench runs: micro-benchmarks, every scenario on every system, the goals table",
		Long: `suite runs the go test benchmarks of impl/wire and impl/e2ee (each against its own baseline in
the same run) and the relay's allocation benchmark (impl/server BenchmarkRelayForwardAllocs,
when it exists), then --runs times: relay, latency (at half of the lowest relay maximum) and idle
(--conns connections), each on the relay (ours), the coalescing forwarder (the baseline), the
typical forwarder and, for relay and latency, NATS over wss; then connect, fanout and e2e once on
ours and the baseline. It prints a table per run (figure, ours, baseline, ratio, the other
systems and ours' ratio to each, goal, met?) and the goals table: each goal's ratio in every run
and their median.

It takes about four minutes on two cores with the defaults.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			start := time.Now()
			prov, c, err := o.provider()
			if err != nil {
				return err
			}
			rep := newReport(cmd)
			step := func(name string) { c.Progressf("== %s (%.0fs elapsed)", name, time.Since(start).Seconds()) }
			problem := func(scenario string, err error) {
				rep.Problems = append(rep.Problems, fmt.Sprintf("%s: %v", scenario, err))
				c.Progressf("%s failed: %v", scenario, err)
			}
			if !skipMicro {
				step(fmt.Sprintf("micro-benchmarks: %d × go test -bench . -benchtime %s ./impl/wire ./impl/e2ee/... (the median of each)", benchCount, benchTime))
				rs, err := micro.Run(ctx, micro.Options{BenchTime: benchTime, Count: benchCount, Stderr: o.stderr})
				if err != nil {
					return err
				}
				rep.Figures = append(rep.Figures, micro.Figures(rs)...)
				rep.Details["micro"] = rs
			}
			step(fmt.Sprintf("allocations: %d × go test -bench %s ./impl/server", runs, allocBench))
			allocs, allocNote := relayAllocs(ctx, runs, o)

			var goals goalRuns
			for run := 1; run <= runs; run++ {
				rc := c
				rc.Duration = runDuration
				g, figs := o.suiteRun(ctx, rc, prov, run, runs, pairs, conns, step, problem, rep)
				rep.Figures = append(rep.Figures, figs...)
				goals.add(g)
			}

			step("connect")
			if conn, err := scenario.RunConnect(ctx, scenario.ConnectOptions{Common: c}, prov); err != nil {
				problem("connect", err)
			} else {
				add(rep, "connect", conn)
			}

			step("fanout")
			if fan, err := scenario.RunFanout(ctx, scenario.FanoutOptions{Common: c, Members: 100}, prov); err != nil {
				problem("fanout", err)
			} else {
				add(rep, "fanout", fan)
			}

			step("e2e")
			eo := scenario.E2EOptions{Common: c}
			eo.Duration = min(c.Duration, 3*time.Second)
			if e2e, err := scenario.RunE2E(ctx, eo, prov); err != nil {
				problem("e2e", err)
			} else {
				add(rep, "e2e", e2e)
			}
			rep.Goals = goals.rows(allocs, allocNote)
			rep.Elapsed = time.Since(start).Seconds()
			step("done")
			if err := o.report(rep); err != nil {
				return err
			}
			if len(rep.Problems) > 0 {
				return fmt.Errorf("%d scenario(s) failed", len(rep.Problems))
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.BoolVar(&skipMicro, "skip-micro", false, "leave out the go test micro-benchmarks of impl/wire and impl/e2ee")
	f.IntVar(&conns, "conns", 5000, "idle connections of the idle scenario")
	f.IntVar(&pairs, "pairs", 20, "pairs of the relay and latency scenarios")
	f.StringVar(&benchTime, "benchtime", "50ms", "-benchtime of the micro-benchmarks")
	f.IntVar(&benchCount, "count", 3, "runs of the micro-benchmarks; the table shows the median run of each")
	f.IntVar(&runs, "runs", 3, "repetitions of relay, latency and idle; the goals are judged on their medians")
	f.DurationVar(&runDuration, "run-duration", 2*time.Second, "measured time of relay and latency in each repetition (idle holds its connections as long)")
	return cmd
}

// suiteRun is one repetition of relay, latency and idle on every system: their figures, marked
// with the run, and the values of the goals it measured.
func (o *options) suiteRun(ctx context.Context, c scenario.Common, prov *target.Provider, run, runs, pairs, conns int,
	step func(string), problem func(string, error), rep *bench.Report) (goalRun, []bench.Figure) {
	g := newGoalRun()
	var figs []bench.Figure
	mark := func(name string, fs []bench.Figure, details any) {
		for _, f := range fs {
			f.Run = run
			figs = append(figs, f)
		}
		rep.Details[fmt.Sprintf("%s-%d", name, run)] = details
	}
	label := func(name string) string { return fmt.Sprintf("%s (run %d of %d)", name, run, runs) }

	step(label("relay"))
	ro := scenario.RelayOptions{Common: c, Pairs: pairs, Size: 200, Window: 32}
	relay, err := scenario.RunRelay(ctx, ro, prov)
	if err != nil {
		problem(label("relay"), err)
	} else {
		mark("relay", relay.Figures(), relay)
		g.relay(relay)

		step(label("latency"))
		lo := scenario.LatencyOptions{RelayOptions: ro, Fraction: 0.5, Maxima: scenario.MaximaOf(relay)}
		if lat, err := scenario.RunLatency(ctx, lo, prov); err != nil {
			problem(label("latency"), err)
		} else {
			mark("latency", lat.Figures(), lat)
			g.latency(lat)
		}
	}

	step(label("idle"))
	io := scenario.IdleOptions{Common: c, Conns: conns}
	if idle, err := scenario.RunIdle(ctx, io, prov); err != nil {
		problem(label("idle"), err)
	} else {
		mark("idle", idle.Figures(), idle)
		g.idle(idle)
	}
	return g, figs
}
