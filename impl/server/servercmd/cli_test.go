package servercmd

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"io"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/spf13/pflag"

	"github.com/blindpost/blindpost/impl/e2ee/identity"
	"github.com/blindpost/blindpost/impl/server"
	"github.com/blindpost/blindpost/impl/server/directory"
	"github.com/blindpost/blindpost/impl/server/servertest"
	"github.com/blindpost/blindpost/internal/tlspin"
)

// env is a fake environment.
type env map[string]string

func (e env) lookup(k string) (string, bool) { v, ok := e[k]; return v, ok }

// run runs the command line and returns its exit status, standard output and standard error.
func run(t *testing.T, e env, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := Main(context.Background(), args, &out, &errOut, e.lookup)
	return code, out.String(), errOut.String()
}

// bind writes bindings into the directory of dataDir, as registrations would.
func bind(t *testing.T, dataDir string, names ...string) map[string]*identity.PrivateKey {
	t.Helper()
	d, err := directory.Open(filepath.Join(dataDir, directory.FileName), directory.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	keys := map[string]*identity.PrivateKey{}
	for _, n := range names {
		k, err := identity.Generate(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := d.Bind(directory.Entry{User: n, IdentityKey: k.Public(), GroupKey: k.GroupPublic(), GroupKeySig: k.GroupKeySig(n)}, directory.Admission{}); err != nil {
			t.Fatal(err)
		}
		keys[n] = k
	}
	return keys
}

// TestUsersCommands checks the operator commands of spec §5.2 (REG-5: only an operator frees a
// name): list, show and remove, and their refusals.
func TestUsersCommands(t *testing.T) {
	data := t.TempDir()
	e := env{"BLINDPOST_DATA": data}
	if code, _, stderr := run(t, e, "users", "list"); code != ExitError || !strings.Contains(stderr, "start the server once") {
		t.Fatalf("list without a directory: %d %q", code, stderr)
	}
	keys := bind(t, data, "bob", "alice")

	code, out, _ := run(t, e, "users", "list")
	if code != ExitOK || !strings.Contains(out, "USER") || strings.Index(out, "alice") > strings.Index(out, "bob") ||
		!strings.Contains(out, identity.Fingerprint(keys["alice"].Public())) {
		t.Fatalf("users list: %d\n%s", code, out)
	}
	code, out, _ = run(t, nil, "users", "show", "alice", "--data", data)
	if code != ExitOK || !strings.Contains(out, b64(keys["alice"].Public())) || !strings.Contains(out, b64(keys["alice"].GroupPublic())) {
		t.Fatalf("users show: %d\n%s", code, out)
	}
	if code, _, stderr := run(t, e, "users", "show", "carol"); code != ExitError || !strings.Contains(stderr, "not bound") {
		t.Fatalf("show of an unbound name: %d %q", code, stderr)
	}
	code, out, _ = run(t, e, "users", "remove", "alice")
	if code != ExitOK || !strings.Contains(out, "removed alice") {
		t.Fatalf("users remove: %d %q", code, out)
	}
	if code, _, stderr := run(t, e, "users", "remove", "alice"); code != ExitError || !strings.Contains(stderr, "not bound") {
		t.Fatalf("second remove: %d %q", code, stderr)
	}
	if _, out, _ := run(t, e, "users", "list"); strings.Contains(out, "alice") || !strings.Contains(out, "bob") {
		t.Fatalf("list after remove:\n%s", out)
	}
	if code, _, _ := run(t, e, "users", "show"); code != ExitConfig {
		t.Fatalf("show without a name: %d, want %d", code, ExitConfig)
	}

	// A running server without administration socket holds the directory: every users
	// command refuses clearly.
	srv := servertest.StartIn(t, data, func(c *server.Config) { c.AdminSocket = "" })
	for _, args := range [][]string{{"users", "list"}, {"users", "show", "bob"}, {"users", "remove", "bob"}} {
		code, _, stderr := run(t, e, args...)
		if code != ExitError || !strings.Contains(stderr, "in use by a running blindpost-server") {
			t.Fatalf("%v next to a running server: %d %q", args, code, stderr)
		}
	}
	srv.Close()
	if code, _, _ := run(t, e, "users", "remove", "bob"); code != ExitOK {
		t.Fatalf("remove after the server stopped: %d", code)
	}
}

// TestAdminCommandsWhileRunning checks that the operator commands work through the running
// relay's administration socket, and the same ones on the directory file once it stopped:
// users remove of several names, users prune, invites create/list/revoke, status (INV-2,
// INV-7).
func TestAdminCommandsWhileRunning(t *testing.T) {
	data := t.TempDir()
	e := env{"BLINDPOST_DATA": data}
	bind(t, data, "alice", "bob", "carol")
	srv := servertest.StartIn(t, data)
	code, out, stderr := run(t, e, "users", "list")
	if code != ExitOK || !strings.Contains(out, "LAST SEEN") || !strings.Contains(out, "carol") {
		t.Fatalf("users list while running: %d %q %q", code, out, stderr)
	}
	code, out, stderr = run(t, e, "users", "remove", "alice", "bob")
	if code != ExitOK || !strings.Contains(out, "removed alice") || !strings.Contains(out, "removed bob") {
		t.Fatalf("users remove alice bob while running: %d %q %q", code, out, stderr)
	}
	if code, _, stderr := run(t, e, "users", "remove", "alice"); code != ExitError || !strings.Contains(stderr, "not bound") {
		t.Fatalf("remove of a free name while running: %d %q", code, stderr)
	}
	code, out, stderr = run(t, e, "invites", "create", "--uses", "2", "--ttl", "1h")
	if code != ExitOK || !strings.HasPrefix(out, "invite ") {
		t.Fatalf("invites create: %d %q %q", code, out, stderr)
	}
	id := strings.TrimSuffix(strings.Fields(out)[3], "):")
	if code, out, _ := run(t, e, "invites", "list"); code != ExitOK || !strings.Contains(out, id) {
		t.Fatalf("invites list: %d %q (id %s)", code, out, id)
	}
	if code, out, _ := run(t, e, "status"); code != ExitOK || !strings.Contains(out, "running since") || !strings.Contains(out, "usable invites:       1") {
		t.Fatalf("status while running: %d\n%s", code, out)
	}
	if code, out, _ := run(t, e, "invites", "revoke", id); code != ExitOK || !strings.Contains(out, "revoked "+id) {
		t.Fatalf("invites revoke: %d %q", code, out)
	}
	if code, _, _ := run(t, e, "users", "prune"); code != ExitConfig {
		t.Fatalf("users prune without --unused-since: %d, want %d", code, ExitConfig)
	}
	if code, out, _ := run(t, e, "users", "prune", "--unused-since", "24h"); code != ExitOK || !strings.Contains(out, "released 0") {
		t.Fatalf("users prune: %d %q", code, out)
	}
	srv.Close()
	if code, out, _ := run(t, e, "status"); code != ExitOK || !strings.Contains(out, "not running") || !strings.Contains(out, "bound names:") {
		t.Fatalf("status of a stopped relay: %d\n%s", code, out)
	}
	if code, out, _ := run(t, e, "invites", "create"); code != ExitOK || !strings.HasPrefix(out, "invite ") {
		t.Fatalf("invites create on a stopped relay: %d %q", code, out)
	}
}

// TestPinCommand checks TLS-5 (the pin is printed again, the same as at start) and TLS-6
// (--public-pin wins).
func TestPinCommand(t *testing.T) {
	data := t.TempDir()
	if code, _, stderr := run(t, nil, "pin", "--data", data); code != ExitError || !strings.Contains(stderr, "start the server once") {
		t.Fatalf("pin before the first start: %d %q", code, stderr)
	}
	id, err := tlspin.LoadOrCreate(data)
	if err != nil {
		t.Fatal(err)
	}
	if code, out, _ := run(t, env{"BLINDPOST_DATA": data}, "pin"); code != ExitOK || out != id.Pin.String()+"\n" {
		t.Fatalf("pin: %d %q, want %s", code, out, id.Pin)
	}
	public := "sha256:" + strings.Repeat("0f", 32)
	if code, out, _ := run(t, nil, "pin", "--data", data, "--public-pin", public); code != ExitOK || out != public+"\n" {
		t.Fatalf("pin --public-pin: %d %q", code, out)
	}
	if code, out, _ := run(t, nil, "pin", "--tls-cert", filepath.Join(data, tlspin.CertFile)); code != ExitOK || out != id.Pin.String()+"\n" {
		t.Fatalf("pin --tls-cert: %d %q", code, out)
	}
}

// TestConfigErrors checks that every configuration problem is reported at once, each naming
// where its value came from (flag, environment or default).
func TestConfigErrors(t *testing.T) {
	e := env{"BLINDPOST_RATE": "0", "BLINDPOST_MAX_GROUP_MEMBERS": "500", "BLINDPOST_LOG_FORMAT": "xml"}
	code, _, stderr := run(t, e, "--queue", "0", "--data", t.TempDir(), "--public-pin", "sha256:nope", "--tls-key", "k.pem", "--gc-percent", "5")
	if code != ExitConfig {
		t.Fatalf("exit %d, want %d\n%s", code, ExitConfig, stderr)
	}
	for _, want := range []string{
		`BLINDPOST_RATE="0" (environment)`,
		`BLINDPOST_MAX_GROUP_MEMBERS="500" (environment)`,
		`BLINDPOST_LOG_FORMAT="xml" (environment)`,
		"--queue=0 (command line)",
		"--public-pin=sha256:nope (command line)",
		"--tls-cert= (default): --tls-cert and --tls-key must be given together",
		"--gc-percent=5 (command line): must be between 10 and 1000",
		"7 configuration error(s)",
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	code, _, stderr = run(t, env{"BLINDPOST_RATE": "fast", "BLINDPOST_PING_INTERVAL": "often"})
	if code != ExitConfig || !strings.Contains(stderr, `BLINDPOST_RATE="fast" (environment)`) || !strings.Contains(stderr, `BLINDPOST_PING_INTERVAL="often"`) {
		t.Fatalf("unparsable environment: %d\n%s", code, stderr)
	}
	if code, _, _ := run(t, nil, "--rate", "fast"); code != ExitConfig {
		t.Fatalf("unparsable flag: exit %d", code)
	}
	if code, _, _ := run(t, nil, "serve-everything"); code != ExitConfig {
		t.Fatalf("unknown command: exit %d", code)
	}
}

// TestGCPercent checks which garbage collector target the relay runs with: --gc-percent or
// BLINDPOST_GC_PERCENT when given, else the operator's GOGC when set, else the default.
func TestGCPercent(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  env
		args []string
		want int // 0: no tuner, GOGC stands
	}{
		{"default", nil, nil, defaultGCPercent},
		{"flag", nil, []string{"--gc-percent", "200"}, 200},
		{"environment", env{"BLINDPOST_GC_PERCENT": "80"}, nil, 80},
		{"GOGC stands", env{"GOGC": "150"}, nil, 0},
		{"flag over GOGC", env{"GOGC": "150"}, []string{"--gc-percent", "30"}, 30},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := &options{cfg: server.DefaultConfig(), gcPercent: defaultGCPercent, lookup: tc.env.lookup}
			fs := pflag.NewFlagSet("blindpost-server", pflag.ContinueOnError)
			o.serveFlags(fs)
			if err := fs.Parse(tc.args); err != nil {
				t.Fatal(err)
			}
			src, err := applyEnv(fs, tc.env.lookup)
			if err != nil {
				t.Fatal(err)
			}
			o.src = src
			tu := o.gcTuner()
			switch {
			case tc.want == 0 && tu != nil:
				t.Errorf("a tuner at %d%%, want GOGC to stand", tu.Percent)
			case tc.want != 0 && tu == nil:
				t.Errorf("no tuner, want %d%%", tc.want)
			case tu != nil && (tu.Percent != tc.want || tu.Floor != gcFloor):
				t.Errorf("tuner %d%% above %d bytes, want %d%% above %d", tu.Percent, tu.Floor, tc.want, gcFloor)
			}
		})
	}
}

