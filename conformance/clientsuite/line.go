package clientsuite

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/blindpost/blindpost/conformance/harness"
)

// Line is one line the driver wrote: a response or an event (spec A.1, A.2), decoded.
type Line struct {
	Raw []byte
	m   map[string]any
}

// parseLine decodes a driver line; numbers stay exact.
func parseLine(raw []byte) (Line, error) {
	l := Line{Raw: bytes.Clone(raw)}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&l.m); err != nil {
		return l, fmt.Errorf("clientsuite: driver line is not a JSON object: %w", err)
	}
	return l, nil
}

// Has reports whether the line has member key.
func (l Line) Has(key string) bool { _, ok := l.m[key]; return ok }

// Str returns member key as a string ("" when absent or not a string).
func (l Line) Str(key string) string { s, _ := l.m[key].(string); return s }

// Int returns member key as an integer, and whether it is one.
func (l Line) Int(key string) (int64, bool) {
	n, ok := l.m[key].(json.Number)
	if !ok {
		return 0, false
	}
	v, err := n.Int64()
	return v, err == nil
}

// Strs returns member key as a list of strings.
func (l Line) Strs(key string) []string {
	list, _ := l.m[key].([]any)
	var out []string
	for _, v := range list {
		if s, ok := v.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// OK reports whether the line is a successful response.
func (l Line) OK() bool { ok, _ := l.m["ok"].(bool); return ok }

// Event returns the event name, "" for a response.
func (l Line) Event() string { return l.Str("event") }

// IsEvent reports whether the line is an event.
func (l Line) IsEvent() bool { return l.Has("event") }

// String renders the line for a report.
func (l Line) String() string {
	s, _ := harness.Printable(l.Raw, 400)
	return s
}

// The predicates cases wait for.

// IsSecurity matches a security event (spec A.2, DRV-2).
func IsSecurity(l Line) bool { return l.Event() == "security" }

// SessionState matches a session event of session sid in one of states.
func SessionState(sid string, states ...string) func(Line) bool {
	return func(l Line) bool {
		return l.Event() == "session" && l.Str("session") == sid && slices.Contains(states, l.Str("state"))
	}
}

// MessageText matches a message event carrying text.
func MessageText(text string) func(Line) bool {
	return func(l Line) bool { return l.Event() == "message" && l.Str("text") == text }
}

// GroupText matches a group_message event carrying text.
func GroupText(text string) func(Line) bool {
	return func(l Line) bool { return l.Event() == "group_message" && l.Str("text") == text }
}

// GroupEpoch matches a group event of group at epoch.
func GroupEpoch(group string, epoch uint64) func(Line) bool {
	return func(l Line) bool {
		n, _ := l.Int("epoch")
		return l.Event() == "group" && l.Str("group") == group && uint64(n) == epoch
	}
}

// Either matches what any of preds matches.
func Either(preds ...func(Line) bool) func(Line) bool {
	return func(l Line) bool {
		for _, p := range preds {
			if p != nil && p(l) {
				return true
			}
		}
		return false
	}
}

// describeLines renders lines for a failure message, at most the last n.
func describeLines(lines []Line, n int) string {
	if len(lines) == 0 {
		return "none"
	}
	var b strings.Builder
	if len(lines) > n {
		fmt.Fprintf(&b, "(%d earlier left out) ", len(lines)-n)
		lines = lines[len(lines)-n:]
	}
	for i, l := range lines {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(l.String())
	}
	return b.String()
}
