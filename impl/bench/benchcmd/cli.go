// Package benchcmd is the command line of blindpost-bench (README "Performance"): the scenarios of package
// scenario on the reference relay or on any relay URL, each next to the baseline (the
// coalescing forwarder) and the other systems, the whole suite behind make bench, and the child
// processes the benchmarks start (the reference relay, both forwarders and NATS run as
// subcommands of the same binary, so that their CPU and memory are measured from /proc like
// any process's).
//
// The command itself (impl/cmd/blindpost-bench) only calls Main.
package benchcmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/blindpost/blindpost/impl/bench"
	"github.com/blindpost/blindpost/impl/bench/load"
	"github.com/blindpost/blindpost/impl/bench/scenario"
	"github.com/blindpost/blindpost/impl/bench/sysstat"
	"github.com/blindpost/blindpost/impl/bench/target"
	"github.com/blindpost/blindpost/impl/client/tlstrust"
	"github.com/blindpost/blindpost/internal/tlspin"
)

// Exit statuses of Main.
const (
	ExitOK     = 0
	ExitError  = 1 // a benchmark failed to run
	ExitConfig = 2 // bad flags
)

// usageError marks errors in the command line.
type usageError struct{ error }

// Unwrap returns the error in the command line.
func (e usageError) Unwrap() error { return e.error }

// Main runs the command line with args (without the program name) and returns the exit status.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	root := newRoot(stdout, stderr)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return ExitOK
	}
	fmt.Fprintf(stderr, "blindpost-bench: %v\n", err)
	var ue usageError
	if errors.As(err, &ue) || strings.HasPrefix(err.Error(), "unknown command") {
		return ExitConfig
	}
	return ExitError
}

// options are the flags every scenario shares.
type options struct {
	stdout, stderr io.Writer

	url       string
	pin       string
	ca        string
	serverPID string
	serverArg []string
	json      bool
	duration  time.Duration
	warmup    time.Duration
	sources   int
	dial      int
	prefix    string
	quiet     bool
	profile   string
}

