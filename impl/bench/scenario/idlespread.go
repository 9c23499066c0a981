package scenario

import (
	"bufio"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os/exec"
	"sync"
	"sync/atomic"
	"time"

	"github.com/blindpost/blindpost/impl/bench"
	"github.com/blindpost/blindpost/impl/bench/sysstat"
	"github.com/blindpost/blindpost/impl/bench/target"
)

// SpreadOptions configure a spread idle run: Conns registered connections held by Procs child
// load processes (each conns/procs of them, as one process holds at most RLIMIT_NOFILE
// descriptors), spread over the URLs of one or more relays, next to an optional background relay
// load run by this process.
type SpreadOptions struct {
	Common
	Conns int
	Procs int // child load processes; at least 1
	// BackgroundPairs relay once the connections are open, through the hold, pair k on node
	// k mod len(nodes); with CrossNode the second connection of each pair is on the next node
	// (a cluster; independent relays share no directory, so their pairs stay on one node).
	BackgroundPairs int
	BackgroundRate  float64 // their messages per second in all; 0 means 100 per pair
	Size            int     // ciphertext bytes of the background messages; 0 means 200
	CrossNode       bool
	Settle          time.Duration // after the connections are open, before the hold; 0 means 2 s
	CAFile          string        // trust for the nodes without a pin
	Sources         int           // loopback source addresses of each child
	// Launcher starts the children: the binary with the subcommand idle-load (blindpost-bench
	// itself), which calls RunLoadChild.
	Launcher target.Launcher
}

// SpreadResult is a spread idle run.
type SpreadResult struct {
	Requested   int     `json:"conns_requested"`
	Opened      int     `json:"conns_opened"` // registered, over all children
	Held        int     `json:"conns_held"`   // still open at the end of the hold
	OpenSeconds float64 `json:"open_s"`
	// QuietSeconds is how long the relays took, once the connections were open, to quiet down
	// (awaitQuiet) before the background and the hold began.
	QuietSeconds float64      `json:"quiet_s"`
	HoldSeconds  float64      `json:"held_s"`
	Errors       uint64       `json:"errors"` // connections that failed to open or ended unasked
	FirstError   string       `json:"first_error,omitempty"`
	Retried      int64        `json:"registrations_retried"` // tries after a registration answered internal
	Nodes        []NodeResult `json:"nodes"`
	Procs        []ProcResult `json:"procs"`
	// The relays' memory, summed over the nodes, when every node is a process on this machine
	// (relays this program started, or --server-pid); RSSNote says why not otherwise.
	RSSKnown   bool              `json:"relay_rss_known"`
	RSSNote    string            `json:"relay_rss_note,omitempty"`
	RSSBase    int64             `json:"relay_rss_before_bytes,omitempty"`
	RSSMean    int64             `json:"relay_rss_mean_bytes,omitempty"`
	RSSPerConn *float64          `json:"relay_rss_per_conn_bytes,omitempty"` // nil: not measurable
	LoadRSS    int64             `json:"load_processes_rss_bytes"`           // the children's, summed
	Background *BackgroundResult `json:"background,omitempty"`
	// Single is the single-node run of the same size per node (Requested/len(Nodes)
	// connections, the same background pairs) on a reference relay started here, when it ran:
	// the baseline column of the figures.
	Single *IdleResult `json:"single_node,omitempty"`
}

// NodeResult is one relay URL of a spread run.
type NodeResult struct {
	URL     string `json:"url"`
	Held    int    `json:"conns_held"`
	PID     int    `json:"pid,omitempty"`
	RSSBase int64  `json:"rss_before_bytes,omitempty"`
	RSSMean int64  `json:"rss_mean_bytes,omitempty"`
}

// ProcResult is one child load process.
type ProcResult struct {
	First  int    `json:"first"`
	Conns  int    `json:"conns"`
	Held   int    `json:"held"`
	Errors uint64 `json:"errors"`
	RSS    int64  `json:"rss_bytes"`
}

// loadProc is a running child load process.
type loadProc struct {
	cmd     *exec.Cmd
	stdin   io.WriteCloser
	reports chan LoadReport // closed when its standard output ends
	opened  atomic.Int64    // from its latest "opening" report
}

