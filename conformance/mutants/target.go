package mutants

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/blindpost/blindpost/conformance/harness"
)

// serverFlags start a relay under test with short timers, announced in hello_ack, so that the
// registration deadline and keepalive cases end quickly, and small limits, so that every limit
// is reachable (SRV-11 needs a max_message below the largest valid relay). The bound on all
// connections is far above the per-address one, so that abuse/connections-from-accept, which
// opens its idle connections faster than the handshake deadline closes them, meets the bound
// of ABU-3 and not that of ABU-1 (mutant 131).
var serverFlags = []string{
	"--listen", "127.0.0.1:0",
	"--register-timeout", "2s", "--ping-interval", "400ms", "--pong-timeout", "3s",
	"--max-message", "16384", "--max-groups", "4", "--max-group-members", "5",
	"--handshake-timeout", "1s", "--max-conns-per-addr", "100", "--max-joins-per-addr", "40", "--max-conns", "100000",
	"--log-level", "warn",
}

// serverSuiteFlags ask for the server suite's quick settings; it reads the timers from
// hello_ack (spec §4.2 [WS-7], [WS-9]), but not the handshake deadline, which is not announced.
var serverSuiteFlags = []string{"--quick", "--handshake-timeout", "1s"}

// Deadlines of the processes a run starts; none is a synchronisation by sleeping.
const (
	serverStartWait = 30 * time.Second // the relay prints its URL and pin
	serverStopWait  = 5 * time.Second  // the relay exits after an interrupt
	suiteTimeout    = 5 * time.Minute  // one blindpost-conform run (its own --timeout)
)

// suites runs blindpost-conform, built from the unmutated tree, against targets.
type suites struct {
	conform string // the blindpost-conform binary
	seed    uint64
	xfail   string // the client suite's expected failures of the reference client; "" for none
}

// server starts bin as a relay with its data in dir and runs the server suite's cases that match
// patterns against it.
func (s *suites) server(ctx context.Context, bin, dir string, patterns, serverExtra, suiteExtra []string) (*harness.Report, error) {
	srv, err := startServer(ctx, bin, dir, serverExtra)
	if err != nil {
		return nil, err
	}
	defer srv.stop()
	args, err := suiteArgs(ctx, bin, dir, []string{srv.url}, srv.pin, suiteExtra)
	if err != nil {
		return nil, err
	}
	rep, err := s.run(ctx, args, patterns)
	if err != nil {
		return nil, fmt.Errorf("%w\nthe relay's standard error ends with:\n%s", err, indented(srv.stderr))
	}
	return rep, nil
}

// suiteArgs returns the server suite's command line for a relay system at urls with one pin,
// with suiteExtra after the quick settings; {invite} becomes an invite that the relay whose
// data is in dir issues.
func suiteArgs(ctx context.Context, bin, dir string, urls []string, pin string, suiteExtra []string) ([]string, error) {
	args := append(append([]string{"server"}, urls...), "--pin", pin)
	args = append(args, serverSuiteFlags...)
	for _, f := range suiteExtra {
		if f == "{invite}" {
			code, err := createInvite(ctx, bin, dir)
			if err != nil {
				return nil, err
			}
			f = code
		}
		args = append(args, f)
	}
	return args, nil
}

// client runs the client suite's cases that match patterns with `bin driver` as the driver,
// in dir.
func (s *suites) client(ctx context.Context, bin, dir string, patterns []string) (*harness.Report, error) {
	args := []string{"client", "--driver", shellQuote(bin) + " driver", "--driver-dir", dir}
	if s.xfail != "" {
		args = append(args, "--expect-fail", s.xfail)
	}
	return s.run(ctx, args, patterns)
}

// run runs blindpost-conform with args and the selection, and decodes its JSON report. Exit
// status 0 (every case passed) and 1 (a case failed) both carry a report; anything else is an
// error of the run itself.
func (s *suites) run(ctx context.Context, args, patterns []string) (*harness.Report, error) {
	args = append(args, "--json", "--quiet", "--seed", fmt.Sprint(s.seed), "--timeout", suiteTimeout.String(),
		"--run", strings.Join(patterns, ","))
	cmd := exec.CommandContext(ctx, s.conform, args...)
	var stdout bytes.Buffer
	stderr := harness.NewTail(8 << 10)
	cmd.Stdout, cmd.Stderr = &stdout, stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if err != nil && !(errors.As(err, &exit) && exit.ExitCode() == 1) {
		return nil, fmt.Errorf("mutants: blindpost-conform %s: %w\n%s", shellJoin(args), err, indented(stderr))
	}
	var rep harness.Report
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		return nil, fmt.Errorf("mutants: the report of blindpost-conform %s: %w\n%s", shellJoin(args), err, indented(stderr))
	}
	if len(rep.Results) == 0 {
		return nil, fmt.Errorf("mutants: blindpost-conform %s ran no case", shellJoin(args))
	}
	return &rep, nil
}

