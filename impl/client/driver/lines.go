package driver

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"sync"
	"unicode/utf8"
)

// maxLine bounds one command line; a longer line is reported on stderr and skipped.
const maxLine = 1 << 20

// maxText bounds the free-text members of responses and events (schemas/driver/output.json).
const maxText = 1024

// lineWriter writes one JSON object per line and flushes each line as it is written
// (spec A.2 [DRV-4]). It is safe for concurrent use: responses and events interleave whole.
type lineWriter struct {
	mu  sync.Mutex
	w   *bufio.Writer
	err error
}

func newLineWriter(w io.Writer) *lineWriter { return &lineWriter{w: bufio.NewWriter(w)} }

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
	data = append(data, '\n')
	if _, err := lw.w.Write(data); err != nil {
		lw.err = fmt.Errorf("driver: write output: %w", err)
		return lw.err
	}
	if err := lw.w.Flush(); err != nil {
		lw.err = fmt.Errorf("driver: write output: %w", err)
	}
	return lw.err
}

// newLineScanner reads newline-terminated command lines of up to maxLine bytes.
func newLineScanner(r io.Reader) *bufio.Scanner {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxLine)
	return sc
}

// clip shortens s to at most maxText runes, keeping it valid UTF-8.
func clip(s string) string {
	if utf8.RuneCountInString(s) <= maxText {
		return s
	}
	r := []rune(s)
	return string(r[:maxText-1]) + "…"
}
