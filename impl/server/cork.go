package server

import (
	"crypto/tls"
	"net"
	"sync"
	"time"
)

// corkLimit is the most a corked connection gathers before it writes: one full TLS record.
const corkLimit = 16 << 10

// corkPool holds the gathering buffers, so that a connection owns one only while it writes.
var corkPool = sync.Pool{New: func() any { b := make([]byte, 0, corkLimit); return &b }}

// corkConn is a client's TLS connection as the frame layer sees it. While the connection's
// writer holds it corked, the frames it writes are gathered and leave in one TLS write (one
// record, one system call) when the writer uncorks: a writer that finds several messages
// queued sends them together instead of paying a record and a system call for each. Uncorked,
// writes go straight through. Only the holder of the writer's role writes (queue.go); the
// mutex orders its writes against the deadline changes of the reader and of close.
type corkConn struct {
	*tls.Conn
	raw *rawConn // beneath the TLS connection; nil when the listener is not a corkListener

	mu       sync.Mutex
	corked   bool
	buf      *[]byte   // from corkPool while something is gathered, nil otherwise
	deadline time.Time // the write deadline last set

	// Read only by the connection's reader goroutine (see idle.go).
	budget *budget   // the connection's byte budget once upgraded (ABU-5); nil before
	readAt time.Time // when Read last returned bytes: when what the reader holds arrived

	release   func() // uncounts the connection (admit.go); called once, by Close
	closeOnce sync.Once
}

// Close closes the connection and uncounts it (spec §5.10 [ABU-1]).
func (c *corkConn) Close() error {
	c.closeOnce.Do(func() {
		if c.release != nil {
			c.release()
		}
	})
	return c.Conn.Close()
}

// SetWriteDeadline sets the write deadline unless it is already set: the writer moves it at
// most once a second (writeDeadline).
func (c *corkConn) SetWriteDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t.Equal(c.deadline) {
		return nil
	}
	c.deadline = t
	return c.Conn.SetWriteDeadline(t)
}

// SetDeadline sets both deadlines.
func (c *corkConn) SetDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.deadline = t
	return c.Conn.SetDeadline(t)
}

// Write gathers p while corked, and writes it through otherwise.
func (c *corkConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.corked {
		if err := c.flushLocked(); err != nil {
			return 0, err
		}
		return c.Conn.Write(p)
	}
	if c.buf != nil && len(*c.buf)+len(p) > corkLimit {
		if err := c.flushLocked(); err != nil {
			return 0, err
		}
	}
	if len(p) >= corkLimit {
		return c.Conn.Write(p)
	}
	if c.buf == nil {
		c.buf = corkPool.Get().(*[]byte)
	}
	*c.buf = append(*c.buf, p...)
	return len(p), nil
}

// cork starts gathering writes.
func (c *corkConn) cork() {
	c.mu.Lock()
	c.corked = true
	c.mu.Unlock()
}

// uncork writes what was gathered and stops gathering.
func (c *corkConn) uncork() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.corked = false
	return c.flushLocked()
}

func (c *corkConn) flushLocked() error {
	if c.buf == nil {
		return nil
	}
	b := c.buf
	c.buf = nil
	_, err := c.Conn.Write(*b)
	*b = (*b)[:0]
	corkPool.Put(b)
	return err
}

// corkListener accepts TCP connections and hands them to the HTTP server as corkConns over TLS
// over rawConns. The handshake runs on the first read, under the HTTP server's header deadline
// (Config.HandshakeTimeout, spec §5.10 [ABU-2]).
type corkListener struct {
	net.Listener
	cfg     *tls.Config
	adm     *admission
	refused func(reason string) // counts a connection closed at once
}

// Accept returns the next connection that the bounds admit, wrapped; it closes the others at
// once, before TLS (spec §5.10 [ABU-1] [ABU-3]).
func (l corkListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		addr := addrOf(c.RemoteAddr())
		if ok, reason := l.adm.admit(addr); !ok {
			l.refused(reason)
			c.Close()
			continue
		}
		raw := newRawConn(c)
		var under net.Conn = c
		if raw != nil {
			under = raw
		}
		return &corkConn{Conn: tls.Server(under, l.cfg), raw: raw, release: func() { l.adm.release(addr) }}, nil
	}
}
