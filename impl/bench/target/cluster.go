package target

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/blindpost/blindpost/impl/bench/sysstat"
	"github.com/blindpost/blindpost/internal/nodeargs"
	"github.com/blindpost/blindpost/internal/tlspin"
)

// ClusterName names a cluster of reference relays in the figures (blindpost-bench relay
// --cluster N, idle --cluster N).
const ClusterName = "cluster"

// ClusterArgs are the flags that make a reference relay node i of a cluster whose nodes listen
// for routes on routes (host:port each): NATS inside the relay (--cluster-embedded), routed to
// the others, serving the cluster's one certificate (README "Running a cluster").
func ClusterArgs(i int, routes []string, cert, key string) []string {
	return nodeargs.Args(fmt.Sprintf("b%d", i+1), i, "127.0.0.1:0", routes, cert, key)
}

// StartCluster starts n reference relays as one cluster on loopback (ClusterArgs, the
// benchmark's limits of StartServer, then o.Extra), all at once since each waits for a majority
// of the others before it listens. The System returned is the cluster as a whole: its Members
// are the nodes, its Sample sums theirs, and Close stops them all. A cluster whose node finds
// its route port taken by another process is started again on fresh ports (nodeargs.Routed).
func (l Launcher) StartCluster(ctx context.Context, n int, o ServerOptions) (*System, error) {
	if n < 1 {
		return nil, errors.New("target: a cluster needs a node")
	}
	dir, err := os.MkdirTemp("", "blindpost-bench-cluster-")
	if err != nil {
		return nil, fmt.Errorf("target: %w", err)
	}
	c := &System{Name: ClusterName, Kind: Blindpost, dir: dir}
	if _, err := tlspin.LoadOrCreate(dir); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("target: the cluster's certificate: %w", err)
	}
	cert, key := filepath.Join(dir, tlspin.CertFile), filepath.Join(dir, tlspin.KeyFile)
	c.Members, err = nodeargs.Routed(ctx, n, freeAddrs, func(ctx context.Context, i int, routes []string) (*System, error) {
		return l.StartServer(ctx, ServerOptions{Extra: append(ClusterArgs(i, routes, cert, key), o.Extra...)})
	}, func(m *System) { m.Close() })
	if err != nil { // Routed stopped the nodes that started
		os.RemoveAll(dir)
		return nil, fmt.Errorf("target: start a cluster of %d relays: %w", n, err)
	}
	first := c.Members[0]
	c.URL, c.Trust, c.Metrics = first.URL, first.Trust, first.Metrics
	c.Command = fmt.Sprintf("%d × %s", n, first.Command)
	return c, nil
}

// freeAddrs picks the route addresses of a cluster (a variable for the test that takes one).
var freeAddrs = nodeargs.FreeAddrs

// sampleMembers sums the members' CPU time, memory and system calls.
func (s *System) sampleMembers() (sysstat.Sample, error) {
	sum := sysstat.Sample{At: time.Now()}
	for _, m := range s.Members {
		if m == nil {
			continue
		}
		x, err := m.Sample()
		if err != nil {
			return sysstat.Sample{}, err
		}
		sum.CPU += x.CPU
		sum.RSS += x.RSS
		sum.HWM += x.HWM
		sum.Thread += x.Thread
		sum.Reads += x.Reads
		sum.Writes += x.Writes
	}
	return sum, nil
}

// closeMembers stops the members at once (a node waits for none of the others to stop) and
// removes the cluster's directory.
func (s *System) closeMembers() error {
	errs := make([]error, len(s.Members))
	var wg sync.WaitGroup
	for i, m := range s.Members {
		if m != nil {
			wg.Go(func() { errs[i] = m.Close() })
		}
	}
	wg.Wait()
	s.Members = nil
	errs = append(errs, os.RemoveAll(s.dir))
	return errors.Join(errs...)
}
