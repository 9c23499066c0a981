// Package target is what a benchmark measures: a relay at a URL (ours, started here or running
// anywhere, or a third-party one), the baselines (the coalescing forwarder, the typical one) or
// NATS over wss, and, when it runs on this machine, its process, whose CPU time and memory are
// read from /proc.
//
// Local systems run as child processes of the benchmark binary itself (blindpost-bench server …
// runs impl/server/servercmd; coalesce …, forwarder … and nats … the other three), so that their CPU
// and memory are theirs alone and are measured the same way for all.
package target

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/blindpost/blindpost/impl/bench/load"
	"github.com/blindpost/blindpost/impl/bench/sysstat"
	"github.com/blindpost/blindpost/internal/tlspin"
)

// Kind says how a system is spoken to.
type Kind int

// The kinds of system.
const (
	// Blindpost speaks the protocol: hello and register, relay answered by ack (spec §5).
	Blindpost Kind = iota + 1
	// Forwarder is a bare WebSocket forwarder (the baseline or the typical one): no
	// registration, connections paired by the URL query.
	Forwarder
	// NATS is a NATS server over wss://: one subject per endpoint (package natsbase).
	NATS
)

// Names of the systems of the figures (README "Performance").
const (
	Ours     = "ours"     // the relay under test
	Baseline = "baseline" // the coalescing forwarder (package coalesce), every figure's baseline
	Typical  = "typical"  // the plain gorilla forwarder (package forwarder)
	NATSName = "nats"     // NATS over wss (package natsbase)
)

// System is one relay under test.
type System struct {
	Name    string // Ours, Baseline, Typical or NATSName
	Kind    Kind
	URL     string // wss://HOST:PORT/
	Trust   load.Trust
	PID     int    // the relay's process on this machine; 0 when unknown
	Metrics string // http://HOST:PORT of its metrics and pprof listener, when known
	Command string // how it was started, for the report; "" when not started here
	// Members are the nodes of a cluster started here (StartCluster); the System is then the
	// cluster as a whole.
	Members []*System

	cmd  *exec.Cmd
	done chan struct{}
	dir  string // temporary data directory, removed by Close
}

// Local reports whether the relay's process (every node's, for a cluster) can be measured.
func (s *System) Local() bool {
	for _, m := range s.Members {
		if !m.Local() {
			return false
		}
	}
	return s.PID > 0 || len(s.Members) > 0
}

// Sample reads the relay process's CPU time and memory.
func (s *System) Sample() (sysstat.Sample, error) {
	if len(s.Members) > 0 {
		return s.sampleMembers()
	}
	if s.PID <= 0 {
		return sysstat.Sample{}, errors.New("target: the relay's process is not known (give --server-pid)")
	}
	return sysstat.Read(s.PID)
}

