package coalesce

import (
	"encoding/binary"
	"io"
	"net"
	"sync"
	"sync/atomic"

	"github.com/gorilla/websocket"
)

// message is one received message on its way to one or more connections. It comes from
// messagePool and goes back there when the last connection has written it.
type message struct {
	typ  int // websocket.TextMessage or BinaryMessage
	data []byte
	refs atomic.Int32
}

// maxPooled is the largest message buffer kept for reuse: a rare large message does not pin
// its buffer.
const maxPooled = 64 << 10

var messagePool = sync.Pool{New: func() any { return &message{data: make([]byte, 0, 1024)} }}

// release drops one reference; the last returns m to the pool.
func (m *message) release() {
	if m.refs.Add(-1) != 0 {
		return
	}
	if cap(m.data) > maxPooled {
		return
	}
	m.data = m.data[:0]
	messagePool.Put(m)
}

// batches are the buffers a writer frames a batch into.
var batches = sync.Pool{New: func() any { b := make([]byte, 0, 16<<10); return &b }}

// conn is one upgraded connection. Its reader goroutine is the handler's; its writer runs only
// while something is queued.
//
// Lock order: mu only; no other lock is taken while it is held.
type conn struct {
	ws    *websocket.Conn // read by the handler's goroutine only
	nc    net.Conn        // the TLS connection the writer writes frames to
	other atomic.Pointer[conn]

	mu      sync.Mutex
	queue   []*message // waiting for the writer
	writing bool       // a writer goroutine runs
	closed  bool       // the reader ended: nothing more is queued
	spare   []*message // the writer's last batch, reused as the next queue
}

// read returns the next message in a pooled buffer holding one reference.
func (c *conn) read() (*message, error) {
	typ, r, err := c.ws.NextReader()
	if err != nil {
		return nil, err
	}
	m := messagePool.Get().(*message)
	m.typ, m.data = typ, m.data[:0]
	m.refs.Store(1)
	for {
		if len(m.data) == cap(m.data) {
			m.data = append(m.data, 0)[:len(m.data)]
		}
		n, err := r.Read(m.data[len(m.data):cap(m.data)])
		m.data = m.data[:len(m.data)+n]
		if err == io.EOF {
			return m, nil
		}
		if err != nil {
			m.release()
			return nil, err
		}
	}
}

// send queues m (whose reference passes to c) and starts the writer if none runs.
func (c *conn) send(m *message) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		m.release()
		return
	}
	c.queue = append(c.queue, m)
	start := !c.writing
	c.writing = true
	c.mu.Unlock()
	if start {
		go c.write()
	}
}

// write writes what is queued, one batch at a time, each framed into one buffer and written
// with one Write (one TLS record up to 16 KiB, one system call), until the queue is empty.
func (c *conn) write() {
	bp := batches.Get().(*[]byte)
	defer batches.Put(bp)
	for {
		c.mu.Lock()
		batch := c.queue
		if len(batch) == 0 || c.closed {
			c.writing = false
			c.mu.Unlock()
			return
		}
		c.queue, c.spare = c.spare[:0], nil
		c.mu.Unlock()
		out := (*bp)[:0]
		for i, m := range batch {
			out = appendFrame(out, m.typ, m.data)
			m.release()
			batch[i] = nil
		}
		*bp = out
		_, err := c.nc.Write(out)
		c.mu.Lock()
		c.spare = batch[:0]
		c.mu.Unlock()
		if err != nil {
			c.ws.Close() // the reader sees it and ends the connection
			c.shut()
			return
		}
	}
}

// shut stops queueing and drops what is queued.
func (c *conn) shut() {
	c.mu.Lock()
	c.closed = true
	q := c.queue
	c.queue = nil
	c.mu.Unlock()
	for _, m := range q {
		m.release()
	}
	c.ws.Close()
}

// appendFrame appends an unmasked server frame (RFC 6455 §5.2), FIN set, holding data.
func appendFrame(out []byte, typ int, data []byte) []byte {
	out = append(out, 0x80|byte(typ))
	switch n := len(data); {
	case n < 126:
		out = append(out, byte(n))
	case n <= 0xffff:
		out = append(out, 126)
		out = binary.BigEndian.AppendUint16(out, uint16(n))
	default:
		out = append(out, 127)
		out = binary.BigEndian.AppendUint64(out, uint64(n))
	}
	return append(out, data...)
}
