package server

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
	"time"
)

// An idle connection should cost as little as possible (issue 7: memory per idle connection).
// Its reader goroutine cannot be avoided (gorilla/websocket reads by blocking), but where it
// blocks can be chosen: a goroutine blocked deep inside gorilla, bufio, crypto/tls and the
// network poller keeps a stack of several kilobytes that the garbage collector cannot shrink,
// while one that waits for the socket directly, from the read loop, needs one of the smallest
// size. So before reading the next message the reader makes sure that nothing is buffered
// above the socket (in gorilla's read buffer, in the TLS connection, or read ahead by a probe),
// and then waits for the socket to become readable with a small stack (awaitMessage).
//
// Control frames (pings and pongs) are read by gorilla inside its wait for the next data
// message; after one, the reader leaves gorilla (handledControl) rather than wait there.

// errWouldBlock is a probe's read that found no data: a temporary net.Error, which crypto/tls
// passes on without failing the connection.
var errWouldBlock = &wouldBlock{}

type wouldBlock struct{}

// Error says there was no data.
func (*wouldBlock) Error() string { return "server: no data" }

// Timeout is true: crypto/tls treats the error as temporary and the connection goes on.
func (*wouldBlock) Timeout() bool { return true }

// Temporary is true, as for a timeout.
func (*wouldBlock) Temporary() bool { return true }

// probePool holds the buffers a probe reads into.
var probePool = sync.Pool{New: func() any { b := make([]byte, probeSize); return &b }}

const probeSize = 2048

// heldBytes are bytes read before anyone asked for them (by a probe above TLS, or by
// waitReadable below it), in a buffer from a pool, which the next reads return first. Only the
// reader goroutine uses them.
type heldBytes struct {
	b   *[]byte // nil when none are held
	off int     // how much of them was read
}

// hold keeps the first n bytes of b, a buffer from the pool that read will give it back to.
func (h *heldBytes) hold(b *[]byte, n int) {
	*b = (*b)[:n]
	h.b, h.off = b, 0
}

// read copies held bytes into p; once all are taken, their buffer goes back to pool.
func (h *heldBytes) read(p []byte, pool *sync.Pool) int {
	n := copy(p, (*h.b)[h.off:])
	h.off += n
	if h.off == len(*h.b) {
		*h.b = (*h.b)[:cap(*h.b)]
		pool.Put(h.b)
		h.b, h.off = nil, 0
	}
	return n
}

// Read returns what a probe read ahead first, then reads from TLS. Once the connection is
// upgraded, every byte takes from its budget (spec §5.10 [ABU-5]).
func (c *corkConn) Read(p []byte) (n int, err error) {
	if c.unread.b == nil {
		n, err = c.Conn.Read(p)
	} else {
		n = c.unread.read(p, &probePool)
	}
	if c.budget != nil && n > 0 && !c.budget.take(time.Now(), n) {
		return n, errOverBudget
	}
	return n, err
}

// probe reads what TLS holds already (without reading the socket), and keeps it for Read. It
// reports whether TLS held nothing: then the next message can only come from the socket.
func (c *corkConn) probe() bool {
	if c.unread.b != nil || c.raw == nil {
		return false
	}
	b := probePool.Get().(*[]byte)
	c.raw.probe = true
	n, err := c.Conn.Read(*b)
	c.raw.probe = false
	if n > 0 {
		c.unread.hold(b, n)
		return false
	}
	probePool.Put(b)
	// Anything but "no data" (the end, an error) is for the next read to find.
	return errors.Is(err, errWouldBlock)
}

// hijacker lets the upgrade use a read buffer of ours, so that the reader can tell whether
// gorilla holds unread bytes: with ReadBufferSize 0, gorilla reads through the reader the
// hijacked connection comes with.
type hijacker struct {
	http.ResponseWriter
	br *bufio.Reader
}

// Hijack hijacks the HTTP connection and hands over our reader (while the client has sent
// nothing beyond the request: gorilla refuses the upgrade otherwise).
func (h *hijacker) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	hj, ok := h.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, errors.New("server: the connection cannot be hijacked")
	}
	nc, brw, err := hj.Hijack()
	if err != nil || brw.Reader.Buffered() > 0 {
		return nc, brw, err
	}
	h.br = bufio.NewReaderSize(nc, readBufferSize)
	return nc, bufio.NewReadWriter(h.br, brw.Writer), nil
}

// awaitMessage returns when the next message may have begun to arrive: at once when something
// is buffered, else once the socket is readable (with a small stack). It returns the read
// deadline's error when that passes first, and errPark when the connection has been idle long
// enough to give its goroutine up (park.go).
func (c *conn) awaitMessage() error {
	// Registration is short (WS-9 bounds it): its reader waits inside gorilla, which saves
	// the probe's system calls on every new connection.
	if c.state != stateRegistered || c.br == nil || c.cork == nil || c.cork.raw == nil || c.br.Buffered() > 0 {
		return nil
	}
	if !c.cork.probe() {
		return nil
	}
	if c.s.poller != nil && time.Since(c.lastData) >= c.s.parkAfter {
		// No data message for parkAfter (this wake was for a ping's pong, say): park at once,
		// unless the socket has something already.
		if c.cork.raw.readAhead() {
			return nil
		}
		return errPark
	}
	c.beginWait()
	err := c.cork.raw.waitReadable()
	return c.endWait(err)
}

// controlEscape unwinds the reader from gorilla after a control frame between messages.
type controlEscape struct{}

// handledControl is called by the ping and pong handlers once they are done: between messages,
// it leaves gorilla's wait for the next data message (gorilla has consumed the control frame
// completely and holds no lock; readMessage recovers), so that the reader waits in
// awaitMessage instead.
func (c *conn) handledControl() {
	if !c.inMessage && c.br != nil {
		panic(controlEscape{})
	}
}

// readMessage is ws.ReadMessage, which returns again (escaped) after a control frame.
func (c *conn) readMessage() (typ int, data []byte, escaped bool, err error) {
	defer func() {
		if r := recover(); r != nil {
			if _, ok := r.(controlEscape); !ok {
				panic(r)
			}
			escaped = true
		}
	}()
	typ, r, err := c.ws.NextReader()
	if err != nil {
		return typ, nil, false, err
	}
	c.inMessage = true
	data, err = io.ReadAll(r)
	c.inMessage = false
	return typ, data, false, err
}
