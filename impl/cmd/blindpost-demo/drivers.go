package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os/exec"
	"strconv"
	"time"
)

// waitFor bounds every wait of the demo.
const waitFor = 20 * time.Second

// line is one output line of a driver (spec Appendix A).
type line map[string]any

func (l line) str(key string) string { s, _ := l[key].(string); return s }

// driverProc is one `blindpost driver` subprocess, operated over its standard input and output.
type driverProc struct {
	name   string
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	out    chan line
	nextID int
	events []line
}

func startDriverProc(bin, name string, stderr io.Writer) (*driverProc, error) {
	cmd := exec.Command(bin, "driver")
	cmd.Stderr = stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	d := &driverProc{name: name, cmd: cmd, stdin: stdin, out: make(chan line, 256)}
	go func() {
		defer close(d.out)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			var l line
			if json.Unmarshal(sc.Bytes(), &l) == nil {
				d.out <- l
			}
		}
	}()
	return d, nil
}

// do sends a command and returns its response, or an error when it failed.
func (d *driverProc) do(name string, args ...any) (line, error) {
	d.nextID++
	id := strconv.Itoa(d.nextID)
	c := map[string]any{"id": id, "cmd": name}
	for i := 0; i+1 < len(args); i += 2 {
		c[args[i].(string)] = args[i+1]
	}
	data, _ := json.Marshal(c)
	if _, err := d.stdin.Write(append(data, '\n')); err != nil {
		return nil, fmt.Errorf("%s: %s: %w", d.name, name, err)
	}
	for {
		l, err := d.next()
		if err != nil {
			return nil, fmt.Errorf("%s: %s: %w", d.name, name, err)
		}
		if _, isEvent := l["event"]; isEvent {
			d.events = append(d.events, l)
			continue
		}
		if l["ok"] != true {
			return l, fmt.Errorf("%s: %s failed: %s: %s", d.name, name, l.str("error"), l.str("message"))
		}
		return l, nil
	}
}

// await returns the first event whose members include want.
func (d *driverProc) await(want map[string]any) (line, error) {
	for i, l := range d.events {
		if matches(l, want) {
			d.events = append(d.events[:i], d.events[i+1:]...)
			return l, nil
		}
	}
	for {
		l, err := d.next()
		if err != nil {
			return nil, fmt.Errorf("%s: waiting for %v: %w", d.name, want, err)
		}
		if _, isEvent := l["event"]; isEvent && matches(l, want) {
			return l, nil
		}
		d.events = append(d.events, l)
	}
}

func (d *driverProc) next() (line, error) {
	select {
	case l, ok := <-d.out:
		if !ok {
			return nil, fmt.Errorf("the driver exited")
		}
		return l, nil
	case <-time.After(waitFor):
		return nil, fmt.Errorf("timed out")
	}
}

// stop quits the driver and waits for it to exit.
func (d *driverProc) stop() error {
	_, qerr := d.do("quit")
	d.stdin.Close()
	done := make(chan error, 1)
	go func() { done <- d.cmd.Wait() }()
	select {
	case err := <-done:
		if qerr != nil {
			return qerr
		}
		return err
	case <-time.After(waitFor):
		d.cmd.Process.Kill()
		return fmt.Errorf("%s did not exit", d.name)
	}
}

func matches(l line, want map[string]any) bool {
	for k, v := range want {
		if fmt.Sprint(l[k]) != fmt.Sprint(v) {
			return false
		}
	}
	return true
}
