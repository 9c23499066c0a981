//go:build !unix

package control

import "net"

// bind creates the socket; the profile directory's permissions protect it.
func bind(path string) (*net.UnixListener, error) {
	return net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
}
