package clientsuite_test

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/blindpost/blindpost/conformance/clientsuite"
	"github.com/blindpost/blindpost/conformance/harness"
	"github.com/blindpost/blindpost/impl/e2ee/identity"
	"github.com/blindpost/blindpost/impl/server/servertest/timescale"
)

// The fake drivers are this test binary, run again with CLIENTSUITE_FAKE_DRIVER set (TestMain).
const fakeEnv = "CLIENTSUITE_FAKE_DRIVER"

// fakeDriver runs the fake driver mode names and returns the exit status.
func fakeDriver(mode string) int {
	switch mode {
	case "silent": // reads every command, answers none
		_, _ = io.Copy(io.Discard, os.Stdin)
	case "yes": // answers every command with success, and does nothing
		yesMan(os.Stdout)
	case "garbage": // writes a line that is not protocol, then behaves like yes
		fmt.Println("starting the client, please wait")
		yesMan(os.Stdout)
	case "crash": // exits at once
		fmt.Fprintln(os.Stderr, "fatal: no configuration found")
		return 3
	case "proxy": // the real driver, with some commands answered unimplemented
		return proxy(os.Getenv("CLIENTSUITE_REAL_DRIVER"), strings.Split(os.Getenv("CLIENTSUITE_UNIMPLEMENTED"), ","))
	default:
		fmt.Fprintf(os.Stderr, "unknown fake driver %q\n", mode)
		return 2
	}
	return 0
}

// yesMan answers every command ok, with made-up results.
func yesMan(out io.Writer) {
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		var c map[string]any
		if json.Unmarshal(sc.Bytes(), &c) != nil {
			continue
		}
		r := map[string]any{"id": c["id"], "ok": true}
		switch c["cmd"] {
		case "connect":
			k := make([]byte, 32)
			_, _ = rand.Read(k)
			r["identity_key"], r["fingerprint"] = base64.StdEncoding.EncodeToString(k), identity.Fingerprint(k)
		case "chat":
			s := make([]byte, 16)
			_, _ = rand.Read(s)
			r["session"] = base64.StdEncoding.EncodeToString(s)
		case "send":
			r["n"] = 0
		case "group_send":
			r["epoch"], r["n"] = 1, 0
		case "list_users":
			r["users"] = []string{}
		case "safety_number":
			r["digits"] = strings.Repeat("0", 60)
		}
		data, _ := json.Marshal(r)
		fmt.Fprintf(out, "%s\n", data)
		if c["cmd"] == "quit" {
			return
		}
	}
}

// proxy runs the real driver and forwards every line both ways, answering the commands in
// unimplemented itself.
func proxy(real string, unimplemented []string) int {
	argv, _ := clientsuite.SplitCommand(real)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stderr = os.Stderr
	in, _ := cmd.StdinPipe()
	outPipe, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	var mu sync.Mutex
	write := func(b []byte) {
		mu.Lock()
		defer mu.Unlock()
		os.Stdout.Write(append(b, '\n'))
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(outPipe)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			write(sc.Bytes())
		}
	}()
	sc := bufio.NewScanner(os.Stdin)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var c struct{ ID, Cmd string }
		if json.Unmarshal(sc.Bytes(), &c) == nil && slices.Contains(unimplemented, c.Cmd) {
			write(fmt.Appendf(nil, `{"id":%q,"ok":false,"error":"unimplemented","message":"this client has no %s"}`, c.ID, c.Cmd))
			continue
		}
		in.Write(append(sc.Bytes(), '\n'))
	}
	in.Close()
	<-done
	_ = cmd.Wait()
	return 0
}

// fakeStartupWait bounds the start of a fake driver, this test binary run again: the cases of
// a run start theirs all at once, under the race detector too, so a loaded machine stretches it.
var fakeStartupWait = timescale.Of(3 * time.Second)

