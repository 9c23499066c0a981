//go:build !linux

package target

import "syscall"

// childAttr has nothing to add where the parent's death cannot be signalled.
func childAttr() *syscall.SysProcAttr { return nil }
