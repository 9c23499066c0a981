package target

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/blindpost/blindpost/impl/bench/forwarder"
	"github.com/blindpost/blindpost/impl/bench/load"
	servercli "github.com/blindpost/blindpost/impl/server/cli"
)

// childEnv makes this test binary act as blindpost-bench's children: "server …" runs the
// reference relay, "forwarder …" the baseline, as the real command's subcommands do.
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
		return servercli.Main(ctx, args[1:], os.Stdout, os.Stderr, func(string) (string, bool) { return "", false })
	case "forwarder":
		f, err := forwarder.New(forwarder.Config{Listen: args[2], DataDir: args[4]})
		if err == nil {
			err = f.Start()
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		fmt.Printf("listening on %s\nserver pin: %s\n", f.URL(), f.Pin())
		select {}
	}
	return 2
}

// TestLaunch starts both children, checks that they announced where they listen, that they
// can be dialled and measured, and that Close stops them.
func TestLaunch(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	p := &Provider{Launcher: Launcher{Path: exe, Env: []string{childEnv + "=1"}}}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, start := range []func(context.Context) (*System, error){p.Ours, p.Baseline} {
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
		c, err := (&load.Dialer{URL: sys.URL, Trust: sys.Trust}).Dial(ctx, "")
		if err != nil {
			t.Fatalf("%s: %v", sys.Name, err)
		}
		c.Close()
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