// runFake runs cases against the fake driver mode, with a short wait.
func runFake(t *testing.T, mode string, extraEnv []string, ids ...string) *harness.Report {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	env, err := clientsuite.NewEnv(clientsuite.Config{
		Driver: clientsuite.QuoteCommand(self) + " -test.run=^$", Env: append([]string{fakeEnv + "=" + mode}, extraEnv...),
		Wait: time.Second, StartupWait: fakeStartupWait,
	})
	if err != nil {
		t.Fatal(err)
	}
	cases, err := harness.Select(harness.SuiteCases(clientsuite.Suite), ids)
	if err != nil {
		t.Fatal(err)
	}
	return harness.Run(context.Background(), cases, harness.Options{Seed: 7, Env: env, Parallel: len(cases), TimeoutFor: env.TimeoutFor})
}

// brokenCases are a sample of every family of cases.
var brokenCases = []string{
	"client/handshake/honest-initiator", "client/handshake/forged-hs2-signature", "client/records/replayed",
	"client/trust/key-changed-initiator", "client/group/honest", "client/group/commit-split-secret",
}

// TestConformClientBrokenDrivers runs cases against drivers that ignore the protocol: every case fails, with
// a reason that says what was missing, and the run ends within a few waits.
func TestConformClientBrokenDrivers(t *testing.T) {
	tests := []struct {
		mode, want string
	}{
		{"silent", "timed out waiting for the response to connect"},
		{"yes", "timed out waiting for the client to register at the relay"},
		{"garbage", "schemas/driver/output.json"},
		{"crash", "the driver exited (exit status 3) before the response to connect (id c1); its standard error ends with: fatal: no configuration found"},
	}
	for _, tt := range tests {
		t.Run(tt.mode, func(t *testing.T) {
			t.Parallel()
			start := time.Now()
			rep := runFake(t, tt.mode, nil, brokenCases...)
			if d := time.Since(start); d > 5*fakeStartupWait {
				t.Errorf("the run took %s", d)
			}
			if len(rep.Results) != len(brokenCases) {
				t.Fatalf("%d results", len(rep.Results))
			}
			for _, r := range rep.Results {
				msgs := failureText(r)
				switch {
				case r.Verdict != harness.Fail:
					t.Errorf("%s: verdict %s, want fail", r.ID, r.Verdict)
				case !strings.Contains(msgs, tt.want):
					t.Errorf("%s: failures do not say %q:\n%s", r.ID, tt.want, msgs)
				}
			}
			t.Logf("%s: %s", rep.Results[0].ID, failureText(rep.Results[0]))
		})
	}
}

func failureText(r harness.Result) string {
	var b strings.Builder
	for _, f := range r.Failures {
		fmt.Fprintf(&b, "[%s] %s; expected %s; actual %s\n", f.Rule, f.Message, f.Expected, f.Actual)
	}
	return b.String()
}

// TestConformClientUnimplemented checks that a driver answering unimplemented for a command a case
// needs gives the verdict unimplemented, while the cases that do not need it still pass.
func TestConformClientUnimplemented(t *testing.T) {
	real := clientsuite.QuoteCommand(blindpost(t)) + " driver"
	rep := runFake(t, "proxy", []string{"CLIENTSUITE_REAL_DRIVER=" + real, "CLIENTSUITE_UNIMPLEMENTED=group_join,trust"},
		"client/group/honest", "client/trust/key-changed-initiator", "client/records/replayed")
	want := map[string]harness.Verdict{
		"client/group/honest":                harness.Unimplemented,
		"client/trust/key-changed-initiator": harness.Unimplemented,
		"client/records/replayed":            harness.Pass,
	}
	if len(rep.Results) != len(want) {
		t.Fatalf("%d results, want %d", len(rep.Results), len(want))
	}
	for _, r := range rep.Results {
		if r.Verdict != want[r.ID] {
			t.Errorf("%s: verdict %s, want %s: %s %s", r.ID, r.Verdict, want[r.ID], r.Reason, failureText(r))
		}
	}
}
