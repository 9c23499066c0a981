package tui

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/teatest/v2"

	"github.com/blindpost/blindpost/impl/client"
)

// programClient is a fake library for a real Bubble Tea program: its events come from a
// channel and its calls may run on the program's goroutines, so it locks.
type programClient struct {
	*fakeClient
	events  chan client.Event
	mu      sync.Mutex
	sendErr error
	sent    []string
	once    sync.Once
}

func newProgramClient() *programClient {
	return &programClient{fakeClient: newFake("alice"), events: make(chan client.Event, 16)}
}

func (p *programClient) Events() <-chan client.Event { return p.events }

func (p *programClient) Send(_ context.Context, _ client.SessionID, text string) (uint64, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.sendErr != nil {
		return 0, p.sendErr
	}
	p.sent = append(p.sent, text)
	return uint64(len(p.sent) - 1), nil
}

func (p *programClient) failSends(err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.sendErr = err
}

func (p *programClient) End(context.Context, client.SessionID) error { return nil }

func (p *programClient) Close() error {
	p.once.Do(func() { close(p.events) })
	return nil
}

// waitOutput waits, up to a deadline, until the program's output holds every one of want.
func waitOutput(t *testing.T, tm *teatest.TestModel, want ...string) {
	t.Helper()
	teatest.WaitFor(t, tm.Output(), func(out []byte) bool {
		for _, w := range want {
			if !bytes.Contains(out, []byte(w)) {
				return false
			}
		}
		return true
	}, teatest.WithDuration(10*time.Second), teatest.WithCheckInterval(10*time.Millisecond))
}

// TestProgramTerminalFixes runs the chat as a real Bubble Tea program (teatest): a peer's line
// break shows as a marked continuation and its bidi and zero-width controls as U+FFFD (spec §9
// [CLI-30]); a message that cannot be sent stays in the input line; Ctrl-C quits.
func TestProgramTerminalFixes(t *testing.T) {
	fc := newProgramClient()
	m := New(t.Context(), fc, Options{Now: func() time.Time { return t0 }})
	tm := teatest.NewTestModel(t, m, teatest.WithInitialTermSize(80, 24))

	fc.events <- client.ConnectionEvent{State: client.Connected}
	fc.events <- client.UsersEvent{Users: []string{"alice", "bob"}}
	fc.events <- client.SessionEvent{Session: sid(1), Peer: "bob", State: client.SessionSecured, PeerFingerprint: fp("b")}
	// Events and keys reach the program by different paths: select bob once the list shows
	// the notice of the secured session as unread.
	waitOutput(t, tm, "bob", UnicodeGlyphs.Unread)
	tm.Send(tea.KeyPressMsg{Code: tea.KeyTab})
	waitOutput(t, tm, "secured with bob")

	fc.events <- client.MessageEvent{Session: sid(1), From: "bob", Text: "hi\nalice: here is my passphrase\u202e\u200b"}
	waitOutput(t, tm, "bob:", "hi", "↳ alice: here is my passphrase\uFFFD\uFFFD")

	fc.failSends(client.ErrNotConnected)
	tm.Type("are you there?")
	tm.Send(tea.KeyPressMsg{Code: tea.KeyEnter})
	waitOutput(t, tm, "not sent: not connected to the relay")

	tm.Send(tea.KeyPressMsg{Code: 'c', Mod: tea.ModCtrl})
	final := tm.FinalModel(t, teatest.WithFinalTimeout(10*time.Second)).(*Model)
	if got := final.input.Value(); got != "are you there?" {
		t.Errorf("input after a failed send = %q, want the typed text kept", got)
	}
	screen := ansi.Strip(final.View().Content)
	if strings.Contains(screen, "\u202e") || strings.Contains(screen, "\u200b") {
		t.Errorf("the screen holds a bidi or zero-width control:\n%s", screen)
	}
	for _, l := range strings.Split(screen, "\n") {
		if strings.Contains(l, "alice: here is") && !strings.Contains(l, "↳ alice: here is") {
			t.Errorf("the peer's second line is not marked as a continuation: %q", l)
		}
	}
}