func newRoot(stdout, stderr io.Writer) *cobra.Command {
	o := &options{stdout: stdout, stderr: stderr}
	root := &cobra.Command{
		Use:   "blindpost-bench",
		Short: "Load and compare Blindpost relays against bare WebSocket forwarders and NATS",
		Long: `blindpost-bench measures a Blindpost relay: every scenario runs on the relay and on the
baseline, the strongest bare forwarder we could write (a writer per connection that writes
everything queued as one TLS record, pooled buffers, the relay's TLS settings; no validation, no
authentication), and relay, latency and idle also on the typical gorilla/websocket forwarder and
(relay, latency) on NATS over wss — all started from this binary, on the same machine in the
same run (relay, latency and connect in alternating slices, so that whatever else the machine
does falls on all of them) — and every figure is reported as ours, baseline and their ratio,
with ours' ratio to the other systems.

Without --url it starts the reference relay itself, as a child process, so that its CPU time and
memory can be read from /proc. With --url it measures any relay (a third-party one included),
trusting its certificate by --pin or --ca; give --server-pid when it runs on this machine to get
its CPU and memory figures too.`,
		Example:       examples,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	pf := root.PersistentFlags()
	pf.StringVar(&o.url, "url", "", "relay to measure, wss://HOST:PORT/ (default: start the reference relay)")
	pf.StringVar(&o.pin, "pin", "", "with --url (or idle --urls): the relay's certificate pin, sha256:…")
	pf.StringVar(&o.ca, "ca", "", "with --url (or idle --urls): a PEM file of the CA that signed the relay's certificate")
	pf.StringVar(&o.serverPID, "server-pid", "", "with --url: the relay's process id on this machine, for its CPU and memory")
	pf.StringArrayVar(&o.serverArg, "server-flag", nil, "a flag for the reference relay this tool starts, such as --server-flag=--queue=256 (repeatable)")
	pf.BoolVar(&o.json, "json", false, "print the report as JSON on standard output")
	pf.DurationVar(&o.duration, "duration", 4*time.Second, "measured time of each run")
	pf.DurationVar(&o.warmup, "warmup", time.Second, "time before the measurement starts")
	pf.IntVar(&o.sources, "sources", 8, "on loopback: dial from 127.0.0.1 … 127.0.0.N, so that ports do not run out")
	pf.IntVar(&o.dial, "dial", 64, "connections each load process opens and registers at once")
	pf.StringVar(&o.prefix, "prefix", "bench-", "prefix of the usernames the benchmark registers")
	pf.BoolVar(&o.quiet, "quiet", false, "no progress on standard error")
	pf.StringVar(&o.profile, "profile", "", "write CPU profiles of the relay under test (from its pprof listener) into this directory")
	root.AddCommand(o.relayCommand(), o.latencyCommand(), o.idleCommand(), o.connectCommand(), o.fanoutCommand(), o.e2eCommand(), o.suiteCommand(), o.serverCommand(), o.forwarderCommand(), o.coalesceCommand(), o.natsCommand())
	root.AddCommand(o.attackCommand())
	root.AddCommand(o.idleLoadCommand())
	return root
}

const examples = `  # The relay scenario on the reference relay (started here) and on the baseline
  blindpost-bench relay --pairs 20 --duration 10s

  # Any relay, trusted by its pin; its CPU and memory too when it runs here
  blindpost-bench relay --url wss://relay.example:8443/ --pin sha256:9f86… --server-pid 4242

  # Everything make bench runs, as JSON
  blindpost-bench suite --json`

// common builds the scenario settings shared by every command.
func (o *options) common() scenario.Common {
	c := scenario.Common{Duration: o.duration, Warmup: o.warmup, Prefix: o.prefix, ProfileDir: o.profile}
	if !o.quiet {
		c.Progress = o.stderr
	}
	return c
}

// provider builds the systems to compare from the flags, and raises the open-file limit.
func (o *options) provider() (*target.Provider, scenario.Common, error) {
	if _, err := sysstat.RaiseOpenFiles(); err != nil {
		fmt.Fprintf(o.stderr, "blindpost-bench: warning: %v\n", err)
	}
	exe, err := os.Executable()
	if err != nil {
		return nil, scenario.Common{}, fmt.Errorf("cannot find this program to start the relays: %w", err)
	}
	p := &target.Provider{
		Launcher: target.Launcher{Path: exe, Stderr: o.stderr},
		Server:   target.ServerOptions{Extra: o.serverArg},
	}
	c := o.common()
	if o.profile != "" {
		if err := os.MkdirAll(o.profile, 0o755); err != nil {
			return nil, c, fmt.Errorf("--profile: %w", err)
		}
		if o.url != "" {
			fmt.Fprintln(o.stderr, "blindpost-bench: warning: --profile profiles only the relay this tool starts (through its metrics listener), not --url")
		}
	}
	if o.url != "" {
		trust, err := o.trust()
		if err != nil {
			return nil, c, err
		}
		pid, err := target.ParsePID(o.serverPID)
		if err != nil {
			return nil, c, usageError{fmt.Errorf("--server-pid: %w", err)}
		}
		p.Remote = target.Remote(o.url, trust, pid)
	}
	if o.url == "" || load.IsLoopback(o.url) {
		c.Sources = load.LoopbackSources(max(o.sources, 1))
	}
	c.Dial = o.dial
	return p, c, nil
}

// trust is the certificate trust --pin and --ca give (neither: the system roots).
func (o *options) trust() (load.Trust, error) {
	trust := load.Trust{}
	if o.pin != "" {
		pin, err := tlspin.ParseLenient(o.pin)
		if err != nil {
			return trust, usageError{fmt.Errorf("--pin: %w", err)}
		}
		trust.Pin = &pin
	}
	if o.ca != "" {
		pool, err := tlstrust.LoadCAFile(o.ca)
		if err != nil {
			return trust, usageError{fmt.Errorf("--ca: %w", err)}
		}
		trust.Roots = pool
	}
	return trust, nil
}

// report prints r as a table (and JSON with --json).
func (o *options) report(r *bench.Report) error {
	if o.json {
		return r.WriteJSON(o.stdout)
	}
	fmt.Fprintf(o.stdout, "machine: %s\n\n", r.Machine)
	if err := r.WriteTable(o.stdout); err != nil {
		return err
	}
	if len(r.Goals) > 0 {
		fmt.Fprintf(o.stdout, "\ngoals (medians of the runs):\n\n")
		if err := r.WriteGoals(o.stdout); err != nil {
			return err
		}
	}
	for _, p := range r.Problems {
		fmt.Fprintf(o.stdout, "problem: %s\n", p)
	}
	return nil
}

func newReport(cmd *cobra.Command) *bench.Report {
	return &bench.Report{Command: "blindpost-bench " + strings.Join(os.Args[1:], " "), Machine: bench.ThisMachine(),
		Started: time.Now(), Details: map[string]any{}}
}
