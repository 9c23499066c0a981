package cli

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/blindpost/blindpost/impl/bench/micro"
	"github.com/blindpost/blindpost/impl/bench/scenario"
)

// suiteCommand is make bench: the micro-benchmarks of impl/wire and impl/e2ee, then a short run
// of every scenario, as one table. It is sized to finish within three minutes on two cores.
func (o *options) suiteCommand() *cobra.Command {
	var (
		skipMicro  bool
		conns      int
		pairs      int
		benchTime  string
		benchCount int
	)
	cmd := &cobra.Command{
		Use:   "suite",
		Short: "Everything make bench runs: micro-benchmarks and a short run of every scenario, as one table",
		Long: `suite runs the go test benchmarks of impl/wire and impl/e2ee (each against its own baseline in
the same run), then relay, latency (at half of the relay maximum each system reached), idle
(--conns connections), connect, fanout and e2e, each on the relay and on the baseline forwarder,
and prints one table: figure, ours, baseline, ratio, goal, met?

It takes about two minutes on two cores with the default --duration.`,
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
			if !skipMicro {
				step(fmt.Sprintf("micro-benchmarks: %d × go test -bench . -benchtime %s ./impl/wire ./impl/e2ee/... (the median of each)", benchCount, benchTime))
				rs, err := micro.Run(ctx, micro.Options{BenchTime: benchTime, Count: benchCount, Stderr: o.stderr})
				if err != nil {
					return err
				}
				rep.Figures = append(rep.Figures, micro.Figures(rs)...)
				rep.Details["micro"] = rs
			}
			problem := func(scenario string, err error) {
				rep.Problems = append(rep.Problems, fmt.Sprintf("%s: %v", scenario, err))
				c.Progressf("%s failed: %v", scenario, err)
			}

			step("relay")
			ro := scenario.RelayOptions{Common: c, Pairs: pairs, Size: 200, Window: 32}
			relay, err := scenario.RunRelay(ctx, ro, prov)
			if err != nil {
				problem("relay", err)
			} else {
				add(rep, "relay", relay)
			}

			step("latency")
			lo := scenario.LatencyOptions{RelayOptions: ro, Fraction: 0.5,
				OursMax: relay.Ours.Throughput, BaselineMax: relay.Baseline.Throughput}
			if lat, err := scenario.RunLatency(ctx, lo, prov); err != nil {
				problem("latency", err)
			} else {
				add(rep, "latency", lat)
			}

			step("idle")
			io := scenario.IdleOptions{Common: c, Conns: conns}
			io.Duration = min(c.Duration, 3*time.Second)
			if idle, err := scenario.RunIdle(ctx, io, prov); err != nil {
				problem("idle", err)
			} else {
				add(rep, "idle", idle)
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
	f.BoolVar(&skipMicro, "skip-micro", false, "leave out the go test micro-benchmarks")
	f.IntVar(&conns, "conns", 10000, "idle connections of the idle scenario")
	f.IntVar(&pairs, "pairs", 20, "pairs of the relay and latency scenarios")
	f.StringVar(&benchTime, "benchtime", "50ms", "-benchtime of the micro-benchmarks")
	f.IntVar(&benchCount, "count", 3, "runs of the micro-benchmarks; the table shows the median run of each")
	return cmd
}
