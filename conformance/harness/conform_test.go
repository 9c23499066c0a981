package harness

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/blindpost/blindpost/spec"
)

// mk returns a valid case of the "test" suite.
func mk(id string, rules []string, run func(*T)) Case {
	c, err := complete(Case{ID: "test/" + id, Rules: rules, Description: "a test case", Run: run})
	if err != nil {
		panic(err)
	}
	return c
}

func runOne(c Case, opts Options) Result {
	return RunCase(context.Background(), c, opts)
}

func TestVerdicts(t *testing.T) {
	for _, tc := range []struct {
		name   string
		rules  []string
		strict bool
		run    func(*T)
		want   Verdict
	}{
		{"nothing wrong is pass", []string{"REG-3"}, false, func(*T) {}, Pass},
		{"Errorf of a MUST case is fail", []string{"REG-3"}, false, func(t *T) { t.Errorf("no") }, Fail},
		{"Errorf of a SHOULD case is warn", []string{"WS-2"}, false, func(t *T) { t.Errorf("no") }, Warn},
		{"Mismatch of a SHOULD rule in a MUST case is warn", []string{"WS-2", "WS-1"}, false, func(t *T) { t.Mismatch("WS-2", "403", "101") }, Warn},
		{"Mismatch of a MUST rule is fail", []string{"WS-2", "WS-1"}, false, func(t *T) { t.Mismatch("WS-1", "400", "101") }, Fail},
		{"Warnf is warn", []string{"WS-7"}, false, func(t *T) { t.Warnf("WS-7", "no ping") }, Warn},
		{"--strict makes a warning fail", []string{"WS-7"}, true, func(t *T) { t.Warnf("WS-7", "no ping") }, Fail},
		{"a MUST failure wins over a warning", []string{"WS-7"}, false, func(t *T) { t.Warnf("WS-7", "no ping"); t.Errorf("not closed") }, Fail},
		{"Unimplemented", []string{"DRV-1"}, false, func(t *T) { t.Unimplemented("no group support") }, Unimplemented},
		{"failure before Unimplemented is fail", []string{"DRV-1"}, false, func(t *T) { t.Errorf("bad"); t.Unimplemented("x") }, Fail},
		{"Skipf", []string{"SRV-11"}, false, func(t *T) { t.Skipf("max_message too large") }, Skip},
		{"panic is fail", []string{"REG-3"}, false, func(t *T) { panic("boom") }, Fail},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := runOne(mk("v", tc.rules, tc.run), Options{Strict: tc.strict})
			if res.Verdict != tc.want {
				t.Errorf("verdict %s, want %s (failures %+v)", res.Verdict, tc.want, res.Failures)
			}
		})
	}
}

func TestFatalStopsTheCase(t *testing.T) {
	after, cleaned := false, false
	res := runOne(mk("fatal", []string{"REG-3"}, func(t *T) {
		t.Cleanup(func() { cleaned = true })
		t.FatalMismatch("REG-3", "bad_proof", "register_ack")
		after = true
	}), Options{})
	if after || !cleaned {
		t.Errorf("code after FatalMismatch ran: %v; cleanup ran: %v", after, cleaned)
	}
	if res.Verdict != Fail || len(res.Failures) != 1 || res.Failures[0].Expected != "bad_proof" || res.Failures[0].Actual != "register_ack" {
		t.Errorf("result %+v", res)
	}
}

func TestExpectedFailures(t *testing.T) {
	failing := mk("failing", []string{"REG-3"}, func(t *T) { t.Errorf("wrong") })
	passing := mk("passing", []string{"REG-3"}, func(*T) {})
	known := func(id string) bool { return id == failing.ID || id == passing.ID }
	file := "# reference bugs\n\n" + failing.ID + "   server answers register_ack\n" + passing.ID + "\tfixed since\n"
	ef, err := ParseExpectedFailures("expect.txt", strings.NewReader(file), known)
	if err != nil {
		t.Fatal(err)
	}
	if e := ef[failing.ID]; e.Reason != "server answers register_ack" || e.Line != 3 {
		t.Errorf("parsed %+v", e)
	}
	opts := Options{ExpectFail: ef}
	rep := &Report{Results: []Result{runOne(failing, opts)}}
	if v := rep.Results[0].Verdict; v != ExpectedFail || rep.Failed() {
		t.Errorf("listed failing case: verdict %s, run failed %v; want xfail and a passing run", v, rep.Failed())
	}
	rep.Results = append(rep.Results, runOne(passing, opts))
	got := rep.Results[1]
	if got.Verdict != Fail || !rep.Failed() || !strings.Contains(got.Failures[0].Message, "unexpected pass: expect.txt:4") {
		t.Errorf("listed passing case: %+v; want an unexpected-pass failure", got)
	}

	for _, bad := range []struct{ text, want string }{
		{"test/nope reason\n", "x:1: no case has the id test/nope"},
		{failing.ID + "\n", "has no reason"},
		{failing.ID + " a\n" + failing.ID + " b\n", "already listed on line 1"},
	} {
		if _, err := ParseExpectedFailures("x", strings.NewReader(bad.text), known); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("ParseExpectedFailures(%q) = %v, want an error containing %q", bad.text, err, bad.want)
		}
	}
}

