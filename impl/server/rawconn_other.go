//go:build !linux || blindpost_noepoll

package server

import "net"

// rawConn is the TCP connection beneath a client's TLS connection. The idle machinery of
// idle.go and park.go needs Linux's epoll; elsewhere, and in builds tagged blindpost_noepoll
// (the portable path, which CI runs too), there is none (newRawConn returns nil) and a
// connection's reader waits inside TLS's read.
type rawConn struct {
	net.Conn
	probing bool // never read: there is no probe without epoll
}

func newRawConn(net.Conn) *rawConn { return nil }

func (r *rawConn) waitReadable() error { return nil }

func (r *rawConn) readAhead() bool { return true }

// buffered reports false: what waits in the socket is not known here.
func (r *rawConn) buffered() bool { return false }

func (r *rawConn) control(func(fd int) error) error { return errNoPoller }
