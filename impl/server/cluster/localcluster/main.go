package localcluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"syscall"

	"github.com/spf13/pflag"

	"github.com/blindpost/blindpost/impl/server/servercmd"
)

// NodeArg is the first argument with which the command runs one node (blindpost-server).
const NodeArg = "node"

// Exit statuses of Main.
const (
	ExitOK     = 0
	ExitError  = 1
	ExitConfig = 2
)

const usage = `blindpost-cluster starts a cluster of Blindpost relays on this machine, to try one (make cluster):
each relay runs NATS inside (--cluster-embedded), routed to the others on loopback; all serve the
same certificate, so clients pin one pin whichever relay they reach. Ctrl-C stops them all.
The data (one directory per relay, the certificate) stays in --data for the next run.

Usage:
  blindpost-cluster [flags]

Flags:
`

// Main runs the command line with args (without the program name); self is this program, run
// again with NodeArg for each node.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer, self string) int {
	if len(args) > 0 && args[0] == NodeArg {
		return servercmd.Main(ctx, args[1:], stdout, stderr, os.LookupEnv)
	}
	o, extra, err := parse(args, stderr)
	if errors.Is(err, pflag.ErrHelp) {
		return ExitOK
	}
	if err != nil {
		fmt.Fprintf(stderr, "blindpost-cluster: %v\n", err)
		return ExitConfig
	}
	o.Extra = extra
	plan, err := Prepare(o)
	if err != nil {
		fmt.Fprintf(stderr, "blindpost-cluster: %v\n", err)
		return ExitConfig
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	launch := func(nodeArgs []string) *exec.Cmd {
		return exec.Command(self, append([]string{NodeArg}, nodeArgs...)...)
	}
	if err := plan.Run(ctx, launch, stdout); err != nil {
		fmt.Fprintf(stderr, "blindpost-cluster: %v\n", err)
		return ExitError
	}
	return ExitOK
}

// parse reads the flags; the arguments after "--" are more blindpost-server flags for every
// node.
func parse(args []string, stderr io.Writer) (Options, []string, error) {
	o := DefaultOptions()
	fs := pflag.NewFlagSet("blindpost-cluster", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.Dir, "data", o.Dir, "where the relays keep their data (rN/) and the cluster's certificate (tls/)")
	fs.IntVar(&o.Nodes, "nodes", o.Nodes, "how many relays (3: the cluster survives the loss of one)")
	fs.StringVar(&o.Host, "host", o.Host, "the loopback address every listener binds")
	fs.IntVar(&o.Port, "port", o.Port, "the first relay's wss:// port; relay N listens on port+N-1")
	fs.IntVar(&o.NATSPort, "nats-port", o.NATSPort, "the first embedded NATS client port (users list --cluster nats://…)")
	fs.IntVar(&o.RoutePort, "route-port", o.RoutePort, "the first NATS route port")
	fs.Usage = func() {
		fmt.Fprint(stderr, usage)
		fs.PrintDefaults()
		fmt.Fprint(stderr, "\nMore blindpost-server flags for every relay follow --, such as: blindpost-cluster -- --registration invite\n")
	}
	if err := fs.Parse(args); err != nil {
		return o, nil, err
	}
	var extra []string
	if at := fs.ArgsLenAtDash(); at >= 0 {
		extra = fs.Args()[at:]
		if at > 0 {
			return o, nil, fmt.Errorf("unexpected arguments %q (more relay flags go after --)", fs.Args()[:at])
		}
	} else if fs.NArg() > 0 {
		return o, nil, fmt.Errorf("unexpected arguments %q (more relay flags go after --)", fs.Args())
	}
	return o, extra, nil
}
