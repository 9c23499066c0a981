package localcluster

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/blindpost/blindpost/internal/tlspin"
)

// fakeEnv makes the test binary act as one node (TestMain): "serve" prints what
// blindpost-server prints once it listens and waits for SIGTERM; "fail" exits at once;
// "serve-then-exit" exits after announcing.
const fakeEnv = "BLINDPOST_LOCALCLUSTER_FAKE_NODE"

func TestMain(m *testing.M) {
	if mode := os.Getenv(fakeEnv); mode != "" {
		os.Exit(fakeNode(mode, os.Args[1:]))
	}
	os.Exit(m.Run())
}

func fakeNode(mode string, args []string) int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	name := args[slices.Index(args, "--node-name")+1]
	if mode == "fail" && name == "r2" {
		fmt.Fprintln(os.Stderr, "cluster: embedded: r2: no JetStream meta leader")
		return 1
	}
	fmt.Printf("listening on wss://%s/\n", args[slices.Index(args, "--listen")+1])
	fmt.Println("server pin: sha256:00")
	if mode == "serve-then-exit" && name == "r3" {
		return 2
	}
	<-ctx.Done()
	fmt.Println("shutting down")
	return 0
}

// TestPrepare: the plan gives each node its data directory, ports and the routes to all, one
// certificate for the cluster whose pin stays the same on the next run.
func TestPrepare(t *testing.T) {
	o := DefaultOptions()
	o.Dir = t.TempDir()
	o.Extra = []string{"--registration", "invite"}
	p, err := Prepare(o)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Nodes) != 3 {
		t.Fatalf("%d nodes, want 3", len(p.Nodes))
	}
	n := p.Nodes[1]
	want := []string{"--listen", "127.0.0.1:8444", "--data", filepath.Join(o.Dir, "r2"), "--tls-cert", p.Cert, "--tls-key", p.Key,
		"--cluster-embedded", "--node-name", "r2", "--cluster-listen", "127.0.0.1:4223",
		"--cluster-route-listen", "127.0.0.1:6223", "--cluster-routes", "127.0.0.1:6222,127.0.0.1:6223,127.0.0.1:6224",
		"--registration", "invite"}
	if !slices.Equal(n.Args, want) {
		t.Errorf("node 2 args:\n got %q\nwant %q", n.Args, want)
	}
	if n.Name != "r2" || n.URL != "wss://127.0.0.1:8444/" {
		t.Errorf("node 2: %q %q", n.Name, n.URL)
	}
	if p.NATSURLs != "nats://127.0.0.1:4222,nats://127.0.0.1:4223,nats://127.0.0.1:4224" {
		t.Errorf("NATS URLs %q", p.NATSURLs)
	}
	for _, n := range p.Nodes {
		if fi, err := os.Stat(n.Data); err != nil || !fi.IsDir() {
			t.Errorf("data directory of %s: %v", n.Name, err)
		}
	}
	if pin, err := tlspin.PinOfFile(p.Cert); err != nil || pin != p.Pin {
		t.Fatalf("the plan's pin %s is not the certificate's %s (%v)", p.Pin, pin, err)
	}
	again, err := Prepare(o)
	if err != nil || again.Pin != p.Pin {
		t.Fatalf("a second run has pin %v (%v), want %s: the certificate must be reused", again.Pin, err, p.Pin)
	}
}

// TestPrepareErrors: options that cannot give a working cluster are refused, all at once.
func TestPrepareErrors(t *testing.T) {
	tests := []struct {
		name   string
		change func(*Options)
		want   []string
	}{
		{"no nodes", func(o *Options) { o.Nodes = 0 }, []string{"--nodes 0: from 1 to 9"}},
		{"not loopback", func(o *Options) { o.Host = "0.0.0.0" }, []string{`--host "0.0.0.0": a loopback address`}},
		{"overlap", func(o *Options) { o.NATSPort = 8445 }, []string{"--port 8443 and --nats-port 8445: the 3 ports from each overlap"}},
		{"beyond 65535", func(o *Options) { o.RoutePort = 65534 }, []string{"--route-port 65534: ports 65534 to 65536"}},
		{"several", func(o *Options) { o.Nodes, o.Dir = 10, "" }, []string{"from 1 to 9", "--data: a directory is required"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := DefaultOptions()
			o.Dir = t.TempDir()
			tt.change(&o)
			_, err := Prepare(o)
			for _, w := range tt.want {
				if err == nil || !strings.Contains(err.Error(), w) {
					t.Errorf("error %v, want %q", err, w)
				}
			}
		})
	}
}

