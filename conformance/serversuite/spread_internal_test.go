package serversuite

import (
	"crypto/sha256"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/blindpost/blindpost/conformance/harness"
	"github.com/blindpost/blindpost/impl/wire"
	"github.com/blindpost/blindpost/internal/tlspin"
)

// TestSpreadFollowsFormula checks that the n-th connection a case opens goes to URL
// (h(case id) + n) mod len(URLs), h computed here independently (SHA-256 of the id, its first 8
// bytes as a big-endian number), that consecutive connections of one case go to different URLs,
// and that the Env's counts match what the cases opened.
func TestSpreadFollowsFormula(t *testing.T) {
	urls := []string{"wss://a.test:8443/", "wss://b.test:8443/", "wss://c.test/"}
	env, err := NewEnv(Config{URL: urls[0], URLs: urls[1:], Pin: "sha256:" + strings.Repeat("ab", 32)})
	if err != nil {
		t.Fatal(err)
	}
	const dials = 7
	var mu sync.Mutex
	got := map[string][]string{}
	var cases []harness.Case
	for i := range 20 {
		id := fmt.Sprintf("server/spread/case-%d", i)
		cases = append(cases, harness.Case{ID: id, Run: func(ht *harness.T) {
			for range dials {
				tg := envOf(ht).next(ht)
				mu.Lock()
				got[id] = append(got[id], tg.url.String())
				mu.Unlock()
			}
		}})
	}
	harness.RunTests(t, cases, harness.Options{Seed: 1, Env: env, Parallel: 4})
	total := map[string]int64{}
	for _, c := range cases {
		h := sha256.Sum256([]byte(c.ID))
		start := new(big.Int).SetBytes(h[:8])
		for n, u := range got[c.ID] {
			want := urls[new(big.Int).Mod(new(big.Int).Add(start, big.NewInt(int64(n))), big.NewInt(int64(len(urls)))).Int64()]
			if u != want {
				t.Errorf("%s: connection %d went to %s, the formula says %s", c.ID, n, u, want)
			}
			if n > 0 && u == got[c.ID][n-1] {
				t.Errorf("%s: connections %d and %d both went to %s", c.ID, n-1, n, u)
			}
			total[u]++
		}
		if len(got[c.ID]) != dials {
			t.Errorf("%s: %d connections recorded, want %d", c.ID, len(got[c.ID]), dials)
		}
	}
	for _, tg := range env.Targets() {
		if tg.Connections == 0 || tg.Connections != total[tg.URL] {
			t.Errorf("%s: the Env counted %d connections, the cases opened %d", tg.URL, tg.Connections, total[tg.URL])
		}
	}
}

// TestNewEnvURLs checks how NewEnv takes the URLs of one system: URL first, then URLs; each a
// wss URL, none twice.
func TestNewEnvURLs(t *testing.T) {
	pin := "sha256:" + strings.Repeat("ab", 32)
	for _, tc := range []struct {
		name string
		cfg  Config
		want []string
		err  string
	}{
		{"one URL", Config{URL: "wss://a.test:1/"}, []string{"wss://a.test:1/"}, ""},
		{"URL then URLs", Config{URL: "wss://a.test:1", URLs: []string{"wss://b.test:2/"}}, []string{"wss://a.test:1/", "wss://b.test:2/"}, ""},
		{"URLs only", Config{URLs: []string{"wss://b.test:2/", "wss://c.test:3/x"}}, []string{"wss://b.test:2/", "wss://c.test:3/x"}, ""},
		{"none", Config{}, nil, "no URL"},
		{"not wss", Config{URL: "wss://a.test:1/", URLs: []string{"https://b.test/"}}, nil, "is not a wss://"},
		{"twice", Config{URL: "wss://a.test:1/", URLs: []string{"wss://a.test:1"}}, nil, "given twice"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.Pin = pin
			env, err := NewEnv(tc.cfg)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("NewEnv: %v, want an error saying %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := env.URLs(); fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("URLs %v, want %v", got, tc.want)
			}
		})
	}
}

// helloAckServer is a TLS WebSocket server that answers every message with a hello_ack
// announcing limits. httptest's TLS servers share one certificate, so that one pin trusts
// several of them, as one pin trusts the nodes of a cluster.
func helloAckServer(t *testing.T, limits wire.Limits) (url, pin string) {
	up := websocket.Upgrader{Subprotocols: []string{wire.Subprotocol}}
	ack, err := wire.Encode(&wire.HelloAck{Challenge: make([]byte, 32), Server: "fake", Limits: limits})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer ws.Close()
		for {
			if _, _, err := ws.ReadMessage(); err != nil || ws.WriteMessage(websocket.TextMessage, ack) != nil {
				return
			}
		}
	}))
	t.Cleanup(ts.Close)
	return "wss://" + ts.Listener.Addr().String() + "/", tlspin.Of(ts.Certificate()).String()
}

// TestPreflightSameLimits checks that the preflight takes the timers from the first URL's
// hello_ack, and refuses URLs that announce different limits: they cannot be one relay.
func TestPreflightSameLimits(t *testing.T) {
	limits := defaultLimits
	other := limits
	other.PingIntervalMs = 20000
	a, pin := helloAckServer(t, limits)
	b, pinB := helloAckServer(t, limits)
	c, _ := helloAckServer(t, other)
	if pin != pinB {
		t.Fatalf("the httptest servers present different certificates (%s, %s): the test needs one", pin, pinB)
	}
	env, err := NewEnv(Config{URLs: []string{a, b}, Pin: pin})
	if err != nil {
		t.Fatal(err)
	}
	if err := env.Preflight(t.Context()); err != nil {
		t.Fatalf("two URLs announcing the same limits: %v", err)
	}
	if got := env.Config().PingInterval; got != 30*time.Second {
		t.Errorf("ping interval %s after the preflight, want the announced 30s", got)
	}
	env, err = NewEnv(Config{URLs: []string{a, b, c}, Pin: pin})
	if err != nil {
		t.Fatal(err)
	}
	if err := env.Preflight(t.Context()); err == nil || !strings.Contains(err.Error(), "must announce the same hello_ack.limits") || !strings.Contains(err.Error(), c) {
		t.Errorf("a third URL announcing other limits: %v, want an error naming %s", err, c)
	}
}
