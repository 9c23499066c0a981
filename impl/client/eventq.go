package client

import "sync"

// eventQueue delivers events in order on a channel without ever blocking the producer: the
// connection's reader must not stall because the user interface is busy. Events wait in an
// unbounded slice until the consumer takes them.
type eventQueue struct {
	out chan Event

	mu     sync.Mutex
	items  []Event
	closed bool
	wake   chan struct{} // capacity 1: something was pushed or the queue closed
}

func newEventQueue() *eventQueue {
	q := &eventQueue{out: make(chan Event), wake: make(chan struct{}, 1)}
	go q.pump()
	return q
}

// push queues e; after close it is dropped.
func (q *eventQueue) push(e Event) {
	q.mu.Lock()
	if !q.closed {
		q.items = append(q.items, e)
	}
	q.mu.Unlock()
	q.signal()
}

// close makes the channel close once the queued events are delivered.
func (q *eventQueue) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	q.signal()
}

func (q *eventQueue) signal() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

func (q *eventQueue) pump() {
	defer close(q.out)
	for {
		q.mu.Lock()
		batch, closed := q.items, q.closed
		q.items = nil
		q.mu.Unlock()
		for _, e := range batch {
			q.out <- e
		}
		if len(batch) > 0 {
			continue
		}
		if closed {
			return
		}
		<-q.wake
	}
}