// TestHelp checks that --help explains the environment and gives worked examples.
func TestHelp(t *testing.T) {
	code, out, _ := run(t, nil, "--help")
	for _, want := range []string{"Examples:", "BLINDPOST_MAX_MESSAGE", "blindpost-server users remove alice", "--public-pin", "--metrics-listen"} {
		if code != ExitOK || !strings.Contains(out, want) {
			t.Errorf("--help lacks %q", want)
		}
	}
}

// TestServeFromEnvironment starts the relay through the command line with its settings in the
// environment (flags winning), connects to the printed address with the printed pin, and stops
// it as SIGINT would.
func TestServeFromEnvironment(t *testing.T) {
	data := t.TempDir()
	e := env{"BLINDPOST_LISTEN": "127.0.0.1:0", "BLINDPOST_DATA": data, "BLINDPOST_RATE": "17", "BLINDPOST_BURST": "21",
		"BLINDPOST_LOG_LEVEL": "error"}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	outR, outW := io.Pipe()
	done := make(chan int, 1)
	go func() {
		done <- Main(ctx, []string{"--burst", "23"}, outW, io.Discard, e.lookup)
		outW.Close()
	}()
	lines := bufio.NewScanner(outR)
	var url, pinText string
	for pinText == "" && lines.Scan() {
		line := lines.Text()
		if u, ok := strings.CutPrefix(line, "listening on "); ok {
			url = u
		}
		if p, ok := strings.CutPrefix(line, "server pin: "); ok {
			pinText = p
		}
	}
	go io.Copy(io.Discard, outR)
	pin, err := tlspin.Parse(pinText)
	if err != nil || !strings.HasPrefix(url, "wss://127.0.0.1:") {
		t.Fatalf("printed %q and %q (%v)", url, pinText, err)
	}
	ws, _, err := pin.Dialer(10*time.Second).Dial(url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	ws.WriteMessage(websocket.TextMessage, []byte(`{"type":"hello","protocol":"blindpost/1","user":"alice"}`))
	ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, raw, err := ws.ReadMessage()
	if err != nil {
		t.Fatal(err)
	}
	var ack struct {
		Limits struct{ Rate, Burst int } `json:"limits"`
	}
	if err := json.Unmarshal(raw, &ack); err != nil || ack.Limits.Rate != 17 || ack.Limits.Burst != 23 {
		t.Fatalf("hello_ack %s: want rate 17 from the environment and burst 23 from the flag", raw)
	}
	cancel() // as SIGINT does
	_, _, err = ws.ReadMessage()
	if ce, ok := err.(*websocket.CloseError); !ok || ce.Code != websocket.CloseGoingAway {
		t.Fatalf("client saw %v, want close 1001", err)
	}
	select {
	case code := <-done:
		if code != ExitOK {
			t.Fatalf("exit %d", code)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the server did not stop")
	}
}

func b64(b []byte) string {
	out, _ := json.Marshal(b)
	return strings.Trim(string(out), `"`)
}

// TestServeBindFailure: a relay whose address is taken reports the listen error and exits
// non-zero without logging that it is shutting down or stopped, since it never ran.
func TestServeBindFailure(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	code, out, errOut := run(t, env{}, "--listen", taken.Addr().String(), "--data", t.TempDir(), "--log-level", "debug")
	if code == ExitOK || !strings.Contains(errOut, "listen on "+taken.Addr().String()) {
		t.Fatalf("exit %d, stderr %q: want a non-zero exit naming the listen error", code, errOut)
	}
	for _, s := range []string{"shutting down", "stopped", "listening"} {
		if strings.Contains(out+errOut, s) {
			t.Errorf("output says %q although the relay never ran:\n%s%s", s, out, errOut)
		}
	}
}
