package clientsuite

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/blindpost/blindpost/conformance/harness"
	"github.com/blindpost/blindpost/schemas"
)

// maxLine bounds one line of the driver's output.
const maxLine = 1 << 20

// stopGrace is how long a driver gets to exit after its standard input closes.
const stopGrace = 2 * time.Second

// Driver is the client under test: a subprocess speaking the driver protocol (spec Appendix A).
// A reader goroutine validates every line it writes (DRV-4), hands responses to the commands
// waiting for them (DRV-1) and keeps every event, in order, for the case to wait on.
type Driver struct {
	t       *harness.T
	wait    time.Duration
	startup time.Duration // the wait for the response to connect
	cmd     *exec.Cmd
	stdin   io.WriteCloser
	stderr  *harness.Tail
	exited  chan struct{} // closed once the process exited and its output was read
	// exitErr is what cmd.Wait returned, valid once exited is closed.
	exitErr error

	mu        sync.Mutex
	nextID    int
	pending   map[string]bool // commands written and not answered
	responses map[string]Line // answers not yet taken
	// idless counts the lines written without a usable id and not answered yet; idlessGot holds
	// their failures without id (DRV-6).
	idless    int
	idlessGot []Line
	events    []Line        // every event, in order
	taken     []bool        // events[i] was consumed by a wait
	changed   chan struct{} // closed and replaced on every line and at exit
}

// startDriver starts the driver of env for case t; it is stopped when the case ends.
func startDriver(t *harness.T, env *Env) *Driver {
	cmd := exec.Command(env.argv[0], env.argv[1:]...)
	cmd.Env = append(os.Environ(), env.cfg.Env...)
	cmd.Dir = env.cfg.Dir
	cmd.WaitDelay = stopGrace
	setProcessGroup(cmd)
	d := &Driver{
		t: t, wait: env.cfg.Wait, startup: env.cfg.StartupWait, cmd: cmd, stderr: harness.NewTail(1 << 20), exited: make(chan struct{}),
		pending: map[string]bool{}, responses: map[string]Line{}, changed: make(chan struct{}),
	}
	cmd.Stderr = d.stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatalf("clientsuite: driver stdin: %v", err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatalf("clientsuite: driver stdout: %v", err)
	}
	d.stdin = stdin
	t.Transcript().Notef("driver", "start %s", strings.Join(env.argv, " "))
	if err := cmd.Start(); err != nil {
		t.Fatalf("cannot start the driver %q: %v", env.cfg.Driver, err)
	}
	t.Cleanup(d.stop)
	go d.read(stdout)
	return d
}

// read handles the driver's output until it ends, then waits for the process.
func (d *Driver) read(r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), maxLine)
	for sc.Scan() {
		d.line(sc.Bytes())
	}
	if err := sc.Err(); err != nil {
		d.t.Mismatch("DRV-4", "lines of at most 1 MiB", fmt.Sprintf("reading standard output: %v", err))
		_, _ = io.Copy(io.Discard, r)
	}
	err := d.cmd.Wait()
	d.mu.Lock()
	d.exitErr = err
	d.broadcastLocked()
	d.mu.Unlock()
	d.t.Transcript().Notef("driver", "exited: %v", exitText(err))
	close(d.exited)
}