func TestSelect(t *testing.T) {
	all := []Case{
		mk("registration/bad-proof", []string{"REG-3", "ERR-2"}, func(*T) {}),
		mk("registration/bad-proof-pin", []string{"REG-3"}, func(*T) {}),
		mk("registration/deadline", []string{"WS-9"}, func(*T) {}),
		mk("directory/latest", []string{"REG-12"}, func(*T) {}),
		mk("groups/join", []string{"GSV-1"}, func(*T) {}),
	}
	for _, tc := range []struct {
		patterns []string
		want     []string
	}{
		{nil, []string{"registration/bad-proof", "registration/bad-proof-pin", "registration/deadline", "directory/latest", "groups/join"}},
		{[]string{"test/registration"}, []string{"registration/bad-proof", "registration/bad-proof-pin", "registration/deadline"}},
		{[]string{"test/registration/bad-proof"}, []string{"registration/bad-proof"}}, // exact id: only that case
		{[]string{"test/registration/bad-pr"}, []string{"registration/bad-proof", "registration/bad-proof-pin"}},
		{[]string{"REG-1"}, nil}, // a complete rule id is exact: not REG-12
		{[]string{"REG-12"}, []string{"directory/latest"}},
		{[]string{"REG"}, []string{"registration/bad-proof", "registration/bad-proof-pin", "directory/latest"}},
		{[]string{"ERR", "GSV"}, []string{"registration/bad-proof", "groups/join"}},
	} {
		got, err := Select(all, tc.patterns)
		if tc.want == nil {
			if err == nil || !strings.Contains(err.Error(), "matches no case id or rule id") {
				t.Errorf("Select(%q) = %v, want an error", tc.patterns, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("Select(%q): %v", tc.patterns, err)
		}
		var ids []string
		for _, c := range got {
			ids = append(ids, strings.TrimPrefix(c.ID, "test/"))
		}
		if fmt.Sprint(ids) != fmt.Sprint(tc.want) {
			t.Errorf("Select(%q) = %v, want %v", tc.patterns, ids, tc.want)
		}
	}
}

func TestValidate(t *testing.T) {
	run := func(*T) {}
	for _, tc := range []struct {
		c    Case
		want string
	}{
		{Case{ID: "Server/x", Rules: []string{"REG-3"}, Run: run}, "is not lower-case segments"},
		{Case{ID: "server", Rules: []string{"REG-3"}, Run: run}, "is not lower-case segments"},
		{Case{ID: "server/x", Run: run}, "names no rule"},
		{Case{ID: "server/x", Rules: []string{"REG-999"}, Run: run}, "does not define"},
		{Case{ID: "server/x", Rules: []string{"REG-3"}}, "has no Run function"},
		{Case{ID: "server/x", Rules: []string{"REG-3"}, Level: spec.Should, Run: run}, "its rules make it MUST"},
	} {
		if err := Validate(tc.c); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Validate(%s) = %v, want an error containing %q", tc.c.ID, err, tc.want)
		}
	}
	c, err := complete(Case{ID: "server/x", Rules: []string{"WS-2"}, Run: run})
	if err != nil || c.Level != spec.Should {
		t.Errorf("level of a SHOULD-only case: %s, %v", c.Level, err)
	}
}

// dupRuns makes TestRegisterRejectsDuplicates register a fresh id on each run of -count.
var dupRuns atomic.Int32

func TestRegisterRejectsDuplicates(t *testing.T) {
	c := Case{ID: fmt.Sprintf("test/registry/dup%d", dupRuns.Add(1)), Rules: []string{"REG-3"}, Run: func(*T) {}}
	Register(c)
	if got, ok := Lookup(c.ID); !ok || got.Level != spec.Must {
		t.Fatalf("Lookup = %+v, %v", got, ok)
	}
	defer func() {
		if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), "registered twice") {
			t.Errorf("second Register: recover() = %v", r)
		}
	}()
	Register(c)
}

