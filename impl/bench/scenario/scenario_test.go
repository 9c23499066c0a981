package scenario

import (
	"context"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/blindpost/blindpost/impl/bench/coalesce"
	"github.com/blindpost/blindpost/impl/bench/forwarder"
	"github.com/blindpost/blindpost/impl/bench/load"
	"github.com/blindpost/blindpost/impl/bench/natsbase"
	"github.com/blindpost/blindpost/impl/bench/target"
	"github.com/blindpost/blindpost/impl/server"
	"github.com/blindpost/blindpost/impl/server/servertest"
	"github.com/blindpost/blindpost/internal/tlspin"
)

// The smoke tests run every scenario for a fraction of a second against an in-process relay
// and an in-process forwarder, and check that the results are well formed: they assert what
// was measured exists and is consistent, never how fast anything is.

// inProcess provides in-process systems; their process is this one, so CPU and memory figures
// are left out (PID 0).
type inProcess struct{ t *testing.T }

func (p inProcess) Ours(context.Context) (*target.System, error) {
	srv := servertest.Start(p.t, func(c *server.Config) { c.Rate, c.Burst = 1000000, 1000000 })
	pin := srv.Pin
	return &target.System{Name: target.Ours, Kind: target.Blindpost, URL: srv.URL, Trust: load.Trust{Pin: &pin}}, nil
}

func (p inProcess) Baseline(context.Context) (*target.System, error) {
	f, err := coalesce.New(coalesce.Config{Listen: "127.0.0.1:0", DataDir: p.t.TempDir()})
	if err != nil {
		return nil, err
	}
	if err := f.Start(); err != nil {
		return nil, err
	}
	p.t.Cleanup(func() { f.Close() })
	return p.system(target.Baseline, target.Forwarder, f.URL(), f.Pin())
}

func (p inProcess) Typical(context.Context) (*target.System, error) {
	f, err := forwarder.New(forwarder.Config{Listen: "127.0.0.1:0", DataDir: p.t.TempDir()})
	if err != nil {
		return nil, err
	}
	if err := f.Start(); err != nil {
		return nil, err
	}
	p.t.Cleanup(func() { f.Close() })
	return p.system(target.Typical, target.Forwarder, f.URL(), f.Pin().String())
}

func (p inProcess) NATS(context.Context) (*target.System, error) {
	s, err := natsbase.New(natsbase.Config{Listen: "127.0.0.1:0", DataDir: p.t.TempDir()})
	if err != nil {
		return nil, err
	}
	if err := s.Start(); err != nil {
		return nil, err
	}
	p.t.Cleanup(func() { s.Close() })
	return p.system(target.NATSName, target.NATS, s.URL(), s.Pin())
}

// system describes an in-process system trusted by its pin.
func (p inProcess) system(name string, kind target.Kind, url, pin string) (*target.System, error) {
	pn, err := tlspin.Parse(pin)
	if err != nil {
		return nil, err
	}
	return &target.System{Name: name, Kind: kind, URL: url, Trust: load.Trust{Pin: &pn}}, nil
}

// OursWith starts an in-process relay with the default limits, which is what the flags of the
// attack scenario ask a started relay for.
func (p inProcess) OursWith(context.Context, []string) (*target.System, error) {
	srv := servertest.Start(p.t)
	pin := srv.Pin
	return &target.System{Name: target.Ours, Kind: target.Blindpost, URL: srv.URL, Trust: load.Trust{Pin: &pin}}, nil
}

// TestAttack runs the attack scenario briefly: the honest pairs deliver in both runs, honest
// registrations are tried, and the attackers did something.
func TestAttack(t *testing.T) {
	o := AttackOptions{Common: quick(), Pairs: 2, Rate: 40, Attackers: 1, Slowloris: 50}
	// An honest registration is counted when it ends inside the window: on a loaded machine
	// one under attack can take longer than quick()'s 300 ms, so the window is longer here.
	o.Duration = 1500 * time.Millisecond
	r, err := RunAttack(t.Context(), o, inProcess{t})
	if err != nil {
		t.Fatal(err)
	}
	for _, run := range []AttackRun{r.Quiet, r.Attacked} {
		if run.Delivered == 0 || run.Registrations == 0 {
			t.Errorf("attacked %v: %d delivered, %d honest registrations tried", run.Attacked, run.Delivered, run.Registrations)
		}
	}
	if a := r.Attacked; a.SlowlorisOpened == 0 || a.FloodRegistrations+a.PingFloodClosed+a.RelayFloodSent == 0 {
		t.Errorf("the attackers did nothing: %+v", a)
	}
	if got := len(r.Figures()); got != 4 {
		t.Errorf("%d figures, want 4", got)
	}
}

