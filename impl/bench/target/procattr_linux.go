//go:build linux

package target

import "syscall"

// childAttr makes a child relay end with this program, even when this program is killed.
func childAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM} }