// Close stops a relay started here (SIGTERM, then SIGKILL after 10 s) and removes its data
// directory; for a remote relay it does nothing.
func (s *System) Close() error {
	if s.Members != nil {
		return s.closeMembers()
	}
	if s.cmd == nil {
		return nil
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
	s.cmd = nil
	if s.dir != "" {
		return os.RemoveAll(s.dir)
	}
	return nil
}

// Launcher starts relays as child processes of a binary that has the server and forwarder
// subcommands (blindpost-bench itself).
type Launcher struct {
	Path   string    // the binary
	Args   []string  // arguments before the subcommand
	Env    []string  // added to the environment
	Stderr io.Writer // where the children's logs go; nil discards them
}

// Command returns the binary run with args (after Launcher.Args), in this program's environment
// plus Env, its standard error to Stderr, ending with this program: a child load process of a
// spread benchmark (blindpost-bench idle --procs), whose standard input and output the caller
// connects.
func (l Launcher) Command(args ...string) *exec.Cmd {
	cmd := exec.Command(l.Path, append(append([]string(nil), l.Args...), args...)...)
	cmd.Env = append(os.Environ(), l.Env...)
	cmd.Stderr = l.Stderr
	cmd.SysProcAttr = childAttr()
	return cmd
}

// ServerOptions are the settings of a reference relay started for a benchmark.
type ServerOptions struct {
	// Extra are more blindpost-server flags, after the defaults (which they override).
	Extra []string
}

// StartServer starts the reference relay on a free loopback port, in a fresh data directory,
// with limits that let the benchmark's own load through (spec §5.8's limits still run: the
// token bucket, the queues, the timers) and the metrics and pprof listener on.
func (l Launcher) StartServer(ctx context.Context, o ServerOptions) (*System, error) {
	dir, err := os.MkdirTemp("", "blindpost-bench-server-")
	if err != nil {
		return nil, fmt.Errorf("target: %w", err)
	}
	args := []string{"server", "--listen", "127.0.0.1:0", "--data", dir, "--metrics-listen", "127.0.0.1:0",
		"--rate", "1000000", "--burst", "1000000", "--max-conns", "10000000", "--max-users", "10000000",
		"--register-rate", "1000000", "--register-burst", "1000000", "--register-rate-global", "1000000", "--register-burst-global", "1000000",
		"--max-conns-per-addr", "10000000", "--max-joins-per-addr", "2147483647",
		"--log-level", "warn"}
	args = append(args, o.Extra...)
	s, err := l.start(ctx, dir, args, Blindpost)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	s.Name = Ours
	return s, nil
}

// StartForwarder starts the typical forwarder (package forwarder) on a free loopback port.
func (l Launcher) StartForwarder(ctx context.Context) (*System, error) {
	return l.startNamed(ctx, "forwarder", Typical, Forwarder)
}

// StartCoalesce starts the coalescing forwarder (package coalesce), the baseline.
func (l Launcher) StartCoalesce(ctx context.Context) (*System, error) {
	return l.startNamed(ctx, "coalesce", Baseline, Forwarder)
}

// StartNATS starts the NATS server with its TLS WebSocket listener (package natsbase).
func (l Launcher) StartNATS(ctx context.Context) (*System, error) {
	return l.startNamed(ctx, "nats", NATSName, NATS)
}

// startNamed runs the subcommand sub with a fresh data directory on a free loopback port.
func (l Launcher) startNamed(ctx context.Context, sub, name string, kind Kind) (*System, error) {
	dir, err := os.MkdirTemp("", "blindpost-bench-"+sub+"-")
	if err != nil {
		return nil, fmt.Errorf("target: %w", err)
	}
	s, err := l.start(ctx, dir, []string{sub, "--listen", "127.0.0.1:0", "--data", dir}, kind)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	s.Name = name
	return s, nil
}

// start runs the binary with args and waits for the lines that say where it listens:
// "listening on wss://…", "server pin: sha256:…" and optionally "metrics on http://…/metrics".
func (l Launcher) start(ctx context.Context, dir string, args []string, kind Kind) (*System, error) {
	full := append(append([]string(nil), l.Args...), args...)
	cmd := exec.Command(l.Path, full...)
	cmd.Env = append(os.Environ(), l.Env...)
	last := &lastLine{}
	cmd.Stderr = last
	if l.Stderr != nil {
		cmd.Stderr = io.MultiWriter(l.Stderr, last)
	}
	cmd.SysProcAttr = childAttr()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("target: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("target: start %s: %w", filepath.Base(l.Path), err)
	}
	s := &System{Kind: kind, PID: cmd.Process.Pid, cmd: cmd, done: make(chan struct{}), dir: dir,
		Command: filepath.Base(l.Path) + " " + strings.Join(args, " ")}
	ready := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		announced := false
		for sc.Scan() {
			if announced {
				continue
			}
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "listening on "):
				s.URL = strings.TrimPrefix(line, "listening on ")
			case strings.HasPrefix(line, "server pin: "):
				pin, err := tlspin.ParseLenient(strings.TrimPrefix(line, "server pin: "))
				if err != nil {
					ready <- fmt.Errorf("target: %w", err)
					announced = true
					continue
				}
				s.Trust.Pin = &pin
			case strings.HasPrefix(line, "metrics on "):
				s.Metrics = strings.TrimSuffix(strings.TrimPrefix(line, "metrics on "), "/metrics")
			}
			if s.URL != "" && s.Trust.Pin != nil && (kind != Blindpost || s.Metrics != "") {
				announced = true
				ready <- nil
			}
		}
		if !announced {
			select { // Wait has copied all of its standard error once it returns
			case <-s.done:
			case <-time.After(2 * time.Second):
			}
			ready <- fmt.Errorf("target: the relay exited before it was ready: %s", last)
		}
		_, _ = io.Copy(io.Discard, stdout)
	}()
	go func() {
		_ = cmd.Wait()
		close(s.done)
	}()
	timeout := time.NewTimer(30 * time.Second)
	defer timeout.Stop()
	select {
	case err := <-ready:
		if err != nil {
			_ = s.Close()
			return nil, err
		}
		return s, nil
	case <-timeout.C:
		_ = s.Close()
		return nil, errors.New("target: the relay did not announce its address within 30 s")
	case <-ctx.Done():
		_ = s.Close()
		return nil, fmt.Errorf("target: %w", ctx.Err())
	}
}