// startLoad starts a child with job.
func startLoad(o SpreadOptions, job LoadJob) (*loadProc, error) {
	cmd := o.Launcher.Command("idle-load")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, fmt.Errorf("scenario: %w", err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("scenario: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("scenario: start a load process: %w", err)
	}
	p := &loadProc{cmd: cmd, stdin: stdin, reports: make(chan LoadReport, 2)}
	go func() {
		defer close(p.reports)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			var r LoadReport
			switch {
			case json.Unmarshal(sc.Bytes(), &r) != nil:
			case r.Stage == StageOpening:
				p.opened.Store(int64(r.Held))
			default:
				p.reports <- r
			}
		}
	}()
	line, _ := json.Marshal(job)
	if _, err := stdin.Write(append(line, '\n')); err != nil {
		p.kill()
		return nil, fmt.Errorf("scenario: send the load job: %w", err)
	}
	return p, nil
}

// await returns the child's next report, which must have stage.
func (p *loadProc) await(ctx context.Context, stage string) (LoadReport, error) {
	select {
	case r, ok := <-p.reports:
		switch {
		case !ok:
			return r, fmt.Errorf("scenario: load process %d ended before reporting %q: %v", p.cmd.Process.Pid, stage, p.cmd.Wait())
		case r.Stage != stage:
			return r, fmt.Errorf("scenario: load process %d reported %q, expected %q", p.cmd.Process.Pid, r.Stage, stage)
		}
		return r, nil
	case <-ctx.Done():
		return LoadReport{}, ctx.Err()
	}
}

// kill ends the child at once.
func (p *loadProc) kill() {
	_ = p.cmd.Process.Kill()
	_ = p.cmd.Wait()
}

// RunIdleSpread runs the idle scenario spread over nodes (the URLs of one relay system, or
// several relays) and o.Procs child load processes. Nodes that are processes on this machine
// have their memory measured; with any other node, the relays' memory is unknown and the
// result says so.
func RunIdleSpread(ctx context.Context, o SpreadOptions, nodes []*target.System) (res SpreadResult, err error) {
	if len(nodes) == 0 || o.Procs < 1 || o.Conns < o.Procs {
		return res, fmt.Errorf("scenario: a spread idle run needs a node, a load process and a connection per process (got %d, %d, %d)", len(nodes), o.Procs, o.Conns)
	}
	o.Settle = cmp.Or(o.Settle, 2*time.Second)
	res = SpreadResult{Requested: o.Conns, RSSKnown: true}
	job := LoadJob{Prefix: o.Prefix, Sources: o.Sources, Parallel: o.Dial, CAFile: o.CAFile}
	for _, n := range nodes {
		res.Nodes = append(res.Nodes, NodeResult{URL: n.URL, PID: n.PID})
		job.URLs = append(job.URLs, n.URL)
		pin := ""
		if n.Trust.Pin != nil {
			pin = n.Trust.Pin.String()
		}
		job.Pins = append(job.Pins, pin)
		if !n.Local() {
			res.RSSKnown = false
			res.RSSNote = fmt.Sprintf("the memory of %s is unknown: it is not a process this program started (give --server-pid for one local relay)", n.URL)
		}
	}
	if res.RSSKnown {
		for i, n := range nodes {
			if s, err := n.Sample(); err == nil {
				res.Nodes[i].RSSBase = s.RSS
				res.RSSBase += s.RSS
			}
		}
	}

	start := time.Now()
	procs, err := startProcs(ctx, o, job, &res)
	defer func() {
		for _, p := range procs {
			p.kill()
		}
	}()
	if err != nil {
		return res, err
	}
	res.OpenSeconds = time.Since(start).Seconds()
	o.progressf("idle-spread: %d of %d connections open over %d nodes in %.1fs by %d processes, %d errors",
		res.Opened, o.Conns, len(nodes), res.OpenSeconds, len(procs), res.Errors)
	res.QuietSeconds = awaitQuiet(ctx, o.Common, "idle-spread", nodes).Seconds()
	// The background pairs relay beside the held connections: they open once those are open
	// (connections opened first and left unread through a long opening would miss the relay's
	// pings).
	var bg *pairs
	endBackground := func() {} // at the end of the hold, or on the way out of a failure
	if o.BackgroundPairs > 0 {
		if bg, err = openPairsOn(ctx, o.Common, nodes, o.CrossNode, o.BackgroundPairs, cmp.Or(o.Size, 200), 0, "bg"); err != nil {
			return res, err
		}
		res.Background = bg.startBackground(ctx, o.BackgroundRate)
		var once sync.Once
		endBackground = func() { once.Do(func() { bg.endBackground(res.Background) }) }
		defer endBackground()
	}

	if !sleepFor(ctx, o.Settle) {
		return res, ctx.Err()
	}
	var bg0 uint64
	if bg != nil {
		bg0, _ = bg.counts()
	}
	if err := hold(ctx, o, nodes, &res); err != nil {
		return res, err
	}
	if bg != nil {
		bg1, _ := bg.counts()
		res.Background.Throughput = rate(bg1-bg0, time.Duration(res.HoldSeconds*float64(time.Second)))
	}
	// The background is measured while the connections are held: it stops before they close,
	// as closing 100,000 connections withdraws 100,000 presence entries at once, whose load
	// is not the hold's.
	endBackground()
	if r := res.Background; r != nil {
		o.progressf("idle-spread: background %d pairs offered %s msg/s, delivered %s msg/s while held, %s, %d errors",
			r.Pairs, bench.Format(r.Rate), bench.Format(r.Throughput), r.Latency, r.Errors)
	}
	for _, p := range procs {
		_ = p.stdin.Close() // the end of the hold
	}
	res.Errors, res.FirstError = 0, ""
	for i, p := range procs {
		r, err := p.await(ctx, StageFinal)
		if err != nil {
			return res, err
		}
		res.Procs[i].Held, res.Procs[i].Errors, res.Procs[i].RSS = r.Held, r.Errors, r.RSS
		res.Held += r.Held
		res.LoadRSS += r.RSS
		res.Errors += r.Errors
		if res.FirstError == "" {
			res.FirstError = r.FirstError
		}
		for j, n := range r.PerURL {
			if j < len(res.Nodes) {
				res.Nodes[j].Held += n
			}
		}
		if err := p.cmd.Wait(); err != nil {
			return res, fmt.Errorf("scenario: load process %d: %w", i, err)
		}
	}
	procs = nil
	if res.RSSKnown && res.Held > 0 {
		perConn := float64(res.RSSMean-res.RSSBase) / float64(res.Held)
		res.RSSPerConn = &perConn
	}
	return res, nil
}

