package sysstat

import (
	"os"
	"testing"
	"time"

	"github.com/prometheus/procfs"
)

// TestReadFixture reads a recorded /proc entry whose command name holds spaces and
// parentheses: CPU is utime + stime (250 + 50 ticks of 10 ms), memory is in bytes, system calls
// are io's syscr and syscw.
func TestReadFixture(t *testing.T) {
	fs, err := procfs.NewFS("testdata/proc")
	if err != nil {
		t.Fatal(err)
	}
	s, err := read(fs, 1234)
	if err != nil {
		t.Fatal(err)
	}
	if s.CPU != 3*time.Second || s.RSS != 20480<<10 || s.HWM != 40960<<10 || s.Thread != 8 {
		t.Fatalf("read %+v; want 3s of CPU, 20 MiB resident, 40 MiB peak, 8 threads", s)
	}
	if s.Reads != 321 || s.Writes != 123 {
		t.Fatalf("read %d reads and %d writes; want 321 and 123", s.Reads, s.Writes)
	}
	if _, err := read(fs, 99); err == nil {
		t.Fatal("a missing process was read")
	}
}

func TestReadSelf(t *testing.T) {
	s, err := Read(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if s.RSS <= 0 || s.HWM < s.RSS || s.Thread < 1 {
		t.Fatalf("implausible sample %+v", s)
	}
	if _, err := Read(-1); err == nil {
		t.Fatal("Read(-1) did not fail")
	}
	if n, err := RaiseOpenFiles(); err != nil || n == 0 {
		t.Fatalf("RaiseOpenFiles = %d, %v", n, err)
	}
}
