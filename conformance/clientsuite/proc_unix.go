//go:build unix

package clientsuite

import (
	"os/exec"
	"syscall"
)

// setProcessGroup starts the driver in a process group of its own, so that stopping it also
// stops what it started (a "go run" wrapper, a shell).
func setProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}

// killProcessGroup kills the driver's process group, which only the driver and its children are
// in.
func killProcessGroup(cmd *exec.Cmd) {
	if cmd.Process == nil {
		return
	}
	if err := syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); err != nil {
		_ = cmd.Process.Kill()
	}
}