// startProcs starts o.Procs children, each holding its share of the connections, and waits
// until every one has opened them.
func startProcs(ctx context.Context, o SpreadOptions, job LoadJob, res *SpreadResult) ([]*loadProc, error) {
	var procs []*loadProc
	first := 0
	for k := range o.Procs {
		job.First, job.Conns = first, o.Conns/o.Procs
		if k < o.Conns%o.Procs {
			job.Conns++
		}
		first += job.Conns
		p, err := startLoad(o, job)
		if err != nil {
			return procs, err
		}
		procs = append(procs, p)
		res.Procs = append(res.Procs, ProcResult{First: job.First, Conns: job.Conns})
	}
	if o.Progress != nil {
		defer ticker(ctx, func(elapsed time.Duration) {
			var n int64
			for _, p := range procs {
				n += p.opened.Load()
			}
			o.progressf("  idle-spread %4.0fs: %d of %d open", elapsed.Seconds(), n, o.Conns)
		})()
	}
	for i, p := range procs {
		r, err := p.await(ctx, StageOpen)
		if err != nil {
			return procs, err
		}
		res.Opened += r.Held
		res.Errors += r.Errors
		res.Retried += r.Retried
		if res.FirstError == "" {
			res.FirstError = r.FirstError
		}
		o.progressf("  load process %d: %d of %d open, %d errors, %d registrations tried again", i, r.Held, res.Procs[i].Conns, r.Errors, r.Retried)
	}
	return procs, nil
}

// hold waits o.Duration, sampling the local relays' memory four times a second (their mean is
// the figure, as in RunIdleOn).
func hold(ctx context.Context, o SpreadOptions, nodes []*target.System, res *SpreadResult) error {
	sums, counts := make([]int64, len(nodes)), make([]int64, len(nodes))
	t0 := time.Now()
	for end := t0.Add(o.Duration); time.Now().Before(end); {
		if !sleepFor(ctx, min(250*time.Millisecond, time.Until(end))) {
			return ctx.Err()
		}
		if !res.RSSKnown {
			continue
		}
		for i, n := range nodes {
			if s, err := n.Sample(); err == nil {
				sums[i], counts[i] = sums[i]+s.RSS, counts[i]+1
			}
		}
	}
	res.HoldSeconds = time.Since(t0).Seconds()
	for i := range nodes {
		if counts[i] == 0 {
			if res.RSSKnown {
				res.RSSKnown, res.RSSNote = false, fmt.Sprintf("the memory of %s could not be read", nodes[i].URL)
			}
			continue
		}
		res.Nodes[i].RSSMean = sums[i] / counts[i]
		res.RSSMean += res.Nodes[i].RSSMean
	}
	return nil
}

