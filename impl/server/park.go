package server

import (
	"errors"
	"net"
	"time"
)

// Parking: a connection idle for parkAfter gives its reader goroutine up altogether. Its socket
// is handed to the server's poller (an epoll set of its own, poller_linux.go), and the first of
// these wakes it again, on a fresh goroutine that goes on reading where the old one stopped:
// the socket becoming readable (or closing), the keepalive deadline (WS-7, so that a silent
// client is still closed in time), or requestClose. The writer needs no reader and runs as
// always. A parked connection costs its buffers and state, and no stack at all.
//
// The reader decides to park only where it would otherwise wait for the socket in
// awaitMessage, with nothing buffered above it; the server's idle scan (parkIdle) interrupts
// such a wait once it has lasted parkAfter, by moving the read deadline to the past. The
// reader's state under readerMu makes the interruption and the reader's own deadline changes
// exclusive.

// The reader's states.
const (
	readerRunning     = iota // reading or handling
	readerWaiting            // in awaitMessage's wait for the socket
	readerInterrupted        // the idle scan has moved the read deadline to make it park
	readerParked             // no goroutine: the poller watches the socket
)

// errPark tells the read loop to park the connection.
var errPark = errors.New("server: park")

// errNoPoller: connections cannot park on this system, or in this build (blindpost_noepoll).
var errNoPoller = errors.New("server: no poller on this system")

// beginWait records that the reader waits for the socket from now on.
func (c *conn) beginWait() {
	c.readerMu.Lock()
	c.rstate, c.waitSince = readerWaiting, time.Now()
	c.readerMu.Unlock()
}

// endWait ends the wait that ended with err (nil: the socket is readable). After an
// interruption it restores the read deadline and asks to park, unless data came meanwhile or the
// deadline that passed was the real one.
func (c *conn) endWait(err error) error {
	c.readerMu.Lock()
	interrupted := c.rstate == readerInterrupted
	c.rstate = readerRunning
	c.readerMu.Unlock()
	if !interrupted {
		return err
	}
	deadline := c.restoreReadDeadline()
	var ne net.Error
	if err == nil || !errors.As(err, &ne) || !ne.Timeout() {
		return err
	}
	if !deadline.IsZero() && !time.Now().Before(deadline) {
		return err // the keepalive (or close) deadline passed as well
	}
	return errPark
}

// interruptIfIdle makes a reader that has waited parkAfter or longer park. It runs on the idle
// scan's goroutine.
func (c *conn) interruptIfIdle(now time.Time) {
	c.readerMu.Lock()
	defer c.readerMu.Unlock()
	if c.rstate != readerWaiting || now.Sub(c.waitSince) < c.s.cfg.ParkAfter || c.isClosing() {
		return
	}
	c.rstate = readerInterrupted
	_ = c.cork.raw.SetReadDeadline(time.Unix(1, 0)) // wakes the wait with a timeout
}

// park hands the connection's socket to the poller; the calling goroutine (the reader) must
// return at once when park reports true. It reports false when the connection is closing or
// the poller refuses, and the reader goes on.
func (c *conn) park() bool {
	p := c.s.poller
	if p == nil || c.cork.raw == nil {
		return false
	}
	c.readerMu.Lock()
	defer c.readerMu.Unlock()
	if c.isClosing() {
		return false
	}
	c.rstate = readerParked
	if err := p.add(c); err != nil {
		c.rstate = readerRunning
		return false
	}
	// spec §4.2 [WS-7]: the keepalive deadline still closes a silent connection.
	c.deadlineMu.Lock()
	deadline := c.readDeadline
	c.deadlineMu.Unlock()
	if !deadline.IsZero() {
		c.parkTimer = time.AfterFunc(time.Until(deadline), c.wake)
	}
	return true
}

// wake resumes a parked connection on a new reader goroutine; otherwise it does nothing. The
// poller, the keepalive timer and requestClose call it, from their own goroutines.
func (c *conn) wake() {
	c.readerMu.Lock()
	if c.rstate != readerParked {
		c.readerMu.Unlock()
		return
	}
	c.rstate = readerRunning
	c.s.poller.remove(c)
	if c.parkTimer != nil {
		c.parkTimer.Stop()
		c.parkTimer = nil
	}
	c.readerMu.Unlock()
	go c.run()
}

// restoreReadDeadline sets the read deadline the reader last chose again (an interruption
// moved it), and returns it.
func (c *conn) restoreReadDeadline() time.Time {
	c.deadlineMu.Lock()
	defer c.deadlineMu.Unlock()
	_ = c.cork.SetReadDeadline(c.readDeadline)
	return c.readDeadline
}

// parkIdle is the idle scan: every parkAfter/2 it interrupts the readers that have waited for
// parkAfter, until stop is closed.
func (s *Server) parkIdle(stop <-chan struct{}) {
	t := time.NewTicker(s.cfg.ParkAfter / 2)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case now := <-t.C:
			s.connsMu.Lock()
			for c := range s.conns {
				if c.cork != nil && c.cork.raw != nil {
					c.interruptIfIdle(now)
				}
			}
			s.connsMu.Unlock()
		}
	}
}
