//go:build !linux

package server

import "net"

// rawConn is the TCP connection beneath a client's TLS connection; the idle machinery of
// idle.go and park.go is Linux-only, so elsewhere there is none (newRawConn returns nil) and a
// connection's reader waits inside gorilla.
type rawConn struct {
	net.Conn
	fd    int
	probe bool
}

func newRawConn(net.Conn) *rawConn { return nil }

func (r *rawConn) waitReadable() error { return nil }

func (r *rawConn) readAhead() bool { return true }