// line validates one output line (DRV-4) and files it as a response or an event.
func (d *Driver) line(raw []byte) {
	d.t.Transcript().Add("driver", harness.In, "line", raw)
	if vs, err := schemas.Check(schemas.DriverOutput, raw); err != nil || len(vs) > 0 {
		d.t.Mismatch("DRV-4", "only lines that validate against schemas/driver/output.json on standard output",
			fmt.Sprintf("%s: %s", printable(raw), violationText(vs, err)))
	}
	l, err := parseLine(raw)
	if err != nil {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	defer d.broadcastLocked()
	if l.IsEvent() {
		d.events = append(d.events, l)
		d.taken = append(d.taken, false)
		return
	}
	id := l.Str("id")
	if id == "" && d.idless > 0 { // spec A.1 [DRV-6]
		d.idless--
		d.idlessGot = append(d.idlessGot, l)
		return
	}
	if !d.pending[id] {
		d.t.Mismatch("DRV-1", "exactly one response per command, carrying the command's id",
			fmt.Sprintf("a response with id %q, which answers no command waiting for one: %s", id, l))
		return
	}
	delete(d.pending, id)
	d.responses[id] = l
}

func (d *Driver) broadcastLocked() {
	close(d.changed)
	d.changed = make(chan struct{})
}

// Send writes one command with a fresh id and returns that id.
func (d *Driver) Send(cmd string, args ...any) string {
	d.mu.Lock()
	d.nextID++
	id := "c" + itoa(d.nextID)
	d.pending[id] = true
	d.mu.Unlock()
	m := map[string]any{"id": id, "cmd": cmd}
	for i := 0; i+1 < len(args); i += 2 {
		m[args[i].(string)] = args[i+1]
	}
	data, err := json.Marshal(m)
	if err != nil {
		d.t.Fatalf("clientsuite: encode command %s: %v", cmd, err)
	}
	d.WriteLine(data)
	return id
}

// WriteLine writes one raw line to the driver's standard input.
func (d *Driver) WriteLine(data []byte) {
	d.t.Transcript().Add("driver", harness.Out, "line", data)
	if _, err := d.stdin.Write(append(data, '\n')); err != nil {
		d.t.Fatalf("cannot write to the driver's standard input: %v%s", err, d.exitNote())
	}
}

// Unanswerable writes a line that is not a JSON object with a valid id and returns the failure
// without id that answers it (spec A.1 [DRV-6]), or false when none comes within wait.
func (d *Driver) Unanswerable(data []byte, wait time.Duration) (Line, bool) {
	d.mu.Lock()
	d.idless++
	d.mu.Unlock()
	d.WriteLine(data)
	return d.await("the failure without id to "+printable(data), wait, func() (Line, bool) {
		if len(d.idlessGot) == 0 {
			return Line{}, false
		}
		l := d.idlessGot[0]
		d.idlessGot = d.idlessGot[1:]
		return l, true
	})
}

// Do sends a command and returns its response, ok or not. It stops the case when no response
// comes within the wait.
func (d *Driver) Do(cmd string, args ...any) Line {
	id := d.Send(cmd, args...)
	return d.Response(id, cmd, d.wait)
}

// Response waits up to wait for the response to the command with id.
func (d *Driver) Response(id, cmd string, wait time.Duration) Line {
	l, ok := d.ResponseWithin(id, cmd, wait)
	if !ok {
		d.t.Fatalf("%s [DRV-1]", d.missing(fmt.Sprintf("the response to %s (id %s)", cmd, id), wait))
	}
	return l
}

// ResponseWithin is Response that reports a timeout instead of stopping the case.
func (d *Driver) ResponseWithin(id, cmd string, wait time.Duration) (Line, bool) {
	return d.await(fmt.Sprintf("the response to %s (id %s)", cmd, id), wait, func() (Line, bool) {
		l, ok := d.responses[id]
		delete(d.responses, id)
		return l, ok
	})
}

// missing says why a wait ended empty: the driver exited, or the wait passed.
func (d *Driver) missing(what string, wait time.Duration) string {
	if gone, err := d.Exited(); gone {
		return fmt.Sprintf("the driver exited (%s) before %s%s", exitText(err), what, d.stderrNote())
	}
	return fmt.Sprintf("timed out waiting for %s (%s)", what, wait)
}

// OK sends a command that must succeed. A driver that answers unimplemented stops the case
// with that verdict; any other error stops it as a failure.
func (d *Driver) OK(cmd string, args ...any) Line {
	return d.mustSucceed(cmd, d.Do(cmd, args...))
}

// Connect sends connect, whose response may take the driver's start-up time, and checks that
// it succeeded.
func (d *Driver) Connect(args ...any) Line {
	id := d.Send("connect", args...)
	return d.mustSucceed("connect", d.Response(id, "connect", d.startup))
}

func (d *Driver) mustSucceed(cmd string, l Line) Line {
	if !l.OK() {
		d.unimplemented(cmd, l)
		d.t.Fatalf("the driver refused %s: %s", cmd, l)
	}
	return l
}

func (d *Driver) unimplemented(cmd string, l Line) {
	if !l.OK() && l.Str("error") == "unimplemented" {
		d.t.Unimplemented("the driver does not implement %s: %s", cmd, l.Str("message"))
	}
}

// Next waits for the first event not yet taken that match selects, takes it and returns it. It
// stops the case with the events seen when none comes within the wait.
func (d *Driver) Next(what string, match func(Line) bool) Line {
	l, ok := d.NextWithin(what, d.wait, match)
	if !ok {
		d.t.Fatalf("%s; events so far: %s", d.missing(what, d.wait), describeLines(d.Events(), 12))
	}
	return l
}

// NextWithin is Next that reports a timeout instead of stopping the case.
func (d *Driver) NextWithin(what string, wait time.Duration, match func(Line) bool) (Line, bool) {
	return d.await(what, wait, func() (Line, bool) {
		for i, l := range d.events {
			if !d.taken[i] && match(l) {
				d.taken[i] = true
				return l, true
			}
		}
		return Line{}, false
	})
}

// await polls find, under the lock, each time the output changes, until it finds something,
// the wait passes, the case ends or the driver exits.
func (d *Driver) await(what string, wait time.Duration, find func() (Line, bool)) (Line, bool) {
	d.t.Waiting(what)
	defer d.t.Waiting("")
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for {
		d.mu.Lock()
		l, ok := find()
		changed := d.changed
		d.mu.Unlock()
		if ok {
			return l, true
		}
		select {
		case <-d.exited:
			d.mu.Lock()
			l, ok = find()
			d.mu.Unlock()
			return l, ok
		case <-changed:
		case <-timer.C:
			return Line{}, false
		case <-d.t.Context().Done():
			return Line{}, false
		}
	}
}

// Events returns every event so far, taken or not.
func (d *Driver) Events() []Line {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]Line(nil), d.events...)
}

