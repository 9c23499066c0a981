//go:build unix

package control

import (
	"net"
	"syscall"
)

// bind creates the socket with the group and others bits masked, so that it is never reachable
// by another user, not even between the bind and the chmod that follows.
func bind(path string) (*net.UnixListener, error) {
	old := syscall.Umask(0o077)
	defer syscall.Umask(old)
	return net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
}
