package sysstat

import (
	"os"
	"testing"
	"time"
)

func TestParseStat(t *testing.T) {
	line := []byte("1234 (a (weird) name) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 8 0 100 1000 200 18446744073709551615\n")
	cpu, err := parseStat(line)
	if err != nil || cpu != 3*time.Second {
		t.Fatalf("parseStat = %v, %v; want 3s", cpu, err)
	}
	if _, err := parseStat([]byte("1234 (x) S 1")); err == nil {
		t.Fatal("a short line parsed")
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
