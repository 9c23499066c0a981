package admin

import (
	"fmt"
	"net"
	"os"
	"syscall"
)

// checkPeer refuses a peer whose user is not the relay's (the socket's mode already keeps
// others out; this holds even if the mode was widened by hand).
func checkPeer(c *net.UnixConn) error {
	raw, err := c.SyscallConn()
	if err != nil {
		return fmt.Errorf("admin: %w", err)
	}
	var cred *syscall.Ucred
	var cerr error
	if err := raw.Control(func(fd uintptr) {
		cred, cerr = syscall.GetsockoptUcred(int(fd), syscall.SOL_SOCKET, syscall.SO_PEERCRED)
	}); err != nil {
		return fmt.Errorf("admin: %w", err)
	}
	if cerr != nil {
		return fmt.Errorf("admin: peer credentials: %w", cerr)
	}
	if int(cred.Uid) != os.Getuid() {
		return fmt.Errorf("admin: user %d may not administer this relay", cred.Uid)
	}
	return nil
}
