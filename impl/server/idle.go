package server

import (
	"errors"
	"os"
	"time"

	"github.com/blindpost/blindpost/impl/wire"
)

// An idle connection should cost as little as possible (README "Performance"). Between two
// messages the reader holds no read buffer (frames.go gives it back once its bytes are parsed)
// and does not wait inside TLS: it makes sure that nothing is buffered above the socket (in the
// frame reader, or decrypted by TLS already), and then waits for the socket to become readable
// with a small stack (awaitMessage), or parks (park.go). Where the socket gives no access to its
// descriptor (the portable path), the reader waits inside TLS's read, with a read buffer.

// Read reads from TLS; once the connection is upgraded, every byte takes from its budget
// (spec §5.10 [ABU-5]).
func (c *corkConn) Read(p []byte) (n int, err error) {
	n, err = c.Conn.Read(p)
	if n == 0 {
		return n, err
	}
	c.readAt = time.Now()
	if c.budget != nil && !c.budget.take(c.readAt, n) {
		return n, errOverBudget
	}
	return n, err
}

// probe reads what TLS can return without reading the socket, and keeps it for the frame
// reader. It reports whether there was nothing: then the next message can only come from the
// socket. Beneath TLS, the raw connection answers the probe's reads from what it read ahead
// and, once that is used up, with a timeout error (os.ErrDeadlineExceeded, as a read past its
// deadline fails) instead of a system call: a net.Conn lets the next read go on after a read
// timeout (tls.Conn included: only a write timeout corrupts its state), and no deadline moves,
// so a probe costs no timer update and allocates no error.
func (c *conn) probe() bool {
	raw := c.cork.raw
	raw.probing = true
	err := c.frames.in.fill()
	raw.probing = false
	if err == nil && (c.frames.in.buffered() > 0 || c.frames.in.err != nil) {
		return false
	}
	switch {
	case err == nil:
		return true
	case errors.Is(err, os.ErrDeadlineExceeded): // the raw connection's "nothing read ahead"
		return true
	default:
		c.frames.in.err = err // the end, or a failure: for the next read to find
		return false
	}
}

// awaitMessage returns when the next message may have begun to arrive: at once when something
// is buffered, else once the socket is readable (with a small stack). It returns the read
// deadline's error when that passes first, and errPark when the connection has been idle long
// enough to give its goroutine up (park.go).
func (c *conn) awaitMessage() error {
	if c.frames.in.buffered() == 0 {
		c.frames.releaseMsg() // nothing more to read now: the message buffer goes back
		if c.tally.Len() >= tallyBatch {
			c.flushTally()
		}
	}
	// Registration is short (WS-9 bounds it): its reader waits inside TLS, which saves the
	// probe on every new connection.
	if c.state != stateRegistered || c.cork.raw == nil || c.frames.in.buffered() > 0 || c.frames.fragmented {
		if c.frames.in.buffered() == 0 {
			c.flushTally() // the read that follows may wait
		}
		return nil
	}
	if !c.probe() {
		return nil
	}
	if c.s.poller != nil && time.Since(c.lastData) >= c.s.cfg.ParkAfter {
		// No data message for parkAfter (this wake was for a ping's pong, say): park at once,
		// unless the socket has something already.
		if c.cork.raw.readAhead() {
			return nil
		}
		return errPark // run flushes the tally
	}
	c.flushTally() // before the reader may wait, so that a scrape meanwhile sees it all
	c.beginWait()
	err := c.cork.raw.waitReadable()
	return c.endWait(err)
}

// tallyBatch is how many fast relays a connection that never waits for input counts before it
// adds them to the metrics anyway.
const tallyBatch = 64

// flushTally adds what the fast path counted to the metrics (metrics.Tally).
func (c *conn) flushTally() { c.s.metrics.Flush(string(wire.RequestTypeRelay), &c.tally) }

// beforeRead runs before every read from the connection (inBuffer.beforeRead): the relays sent
// to other relays of a cluster are answered unless more is to be read already (pipeline.go),
// and the held answers go out (flushOwn).
func (c *conn) beforeRead() {
	if len(c.inflight) > 0 && !c.moreToRead() {
		c.awaitInflight()
	}
	c.flushOwn()
}