// relay is a running blindpost-server.
type relay struct {
	bin     string
	cmd     *exec.Cmd
	out     *startup // its standard output, watched for the URL and pin
	url     string
	pin     string
	stderr  *harness.Tail
	exited  chan struct{} // closed once the process has exited
	waitErr error         // set before exited is closed
}

// createInvite has the relay running with its data in dir issue a single-use invite, over its
// administration socket, and returns the code.
func createInvite(ctx context.Context, bin, dir string) (string, error) {
	out, err := exec.CommandContext(ctx, bin, "invites", "create", "--data", dir).Output()
	if err != nil {
		return "", fmt.Errorf("mutants: %s invites create: %w", bin, err)
	}
	// "invite CODE (id ID): ..."
	fields := strings.Fields(string(out))
	if len(fields) < 2 || fields[0] != "invite" {
		return "", fmt.Errorf("mutants: %s invites create printed %q", bin, out)
	}
	return fields[1], nil
}

// startServer starts bin on 127.0.0.1:0 with its data in dir, serverFlags and extra, and waits
// until it has printed its URL and pin.
func startServer(ctx context.Context, bin, dir string, extra []string) (*relay, error) {
	r, err := launch(bin, append(append([]string{"--data", dir}, serverFlags...), extra...))
	if err != nil {
		return nil, err
	}
	if err := r.waitReady(ctx, serverStartWait); err != nil {
		return nil, err
	}
	return r, nil
}

// launch starts bin with args, without waiting for it to listen.
func launch(bin string, args []string) (*relay, error) {
	r := &relay{bin: bin, out: &startup{ready: make(chan struct{})}, stderr: harness.NewTail(8 << 10), exited: make(chan struct{})}
	r.cmd = exec.Command(bin, args...)
	r.cmd.Stdout, r.cmd.Stderr = r.out, r.stderr
	if err := r.cmd.Start(); err != nil {
		return nil, fmt.Errorf("mutants: start %s: %w", bin, err)
	}
	go func() {
		r.waitErr = r.cmd.Wait()
		close(r.exited)
	}()
	return r, nil
}

// waitReady waits until the relay has printed its URL and pin; on failure it stops the relay.
func (r *relay) waitReady(ctx context.Context, wait time.Duration) error {
	timer := time.NewTimer(wait)
	defer timer.Stop()
	select {
	case <-r.out.ready:
		r.url, r.pin = r.out.values()
		return nil
	case <-r.exited:
		return fmt.Errorf("mutants: %s exited before listening (%v):\n%s", r.bin, r.waitErr, indented(r.stderr))
	case <-timer.C:
		r.stop()
		return fmt.Errorf("mutants: %s printed no URL and pin within %s:\n%s", r.bin, wait, indented(r.stderr))
	case <-ctx.Done():
		r.stop()
		return ctx.Err()
	}
}

// stop interrupts the relay, as an operator would, and kills it if it has not exited in time.
func (r *relay) stop() {
	_ = r.cmd.Process.Signal(os.Interrupt)
	timer := time.NewTimer(serverStopWait)
	defer timer.Stop()
	select {
	case <-r.exited:
	case <-timer.C:
		_ = r.cmd.Process.Kill()
		<-r.exited
	}
}

// startup is a relay's standard output: it watches for the lines that give the URL and the pin
// (blindpost-server prints "listening on URL" and "server pin: PIN").
type startup struct {
	mu    sync.Mutex
	text  []byte
	url   string
	pin   string
	ready chan struct{} // closed once both are known
}

// Write takes more output and looks at its complete lines.
func (s *startup) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.url != "" && s.pin != "" {
		return len(p), nil
	}
	s.text = append(s.text, p...)
	lines := strings.Split(string(s.text), "\n")
	for _, line := range lines[:len(lines)-1] { // complete lines only
		if v, ok := strings.CutPrefix(line, "listening on "); ok {
			s.url = strings.TrimSpace(v)
		}
		if v, ok := strings.CutPrefix(line, "server pin: "); ok {
			s.pin = strings.TrimSpace(v)
		}
	}
	if s.url != "" && s.pin != "" {
		close(s.ready)
	}
	return len(p), nil
}

func (s *startup) values() (url, pin string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.url, s.pin
}

// indented quotes a subprocess's standard error in an error message, one tab in.
func indented(t *harness.Tail) string {
	text := strings.TrimRight(t.String(), "\n")
	if text == "" {
		return "\t(nothing)"
	}
	return "\t" + strings.ReplaceAll(text, "\n", "\n\t")
}

// shellQuote quotes s for the --driver command line, which blindpost-conform splits as a shell
// would (without expansions).
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:=,@%+") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// shellJoin quotes and joins a command line, for messages.
func shellJoin(args []string) string {
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = shellQuote(a)
	}
	return strings.Join(out, " ")
}