// lastLine keeps the last non-empty line a child wrote to its standard error, so that a child
// that exits before it is ready can be reported with its reason (and a cluster whose route port
// was taken meanwhile started again, StartCluster).
type lastLine struct {
	mu   sync.Mutex
	line []byte // the last complete non-empty line
	part []byte // what follows it so far, up to maxLastLine bytes
}

const maxLastLine = 1024

func (w *lastLine) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for rest := p; len(rest) > 0; {
		i := bytes.IndexByte(rest, '\n')
		if i < 0 {
			w.part = append(w.part, rest[:min(len(rest), maxLastLine-len(w.part))]...)
			break
		}
		w.part = append(w.part, rest[:min(i, maxLastLine-len(w.part))]...)
		if len(bytes.TrimSpace(w.part)) > 0 {
			w.line = append(w.line[:0], w.part...)
		}
		w.part, rest = w.part[:0], rest[i+1:]
	}
	return len(p), nil
}

// String returns the last line written, or what was written after it when that is not empty
// (a last line without its newline), or "nothing on standard error".
func (w *lastLine) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	switch {
	case len(bytes.TrimSpace(w.part)) > 0:
		return string(bytes.TrimSpace(w.part))
	case len(w.line) > 0:
		return string(bytes.TrimSpace(w.line))
	}
	return "nothing on standard error"
}

// Remote describes a relay this program did not start: the URL, the trust, and the PID of its
// process when it runs on this machine (0 otherwise).
func Remote(url string, trust load.Trust, pid int) *System {
	return &System{Name: Ours, Kind: Blindpost, URL: url, Trust: trust, PID: pid}
}

// ParsePID parses a --server-pid value; "" is 0.
func ParsePID(s string) (int, error) {
	if s == "" {
		return 0, nil
	}
	pid, err := strconv.Atoi(s)
	if err != nil || pid <= 0 {
		return 0, fmt.Errorf("target: %q is not a process id", s)
	}
	return pid, nil
}

// Provider starts fresh systems for each scenario: the reference relay through Launcher, or
// the relay at Remote when set, and always the forwarders and NATS through Launcher.
type Provider struct {
	Launcher Launcher
	Server   ServerOptions
	Remote   *System // a relay this program did not start; nil: start the reference relay
}

// Ours returns the relay under test: Remote, or a freshly started reference relay.
func (p *Provider) Ours(ctx context.Context) (*System, error) {
	if p.Remote != nil {
		r := *p.Remote
		return &r, nil
	}
	return p.Launcher.StartServer(ctx, p.Server)
}

// OursWith is Ours with more flags for a reference relay it starts, before those of Server
// (which override them); a remote relay is returned as it is.
func (p *Provider) OursWith(ctx context.Context, flags []string) (*System, error) {
	q := *p
	q.Server.Extra = append(append([]string(nil), flags...), p.Server.Extra...)
	return q.Ours(ctx)
}

// Baseline starts a fresh coalescing forwarder, the baseline of every figure.
func (p *Provider) Baseline(ctx context.Context) (*System, error) {
	return p.Launcher.StartCoalesce(ctx)
}

// Typical starts a fresh typical forwarder.
func (p *Provider) Typical(ctx context.Context) (*System, error) {
	return p.Launcher.StartForwarder(ctx)
}

// NATS starts a fresh NATS server.
func (p *Provider) NATS(ctx context.Context) (*System, error) {
	return p.Launcher.StartNATS(ctx)
}
