package mutants

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/blindpost/blindpost/conformance/harness"
	"github.com/blindpost/blindpost/internal/nodeargs"
	"github.com/blindpost/blindpost/internal/tlspin"
)

// clusterStartWait bounds the start of a cluster: its nodes wait for a majority of each other,
// then for JetStream to place the directory's buckets, before they listen (README "Running a
// cluster"), which on a loaded machine takes far longer than one relay's start.
const clusterStartWait = 90 * time.Second

// clusterNode is one relay of a planned cluster.
type clusterNode struct {
	name string   // its --node-name, rI
	data string   // its --data
	args []string // its blindpost-server command line
}

// clusterPlan is a cluster of relays prepared in a work directory: one certificate, so one pin,
// and one data directory per node.
type clusterPlan struct {
	pin   tlspin.Pin
	nodes []clusterNode
}

// planCluster prepares n relays that form one cluster with embedded NATS servers on loopback,
// as make cluster does (impl/server/cluster/localcluster), but on free ports so that several
// mutants run at once: each node's NATS client listener on port 0 and its route listener on a
// port picked free now, since every node must be given the routes of all. The nodes serve one
// certificate generated in dir/tls, with serverFlags and extra; node rI keeps its data in dir/rI.
func planCluster(dir string, n int, extra []string) (*clusterPlan, error) {
	id, err := tlspin.LoadOrCreate(filepath.Join(dir, "tls"))
	if err != nil {
		return nil, fmt.Errorf("mutants: the cluster's certificate: %w", err)
	}
	routes, err := nodeargs.FreeAddrs(n)
	if err != nil {
		return nil, fmt.Errorf("mutants: a free port for a cluster route: %w", err)
	}
	cert, key := filepath.Join(dir, "tls", tlspin.CertFile), filepath.Join(dir, "tls", tlspin.KeyFile)
	plan := &clusterPlan{pin: id.Pin}
	for i := range n {
		node := clusterNode{name: fmt.Sprintf("r%d", i+1), data: filepath.Join(dir, fmt.Sprintf("r%d", i+1))}
		if err := os.MkdirAll(node.data, 0o700); err != nil {
			return nil, fmt.Errorf("mutants: %w", err)
		}
		node.args = append([]string{"--data", node.data}, serverFlags...)
		node.args = slices.Concat(node.args, nodeargs.Args(node.name, i, "127.0.0.1:0", routes, cert, key), extra)
		plan.nodes = append(plan.nodes, node)
	}
	return plan, nil
}

// cluster starts bin as n relays forming one cluster, with their data under dir, and runs the
// server suite's cases that match patterns against all their URLs, then stops them all.
func (s *suites) cluster(ctx context.Context, bin, dir string, n int, patterns, serverExtra, suiteExtra []string) (*harness.Report, error) {
	plan, nodes, err := startFreshCluster(ctx, bin, dir, n, serverExtra)
	if err != nil {
		return nil, err
	}
	defer stopRelays(nodes)
	urls := make([]string, len(nodes))
	for i, r := range nodes {
		urls[i] = r.url
	}
	args, err := suiteArgs(ctx, bin, plan.nodes[0].data, urls, plan.pin.String(), suiteExtra)
	if err != nil {
		return nil, err
	}
	rep, err := s.run(ctx, args, patterns)
	if err != nil {
		var b strings.Builder
		for i, r := range nodes {
			fmt.Fprintf(&b, "\nthe standard error of relay %s ends with:\n%s", plan.nodes[i].name, indented(r.stderr))
		}
		return nil, fmt.Errorf("%w%s", err, b.String())
	}
	return rep, nil
}

// clusterStartAttempts is how many times a cluster is started before its mutant is reported as
// an error: a start that fails although its nodes were started again (a route port picked free
// and taken by another process before its node bound it, nodes that keep losing the race for
// the buckets) is tried once more in fresh directories, so that the mutant is judged rather than
// the machine's load. Both errors are reported when the second fails too.
const clusterStartAttempts = 2

