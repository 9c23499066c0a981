//go:build linux && !blindpost_noepoll

package server

import (
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"syscall"
	"unsafe"
)

// rawConn is the TCP connection beneath a client's TLS connection. waitReadable waits for the
// socket and reads what arrived into ahead, which the next read returns first; readAhead does
// the same without waiting. The socket's descriptor is used only inside the callbacks of its
// syscall.RawConn, which keep it open while they run. Only the reader goroutine reads, so none
// of this needs a lock.
type rawConn struct {
	net.Conn
	sc syscall.RawConn

	ahead    []byte  // read by waitReadable and not yet by TLS: the unread part of *aheadBuf
	aheadBuf *[]byte // from aheadPool while ahead holds bytes
	err      error   // what the socket said instead of data, for the next read

	waitFn, nowFn func(fd uintptr) bool // r.fill and r.fillNow, made once (a method value allocates)
	empty         bool                  // fillNow found no data

	// probing: Read must not read the socket (conn.probe); with nothing read ahead it fails
	// as a read past its deadline does.
	probing bool
}

// aheadPool holds the buffers waitReadable reads into.
var aheadPool = sync.Pool{New: func() any { b := make([]byte, aheadSize); return &b }}

// aheadSize is as much as one TLS record (16 KiB of plaintext and its overhead) and more: a
// busy connection's wait reads everything its client has sent since the last one, a window of
// messages, in one system call rather than one per 4 KiB (README "Performance"). The buffer is
// held only while it holds unread bytes, so an idle connection holds none.
const aheadSize = 32 << 10

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
	r := &rawConn{Conn: c, sc: raw}
	r.waitFn, r.nowFn = r.fill, r.fillNow
	return r
}

// control runs f with the socket's descriptor, which stays open until f returns; f must not
// keep it. It fails once the connection is closed.
func (r *rawConn) control(f func(fd int) error) error {
	var ferr error
	if err := r.sc.Control(func(fd uintptr) { ferr = f(int(fd)) }); err != nil {
		return err
	}
	return ferr
}

// fillNow is fill without the wait.
func (r *rawConn) fillNow(fd uintptr) bool {
	r.empty = !r.fill(fd)
	return true
}

// readAhead reads what the socket has into ahead, without waiting, and reports whether there
// was anything (data, the end, or an error) for the next read.
func (r *rawConn) readAhead() bool {
	if r.aheadBuf != nil || r.err != nil {
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
		r.aheadBuf, r.ahead = b, (*b)[:n]
		return true
	}
	aheadPool.Put(b)
	return true
}

// Read returns what waitReadable read ahead, then reads from the socket.
func (r *rawConn) Read(p []byte) (int, error) {
	if r.aheadBuf != nil {
		n := copy(p, r.ahead)
		r.ahead = r.ahead[n:]
		if len(r.ahead) == 0 {
			aheadPool.Put(r.aheadBuf)
			r.aheadBuf, r.ahead = nil, nil
		}
		return n, nil
	}
	if r.err != nil {
		err := r.err
		r.err = nil
		return 0, err
	}
	if r.probing {
		return 0, os.ErrDeadlineExceeded
	}
	return r.Conn.Read(p)
}

// waitReadable waits until the socket has data (which it reads ahead), has ended, or the read
// deadline passes.
func (r *rawConn) waitReadable() error {
	if r.aheadBuf != nil || r.err != nil {
		return nil
	}
	return r.sc.Read(r.waitFn)
}

// buffered reports whether bytes wait to be read: read ahead already, or in the socket's
// receive queue (FIONREAD). Unlike readAhead it reads nothing, so it may run under any read
// deadline.
func (r *rawConn) buffered() bool {
	if r.aheadBuf != nil {
		return true
	}
	n := 0
	err := r.control(func(fd int) error {
		_, _, errno := syscall.Syscall(syscall.SYS_IOCTL, uintptr(fd), syscall.TIOCINQ, uintptr(unsafe.Pointer(&n)))
		if errno != 0 {
			return errno
		}
		return nil
	})
	return err == nil && n > 0
}
