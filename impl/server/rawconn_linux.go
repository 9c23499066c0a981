//go:build linux

package server

import (
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"syscall"
)

// rawConn is the TCP connection beneath a client's TLS connection. In probe mode a read
// reports errWouldBlock at once, without a system call: crypto/tls passes that on without
// failing the connection (it is a temporary net.Error), so a probe finds what TLS holds
// already and nothing more. waitReadable waits for the socket and reads what arrived into
// ahead, which the next read returns first. Only the reader goroutine reads, so none of this
// needs a lock.
type rawConn struct {
	net.Conn
	sc    syscall.RawConn
	fd    int // the socket, for the poller; valid while the connection is open
	probe bool

	ahead heldBytes // read by waitReadable and not yet by TLS, from aheadPool
	err   error     // what the socket said instead of data, for the next read

	waitFn, nowFn func(fd uintptr) bool // r.fill and r.fillNow, made once (a method value allocates)
	empty         bool                  // fillNow found no data
}

// aheadPool holds the buffers waitReadable reads into.
var aheadPool = sync.Pool{New: func() any { b := make([]byte, aheadSize); return &b }}

const aheadSize = 4096

// newRawConn wraps c, or returns nil when c gives no access to its socket.
func newRawConn(c net.Conn) *rawConn {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return nil
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	r := &rawConn{Conn: c, sc: raw, fd: -1}
	_ = raw.Control(func(fd uintptr) { r.fd = int(fd) })
	r.waitFn, r.nowFn = r.fill, r.fillNow
	return r
}

// fillNow is fill without the wait.
func (r *rawConn) fillNow(fd uintptr) bool {
	r.empty = !r.fill(fd)
	return true
}

// readAhead reads what the socket has into ahead, without waiting, and reports whether there
// was anything (data, the end, or an error) for the next read.
func (r *rawConn) readAhead() bool {
	if r.ahead.b != nil || r.err != nil {
		return true
	}
	if err := r.sc.Read(r.nowFn); err != nil {
		r.err = err
		return true
	}
	return !r.empty
}

// fill reads what the socket has into ahead; it reports false (wait) when there is nothing.
func (r *rawConn) fill(fd uintptr) bool {
	b := aheadPool.Get().(*[]byte)
	n, err := syscall.Read(int(fd), *b)
	switch {
	case errors.Is(err, syscall.EAGAIN):
		aheadPool.Put(b)
		return false
	case err != nil:
		r.err = os.NewSyscallError("read", err)
	case n == 0:
		r.err = io.EOF
	default:
		r.ahead.hold(b, n)
		return true
	}
	aheadPool.Put(b)
	return true
}

// Read returns what waitReadable read ahead, then reads from the socket; in probe mode it
// reports errWouldBlock instead of reading the socket.
func (r *rawConn) Read(p []byte) (int, error) {
	if r.ahead.b != nil {
		return r.ahead.read(p, &aheadPool), nil
	}
	if r.err != nil {
		err := r.err
		r.err = nil
		return 0, err
	}
	if r.probe {
		return 0, errWouldBlock
	}
	return r.Conn.Read(p)
}

// waitReadable waits until the socket has data (which it reads ahead), has ended, or the read
// deadline passes.
func (r *rawConn) waitReadable() error {
	if r.ahead.b != nil || r.err != nil {
		return nil
	}
	return r.sc.Read(r.waitFn)
}
