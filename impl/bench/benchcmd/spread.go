package benchcmd

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/blindpost/blindpost/impl/bench/load"
	"github.com/blindpost/blindpost/impl/bench/scenario"
	"github.com/blindpost/blindpost/impl/bench/sysstat"
	"github.com/blindpost/blindpost/impl/bench/target"
)

// spreadFlags are the idle command's flags for a spread run (scenario.RunIdleSpread).
type spreadFlags struct {
	urls      []string
	procs     int
	relays    int
	crossNode bool
	single    bool
	cluster   int
}

func (s *spreadFlags) register(f *pflag.FlagSet) {
	f.StringSliceVar(&s.urls, "urls", nil, "spread the connections over these URLs of one relay system, wss://A/,wss://B/ (repeatable; one --pin or --ca for all); implies --procs 1 at least")
	f.IntVar(&s.procs, "procs", 0, "hold the connections in N child load processes, --conns/N each (0: in this process, as a single-relay run)")
	f.IntVar(&s.relays, "relays", 0, "without --urls: start M reference relays here and spread the connections over them (independent relays, not a cluster)")
	f.BoolVar(&s.single, "compare-single", false, "then run the single-node idle run of the same size per node (--conns divided by the nodes, the same background pairs) "+
		"on a reference relay started here: the baseline column")
	f.IntVar(&s.cluster, "cluster", 0, "without --urls: start N reference relays here as one cluster (NATS inside them, routed on loopback) and spread the connections over them")
	f.BoolVar(&s.crossNode, "cross-node", false, "put the two connections of each background pair on different URLs (a cluster's nodes; independent relays cannot relay between them)")
}

// active reports whether the flags ask for a spread run.
func (s *spreadFlags) active() bool {
	return s.procs > 0 || len(s.urls) > 0 || s.relays > 0 || s.cluster != 0
}

// runSpread runs the idle scenario spread over URLs and child load processes.
func (o *options) runSpread(cmd *cobra.Command, io scenario.IdleOptions, s spreadFlags) error {
	if err := s.check(o, io); err != nil {
		return err
	}
	prov, c, err := o.provider()
	if err != nil {
		return err
	}
	ctx := cmd.Context()
	for _, u := range s.urls {
		if !load.IsLoopback(u) {
			c.Sources = nil // loopback source addresses reach only loopback URLs
		}
	}
	nodes, stop, err := o.spreadNodes(cmd, prov, s)
	cleanup := sync.OnceFunc(stop)
	defer cleanup()
	if err != nil {
		return err
	}
	so := scenario.SpreadOptions{Common: c, Conns: io.Conns, Procs: max(s.procs, 1), BackgroundPairs: io.BackgroundPairs,
		BackgroundRate: io.BackgroundRate, Size: io.Size, CrossNode: s.crossNode, CAFile: o.ca, Sources: o.sources,
		Launcher: prov.Launcher}
	rep := newReport(cmd)
	res, err := scenario.RunIdleSpread(ctx, so, nodes)
	if err != nil {
		return err
	}
	if s.single {
		// The spread run's relays (those started here) stop first: the baseline runs on a
		// machine that holds nothing else, as the spread run did.
		cleanup()
		single, err := o.singleNode(ctx, prov, c, io, len(nodes))
		if err != nil {
			return err
		}
		res.Single = &single
	}
	add(rep, "idle-spread", res)
	if res.Errors > 0 {
		rep.Problems = append(rep.Problems, fmt.Sprintf("%d connection errors, the first: %s", res.Errors, res.FirstError))
	}
	if b := res.Background; b != nil && b.Errors > 0 {
		rep.Problems = append(rep.Problems, fmt.Sprintf("%d background relay errors, the first: %s", b.Errors, b.FirstError))
	}
	if err := o.report(rep); err != nil {
		return err
	}
	if !o.json {
		fmt.Fprintf(o.stdout, "\nspread over %d nodes by %d load processes:\n", len(res.Nodes), len(res.Procs))
		for _, line := range res.Spread() {
			fmt.Fprintf(o.stdout, "  %s\n", line)
		}
	}
	return nil
}

// singleNode runs the single-node idle run of the same size per node as a spread run over
// nodes, on a fresh reference relay started here.
func (o *options) singleNode(ctx context.Context, prov *target.Provider, c scenario.Common, io scenario.IdleOptions, nodes int) (scenario.IdleResult, error) {
	sys, err := prov.Launcher.StartServer(ctx, prov.Server)
	if err != nil {
		return scenario.IdleResult{}, err
	}
	defer sys.Close()
	io.Common = c
	io.Sources = load.LoopbackSources(max(o.sources, 1))
	io.Conns = (io.Conns + nodes - 1) / nodes
	io.Prefix += "single-"
	return scenario.RunIdleOn(ctx, io, sys)
}

