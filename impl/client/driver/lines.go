package driver

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
	"unicode/utf8"
)

// maxLine bounds one command line; a longer line is reported on stderr and skipped.
const maxLine = 1 << 20

// maxText bounds the free-text members of responses and events (schemas/driver/output.json).
const maxText = 1024

// Lines is a transport of the driver protocol: it carries one JSON object per line in each
// direction. Standard input and output are one (Run); a loopback WebSocket whose text
// messages are the lines is another (`blindpost gui`).
type Lines interface {
	// ReadLine returns the next command line without its terminator, and io.EOF at the end
	// of input. The slice is valid until the next call.
	ReadLine() ([]byte, error)
	// WriteLine sends one output line (without a terminator) and flushes it (spec A.2
	// [DRV-4]). It is never called concurrently.
	WriteLine(line []byte) error
}

// streamLines is the Lines of a byte stream: newline-terminated lines of up to maxLine bytes.
type streamLines struct {
	sc *bufio.Scanner
	w  *bufio.Writer
}

// StreamLines returns the Lines of a reader of commands and a writer of output lines.
func StreamLines(in io.Reader, out io.Writer) Lines {
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 0, 64<<10), maxLine)
	return &streamLines{sc: sc, w: bufio.NewWriter(out)}
}

func (s *streamLines) ReadLine() ([]byte, error) {
	if s.sc.Scan() {
		return s.sc.Bytes(), nil
	}
	if err := s.sc.Err(); err != nil {
		return nil, err
	}
	return nil, io.EOF
}

func (s *streamLines) WriteLine(line []byte) error {
	if _, err := s.w.Write(line); err != nil {
		return err
	}
	if err := s.w.WriteByte('\n'); err != nil {
		return err
	}
	return s.w.Flush()
}

// lineWriter writes one JSON object per line (spec A.2 [DRV-4]). It is safe for concurrent
// use: responses and events interleave whole.
type lineWriter struct {
	mu  sync.Mutex
	l   Lines
	err error
}

func newLineWriter(l Lines) *lineWriter { return &lineWriter{l: l} }

// write encodes v as one line. The first write error sticks and is returned by later writes.
func (lw *lineWriter) write(v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("driver: encode output: %w", err)
	}
	lw.mu.Lock()
	defer lw.mu.Unlock()
	if lw.err != nil {
		return lw.err
	}
	if err := lw.l.WriteLine(data); err != nil {
		lw.err = fmt.Errorf("driver: write output: %w", err)
	}
	return lw.err
}

// isEOF reports whether err is the end of input.
func isEOF(err error) bool { return errors.Is(err, io.EOF) }

// clip shortens s to at most maxText runes, keeping it valid UTF-8.
func clip(s string) string {
	if utf8.RuneCountInString(s) <= maxText {
		return s
	}
	r := []rune(s)
	return string(r[:maxText-1]) + "…"
}
