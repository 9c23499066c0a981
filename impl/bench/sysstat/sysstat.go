// Package sysstat reads what the benchmarks measure of a process from Linux's /proc: CPU time
// (user + system, /proc/PID/stat) and resident memory (/proc/PID/status), and raises this
// process's limit on open files so that tens of thousands of connections fit.
package sysstat

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"syscall"
	"time"
)

// clockTicks is USER_HZ, the unit of the CPU times in /proc/PID/stat: 100 on every Linux
// architecture Go supports.
const clockTicks = 100

// Sample is what /proc says of one process at one moment.
type Sample struct {
	At     time.Time
	CPU    time.Duration // user + system time since the process started
	RSS    int64         // resident set size, bytes (VmRSS)
	HWM    int64         // peak resident set size, bytes (VmHWM)
	Thread int           // threads
}

// Read samples process pid.
func Read(pid int) (Sample, error) {
	s := Sample{At: time.Now()}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return s, fmt.Errorf("sysstat: %w", err)
	}
	if s.CPU, err = parseStat(stat); err != nil {
		return s, fmt.Errorf("sysstat: /proc/%d/stat: %w", pid, err)
	}
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return s, fmt.Errorf("sysstat: %w", err)
	}
	if err := parseStatus(status, &s); err != nil {
		return s, fmt.Errorf("sysstat: /proc/%d/status: %w", pid, err)
	}
	return s, nil
}

// parseStat returns utime + stime of a /proc/PID/stat line. The command name (field 2) may
// hold spaces and parentheses, so fields are counted from the last ')'.
func parseStat(b []byte) (time.Duration, error) {
	end := bytes.LastIndexByte(b, ')')
	if end < 0 {
		return 0, errors.New("no command name")
	}
	f := bytes.Fields(b[end+1:])
	// f[0] is field 3 (state); utime and stime are fields 14 and 15.
	if len(f) < 13 {
		return 0, errors.New("too few fields")
	}
	utime, err1 := strconv.ParseInt(string(f[11]), 10, 64)
	stime, err2 := strconv.ParseInt(string(f[12]), 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, err
	}
	return time.Duration(utime+stime) * time.Second / clockTicks, nil
}

// parseStatus fills the memory and thread figures of s from /proc/PID/status.
func parseStatus(b []byte, s *Sample) error {
	found := 0
	for line := range bytes.Lines(b) {
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			continue
		}
		f := bytes.Fields(value)
		if len(f) == 0 {
			continue
		}
		n, err := strconv.ParseInt(string(f[0]), 10, 64)
		if err != nil {
			continue
		}
		switch string(name) {
		case "VmRSS":
			s.RSS, found = n<<10, found+1
		case "VmHWM":
			s.HWM = n << 10
		case "Threads":
			s.Thread = int(n)
		}
	}
	if found == 0 {
		return errors.New("no VmRSS")
	}
	return nil
}

// Delta is the change between two samples of one process.
type Delta struct {
	Wall time.Duration
	CPU  time.Duration
}

// Sub returns the wall and CPU time between earlier sample a and s.
func (s Sample) Sub(a Sample) Delta { return Delta{Wall: s.At.Sub(a.At), CPU: s.CPU - a.CPU} }

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