// check refuses what cannot work: a process or a relay asked to hold more connections than
// RLIMIT_NOFILE lets it, flags that contradict each other.
func (s spreadFlags) check(o *options, io scenario.IdleOptions) error {
	switch {
	case o.url != "" && len(s.urls) > 0:
		return usageError{fmt.Errorf("give the relay by --url or --urls, not both")}
	case o.url != "":
		return usageError{fmt.Errorf("--procs and --relays spread over --urls (or relays started here), not --url: give --urls %s", o.url)}
	case len(s.urls) > 0 && s.relays > 0:
		return usageError{fmt.Errorf("--relays starts relays here; --urls names relays already running: give one")}
	case s.cluster != 0 && (len(s.urls) > 0 || s.relays > 0):
		return usageError{fmt.Errorf("--cluster starts a cluster of relays here; --relays independent ones, --urls names relays already running: give one")}
	case s.procs < 0 || s.relays < 0 || io.Conns < max(s.procs, 1):
		return usageError{fmt.Errorf("--procs %d, --relays %d, --conns %d: at least one connection per process", s.procs, s.relays, io.Conns)}
	}
	for _, u := range s.urls {
		if !strings.HasPrefix(u, "wss://") {
			return usageError{fmt.Errorf("--urls: %q is not a wss:// URL", u)}
		}
	}
	limit, err := raiseOpenFiles()
	if err != nil {
		return nil
	}
	perProc := (io.Conns + max(s.procs, 1) - 1) / max(s.procs, 1)
	if fit := int(limit) - openFilesMargin; perProc > fit {
		return usageError{fmt.Errorf("--conns %d over --procs %d is %d connections per load process, but RLIMIT_NOFILE is %d here: give --procs %d or more",
			io.Conns, max(s.procs, 1), perProc, limit, (io.Conns+fit-1)/fit)}
	}
	if s.single && len(s.urls) > 0 {
		perNode := (io.Conns+len(s.urls)-1)/len(s.urls) + 2*io.BackgroundPairs
		if fit := int(limit) - openFilesMargin; perNode > fit {
			return usageError{fmt.Errorf("--compare-single: --conns %d over %d URLs is about %d connections on the single node, but RLIMIT_NOFILE is %d here",
				io.Conns, len(s.urls), perNode, limit)}
		}
	}
	if s.cluster != 0 {
		if err := checkClusterNodes(o, s.cluster); err != nil {
			return err
		}
	}
	if len(s.urls) == 0 {
		relays := max(s.relays, s.cluster, 1)
		perRelay := (io.Conns+relays-1)/relays + 2*io.BackgroundPairs
		if fit := int(limit) - openFilesMargin; perRelay > fit {
			return usageError{fmt.Errorf("--conns %d over --relays %d is about %d connections per relay, but RLIMIT_NOFILE is %d here: give --relays %d or more",
				io.Conns, relays, perRelay, limit, (io.Conns+fit-1)/fit)}
		}
	}
	return nil
}

// raiseOpenFiles is sysstat.RaiseOpenFiles; a test gives the limit of the machine a command
// is meant for (make scale: 20,000).
var raiseOpenFiles = sysstat.RaiseOpenFiles

// spreadNodes returns the relays of a spread run: --urls, trusted by --pin or --ca, the nodes
// of a --cluster started here, or --relays reference relays started here (1 by default), and
// the function that stops those started here, which the caller calls even on an error.
func (o *options) spreadNodes(cmd *cobra.Command, prov *target.Provider, s spreadFlags) ([]*target.System, func(), error) {
	if len(s.urls) > 0 {
		trust, err := o.trust()
		if err != nil {
			return nil, func() {}, err
		}
		var nodes []*target.System
		for _, u := range s.urls {
			nodes = append(nodes, target.Remote(u, trust, 0))
		}
		return nodes, func() {}, nil
	}
	if s.cluster != 0 {
		c, err := prov.Launcher.StartCluster(cmd.Context(), s.cluster, prov.Server)
		if err != nil {
			return nil, func() {}, err
		}
		return c.Members, func() { c.Close() }, nil
	}
	var nodes []*target.System
	cleanup := func() {
		for _, n := range nodes {
			n.Close()
		}
	}
	for range max(s.relays, 1) {
		n, err := prov.Launcher.StartServer(cmd.Context(), prov.Server)
		if err != nil {
			return nodes, cleanup, err
		}
		nodes = append(nodes, n)
	}
	return nodes, cleanup, nil
}

// idleLoadCommand is a child load process of a spread idle run: it reads its job on standard
// input and reports on standard output (scenario.RunLoadChild).
func (o *options) idleLoadCommand() *cobra.Command {
	return &cobra.Command{
		Use:    "idle-load",
		Short:  "A child load process of idle --procs: holds the connections its parent gives it",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if _, err := sysstat.RaiseOpenFiles(); err != nil {
				fmt.Fprintf(o.stderr, "blindpost-bench: warning: %v\n", err)
			}
			return scenario.RunLoadChild(cmd.Context(), os.Stdin, o.stdout)
		},
	}
}