// Untaken returns the events no wait has taken yet that match selects.
func (d *Driver) Untaken(match func(Line) bool) []Line {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []Line
	for i, l := range d.events {
		if !d.taken[i] && match(l) {
			out = append(out, l)
		}
	}
	return out
}

// Exited reports whether the process has exited, and how.
func (d *Driver) Exited() (bool, error) {
	select {
	case <-d.exited:
		return true, d.exitErr
	default:
		return false, nil
	}
}

// WaitExit waits up to wait for the process to exit.
func (d *Driver) WaitExit(wait time.Duration) (bool, error) {
	timer := time.NewTimer(wait)
	defer timer.Stop()
	select {
	case <-d.exited:
		return true, d.exitErr
	case <-timer.C:
		return false, nil
	}
}

// Stderr returns the end of what the driver wrote to standard error.
func (d *Driver) Stderr() string { return d.stderr.String() }

// exitNote explains a wait that failed because the driver is gone.
func (d *Driver) exitNote() string {
	gone, err := d.Exited()
	if !gone {
		return ""
	}
	return fmt.Sprintf("; the driver had exited (%s)%s", exitText(err), d.stderrNote())
}

// stderrNote quotes the end of the driver's standard error, if it wrote any.
func (d *Driver) stderrNote() string {
	if e := strings.TrimSpace(d.stderr.Last(600)); e != "" {
		return "; its standard error ends with: " + e
	}
	return ""
}

// stop closes the driver's standard input, gives it stopGrace to exit, then kills its process
// group. When the case failed, the end of its standard error joins the transcript.
func (d *Driver) stop() {
	_ = d.stdin.Close()
	if gone, _ := d.WaitExit(stopGrace); !gone {
		d.t.Transcript().Notef("driver", "still running %s after its standard input closed: killed", stopGrace)
		killProcessGroup(d.cmd)
		<-d.exited
	}
	if d.t.Failed() {
		if e := d.stderr.Last(4000); strings.TrimSpace(e) != "" {
			d.t.Transcript().Notef("driver", "standard error (end): %s", e)
		}
	}
}

func exitText(err error) string {
	var ee *exec.ExitError
	switch {
	case err == nil:
		return "exit status 0"
	case errors.As(err, &ee):
		return ee.String()
	}
	return err.Error()
}

func violationText(vs []schemas.Violation, err error) string {
	if err != nil {
		return err.Error()
	}
	var parts []string
	for _, v := range vs {
		parts = append(parts, fmt.Sprintf("at %q %s: %s", v.Pointer, v.Keyword, v.Message))
	}
	return strings.Join(parts, "; ")
}

func printable(b []byte) string {
	s, _ := harness.Printable(b, 400)
	return s
}