// TestParse: the command line sets the options; relay flags follow --.
func TestParse(t *testing.T) {
	var stderr bytes.Buffer
	o, extra, err := parse([]string{"--nodes", "5", "--port", "9443", "--data", "x", "--", "--registration", "closed"}, &stderr)
	if err != nil || o.Nodes != 5 || o.Port != 9443 || o.Dir != "x" || !slices.Equal(extra, []string{"--registration", "closed"}) {
		t.Fatalf("parse: %+v %q %v", o, extra, err)
	}
	if _, _, err := parse([]string{"stray"}, &stderr); err == nil || !strings.Contains(err.Error(), "after --") {
		t.Fatalf("a stray argument: %v", err)
	}
	if code := Main(t.Context(), []string{"--nodes", "0", "--data", t.TempDir()}, &stderr, &stderr, "unused"); code != ExitConfig {
		t.Fatalf("Main with --nodes 0: exit %d, want %d", code, ExitConfig)
	}
}

// fakeLauncher runs this test binary as a node in mode, and records the commands.
type fakeLauncher struct {
	mode string
	mu   sync.Mutex
	cmds []*exec.Cmd
}

func (f *fakeLauncher) launch(args []string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), fakeEnv+"="+f.mode)
	f.mu.Lock()
	f.cmds = append(f.cmds, cmd)
	f.mu.Unlock()
	return cmd
}

// allExited fails the test if a node process is left running.
func (f *fakeLauncher) allExited(t *testing.T) {
	t.Helper()
	for i, c := range f.cmds {
		if c.ProcessState == nil {
			t.Errorf("node %d is still running after Run returned", i+1)
		}
	}
}

// syncBuffer is a bytes.Buffer safe for the nodes' goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestRun: once every node listens, Run prints the URLs and the one pin; cancelling it (Ctrl-C)
// stops every node; a node that fails to start or exits stops the others and names itself.
func TestRun(t *testing.T) {
	o := DefaultOptions()
	o.Dir = t.TempDir()
	p, err := Prepare(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("until Ctrl-C", func(t *testing.T) {
		f := &fakeLauncher{mode: "serve"}
		out := &syncBuffer{}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- p.Run(ctx, f.launch, lineNotifier{out, "Ctrl-C stops them all", cancel}) }()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		f.allExited(t)
		got := out.String()
		for _, w := range []string{"wss://127.0.0.1:8443/  (node r1", "wss://127.0.0.1:8445/  (node r3", "server pin (the same on every node): " + p.Pin.String(),
			"users list --cluster nats://127.0.0.1:4222,", "blindpost-conform server wss://127.0.0.1:8443/ wss://127.0.0.1:8444/ wss://127.0.0.1:8445/ --pin " + p.Pin.String(), "[r2] listening on wss://127.0.0.1:8444/", "[r1] shutting down"} {
			if !strings.Contains(got, w) {
				t.Errorf("output lacks %q:\n%s", w, got)
			}
		}
	})
	t.Run("a node fails to start", func(t *testing.T) {
		f := &fakeLauncher{mode: "fail"}
		out := &syncBuffer{}
		err := p.Run(t.Context(), f.launch, out)
		if err == nil || !strings.Contains(err.Error(), "node r2 exited before it listened") {
			t.Fatalf("Run: %v", err)
		}
		f.allExited(t)
		if !strings.Contains(out.String(), "[r2] cluster: embedded: r2: no JetStream meta leader") {
			t.Errorf("the failing node's stderr is not shown:\n%s", out)
		}
	})
	t.Run("a node exits", func(t *testing.T) {
		f := &fakeLauncher{mode: "serve-then-exit"}
		err := p.Run(t.Context(), f.launch, &syncBuffer{})
		if err == nil || !strings.Contains(err.Error(), "node r3 exited: exit status 2") {
			t.Fatalf("Run: %v", err)
		}
		f.allExited(t)
	})
}

// lineNotifier calls fire once a write contains marker: the test's Ctrl-C, as soon as the
// summary is out.
type lineNotifier struct {
	w      *syncBuffer
	marker string
	fire   func()
}

func (l lineNotifier) Write(p []byte) (int, error) {
	n, err := l.w.Write(p)
	if strings.Contains(string(p), l.marker) {
		l.fire()
	}
	return n, err
}