// startFreshCluster plans and starts n relays under dir (dir/try2 for a second attempt).
func startFreshCluster(ctx context.Context, bin, dir string, n int, extra []string) (*clusterPlan, []*relay, error) {
	var errs []error
	for i := range clusterStartAttempts {
		at := dir
		if i > 0 {
			at = filepath.Join(dir, fmt.Sprintf("try%d", i+1))
		}
		plan, err := planCluster(at, n, extra)
		if err != nil {
			return nil, nil, err
		}
		nodes, err := startCluster(ctx, bin, plan)
		if err == nil {
			return plan, nodes, nil
		}
		errs = append(errs, fmt.Errorf("start %d of %d: %w", i+1, clusterStartAttempts, err))
		if ctx.Err() != nil {
			break
		}
	}
	return nil, nil, errors.Join(errs...)
}

// nodeRestarts is how many times a node that exits before it listens is started again while
// the others wait for it (they wait up to a minute for a majority). Nodes started together race
// to create the cluster's buckets, and on a loaded machine the loser sometimes exits with
// "stream not found"; started again, it finds the buckets made.
const nodeRestarts = 2

// nodeEvent is what became of a starting node: it listens, or it exited first.
type nodeEvent struct {
	i     int
	r     *relay
	ready bool
}

// watchNode reports on events whether r listens or exits first.
func watchNode(i int, r *relay, events chan<- nodeEvent) {
	select {
	case <-r.out.ready:
		events <- nodeEvent{i, r, true}
	case <-r.exited:
		events <- nodeEvent{i, r, false}
	}
}

// startCluster starts every node of plan at once (each waits for a majority of the others
// before it listens), starts again a node that exits before it listens (nodeRestarts times at
// most), and waits until all have printed their URL and the plan's pin. On failure it stops
// those it started.
func startCluster(ctx context.Context, bin string, plan *clusterPlan) ([]*relay, error) {
	nodes := make([]*relay, len(plan.nodes))
	restarts := make([]int, len(plan.nodes))
	events := make(chan nodeEvent, len(plan.nodes)*(nodeRestarts+1))
	started := func() []*relay {
		return slices.DeleteFunc(slices.Clone(nodes), func(r *relay) bool { return r == nil })
	}
	fail := func(err error) ([]*relay, error) {
		stopRelays(started())
		return nil, err
	}
	for i, node := range plan.nodes {
		r, err := launch(bin, node.args)
		if err != nil {
			return fail(err)
		}
		nodes[i] = r
		go watchNode(i, r, events)
	}
	timer := time.NewTimer(clusterStartWait)
	defer timer.Stop()
	var earlier []string // why restarted nodes exited, for the error if the start fails
	for ready := 0; ready < len(nodes); {
		select {
		case e := <-events:
			name := plan.nodes[e.i].name
			switch {
			case e.ready:
				e.r.url, e.r.pin = e.r.out.values()
				if e.r.pin != plan.pin.String() {
					return fail(fmt.Errorf("mutants: relay %s serves pin %s, not the cluster's %s", name, e.r.pin, plan.pin))
				}
				ready++
			case restarts[e.i] == nodeRestarts:
				return fail(fmt.Errorf("mutants: relay %s exited before listening, %d times (%v):\n%s%s",
					name, nodeRestarts+1, e.r.waitErr, indented(e.r.stderr), strings.Join(earlier, "")))
			default:
				restarts[e.i]++
				earlier = append(earlier, fmt.Sprintf("\nearlier, relay %s exited before listening (%v):\n%s", name, e.r.waitErr, indented(e.r.stderr)))
				r, err := launch(bin, plan.nodes[e.i].args)
				if err != nil {
					return fail(err)
				}
				nodes[e.i] = r
				go watchNode(e.i, r, events)
			}
		case <-timer.C:
			return fail(fmt.Errorf("mutants: the %d relays of the cluster did not all listen within %s%s", len(nodes), clusterStartWait, strings.Join(earlier, "")))
		case <-ctx.Done():
			return fail(ctx.Err())
		}
	}
	return nodes, nil
}

// stopRelays stops relays at once, so that the nodes of a cluster leave it together rather than
// each waiting for the others to notice it gone.
func stopRelays(rs []*relay) {
	var wg sync.WaitGroup
	for _, r := range rs {
		wg.Go(r.stop)
	}
	wg.Wait()
}
