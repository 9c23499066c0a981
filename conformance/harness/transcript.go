package harness

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// Direction says which way a transcript entry went, seen from the runner.
type Direction string

// The directions of a transcript entry.
const (
	Out  Direction = ">" // the runner sent it to the implementation
	In   Direction = "<" // the runner received it from the implementation
	Note Direction = "-" // something the runner observed or decided (a dial, a timeout)
)

// Entry is one recorded frame, line or note.
type Entry struct {
	At   time.Duration `json:"at_ns"`         // since the case started
	Conn string        `json:"conn"`          // which connection or process, for example "alice#2" or "driver"
	Dir  Direction     `json:"dir"`           // Out, In or Note
	Kind string        `json:"kind"`          // "text", "binary", "close", "ping", "pong", "line", "note", …
	Data string        `json:"data"`          // printable rendering, truncated to the transcript's limit
	Size int           `json:"size"`          // the size in bytes of what was sent or received
	Cut  bool          `json:"cut,omitempty"` // Data was truncated
}

// String renders the entry on one line: time, connection, direction, kind and data.
func (e Entry) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "+%7.3fs %-14s %s %-6s", e.At.Seconds(), e.Conn, e.Dir, e.Kind)
	if e.Data != "" {
		b.WriteString(" ")
		b.WriteString(e.Data)
	}
	if e.Cut {
		fmt.Fprintf(&b, " …(%d bytes)", e.Size)
	}
	return b.String()
}

// Transcript limits: how many entries are kept at the start and at the end of a long
// transcript, and how many bytes of each entry's data.
const (
	DefaultTranscriptEntries = 400
	DefaultTranscriptBytes   = 512
)

// Transcript is the bounded, timestamped record of a case's traffic. It keeps the first and the
// last entries of a long run and counts the ones in between. It is safe for concurrent use.
type Transcript struct {
	start    time.Time
	maxBytes int
	half     int

	mu      sync.Mutex
	head    []Entry
	tail    []Entry // a ring of the last entries once head is full
	next    int     // the ring slot written next
	omitted int
}

// NewTranscript returns a transcript that keeps at most entries entries of at most bytes bytes
// of data each (DefaultTranscriptEntries and DefaultTranscriptBytes when 0).
func NewTranscript(start time.Time, entries, bytes int) *Transcript {
	if entries <= 0 {
		entries = DefaultTranscriptEntries
	}
	if bytes <= 0 {
		bytes = DefaultTranscriptBytes
	}
	return &Transcript{start: start, maxBytes: bytes, half: max(entries/2, 1)}
}

// Add records data sent or received on conn.
func (tr *Transcript) Add(conn string, dir Direction, kind string, data []byte) {
	text, cut := Printable(data, tr.maxBytes)
	tr.add(Entry{At: time.Since(tr.start), Conn: conn, Dir: dir, Kind: kind, Data: text, Size: len(data), Cut: cut})
}

// Notef records a note about conn.
func (tr *Transcript) Notef(conn, format string, args ...any) {
	text, cut := Printable([]byte(fmt.Sprintf(format, args...)), tr.maxBytes)
	tr.add(Entry{At: time.Since(tr.start), Conn: conn, Dir: Note, Kind: "note", Data: text, Size: len(text), Cut: cut})
}

func (tr *Transcript) add(e Entry) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	if len(tr.head) < tr.half {
		tr.head = append(tr.head, e)
		return
	}
	if len(tr.tail) < tr.half {
		tr.tail = append(tr.tail, e)
		return
	}
	tr.tail[tr.next] = e
	tr.next = (tr.next + 1) % tr.half
	tr.omitted++
}

// Entries returns the kept entries in order, and how many were left out between the first and
// the last ones.
func (tr *Transcript) Entries() ([]Entry, int) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	out := append([]Entry(nil), tr.head...)
	out = append(out, tr.tail[tr.next:]...)
	out = append(out, tr.tail[:tr.next]...)
	return out, tr.omitted
}

// Printable renders bytes for a transcript or a report: valid UTF-8 text stays as it is except
// for control characters, which are escaped as in a Go string; invalid bytes are shown as \xNN.
// The result holds at most limit bytes of input (all of it when limit <= 0); cut reports a
// truncation.
func Printable(data []byte, limit int) (text string, cut bool) {
	if limit > 0 && len(data) > limit {
		data, cut = data[:limit], true
	}
	var b strings.Builder
	for len(data) > 0 {
		r, size := utf8.DecodeRune(data)
		switch {
		case r == utf8.RuneError && size <= 1:
			if cut && !utf8.FullRune(data) {
				return b.String(), cut // a rune cut by the limit
			}
			fmt.Fprintf(&b, `\x%02x`, data[0])
		case r < 0x20 || r == 0x7f:
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
		default:
			b.Write(data[:size])
		}
		data = data[size:]
	}
	return b.String(), cut
}
