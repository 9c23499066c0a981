package driver_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/blindpost/blindpost/impl/client/driver"
	"github.com/blindpost/blindpost/schemas"
)

const waitFor = 15 * time.Second

// line is one output line of a driver, decoded.
type line map[string]any

func (l line) str(key string) string { s, _ := l[key].(string); return s }
func (l line) num(key string) int64 {
	f, _ := l[key].(float64)
	return int64(f)
}

// harness runs a driver in process over pipes, as a test harness runs `blindpost driver`: every
// output line is validated against schemas/driver/output.json (DRV-4) as it is read.
type harness struct {
	t      *testing.T
	name   string
	in     *io.PipeWriter
	out    chan line
	done   chan error
	nextID int
	events []line // read but not yet matched
	all    []line
}

func startDriver(t *testing.T, name string, opts driver.Options) *harness {
	t.Helper()
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	h := &harness{t: t, name: name, in: inW, out: make(chan line, 1024), done: make(chan error, 1)}
	go func() {
		err := driver.Run(context.Background(), inR, outW, opts)
		outW.Close()
		h.done <- err
	}()
	go h.read(outR)
	t.Cleanup(func() {
		inW.Close()
		select {
		case <-h.done:
		case <-time.After(waitFor):
			t.Errorf("%s: driver did not stop after the end of input", name)
		}
	})
	return h
}

func (h *harness) read(r io.Reader) {
	defer close(h.out)
	sc := bufio.NewScanner(r)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		data := sc.Bytes()
		if vs, err := schemas.Check(schemas.DriverOutput, data); err != nil || len(vs) > 0 {
			h.t.Errorf("%s: output line %s does not validate [DRV-4]: %v %v", h.name, data, vs, err)
		}
		var l line
		if err := json.Unmarshal(data, &l); err != nil {
			h.t.Errorf("%s: output line %s: %v", h.name, data, err)
			continue
		}
		h.out <- l
	}
}

// raw writes one input line as is.
func (h *harness) raw(s string) {
	h.t.Helper()
	if _, err := io.WriteString(h.in, s+"\n"); err != nil {
		h.t.Fatalf("%s: write: %v", h.name, err)
	}
}

// cmd sends a command with a fresh id and returns its response (DRV-1: exactly one, same id).
func (h *harness) cmd(name string, args ...any) line {
	h.t.Helper()
	h.nextID++
	id := strconv.Itoa(h.nextID)
	c := map[string]any{"id": id, "cmd": name}
	for i := 0; i+1 < len(args); i += 2 {
		c[args[i].(string)] = args[i+1]
	}
	data, _ := json.Marshal(c)
	h.raw(string(data))
	return h.response(id)
}

func (h *harness) response(id string) line {
	h.t.Helper()
	for {
		l := h.next("response " + id)
		if _, isEvent := l["event"]; isEvent {
			h.events = append(h.events, l)
			continue
		}
		if l.str("id") != id {
			h.t.Fatalf("%s: response %v while waiting for id %s [DRV-1]", h.name, l, id)
		}
		return l
	}
}

// ok sends a command and fails the test unless it succeeds.
func (h *harness) ok(name string, args ...any) line {
	h.t.Helper()
	r := h.cmd(name, args...)
	if r["ok"] != true {
		h.t.Fatalf("%s: %s failed: %v", h.name, name, r)
	}
	return r
}

// fail sends a command and checks that it fails with code.
func (h *harness) fail(code, name string, args ...any) line {
	h.t.Helper()
	r := h.cmd(name, args...)
	if r["ok"] != false || r.str("error") != code {
		h.t.Fatalf("%s: %s answered %v, want error %s", h.name, name, r, code)
	}
	return r
}

// event waits for an event whose members include want.
func (h *harness) event(want map[string]any) line {
	h.t.Helper()
	for i, l := range h.events {
		if matches(l, want) {
			h.events = append(h.events[:i], h.events[i+1:]...)
			return l
		}
	}
	for {
		l := h.next(fmt.Sprint(want))
		if _, isEvent := l["event"]; !isEvent {
			h.t.Fatalf("%s: unexpected response %v while waiting for event %v", h.name, l, want)
		}
		if matches(l, want) {
			return l
		}
		h.events = append(h.events, l)
	}
}

func (h *harness) next(what string) line {
	h.t.Helper()
	select {
	case l, ok := <-h.out:
		if !ok {
			h.t.Fatalf("%s: output ended while waiting for %s", h.name, what)
		}
		h.all = append(h.all, l)
		return l
	case <-time.After(waitFor):
		h.t.Fatalf("%s: timed out waiting for %s; output so far:\n%s", h.name, what, h.dump())
	}
	return nil
}

func (h *harness) dump() string {
	var b strings.Builder
	for _, l := range h.all {
		data, _ := json.Marshal(l)
		fmt.Fprintf(&b, "  %s\n", data)
	}
	return b.String()
}

func matches(l line, want map[string]any) bool {
	for k, v := range want {
		if fmt.Sprint(l[k]) != fmt.Sprint(v) {
			return false
		}
	}
	return true
}

// securityEvents returns the security events seen so far.
func (h *harness) securityEvents() []line {
	var out []line
	for _, l := range h.all {
		if l.str("event") == "security" {
			out = append(out, l)
		}
	}
	return out
}