func TestTimeouts(t *testing.T) {
	t.Run("a case that ignores its context is abandoned", func(t *testing.T) {
		block := make(chan struct{})
		defer close(block)
		start := time.Now()
		res := runOne(mk("hung", []string{"REG-3"}, func(t *T) {
			t.Waiting("register_ack from alice")
			<-block
		}), Options{CaseTimeout: 100 * time.Millisecond})
		if d := time.Since(start); d > 100*time.Millisecond+Grace+time.Second {
			t.Errorf("took %s", d)
		}
		if res.Verdict != Fail || !strings.Contains(res.Failures[0].Message, "timed out: the case did not finish within 100ms waiting for register_ack from alice") {
			t.Errorf("result %+v", res.Failures)
		}
	})
	t.Run("Await reports what it waited for", func(t *testing.T) {
		res := runOne(mk("await", []string{"REG-3"}, func(t *T) {
			Await(t, "hello_ack", 50*time.Millisecond, make(chan int))
		}), Options{})
		if res.Verdict != Fail || res.Failures[0].Message != "timed out waiting for hello_ack (50ms)" {
			t.Errorf("result %+v", res.Failures)
		}
	})
	t.Run("the global timeout stops the run", func(t *testing.T) {
		slow := mk("slow", []string{"REG-3"}, func(t *T) { <-t.Context().Done(); t.Fatalf("timed out waiting for a close") })
		start := time.Now()
		rep := Run(context.Background(), []Case{slow, slow, slow}, Options{Timeout: 100 * time.Millisecond, CaseTimeout: time.Hour})
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("took %s", d)
		}
		if rep.Counts()[Fail] != 3 || !strings.Contains(rep.Results[2].Failures[0].Message, "not run") {
			t.Errorf("results %+v", rep.Results)
		}
	})
}

// sampleReport runs a failing case with a transcript, a warning and a pass.
func sampleReport() *Report {
	cases := []Case{
		mk("bad-proof", []string{"REG-3", "ERR-2"}, func(t *T) {
			t.Transcript().Add("alice#1", Out, "text", []byte(`{"type":"hello","user":"alice"}`))
			t.Transcript().Add("alice#1", In, "text", []byte("{\"type\":\"register_ack\",\"x\":\"\xff\"}"))
			t.Logf("registered alice")
			t.Mismatch("REG-3", "error bad_proof, then close 1008", `register_ack {"type":"register_ack"}`)
		}),
		mk("origin", []string{"WS-2"}, func(t *T) { t.Mismatch("WS-2", "HTTP 403", "HTTP 101 <&>") }),
		mk("fine", []string{"REG-1"}, func(*T) {}),
	}
	return Run(context.Background(), cases, Options{Seed: 42, Parallel: 2, Repro: func(c Case, seed uint64) string {
		return fmt.Sprintf("blindpost-conform server wss://h/ --seed %d --run %s", seed, c.ID)
	}})
}

func TestTextReport(t *testing.T) {
	var b bytes.Buffer
	rep := sampleReport()
	if err := rep.WriteText(&b, TextOptions{}); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"FAIL          test/bad-proof",
		"REG-3 (MUST, §5.2): The server MUST verify `proof`",
		"expected: error bad_proof, then close 1008",
		`actual:   register_ack {"type":"register_ack"}`,
		"seed:    42",
		"command: blindpost-conform server wss://h/ --seed 42 --run test/bad-proof",
		`alice#1        > text   {"type":"hello","user":"alice"}`,
		`\xff`,
		"registered alice",
		"WARN          test/origin",
		"Summary: 3 cases: 1 pass, 1 fail, 1 warn",
		"Result: FAIL (exit status 1)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the text report lacks %q:\n%s", want, out)
		}
	}
	if !rep.Failed() {
		t.Error("Failed() = false with a MUST failure")
	}
}

func TestJSONReport(t *testing.T) {
	var b bytes.Buffer
	if err := sampleReport().WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Seed    uint64
		Results []Result
		Summary struct {
			Total  int
			Counts map[string]int
			Failed bool
		}
	}
	if err := json.Unmarshal(b.Bytes(), &got); err != nil {
		t.Fatalf("the JSON report does not decode: %v", err)
	}
	if got.Seed != 42 || got.Summary.Total != 3 || !got.Summary.Failed || got.Summary.Counts["fail"] != 1 {
		t.Errorf("decoded %+v", got.Summary)
	}
	r := got.Results[0]
	if r.Verdict != Fail || r.Failures[0].Rule != "REG-3" || len(r.Transcript) != 2 || !strings.Contains(r.Repro, "--run test/bad-proof") {
		t.Errorf("result %+v", r)
	}
}

func TestJUnitReport(t *testing.T) {
	var b bytes.Buffer
	if err := sampleReport().WriteJUnit(&b); err != nil {
		t.Fatal(err)
	}
	var got junitSuites
	if err := xml.Unmarshal(b.Bytes(), &got); err != nil {
		t.Fatalf("the JUnit report is not XML: %v\n%s", err, b.String())
	}
	if got.Tests != 3 || got.Failures != 1 || len(got.Suites) != 1 || got.Suites[0].Name != "test" {
		t.Fatalf("parsed %+v", got)
	}
	var failed *junitCase
	for i, c := range got.Suites[0].Cases {
		if c.Failure != nil {
			failed = &got.Suites[0].Cases[i]
		}
	}
	if failed == nil || failed.Name != "test/bad-proof" || !strings.Contains(failed.Failure.Text, "REG-3 (MUST") {
		t.Errorf("failed case %+v", failed)
	}
}