// Figures are the spread run's rows, with the goal of zero errors. The baseline column is the
// single-node run of the same size per node when it ran (Single), and empty otherwise: the
// forwarders are single processes, and a spread run measures what no single process holds.
func (r SpreadResult) Figures() []bench.Figure {
	none := math.NaN()
	single := func(f func(IdleResult) float64) float64 {
		if r.Single == nil {
			return none
		}
		return f(*r.Single)
	}
	rss, perConn := none, none
	if r.RSSKnown {
		rss = float64(r.RSSMean) / (1 << 20)
	}
	if r.RSSPerConn != nil {
		perConn = *r.RSSPerConn / 1024
	}
	figs := []bench.Figure{
		bench.NewFigure("idle-spread", fmt.Sprintf("connections held (%d requested, %d nodes, %d processes)", r.Requested, len(r.Nodes), len(r.Procs)), "", float64(r.Held), none, nil),
		bench.NewFigure("idle-spread", "connection errors", "", float64(r.Errors), single(func(s IdleResult) float64 { return float64(s.Errors) }), bench.AbsoluteAtMost(0)),
		bench.NewFigure("idle-spread", "registrations answered internal and tried again", "", float64(r.Retried), single(func(s IdleResult) float64 { return float64(s.Retried) }), nil),
		bench.NewFigure("idle-spread", "relays' RSS holding them (mean, all nodes)", "MiB", rss, none, nil),
		bench.NewFigure("idle-spread", "RSS per idle connection", "KiB", perConn, single(func(s IdleResult) float64 { return s.RSSPerConn / 1024 }), nil),
	}
	if b := r.Background; b != nil {
		p99 := single(func(s IdleResult) float64 {
			if s.Background == nil {
				return none
			}
			return float64(s.Background.Latency.P99) / 1e3
		})
		figs = append(figs,
			bench.NewFigure("idle-spread", "background relay p99 meanwhile", "µs", float64(b.Latency.P99)/1e3, p99, nil),
			bench.NewFigure("idle-spread", "background relay errors", "", float64(b.Errors), none, bench.AbsoluteAtMost(0)))
	}
	return figs
}

// Spread returns one line per node: its URL, the connections it held and its memory.
func (r SpreadResult) Spread() []string {
	var out []string
	for _, n := range r.Nodes {
		mem := "RSS unknown"
		if r.RSSKnown {
			mem = fmt.Sprintf("RSS %.0f MiB (from %.0f MiB)", float64(n.RSSMean)/(1<<20), float64(n.RSSBase)/(1<<20))
		}
		out = append(out, fmt.Sprintf("%s: %d connections held, %s", n.URL, n.Held, mem))
	}
	if !r.RSSKnown {
		out = append(out, r.RSSNote)
	}
	return out
}

// quietShare is the share of a core under which a relay counts as quiet at once.
const quietShare = 0.10

// maxQuiet bounds awaitQuiet.
const maxQuiet = 5 * time.Minute

// awaitQuiet waits until the nodes whose processes are on this machine have quieted down after
// the opening, for at most maxQuiet, and returns how long it waited: until the busiest spends
// less than quietShare of a core over a second, or its CPU has stopped falling (steady). After a
// large opening the relays still work through what it left (a cluster's store replicating and
// announcing the registrations); what remains then is the cost of holding the connections (a
// ping every 30 s each, spec §4.2 [WS-7]). The background pairs and the hold begin once they
// are quiet, so that they measure holding the connections, not the end of the opening.
func awaitQuiet(ctx context.Context, c Common, label string, nodes []*target.System) time.Duration {
	start := time.Now()
	prev := make([]sysstat.Sample, len(nodes))
	for i, n := range nodes {
		if !n.Local() {
			return 0
		}
		prev[i], _ = n.Sample()
	}
	var shares []float64 // the busiest node's share of a core, second by second
	for time.Since(start) < maxQuiet && sleepFor(ctx, time.Second) {
		busiest := 0.0
		for i, n := range nodes {
			s, err := n.Sample()
			if err != nil {
				return time.Since(start)
			}
			busiest = max(busiest, (s.CPU-prev[i].CPU).Seconds()/max(s.At.Sub(prev[i].At).Seconds(), 1e-3))
			prev[i] = s
		}
		shares = append(shares, busiest)
		if busiest < quietShare || steady(shares) {
			break
		}
		c.progressf("  %s: the relays are settling, the busiest at %.0f%% of a core", label, 100*busiest)
	}
	waited := time.Since(start)
	c.progressf("%s: the relays were quiet after %.0fs", label, waited.Seconds())
	return waited
}

// steady reports whether the mean of the last three shares is at least nine tenths of the mean
// of the three before: the CPU has stopped falling.
func steady(shares []float64) bool {
	n := len(shares)
	if n < 6 {
		return false
	}
	last := shares[n-1] + shares[n-2] + shares[n-3]
	before := shares[n-4] + shares[n-5] + shares[n-6]
	return last >= 0.9*before
}
