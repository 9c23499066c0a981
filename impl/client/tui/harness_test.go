package tui

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	uv "github.com/charmbracelet/ultraviolet"
	"github.com/charmbracelet/x/ansi"

	"github.com/blindpost/blindpost/impl/client"
)

// updating reports -update, which rewrites the golden screens in testdata/. The flag is
// github.com/charmbracelet/x/exp/golden's, which teatest links into this test binary.
func updating() bool { return flag.Lookup("update").Value.String() == "true" }

// t0 is the frozen time of every test screen.
var t0 = time.Date(2026, 3, 14, 9, 30, 0, 0, time.UTC)

// listenMsg stands for the pending read of the next event: the harness delivers the fake's
// events itself, one per pending read, so the model must always re-arm its read.
type listenMsg struct{}

// afterMsg stands for a pending countdown tick.
type afterMsg struct{}

// harness drives a Model with a fake client synchronously: key presses decoded from the bytes
// a terminal sends, events delivered one at a time, commands run to completion in order, and
// the screen rendered through a cell buffer as a terminal would show it.
type harness struct {
	t         *testing.T
	m         *Model
	fake      *fakeClient
	now       time.Time
	listening int // pending event reads; the model keeps exactly one
	ticks     int // pending countdown ticks
	quit      bool
	hold      bool      // keep the commands of the model instead of running them
	held      []tea.Cmd // the commands kept while hold was set, in order
}

// newHarness starts alice's model on an 80×24 terminal, connected, with bob and carol online.
func newHarness(t *testing.T, opts Options) *harness {
	t.Helper()
	h := &harness{t: t, fake: newFake("alice"), now: t0}
	opts.Now = func() time.Time { return h.now }
	h.m = New(context.Background(), h.fake, opts)
	h.m.listen = func() tea.Cmd { return func() tea.Msg { return listenMsg{} } }
	h.m.after = func(time.Duration) tea.Cmd { return func() tea.Msg { return afterMsg{} } }
	h.send(tea.WindowSizeMsg{Width: 80, Height: 24})
	h.run(h.m.Init())
	h.events(client.ConnectionEvent{State: client.Connected, Server: "blindpost-server/test"},
		client.UsersEvent{Users: []string{"alice", "bob", "carol"}})
	return h
}

// send updates the model with msg and runs what follows, then delivers queued events.
func (h *harness) send(msg tea.Msg) {
	h.t.Helper()
	h.apply(msg)
	h.flush()
}

func (h *harness) apply(msg tea.Msg) {
	_, cmd := h.m.Update(msg)
	h.run(cmd)
}

// run executes a command and its results, depth first, as they would arrive.
func (h *harness) run(cmd tea.Cmd) {
	if cmd == nil {
		return
	}
	if h.hold {
		h.held = append(h.held, cmd)
		return
	}
	switch msg := cmd().(type) {
	case nil:
	case tea.BatchMsg:
		for _, c := range msg {
			h.run(c)
		}
	case listenMsg:
		h.listening++
	case afterMsg:
		h.ticks++
	case tea.QuitMsg:
		h.quit = true
	default:
		h.apply(msg)
	}
}

// holding runs script with the model's commands kept, not run: a call to the library (a Send)
// is then started but not answered, as while the relay has not answered yet.
func (h *harness) holding(script string) {
	h.t.Helper()
	h.hold = true
	h.keys(script)
	h.hold = false
}

// release runs the commands kept by holding: the library answers now.
func (h *harness) release() {
	h.t.Helper()
	held := h.held
	h.held = nil
	for _, cmd := range held {
		h.run(cmd)
	}
	h.flush()
}

// flush delivers the events the fake queued, each through a pending read.
func (h *harness) flush() {
	h.t.Helper()
	for len(h.fake.queue) > 0 {
		ev := h.fake.queue[0]
		h.fake.queue = h.fake.queue[1:]
		h.deliver(ev)
	}
}

// events delivers events as the library would.
func (h *harness) events(evs ...client.Event) {
	h.t.Helper()
	for _, ev := range evs {
		if r, ok := ev.(client.ChatRequestEvent); ok {
			h.fake.peers[r.Session] = r.From
		}
		h.deliver(ev)
		h.flush()
	}
}

func (h *harness) deliver(ev client.Event) {
	h.t.Helper()
	if h.listening != 1 {
		h.t.Fatalf("%d event reads pending, want exactly 1", h.listening)
	}
	h.listening--
	h.apply(eventMsg{ev})
}

// tick advances the clock and fires the pending countdown tick.
func (h *harness) tick(d time.Duration) {
	h.t.Helper()
	h.now = h.now.Add(d)
	if h.ticks != 1 {
		h.t.Fatalf("%d ticks pending, want 1", h.ticks)
	}
	h.ticks--
	h.send(tickMsg{})
}

// keyNames are the keys a script names in angle brackets, as the bytes a terminal sends.
var keyNames = map[string]string{
	"tab": "\t", "s-tab": "\x1b[Z", "enter": "\r", "up": "\x1b[A", "down": "\x1b[B",
	"pgup": "\x1b[5~", "pgdn": "\x1b[6~", "esc": "\x1b", "ctrl-c": "\x03", "f1": "\x1bOP",
	"bs": "\x7f",
}

