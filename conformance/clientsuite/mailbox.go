package clientsuite

import (
	"sync"
	"time"

	"github.com/blindpost/blindpost/conformance/harness"
)

// mailbox is an unbounded queue that a goroutine fills and a case drains with deadlines.
type mailbox[V any] struct {
	mu     sync.Mutex
	items  []V
	notify chan struct{} // closed and replaced on every put
}

func newMailbox[V any]() *mailbox[V] { return &mailbox[V]{notify: make(chan struct{})} }

// put appends v; it never blocks.
func (m *mailbox[V]) put(v V) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.items = append(m.items, v)
	close(m.notify)
	m.notify = make(chan struct{})
}

// next takes the first item, waiting at most d (and never past the case deadline).
func (m *mailbox[V]) next(t *harness.T, what string, d time.Duration) (V, bool) {
	return m.nextMatch(t, what, d, func(V) bool { return true })
}

// nextMatch takes the first item that match selects, leaving the others in order, waiting at
// most d (and never past the case deadline).
func (m *mailbox[V]) nextMatch(t *harness.T, what string, d time.Duration, match func(V) bool) (V, bool) {
	t.Waiting(what)
	defer t.Waiting("")
	timer := time.NewTimer(d)
	defer timer.Stop()
	for {
		m.mu.Lock()
		for i, v := range m.items {
			if match(v) {
				m.items = append(m.items[:i:i], m.items[i+1:]...)
				m.mu.Unlock()
				return v, true
			}
		}
		notify := m.notify
		m.mu.Unlock()
		select {
		case <-notify:
		case <-timer.C:
			var zero V
			return zero, false
		case <-t.Context().Done():
			var zero V
			return zero, false
		}
	}
}

// pending returns the items not taken yet, without taking them.
func (m *mailbox[V]) pending() []V {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]V(nil), m.items...)
}
