package serversuite

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/blindpost/blindpost/conformance/harness"
	"github.com/blindpost/blindpost/impl/wire"
	"github.com/blindpost/blindpost/schemas"
)

// The kinds of Frame.
const (
	KindText    = "text"
	KindBinary  = "binary"
	KindClose   = "close"   // a close frame; Code and Text hold it
	KindDropped = "dropped" // the connection ended without a close frame; Text holds the error
)

// Frame is one thing the server did on a connection.
type Frame struct {
	Kind string
	Data []byte
	Msg  map[string]any // a text frame decoded (numbers as json.Number); nil when not a JSON object
	Type string         // Msg["type"] when it is a string
	Code int            // close code
	Text string         // close reason, or why the connection dropped
	At   time.Duration  // since the case started
}

func textFrame(data []byte, at time.Duration) Frame {
	f := Frame{Kind: KindText, Data: data, At: at}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var m map[string]any
	if dec.Decode(&m) == nil {
		f.Msg = m
		f.Type, _ = m["type"].(string)
	}
	return f
}

// Str returns a string member of the message, or "".
func (f Frame) Str(key string) string {
	s, _ := f.Msg[key].(string)
	return s
}

// Has reports whether the message has member key.
func (f Frame) Has(key string) bool {
	_, ok := f.Msg[key]
	return ok
}

// IsResponse reports whether the frame answers a request (spec §5.1: everything but the
// forwarded messages and group_members).
func (f Frame) IsResponse() bool {
	return slices.Contains(wire.ResponseTypes(), f.Type)
}

// Short describes the frame in one line, for the "actual" of a failure.
func (f Frame) Short() string {
	switch f.Kind {
	case KindClose:
		return fmt.Sprintf("close %d %q", f.Code, f.Text)
	case KindDropped:
		return "the connection ended without a close frame (" + f.Text + ")"
	case KindBinary:
		return fmt.Sprintf("a binary message of %d bytes", len(f.Data))
	}
	text, cut := harness.Printable(f.Data, 300)
	if cut {
		text += "…"
	}
	return text
}

// mailbox is an unbounded queue of frames: the reader never waits for the case, so that a
// server writing many messages is never slowed by the runner.
type mailbox struct {
	mu     sync.Mutex
	q      []Frame
	closed bool
	signal chan struct{}
}

func newMailbox() *mailbox { return &mailbox{signal: make(chan struct{}, 1)} }

func (m *mailbox) put(f Frame) {
	m.mu.Lock()
	m.q = append(m.q, f)
	m.mu.Unlock()
	select {
	case m.signal <- struct{}{}:
	default:
	}
}

func (m *mailbox) close() {
	m.mu.Lock()
	m.closed = true
	m.mu.Unlock()
	select {
	case m.signal <- struct{}{}:
	default:
	}
}

// next returns the next frame, waiting at most d; false on timeout, or when the connection
// ended and every frame was taken.
func (m *mailbox) next(ctx context.Context, d time.Duration) (Frame, bool) {
	timer := time.NewTimer(d)
	defer timer.Stop()
	for {
		m.mu.Lock()
		if len(m.q) > 0 {
			f := m.q[0]
			m.q = m.q[1:]
			m.mu.Unlock()
			return f, true
		}
		closed := m.closed
		m.mu.Unlock()
		if closed {
			return Frame{}, false
		}
		select {
		case <-m.signal:
		case <-timer.C:
			return Frame{}, false
		case <-ctx.Done():
			return Frame{}, false
		}
	}
}

// unshift puts frames back at the front of the queue, in order.
func (m *mailbox) unshift(frames []Frame) {
	if len(frames) == 0 {
		return
	}
	m.mu.Lock()
	m.q = append(append([]Frame(nil), frames...), m.q...)
	m.mu.Unlock()
	select {
	case m.signal <- struct{}{}:
	default:
	}
}

// pending returns how many frames wait in the mailbox.
func (m *mailbox) pending() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.q)
}

// validateServerMessage returns "" when data validates against schemas/server-message.json
// (with the oracle's strict JSON reader), and otherwise the violations.
func validateServerMessage(data []byte) string {
	vs, err := schemas.Check(schemas.ServerMessage, data)
	if err != nil {
		return err.Error()
	}
	if len(vs) == 0 {
		return ""
	}
	var parts []string
	for i, v := range vs {
		if i == 3 {
			parts = append(parts, fmt.Sprintf("and %d more", len(vs)-3))
			break
		}
		parts = append(parts, v.String())
	}
	return strings.Join(parts, "; ")
}

var (
	plainInt = regexp.MustCompile(`^-?(0|[1-9][0-9]*)$`)
	nameLike = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]{0,63}$`)
)

// nonPlainNumbers returns the numbers of a JSON text that are not written as plain decimal
// integers (spec ENC-7: every number of the protocol is an integer).
func nonPlainNumbers(data []byte) []string {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var bad []string
	for {
		tok, err := dec.Token()
		if err != nil {
			return bad
		}
		if n, ok := tok.(json.Number); ok && !plainInt.MatchString(n.String()) {
			bad = append(bad, n.String())
		}
	}
}
