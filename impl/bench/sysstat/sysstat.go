// Package sysstat reads what the benchmarks measure of a process from Linux's /proc, through
// github.com/prometheus/procfs: CPU time (user + system, /proc/PID/stat), resident memory and
// threads; it also raises this process's limit on open files so that tens of thousands of
// connections fit.
package sysstat

import (
	"fmt"
	"syscall"
	"time"

	"github.com/prometheus/procfs"
)

// Sample is what /proc says of one process at one moment.
type Sample struct {
	At     time.Time
	CPU    time.Duration // user + system time since the process started
	RSS    int64         // resident set size, bytes (VmRSS)
	HWM    int64         // peak resident set size, bytes (VmHWM)
	Thread int           // threads
	Reads  uint64        // read system calls (syscr of /proc/PID/io): read, recvmsg, …
	Writes uint64        // write system calls (syscw): write, sendmsg, …
}

// Read samples process pid.
func Read(pid int) (Sample, error) {
	fs, err := procfs.NewDefaultFS()
	if err != nil {
		return Sample{At: time.Now()}, fmt.Errorf("sysstat: %w", err)
	}
	return read(fs, pid)
}

// read samples process pid of the proc file system fs.
func read(fs procfs.FS, pid int) (Sample, error) {
	s := Sample{At: time.Now()}
	p, err := fs.Proc(pid)
	if err != nil {
		return s, fmt.Errorf("sysstat: %w", err)
	}
	stat, err := p.Stat()
	if err != nil {
		return s, fmt.Errorf("sysstat: %w", err)
	}
	status, err := p.NewStatus()
	if err != nil {
		return s, fmt.Errorf("sysstat: %w", err)
	}
	s.CPU = time.Duration(stat.CPUTime() * float64(time.Second)).Round(time.Microsecond)
	s.RSS, s.HWM, s.Thread = int64(status.VmRSS), int64(status.VmHWM), stat.NumThreads
	// /proc/PID/io may be unreadable (another user's process); the counts then stay 0.
	if io, err := p.IO(); err == nil {
		s.Reads, s.Writes = io.SyscR, io.SyscW
	}
	return s, nil
}

// Delta is the change between two samples of one process.
type Delta struct {
	Wall   time.Duration
	CPU    time.Duration
	Reads  uint64 // read system calls
	Writes uint64 // write system calls
}

// Sub returns the wall and CPU time and the system calls between earlier sample a and s.
func (s Sample) Sub(a Sample) Delta {
	return Delta{Wall: s.At.Sub(a.At), CPU: s.CPU - a.CPU, Reads: s.Reads - a.Reads, Writes: s.Writes - a.Writes}
}

// Self returns the CPU time this process has used (user + system), from getrusage.
func Self() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// RaiseOpenFiles raises the soft RLIMIT_NOFILE to the hard limit and returns the new soft
// limit. Raising the hard limit needs CAP_SYS_RESOURCE; this does not try. Children started
// afterwards inherit the raised limit.
func RaiseOpenFiles() (uint64, error) {
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		return 0, fmt.Errorf("sysstat: getrlimit: %w", err)
	}
	if l.Cur < l.Max {
		l.Cur = l.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
			return 0, fmt.Errorf("sysstat: setrlimit: %w", err)
		}
	}
	return l.Cur, nil
}