func quick() Common {
	return Common{Duration: 300 * time.Millisecond, Warmup: 50 * time.Millisecond, Prefix: "t-", Sources: load.LoopbackSources(2)}
}

// TestRelayAndLatency runs both scenarios on the four systems: each delivers, only the relay
// acknowledges, and the latency run offers the same given rate to all.
func TestRelayAndLatency(t *testing.T) {
	r, err := RunRelay(context.Background(), RelayOptions{Common: quick(), Pairs: 2, Size: 200}, inProcess{t})
	if err != nil {
		t.Fatal(err)
	}
	if r.Typical == nil || r.NATS == nil {
		t.Fatalf("typical %v, NATS %v: a system did not run", r.Typical, r.NATS)
	}
	for _, res := range []RelayResult{r.Ours, r.Baseline, *r.Typical, *r.NATS} {
		if res.Delivered == 0 || res.Throughput <= 0 || res.Latency.Count == 0 || res.Errors != 0 {
			t.Errorf("%s: %+v", res.System, res)
		}
		if !math.IsNaN(res.CPUPerMillion) || !math.IsNaN(res.PerCPUSecond()) {
			t.Errorf("%s: CPU measured for an unknown process", res.System)
		}
		if acks := res.Acks != 0; acks != (res.System == target.Ours) {
			t.Errorf("%s: %d acks", res.System, res.Acks)
		}
	}
	figs := r.Figures()
	if len(figs) != 5 || figs[0].Goal == nil || figs[0].Met == nil || len(figs[0].Others) != 2 {
		t.Errorf("figures %+v", figs)
	}
	maxima := map[string]float64{target.Ours: 2000, target.Baseline: 3000, target.Typical: 4000, target.NATSName: 5000}
	lat, err := RunLatency(context.Background(), LatencyOptions{RelayOptions: RelayOptions{Common: quick(), Pairs: 2}, Maxima: maxima}, inProcess{t})
	if err != nil {
		t.Fatal(err)
	}
	if lat.Typical == nil || lat.NATS == nil {
		t.Fatalf("latency: typical %v, NATS %v: a system did not run", lat.Typical, lat.NATS)
	}
	for _, res := range []LatencyResult{lat.Ours, lat.Baseline, *lat.Typical, *lat.NATS} {
		if res.Run.OfferedRate != 1000 || res.Run.Latency.Count == 0 || res.MaxRun != nil {
			t.Errorf("latency %s: %+v", res.Run.System, res)
		}
	}
	if figs := lat.Figures(); len(figs) != 5 || figs[2].Goal == nil || !math.IsNaN(figs[4].Ours) {
		t.Errorf("latency figures %+v (the cores busy: NaN without the server's CPU)", figs)
	}
}

// TestBusy checks the share of the cores a fixed-rate run kept busy: the server's and the load
// generator's CPU per message times the messages per second, over the cores.
func TestBusy(t *testing.T) {
	for _, tc := range []struct {
		server, load, rate float64
		cores              int
		want               float64
	}{
		{server: 30, load: 30, rate: 30000, cores: 2, want: 90},
		{server: 10, load: 0, rate: 50000, cores: 1, want: 50},
		{server: 5, load: 5, rate: 0, cores: 4, want: 0},
	} {
		run := RelayResult{CPUPerMillion: tc.server, LoadCPUPerMillion: tc.load, Throughput: tc.rate}
		if got := busy(run, tc.cores); math.Abs(got-tc.want) > 1e-9 {
			t.Errorf("busy(%v µs + %v µs at %v/s on %d cores) = %v%%, want %v%%", tc.server, tc.load, tc.rate, tc.cores, got, tc.want)
		}
	}
	if got := busy(RelayResult{CPUPerMillion: math.NaN(), LoadCPUPerMillion: 30, Throughput: 1000}, 2); !math.IsNaN(got) {
		t.Errorf("busy without the server's CPU = %v, want NaN", got)
	}
}

