package serversuite_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/blindpost/blindpost/conformance/conform"
	"github.com/blindpost/blindpost/conformance/serversuite"
	"github.com/blindpost/blindpost/impl/server"
	"github.com/blindpost/blindpost/impl/server/servertest"
)

var (
	seedFlag  = flag.Uint64("conform.seed", 0, "seed of the conformance run (0: from the clock)")
	quickFlag = flag.Bool("conform.quick", false, "fewer repetitions")
)

// Timers of the reference server in tests, passed to the suite too.
const (
	registerTimeout = 2 * time.Second
	pingInterval    = 400 * time.Millisecond
	pongTimeout     = 3 * time.Second
)

// maxUsers is the directory limit of the reference server in TestConformServer, passed to the
// suite too (REG-13): above the 500 or so names the other cases bind, so that only
// server/registration/server-full, which runs last, fills the directory.
const maxUsers = 1000

func seed() uint64 {
	if *seedFlag != 0 {
		return *seedFlag
	}
	return uint64(time.Now().UnixNano())
}

// TestConformServer runs the whole server suite against the reference relay in process, each
// case a subtest; every case must pass. Small limits make every limit reachable: a 16 KiB
// max_message (so that SRV-11 applies), few groups and members, a directory of maxUsers names
// (so that server_full applies), and short timers.
func TestConformServer(t *testing.T) {
	srv := servertest.Start(t, func(c *server.Config) {
		c.RegisterTimeout, c.PingInterval, c.PongTimeout = registerTimeout, pingInterval, pongTimeout
		c.MaxMessage = 16384
		c.MaxGroups = 4
		c.MaxGroupMembers = 5
		c.MaxUsers = maxUsers
		c.HandshakeTimeout, c.MaxConnsPerAddr, c.MaxJoinsPerAddr = time.Second, 100, 40
	})
	env, err := serversuite.NewEnv(serversuite.Config{
		URL: srv.URL, Pin: srv.Pin.String(),
		RegisterTimeout: registerTimeout, PingInterval: pingInterval, PongTimeout: pongTimeout,
		HandshakeTimeout: time.Second,
		Wait:             4 * time.Second, Slack: time.Second, Quick: *quickFlag, MaxUsers: maxUsers,
	})
	if err != nil {
		t.Fatal(err)
	}
	s := seed()
	t.Logf("seed %d (replay with -args -conform.seed=%d)", s, s)
	start := time.Now()
	rep := conform.RunTests(t, conform.SuiteCases(serversuite.Suite), conform.Options{
		Seed: s, Env: env, TimeoutFor: env.TimeoutFor, Parallel: 6,
		Repro: func(c conform.Case, seed uint64) string {
			return fmt.Sprintf("go test ./conformance/serversuite -run 'TestConformServer/%s$' -count=1 -v -args -conform.seed=%d", c.ID, seed)
		},
	})
	if n := len(rep.Results); n < 100 {
		t.Errorf("only %d cases ran", n)
	}
	t.Logf("%d cases in %s", len(rep.Results), time.Since(start).Round(time.Millisecond))
}

// echoServer is a plain WebSocket echo server over TLS: it ignores the spec entirely.
func echoServer(t *testing.T) (url, pin string) {
	up := websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}
	ts := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer ws.Close()
		for {
			typ, data, err := ws.ReadMessage()
			if err != nil {
				return
			}
			if ws.WriteMessage(typ, data) != nil {
				return
			}
		}
	}))
	t.Cleanup(ts.Close)
	sum := sha256.Sum256(ts.Certificate().RawSubjectPublicKeyInfo)
	return "wss://" + ts.Listener.Addr().String() + "/", serversuite.FormatPin(sum[:])
}

