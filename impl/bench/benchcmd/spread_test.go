package benchcmd

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/blindpost/blindpost/impl/server"
	"github.com/blindpost/blindpost/impl/server/servertest"
)

// childEnv, in the environment, makes the test binary run Main with its arguments: the child
// load processes of a spread run are this binary (os.Executable), as they are blindpost-bench.
const childEnv = "BLINDPOST_BENCH_TEST_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "1" {
		os.Exit(Main(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// TestIdleSpreadCommand runs blindpost-bench idle --urls … --procs 2 against one in-process
// relay given under two URLs (the pin holds for both), and checks the report: every connection
// held, half through each URL, no error, and the relays' memory reported unknown.
func TestIdleSpreadCommand(t *testing.T) {
	t.Setenv(childEnv, "1")
	srv := servertest.Start(t, func(c *server.Config) { c.Rate, c.Burst = 1000000, 1000000 })
	u, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	other := "wss://" + net.JoinHostPort("localhost", u.Port()) + "/"
	var out, errs bytes.Buffer
	args := []string{"idle", "--urls", srv.URL + "," + other, "--pin", srv.Pin.String(), "--procs", "2", "--conns", "20",
		"--duration", "200ms", "--background-pairs", "1", "--cross-node", "--json"}
	if code := Main(t.Context(), args, &out, &errs); code != ExitOK {
		t.Fatalf("exit %d: %s", code, errs.String())
	}
	var rep struct {
		Details struct {
			Spread struct {
				Held   int `json:"conns_held"`
				Errors int
				Nodes  []struct {
					URL  string
					Held int `json:"conns_held"`
				}
				RSSKnown   bool `json:"relay_rss_known"`
				Background struct{ Errors, Delivered int }
			} `json:"idle-spread"`
		}
	}
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("%v:\n%s", err, out.String())
	}
	s := rep.Details.Spread
	if s.Held != 20 || s.Errors != 0 || len(s.Nodes) != 2 || s.RSSKnown || s.Background.Errors != 0 || s.Background.Delivered == 0 {
		t.Fatalf("report: %+v\n%s", s, errs.String())
	}
	for i, want := range []string{srv.URL, other} {
		if s.Nodes[i].URL != want || s.Nodes[i].Held != 10 {
			t.Errorf("node %d: %+v, want %s with 10 connections", i, s.Nodes[i], want)
		}
	}
}

// TestIdleSpreadRelays runs blindpost-bench idle --relays 2 --procs 2 --compare-single: two
// reference relays and the single-node relay are child processes (this test binary's server
// subcommand), so their memory is measured; every connection is held, half on each relay, and
// the single-node run holds half of them.
func TestIdleSpreadRelays(t *testing.T) {
	t.Setenv(childEnv, "1")
	var out, errs bytes.Buffer
	args := []string{"idle", "--relays", "2", "--procs", "2", "--conns", "40", "--duration", "300ms",
		"--background-pairs", "1", "--compare-single", "--json", "--quiet"}
	if code := Main(t.Context(), args, &out, &errs); code != ExitOK {
		t.Fatalf("exit %d: %s", code, errs.String())
	}
	var rep struct {
		Figures []struct {
			Name     string
			Baseline *float64
		}
		Details struct {
			Spread struct {
				Held   int `json:"conns_held"`
				Errors int
				Nodes  []struct {
					Held    int   `json:"conns_held"`
					RSSMean int64 `json:"rss_mean_bytes"`
				}
				RSSKnown bool                         `json:"relay_rss_known"`
				Single   *struct{ Conns, Errors int } `json:"single_node"`
			} `json:"idle-spread"`
		}
	}
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("%v:\n%s", err, out.String())
	}
	s := rep.Details.Spread
	if s.Held != 40 || s.Errors != 0 || !s.RSSKnown || len(s.Nodes) != 2 || s.Single == nil || s.Single.Conns != 20 || s.Single.Errors != 0 {
		t.Fatalf("report: %+v\n%s", s, out.String())
	}
	for i, n := range s.Nodes {
		if n.Held != 20 || n.RSSMean <= 0 {
			t.Errorf("node %d: %+v, want 20 connections and its memory", i, n)
		}
	}
	baselines := 0
	for _, f := range rep.Figures {
		if f.Baseline != nil {
			baselines++
		}
	}
	if baselines == 0 {
		t.Errorf("no figure has the single-node run as its baseline: %+v", rep.Figures)
	}
}

// TestIdleSpreadUsage checks the flags a spread run refuses.
func TestIdleSpreadUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"idle", "--url", "wss://127.0.0.1:1/", "--urls", "wss://127.0.0.1:2/"}, "not both"},
		{[]string{"idle", "--url", "wss://127.0.0.1:1/", "--procs", "2"}, "give --urls"},
		{[]string{"idle", "--urls", "wss://127.0.0.1:2/", "--relays", "2"}, "give one"},
		{[]string{"idle", "--urls", "https://127.0.0.1:2/"}, "is not a wss:// URL"},
		{[]string{"idle", "--procs", "3", "--conns", "2"}, "at least one connection per process"},
		{[]string{"idle", "--procs", "1", "--conns", "100000000"}, "RLIMIT_NOFILE"},
	} {
		var out, errs bytes.Buffer
		if code := Main(t.Context(), tc.args, &out, &errs); code != ExitConfig || !strings.Contains(errs.String(), tc.want) {
			t.Errorf("%v: exit %d, %q; want %d and %q", tc.args, code, errs.String(), ExitConfig, tc.want)
		}
	}
}
