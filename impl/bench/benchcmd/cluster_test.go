package benchcmd

import (
	"bytes"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/blindpost/blindpost/impl/bench/scenario"
)

// TestClusterUsage checks the --cluster flags a run refuses before it starts anything.
func TestClusterUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"relay", "--cluster", "1"}, "--cluster 1: from 2 to 9 nodes"},
		{[]string{"relay", "--cluster", "10"}, "from 2 to 9"},
		{[]string{"relay", "--cluster", "3", "--url", "wss://127.0.0.1:1/"}, "--cluster starts its relays here"},
		{[]string{"idle", "--cluster", "3", "--relays", "2"}, "--cluster starts a cluster of relays here"},
		{[]string{"idle", "--cluster", "3", "--urls", "wss://127.0.0.1:2/"}, "give one"},
		{[]string{"idle", "--cluster", "-1"}, "from 2 to 9"},
		{[]string{"idle", "--cluster", "2", "--procs", "1", "--conns", "100000000"}, "RLIMIT_NOFILE"},
	} {
		var out, errs bytes.Buffer
		if code := Main(t.Context(), tc.args, &out, &errs); code != ExitConfig || !strings.Contains(errs.String(), tc.want) {
			t.Errorf("%v: exit %d, %q; want %d and %q", tc.args, code, errs.String(), ExitConfig, tc.want)
		}
	}
}

// TestMakeScale reads the command of make scale from the Makefile and checks that it is the
// 100,000-connection run of README "Running a cluster" (six relays in a cluster, six load
// processes, 50 background pairs across nodes, a 60 s hold, the single-node comparison) and
// that it fits this machine's hard limit of 20,000 open files per process, while five load
// processes would not.
func TestMakeScale(t *testing.T) {
	raw, err := os.ReadFile("../../../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	_, recipe, ok := strings.Cut(string(raw), "\nscale:")
	if !ok {
		t.Fatal("the Makefile has no scale target")
	}
	line := strings.Split(recipe, "\n")[1]
	_, cmdline, ok := strings.Cut(line, "./impl/cmd/blindpost-bench ")
	if !ok {
		t.Fatalf("make scale does not run blindpost-bench: %q", line)
	}
	args := strings.Fields(cmdline)
	if args[0] != "idle" {
		t.Fatalf("make scale runs %q, want idle", args[0])
	}
	root := newRoot(&bytes.Buffer{}, &bytes.Buffer{})
	idle, _, err := root.Find(args)
	if err != nil {
		t.Fatal(err)
	}
	if err := idle.ParseFlags(args[1:]); err != nil {
		t.Fatalf("make scale's flags: %v", err)
	}
	f := idle.Flags()
	geti := func(n string) int { v, err := f.GetInt(n); must(t, err); return v }
	getb := func(n string) bool { v, err := f.GetBool(n); must(t, err); return v }
	dur, err := f.GetDuration("duration")
	must(t, err)
	sp := spreadFlags{procs: geti("procs"), cluster: geti("cluster"), crossNode: getb("cross-node"), single: getb("compare-single")}
	io := scenario.IdleOptions{Conns: geti("conns"), BackgroundPairs: geti("background-pairs")}
	if io.Conns != 100000 || sp.cluster != 6 || io.BackgroundPairs != 50 || !sp.crossNode || !sp.single || dur != 60*time.Second {
		t.Fatalf("make scale is not the 100,000-connection run: %+v %+v hold %s", sp, io, dur)
	}
	saved := raiseOpenFiles
	defer func() { raiseOpenFiles = saved }()
	raiseOpenFiles = func() (uint64, error) { return 20000, nil }
	o := &options{}
	if err := sp.check(o, io); err != nil {
		t.Fatalf("make scale does not fit 20,000 open files per process: %v", err)
	}
	sp.procs = 5
	if err := sp.check(o, io); err == nil || !strings.Contains(err.Error(), "give --procs 6 or more") {
		t.Fatalf("five load processes of 20,000 connections: %v", err)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
