package mutants

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/blindpost/blindpost/conformance/harness"
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
	ports, err := freePorts(n)
	if err != nil {
		return nil, err
	}
	routes := make([]string, n)
	for i, p := range ports {
		routes[i] = net.JoinHostPort("127.0.0.1", strconv.Itoa(p))
	}
	cert, key := filepath.Join(dir, "tls", tlspin.CertFile), filepath.Join(dir, "tls", tlspin.KeyFile)
	plan := &clusterPlan{pin: id.Pin}
	for i := range n {
		node := clusterNode{name: fmt.Sprintf("r%d", i+1), data: filepath.Join(dir, fmt.Sprintf("r%d", i+1))}
		if err := os.MkdirAll(node.data, 0o700); err != nil {
			return nil, fmt.Errorf("mutants: %w", err)
		}
		node.args = append([]string{"--data", node.data}, serverFlags...)
		node.args = append(node.args,
			"--tls-cert", cert, "--tls-key", key,
			"--cluster-embedded", "--node-name", node.name,
			"--cluster-listen", "127.0.0.1:0",
			"--cluster-route-listen", routes[i], "--cluster-routes", strings.Join(routes, ","))
		node.args = append(node.args, extra...)
		plan.nodes = append(plan.nodes, node)
	}
	return plan, nil
}

// freePorts returns n distinct loopback ports that were free a moment ago: it holds them all
// open at once, so that none is returned twice, then releases them.
func freePorts(n int) ([]int, error) {
	var (
		ports []int
		lns   []net.Listener
	)
	defer func() {
		for _, ln := range lns {
			ln.Close()
		}
	}()
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("mutants: a free port for a cluster route: %w", err)
		}
		lns = append(lns, ln)
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
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
// an error. Nodes started together race to create the directory's bucket, and the loser
// sometimes exits before it listens ("stream not found") on a loaded machine; a second start,
// in fresh directories, judges the mutant instead of the race. Both errors are reported when
// the second fails too.
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

// startCluster starts every node of plan at once (each waits for a majority of the others
// before it listens) and waits until all have printed their URL and the plan's pin. On failure
// it stops those it started.
func startCluster(ctx context.Context, bin string, plan *clusterPlan) ([]*relay, error) {
	var nodes []*relay
	for _, node := range plan.nodes {
		r, err := launch(bin, node.args)
		if err != nil {
			stopRelays(nodes)
			return nil, err
		}
		nodes = append(nodes, r)
	}
	var errs []error
	for i, r := range nodes {
		if err := r.waitReady(ctx, clusterStartWait); err != nil {
			errs = append(errs, fmt.Errorf("relay %s: %w", plan.nodes[i].name, err))
			continue
		}
		if r.pin != plan.pin.String() {
			errs = append(errs, fmt.Errorf("mutants: relay %s serves pin %s, not the cluster's %s", plan.nodes[i].name, r.pin, plan.pin))
		}
	}
	if len(errs) > 0 {
		stopRelays(nodes)
		return nil, errors.Join(errs...)
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
