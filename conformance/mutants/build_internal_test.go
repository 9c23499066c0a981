package mutants

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestBuildSlots: no more builds run at once than the builder has slots; a build waiting for a
// slot gives up when its context ends, and a slot given back serves the next build.
func TestBuildSlots(t *testing.T) {
	b := &builder{slots: make(chan struct{}, 2)}
	var releases []func()
	for range 2 {
		release, err := b.acquire(t.Context())
		if err != nil {
			t.Fatalf("a free slot: %v", err)
		}
		releases = append(releases, release)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := b.acquire(ctx); err == nil {
		t.Fatal("a third build got a slot of two")
	}
	releases[0]()
	release, err := b.acquire(t.Context())
	if err != nil {
		t.Fatalf("a slot given back: %v", err)
	}
	release()
	releases[1]()
	if len(b.slots) != 0 {
		t.Errorf("%d slots still taken after every release", len(b.slots))
	}
}

// TestBuildNice: with a priority, the go command runs under nice and its children inherit it;
// without one, at the priority of the run.
func TestBuildNice(t *testing.T) {
	if _, err := exec.LookPath("nice"); err != nil {
		t.Fatalf("nice(1) is needed: %v", err)
	}
	// A stand-in for the go command: it writes its own niceness where the binary would go.
	dir := t.TempDir()
	fakeGo := filepath.Join(dir, "go")
	script := "#!/bin/sh\nwhile [ \"$1\" != -o ]; do shift; done\nnice >\"$2\"\n"
	if err := os.WriteFile(fakeGo, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	niceness := func(nice int) int {
		t.Helper()
		out := filepath.Join(dir, fmt.Sprint("out", nice))
		b := &builder{root: dir, work: dir, goCmd: fakeGo, nice: nice}
		if err := b.build(t.Context(), nil, "./x", out); err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		n, err := strconv.Atoi(strings.TrimSpace(string(data)))
		if err != nil {
			t.Fatalf("the stand-in wrote %q", data)
		}
		return n
	}
	base := niceness(0)
	if got := niceness(7); got != min(base+7, 19) {
		t.Errorf("a build with nice 7 ran at %d, the run at %d", got, base)
	}
}

// TestStartOrder: the mutants of a cluster start first, the others keep their order.
func TestStartOrder(t *testing.T) {
	ms := []*Mutant{{ID: "a"}, {ID: "b", Cluster: 3}, {ID: "c"}, {ID: "d", Cluster: 3}}
	var got []string
	for _, i := range startOrder(ms) {
		got = append(got, ms[i].ID)
	}
	if strings.Join(got, " ") != "b d a c" {
		t.Errorf("start order %v, want b d a c", got)
	}
}