var keyToken = regexp.MustCompile(`<[a-z0-9-]+>`)

// keys types a script: text, and named keys in angle brackets ("bob<enter>"). Each key is
// the byte sequence a terminal sends, decoded by the decoder Bubble Tea itself uses.
func (h *harness) keys(script string) {
	h.t.Helper()
	for _, chunk := range splitScript(script) {
		if name, ok := strings.CutPrefix(chunk, "<"); ok {
			seq, known := keyNames[strings.TrimSuffix(name, ">")]
			if !known {
				h.t.Fatalf("unknown key %s", chunk)
			}
			h.decode([]byte(seq))
			continue
		}
		for _, r := range chunk {
			h.decode([]byte(string(r)))
		}
	}
}

// splitScript cuts a script into named keys and runs of text.
func splitScript(s string) []string {
	var out []string
	last := 0
	for _, loc := range keyToken.FindAllStringIndex(s, -1) {
		if loc[0] > last {
			out = append(out, s[last:loc[0]])
		}
		out = append(out, s[loc[0]:loc[1]])
		last = loc[1]
	}
	if last < len(s) {
		out = append(out, s[last:])
	}
	return out
}

// decode turns terminal input into key presses and sends them.
func (h *harness) decode(buf []byte) {
	h.t.Helper()
	var d uv.EventDecoder
	for len(buf) > 0 {
		n, ev := d.Decode(buf)
		if n == 0 {
			h.t.Fatalf("undecodable input %q", buf)
		}
		buf = buf[n:]
		k, ok := ev.(uv.KeyPressEvent)
		if !ok {
			h.t.Fatalf("input decoded to %T, want a key press", ev)
		}
		h.send(tea.KeyPressMsg(k))
	}
}

// screen renders the view into a cell buffer of the terminal's size, as the renderer does,
// and returns its text with trailing spaces trimmed. It fails when a row is not exactly as wide
// as the terminal, or the view has more or fewer rows.
func (h *harness) screen() string {
	h.t.Helper()
	content := h.m.View().Content
	rows := strings.Split(content, "\n")
	if len(rows) != h.m.height {
		h.t.Fatalf("view has %d rows, terminal %d", len(rows), h.m.height)
	}
	for i, r := range rows {
		if w := ansi.StringWidth(r); w != h.m.width {
			h.t.Fatalf("row %d is %d cells wide, terminal %d: %q", i, w, h.m.width, ansi.Strip(r))
		}
	}
	scr := uv.NewScreenBuffer(h.m.width, h.m.height)
	uv.NewStyledString(content).Draw(scr, scr.Bounds())
	lines := strings.Split(scr.Buffer.String(), "\n")
	for i := range lines {
		lines[i] = strings.TrimRight(lines[i], " ")
	}
	return strings.Join(lines, "\n") + "\n"
}

// row returns one row of the screen.
func (h *harness) row(i int) string {
	h.t.Helper()
	rows := strings.Split(h.screen(), "\n")
	if i < 0 {
		i += len(rows) - 1
	}
	return rows[i]
}

// status returns the status line as "security | connection".
func (h *harness) status() string {
	h.t.Helper()
	return strings.Join(gap.Split(strings.TrimSpace(h.row(-2)), 2), " | ")
}

// gap separates the two sides of the status line.
var gap = regexp.MustCompile(` {3,}`)

// contains fails unless the screen shows want.
func (h *harness) contains(want ...string) {
	h.t.Helper()
	s := h.screen()
	for _, w := range want {
		if !strings.Contains(s, w) {
			h.t.Fatalf("screen lacks %q:\n%s", w, s)
		}
	}
}

// said fails unless some conversation holds a line that contains each of want, before wrapping.
func (h *harness) said(want ...string) {
	h.t.Helper()
	var all []string
	for _, c := range h.m.convs {
		for _, l := range c.lines {
			all = append(all, l.text)
		}
	}
	text := strings.Join(all, "\n")
	for _, w := range want {
		if !strings.Contains(text, w) {
			h.t.Fatalf("no line says %q; lines:\n%s", w, text)
		}
	}
}

// golden compares the screen with testdata/NAME.golden; -update rewrites it.
func (h *harness) golden(name string) {
	h.t.Helper()
	got := []byte(h.screen())
	path := filepath.Join("testdata", name+".golden")
	if updating() {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			h.t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		h.t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		h.t.Fatalf("screen differs from %s (go test -update rewrites it)\ngot:\n%s\nwant:\n%s", path, got, want)
	}
}

// called fails unless the fake saw each call, in this order among its calls.
func (h *harness) called(want ...string) {
	h.t.Helper()
	i := 0
	for _, c := range h.fake.calls {
		if i < len(want) && c == want[i] {
			i++
		}
	}
	if i < len(want) {
		h.t.Fatalf("calls %q, want %q in order", h.fake.calls, want)
	}
}
