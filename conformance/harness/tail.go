package harness

import "sync"

// Tail keeps the last bytes written to it, up to a bound: the standard error of a subprocess
// under test, for error messages and transcripts. Its writes never fail, so that the process
// never blocks on its standard error.
type Tail struct {
	mu    sync.Mutex
	limit int
	buf   []byte
}

// NewTail returns a Tail that keeps at most limit bytes.
func NewTail(limit int) *Tail { return &Tail{limit: limit} }

// Write keeps p, dropping the oldest bytes beyond the limit.
func (t *Tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - t.limit; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return len(p), nil
}

// String returns everything kept.
func (t *Tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}

// Last returns the last n bytes kept, made printable (Printable).
func (t *Tail) Last(n int) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	b := t.buf
	if len(b) > n {
		b = b[len(b)-n:]
	}
	s, _ := Printable(b, 0)
	return s
}