func TestIdle(t *testing.T) {
	o := IdleOptions{Common: quick(), Conns: 20, BackgroundPairs: 1, BackgroundRate: 200, Settle: 50 * time.Millisecond}
	r, err := RunIdle(context.Background(), o, inProcess{t})
	if err != nil {
		t.Fatal(err)
	}
	if r.Typical == nil {
		t.Fatal("the typical forwarder did not run")
	}
	for _, res := range []IdleResult{r.Ours, r.Baseline, *r.Typical} {
		if res.Conns != 20 || res.Errors != 0 || res.Background == nil || res.Background.Delivered == 0 || res.Background.Errors != 0 {
			t.Errorf("%s: %+v %+v", res.System, res, res.Background)
		}
	}
	if figs := r.Figures(); len(figs) != 5 || figs[0].Goal == nil {
		t.Errorf("figures %+v", figs)
	}
}

func TestConnect(t *testing.T) {
	r, err := RunConnect(context.Background(), ConnectOptions{Common: quick(), Workers: 2}, inProcess{t})
	if err != nil {
		t.Fatal(err)
	}
	for _, res := range []ConnectResult{r.Ours, r.Baseline} {
		if res.Connects == 0 || res.Rate <= 0 || res.Latency.Count == 0 || res.Errors != 0 {
			t.Errorf("%s: %+v", res.System, res)
		}
	}
}

func TestFanout(t *testing.T) {
	r, err := RunFanout(context.Background(), FanoutOptions{Common: quick(), Members: 5}, inProcess{t})
	if err != nil {
		t.Fatal(err)
	}
	for _, res := range []FanoutResult{r.Ours, r.Baseline} {
		if res.Sent == 0 || res.Deliveries == 0 || res.Latency.Count == 0 || res.Errors != 0 {
			t.Errorf("%s: %+v", res.System, res)
		}
		if res.Deliveries > 4*res.Sent+4*16 {
			t.Errorf("%s: %d deliveries of %d messages to 4 members", res.System, res.Deliveries, res.Sent)
		}
	}
}

func TestE2E(t *testing.T) {
	r, err := RunE2E(context.Background(), E2EOptions{Common: quick()}, inProcess{t})
	if err != nil {
		t.Fatal(err)
	}
	for _, res := range []E2EResult{r.Ours, r.Baseline} {
		if res.RoundTrips == 0 || res.RoundTrip.Count != res.RoundTrips || res.CPUPerMsg <= 0 {
			t.Errorf("%s: %+v", res.System, res)
		}
	}
}

// profiled gives ours a pprof listener: a stand-in that answers every profile at once.
type profiled struct {
	inProcess
	metrics string
}

func (p profiled) Ours(ctx context.Context) (*target.System, error) {
	sys, err := p.inProcess.Ours(ctx)
	if sys != nil {
		sys.Metrics = p.metrics
	}
	return sys, err
}

// TestProfiles checks that --profile (Common.ProfileDir) fetches a CPU profile of ours over the
// measured window in the scenarios that alternate and in those that run one system at a time,
// and none of a system without a pprof listener.
func TestProfiles(t *testing.T) {
	pprof := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/debug/pprof/profile" || r.URL.Query().Get("seconds") == "" {
			http.NotFound(w, r)
			return
		}
		io.WriteString(w, "profile of "+r.URL.Query().Get("seconds")+" s")
	}))
	defer pprof.Close()
	dir := t.TempDir()
	c := quick()
	c.ProfileDir = dir
	prov := profiled{inProcess{t}, pprof.URL}
	if _, err := RunConnect(context.Background(), ConnectOptions{Common: c, Workers: 2}, prov); err != nil {
		t.Fatal(err)
	}
	if _, err := RunE2E(context.Background(), E2EOptions{Common: c}, prov); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"connect-ours", "e2e-ours"} {
		b, err := os.ReadFile(filepath.Join(dir, name+".cpu.pprof"))
		if err != nil || !strings.HasPrefix(string(b), "profile of ") {
			t.Errorf("%s: %q, %v", name, b, err)
		}
	}
	if m, _ := filepath.Glob(filepath.Join(dir, "*baseline*")); len(m) != 0 {
		t.Errorf("profiles of the baseline, which has no pprof listener: %v", m)
	}
}