// TestConformServerAgainstEcho runs the suite against a server that ignores the spec: the run
// must end in bounded time, fail, and say why in terms of the spec.
func TestConformServerAgainstEcho(t *testing.T) {
	url, pin := echoServer(t)
	env, err := serversuite.NewEnv(serversuite.Config{
		URL: url, Pin: pin, RegisterTimeout: time.Second, PingInterval: 300 * time.Millisecond, PongTimeout: time.Second,
		Wait: 300 * time.Millisecond, Slack: 300 * time.Millisecond, Quick: true, RapidChecks: 2,
	})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	rep := conform.Run(context.Background(), conform.SuiteCases(serversuite.Suite), conform.Options{
		Seed: 7, Env: env, TimeoutFor: env.TimeoutFor, Parallel: 8, Timeout: 3 * time.Minute,
	})
	took := time.Since(start)
	var text bytes.Buffer
	if err := rep.WriteText(&text, conform.TextOptions{}); err != nil {
		t.Fatal(err)
	}
	out := text.String()
	if took > 2*time.Minute {
		t.Errorf("the run against an echo server took %s", took)
	}
	c := rep.Counts()
	if !rep.Failed() || c[conform.Fail] < len(rep.Results)*9/10 {
		t.Errorf("against an echo server: %v of %d cases; want nearly all to fail", c, len(rep.Results))
	}
	if c[conform.Pass] > 0 {
		for _, r := range rep.Results {
			if r.Verdict == conform.Pass {
				t.Errorf("%s passes against an echo server", r.ID)
			}
		}
	}
	for id, want := range map[string]*regexp.Regexp{
		"server/registration/hello-ack":     regexp.MustCompile(`(?s)MSG-6.*invalid message|hello_ack`),
		"server/registration/deadline":      regexp.MustCompile(`still open|close 1008`),
		"server/websocket/subprotocol":      regexp.MustCompile(`WS-1`),
		"server/relay/from-stamped":         regexp.MustCompile(`hello_ack`),
		"server/hostile/relay/base64":       regexp.MustCompile(`liveness probe|hello_ack`),
		"server/keepalive/ping-and-timeout": regexp.MustCompile(`hello_ack`),
	} {
		r := result(rep, id)
		if r.Verdict != conform.Fail || !want.MatchString(fmt.Sprint(r.Failures)) {
			t.Errorf("%s: verdict %s, failures %v; want a failure matching %s", id, r.Verdict, r.Failures, want)
		}
	}
	for _, want := range []string{"Result: FAIL", "expected:", "actual:", "repro:", "transcript"} {
		if !strings.Contains(out, want) {
			t.Errorf("the report lacks %q", want)
		}
	}
	t.Logf("echo server: %v in %s", c, took.Round(time.Millisecond))
}

func result(rep *conform.Report, id string) conform.Result {
	for _, r := range rep.Results {
		if r.ID == id {
			return r
		}
	}
	return conform.Result{}
}

func TestReadableID(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`{"type":"x","id":"a1"}`, "a1"},
		{`{"id":"a1","id":"a2"}`, ""},
		{`{"id":"a1","type":"x","type":"y"}`, "a1"},
		{`{"id":"bad id"}`, ""},
		{`{"id":7}`, ""},
		{`{"id":"a1"} x`, ""},
		{`{"id":"a1"`, ""},
		{`[{"id":"a1"}]`, ""},
		{"{\"id\":\"a1\",\"x\":\"\xff\"}", ""},
		{`{"zz":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]],"id":"deep"}`, "deep"},
		{`{"\u0069d":"esc"}`, "esc"},
	} {
		if got := serversuite.ReadableID([]byte(tc.in)); got != tc.want {
			t.Errorf("ReadableID(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestSameJSON(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		same bool
	}{
		{`{"a":1,"b":[1,2]}`, `{"b":[1,2],"a":1}`, true},
		{`{"n":3}`, `{"n":3.0}`, true},
		{`{"n":0}`, `{"n":-0}`, true},
		{`{"n":10}`, `{"n":1E1}`, true},
		{`{"s":"a/b"}`, `{"s":"a\/b"}`, true},
		{`{"n":3}`, `{"n":"3"}`, false},
		{`[1,2]`, `[2,1]`, false},
		{`{"a":1}`, `{"a":1,"b":null}`, false},
	} {
		if got := serversuite.SameJSON([]byte(tc.a), []byte(tc.b)); got != tc.same {
			t.Errorf("SameJSON(%s, %s) = %v", tc.a, tc.b, got)
		}
	}
}

func TestCasesAreValid(t *testing.T) {
	cases := conform.SuiteCases(serversuite.Suite)
	seen := map[string]bool{}
	for _, c := range cases {
		if err := conform.Validate(c); err != nil {
			t.Error(err)
		}
		for _, r := range c.Rules {
			seen[r] = true
		}
	}
	// Every server-side MUST a black box can observe is claimed by a case.
	for _, id := range []string{"WS-1", "WS-3", "WS-4", "WS-5", "WS-7", "WS-9", "WS-10", "WS-11", "MSG-1", "MSG-2", "MSG-3", "MSG-4", "MSG-5", "MSG-6",
		"REG-1", "REG-2", "REG-3", "REG-4", "REG-5", "REG-6", "REG-7", "REG-8", "REG-9", "REG-10", "REG-12", "REG-13",
		"SRV-1", "SRV-2", "SRV-3", "SRV-4", "SRV-6", "SRV-7", "SRV-8", "SRV-9", "SRV-10", "SRV-11", "SRV-13",
		"ERR-1", "ERR-2", "ERR-3", "ERR-4", "LIM-1", "LIM-2", "LIM-3", "LIM-4", "LIM-5",
		"GSV-1", "GSV-2", "GSV-3", "GSV-4", "GSV-5", "GSV-6", "GSV-7", "TLS-1", "TLS-6",
		"ENC-5", "ENC-6", "ENC-7", "ENC-8", "ENC-9", "ENC-10"} {
		if !seen[id] {
			t.Errorf("no server case claims %s", id)
		}
	}
}