func TestTranscriptBounds(t *testing.T) {
	tr := NewTranscript(time.Now(), 10, 8)
	for i := range 25 {
		tr.Add("c", Out, "text", []byte(fmt.Sprintf("frame %02d and more", i)))
	}
	got, omitted := tr.Entries()
	if len(got) != 10 || omitted != 15 {
		t.Fatalf("%d entries, %d omitted; want 10 and 15", len(got), omitted)
	}
	if got[0].Data != "frame 00" || !got[0].Cut || got[0].Size != 17 || got[9].Data != "frame 24" || got[5].Data != "frame 20" {
		t.Errorf("entries %v", got)
	}
}

func TestPrintable(t *testing.T) {
	for _, tc := range []struct {
		in    string
		limit int
		want  string
		cut   bool
	}{
		{"héllo", 0, "héllo", false},
		{"a\nb\x00", 0, `a\nb\x00`, false},
		{"\xff\xfe", 0, `\xff\xfe`, false},
		{"abcdé", 5, "abcd", true}, // the é is cut in half
	} {
		got, cut := Printable([]byte(tc.in), tc.limit)
		if got != tc.want || cut != tc.cut {
			t.Errorf("Printable(%q, %d) = %q, %v; want %q, %v", tc.in, tc.limit, got, cut, tc.want, tc.cut)
		}
	}
}

func TestRandIsPerCaseAndSeeded(t *testing.T) {
	draw := func(id string, seed uint64) (v uint64) {
		runOne(mk(id, []string{"REG-1"}, func(t *T) { v = t.Rand().Uint64() }), Options{Seed: seed})
		return v
	}
	if draw("a", 1) != draw("a", 1) {
		t.Error("the same seed and case draw different values")
	}
	if draw("a", 1) == draw("b", 1) || draw("a", 1) == draw("a", 2) {
		t.Error("different cases or seeds draw the same value")
	}
}

func TestRunTestsPasses(t *testing.T) {
	cases := []Case{
		mk("gotest/one", []string{"REG-1"}, func(*T) {}),
		mk("gotest/two", []string{"REG-1"}, func(*T) {}),
		{ID: "test/gotest/alone", Rules: []string{"REG-1"}, Level: spec.Must, Exclusive: true, Run: func(*T) {}},
	}
	rep := RunTests(t, cases, Options{Parallel: 2})
	if rep.Counts()[Pass] != 3 {
		t.Errorf("counts %v", rep.Counts())
	}
}

// TestFinalRunsLast checks the order of a run: the shared cases, then the exclusive ones, then
// the final ones, each alone, wherever they are listed.
func TestFinalRunsLast(t *testing.T) {
	var mu sync.Mutex
	var order []string
	record := func(name string) func(*T) {
		return func(*T) {
			mu.Lock()
			defer mu.Unlock()
			order = append(order, name)
		}
	}
	final := mk("order/final", []string{"REG-1"}, record("final"))
	final.Final = true
	exclusive := mk("order/exclusive", []string{"REG-1"}, record("exclusive"))
	exclusive.Exclusive = true
	cases := []Case{final, mk("order/a", []string{"REG-1"}, record("a")), exclusive, mk("order/b", []string{"REG-1"}, record("b"))}
	for name, run := range map[string]func() *Report{
		"Run":      func() *Report { return Run(context.Background(), cases, Options{Parallel: 4}) },
		"RunTests": func() *Report { return RunTests(t, cases, Options{Parallel: 4}) },
	} {
		order = nil
		if rep := run(); rep.Counts()[Pass] != len(cases) {
			t.Fatalf("%s: counts %v", name, rep.Counts())
		}
		if len(order) != 4 || order[2] != "exclusive" || order[3] != "final" {
			t.Errorf("%s ran the cases in the order %v; want a and b, then exclusive, then final", name, order)
		}
	}
}

// TestGoTestRepro: the command selects the one subtest, every element anchored, so that a test
// whose name extends this one's is not run with it.
func TestGoTestRepro(t *testing.T) {
	got := GoTestRepro(t, "./conformance/serversuite", Case{ID: "server/abuse/frame-budget"}, 42)
	want := "go test ./conformance/serversuite -run '^TestGoTestRepro$/^server$/^abuse$/^frame-budget$' -count=1 -v -args -conform.seed=42"
	if got != want {
		t.Errorf("GoTestRepro =\n  %s\nwant\n  %s", got, want)
	}
}
