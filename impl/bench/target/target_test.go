package target

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/blindpost/blindpost/impl/bench/coalesce"
	"github.com/blindpost/blindpost/impl/bench/forwarder"
	"github.com/blindpost/blindpost/impl/bench/load"
	"github.com/blindpost/blindpost/impl/bench/natsbase"
	"github.com/blindpost/blindpost/impl/client/tlstrust"
	"github.com/blindpost/blindpost/impl/server/servercmd"
)

// childEnv makes this test binary act as blindpost-bench's children: "server …" runs the
// reference relay, "coalesce …", "forwarder …" and "nats …" the other systems, as the real
// command's subcommands do.
const childEnv = "BLINDPOST_BENCH_TARGET_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "1" {
		os.Exit(child(os.Args[1:]))
	}
	os.Exit(m.Run())
}

func child(args []string) int {
	ctx := context.Background()
	switch args[0] {
	case "server":
		if os.Getenv(fakeClusterEnv) == "1" {
			return fakeClusterNode(args[1:])
		}
		return servercmd.Main(ctx, args[1:], os.Stdout, os.Stderr, func(string) (string, bool) { return "", false })
	case "forwarder", "coalesce", "nats":
		sys, err := startChild(args[0], args[2], args[4])
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		fmt.Printf("listening on %s\nserver pin: %s\n", sys.URL(), sys.Pin())
		select {}
	}
	return 2
}

// announcer is what a child system prints when it is ready.
type announcer interface {
	URL() string
	Pin() string
}

type typicalChild struct{ *forwarder.Forwarder }

func (f typicalChild) Pin() string { return f.Forwarder.Pin().String() }

// startChild starts the system the subcommand sub names, listening on listen.
func startChild(sub, listen, dir string) (announcer, error) {
	switch sub {
	case "forwarder":
		f, err := forwarder.New(forwarder.Config{Listen: listen, DataDir: dir})
		if err != nil {
			return nil, err
		}
		return typicalChild{f}, f.Start()
	case "coalesce":
		f, err := coalesce.New(coalesce.Config{Listen: listen, DataDir: dir})
		if err != nil {
			return nil, err
		}
		return f, f.Start()
	}
	s, err := natsbase.New(natsbase.Config{Listen: listen, DataDir: dir})
	if err != nil {
		return nil, err
	}
	return s, s.Start()
}

// TestLaunch starts every child, checks that they announced where they listen, that they
// can be dialled and measured, and that Close stops them.
func TestLaunch(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	p := &Provider{Launcher: Launcher{Path: exe, Env: []string{childEnv + "=1"}}}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, start := range []func(context.Context) (*System, error){p.Ours, p.Baseline, p.Typical, p.NATS} {
		sys, err := start(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if sys.URL == "" || sys.Trust.Pin == nil || !sys.Local() || (sys.Kind == Blindpost) != (sys.Metrics != "") {
			t.Fatalf("%s: %+v", sys.Name, sys)
		}
		s, err := sys.Sample()
		if err != nil || s.RSS <= 0 {
			t.Fatalf("%s: Sample = %+v, %v", sys.Name, s, err)
		}
		if err := dialOnce(ctx, sys); err != nil {
			t.Fatalf("%s: %v", sys.Name, err)
		}
		if err := sys.Close(); err != nil {
			t.Fatal(err)
		}
		if _, err := sys.Sample(); err == nil {
			t.Fatalf("%s: the process is still there after Close", sys.Name)
		}
	}
	r := Remote("wss://relay.example/", load.Trust{}, 0)
	if r.Local() || r.Close() != nil {
		t.Fatal("a remote relay is local or closable")
	}
	if _, err := ParsePID("x"); err == nil {
		t.Fatal("ParsePID accepted x")
	}
}

// dialOnce opens a connection to sys as the benchmarks do, and closes it.
func dialOnce(ctx context.Context, sys *System) error {
	if sys.Kind == NATS {
		cfg, _, err := tlstrust.Policy{Pin: sys.Trust.Pin}.Config(strings.TrimPrefix(sys.URL, "wss://"))
		if err != nil {
			return err
		}
		c, err := natsbase.Dial(ctx, sys.URL, cfg, "a", "b")
		if err != nil {
			return err
		}
		return c.Close()
	}
	c, err := (&load.Dialer{URL: sys.URL, Trust: sys.Trust}).Dial(ctx, "")
	if err != nil {
		return err
	}
	return c.Close()
}

// TestLastLine: a child's last non-empty line of standard error, however it was split into
// writes, a last line without its newline included, and bounded in length.
func TestLastLine(t *testing.T) {
	long := strings.Repeat("x", 2*maxLastLine)
	for _, tc := range []struct {
		writes []string
		want   string
	}{
		{nil, "nothing on standard error"},
		{[]string{"one\ntwo\n"}, "two"},
		{[]string{"one\nt", "w", "o\n\n  \n"}, "two"},
		{[]string{"one\n", "fatal: address already in use"}, "fatal: address already in use"},
		{[]string{long + "\n"}, long[:maxLastLine]},
		{[]string{"a\n", long[:10], long}, long[:maxLastLine]},
	} {
		var w lastLine
		for _, s := range tc.writes {
			if n, err := w.Write([]byte(s)); n != len(s) || err != nil {
				t.Fatalf("Write(%d bytes) = %d, %v", len(s), n, err)
			}
		}
		if got := w.String(); got != tc.want {
			t.Errorf("after %q: %q, want %q", tc.writes, got, tc.want)
		}
	}
}
