package conformcmd

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/blindpost/blindpost/impl/server/servertest"
)

// run runs the command line and returns its exit status and outputs.
func run(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := Main(&App{Ctx: context.Background(), Stdout: &out, Stderr: &errOut, Args: args, Prog: "/tmp/go-build/blindpost-conform"})
	return code, out.String(), errOut.String()
}

func TestServerCommand(t *testing.T) {
	srv := servertest.Start(t)
	pin := srv.Pin.String()
	dir := t.TempDir()
	junit := filepath.Join(dir, "report.xml")
	passing := "server/registration/bad-proof"
	expectPass := filepath.Join(dir, "expect-pass.txt")
	os.WriteFile(expectPass, []byte("# listed although it passes\n"+passing+" the reference once failed it\n"), 0o644)
	// The same relay under a second spelling, as a cluster's second node: the pin holds for both.
	u, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	other := "wss://" + net.JoinHostPort("localhost", u.Port()) + "/"
	junit2 := filepath.Join(dir, "report2.xml")
	expectUnknown := filepath.Join(dir, "expect-unknown.txt")
	os.WriteFile(expectUnknown, []byte("server/registration/no-such-case a typing error\n"), 0o644)

	for _, tc := range []struct {
		name string
		args []string
		code int
		out  []string // substrings of standard output
		err  []string // substrings of standard error
	}{
		{"list by rule prefix", []string{"server", srv.URL, "--list", "--run", "REG-3"}, ExitPass, []string{passing, "REG-3", "cases"}, nil},
		{"one case as JSON and JUnit", []string{"server", srv.URL, "--pin", pin, "--run", passing, "--json", "--junit", junit, "-q"}, ExitPass, []string{`"verdict": "pass"`}, nil},
		{"text report", []string{"server", srv.URL, "--pin", pin, "--run", "server/registration/register-ack", "-q", "--seed", "5"}, ExitPass,
			[]string{"PASS          server/registration/register-ack", "Result: PASS", "seed 5"}, nil},
		{"an expected failure that passes", []string{"server", srv.URL, "--pin", pin, "--run", passing, "--expect-fail", expectPass, "-q"}, ExitFail,
			[]string{"unexpected pass: " + expectPass + ":2", "Result: FAIL"}, nil},
		{"an expected failure that does not exist", []string{"server", srv.URL, "--pin", pin, "--expect-fail", expectUnknown}, ExitUsage, nil,
			[]string{"no case has the id server/registration/no-such-case"}},
		{"a selection that matches nothing", []string{"server", srv.URL, "--pin", pin, "--run", "NOPE-1"}, ExitUsage, nil, []string{"--run NOPE-1 matches no case"}},
		{"no trust anchor", []string{"server", srv.URL, "--run", passing}, ExitUsage, nil, []string{"not trusted: pass --pin"}},
		{"a URL that is not wss", []string{"server", "https://example.org/"}, ExitUsage, nil, []string{"is not a wss://HOST:PORT/ URL"}},
		{"no URL", []string{"server"}, ExitUsage, nil, []string{"requires at least 1 arg"}},
		{"two URLs: the text report lists them", []string{"server", srv.URL, other, "--pin", pin, "--run", "server/relay/", "-q"}, ExitPass,
			[]string{"system under test: 2 URLs\n  " + srv.URL + " (", "  " + other + " (", "Result: PASS"}, nil},
		{"two URLs as JSON and JUnit", []string{"server", srv.URL, other, "--pin", pin, "--run", passing, "--json", "--junit", junit2, "-q"}, ExitPass,
			[]string{`"targets": [`, `"url": "` + srv.URL + `"`, `"url": "` + other + `"`}, nil},
		{"the same URL twice", []string{"server", srv.URL, srv.URL, "--pin", pin}, ExitUsage, nil, []string{"is given twice"}},
		{"a second URL where no relay listens", []string{"server", srv.URL, "wss://127.0.0.1:1/", "--pin", pin}, ExitUsage, nil,
			[]string{"cannot connect to wss://127.0.0.1:1/", "one --pin or --ca holds for every URL"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := run(t, tc.args...)
			if code != tc.code {
				t.Errorf("exit status %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tc.code, out, errOut)
			}
			for _, want := range tc.out {
				if !strings.Contains(out, want) {
					t.Errorf("standard output lacks %q:\n%s", want, out)
				}
			}
			for _, want := range tc.err {
				if !strings.Contains(errOut, want) {
					t.Errorf("standard error lacks %q:\n%s", want, errOut)
				}
			}
		})
	}
	raw, err := os.ReadFile(junit)
	if err != nil {
		t.Fatal(err)
	}
	var suites struct {
		Tests int `xml:"tests,attr"`
	}
	if err := xml.Unmarshal(raw, &suites); err != nil || suites.Tests != 1 {
		t.Errorf("JUnit file: %v, %d tests:\n%s", err, suites.Tests, raw)
	}
	raw, err = os.ReadFile(junit2)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`<property name="urls" value="2">`, `<property name="url.1" value="` + srv.URL + `">`, `<property name="url.2" value="` + other + `">`} {
		if !strings.Contains(string(raw), want) {
			t.Errorf("JUnit file with two URLs lacks %s:\n%s", want, raw)
		}
	}
}

func TestReproCommand(t *testing.T) {
	app := &App{Prog: "/tmp/go-build123/exe/blindpost-conform", Args: []string{
		"server", "wss://h:1/", "--pin", "sha256:ab", "--run", "REG", "--json", "--junit=out.xml", "-q", "--seed", "9",
		"--expect-fail", "x.txt", "--parallel=8", "--strict", "--wait", "1s", "--server-name", "it's",
	}}
	got := ReproCommand(app, "server/registration/bad-proof", 42)
	want := `blindpost-conform server wss://h:1/ --pin sha256:ab --strict --wait 1s --server-name 'it'\''s' --seed 42 --run server/registration/bad-proof`
	if got != want {
		t.Errorf("ReproCommand =\n  %s\nwant\n  %s", got, want)
	}
}

func TestRulesCommand(t *testing.T) {
	code, out, errOut := run(t, "rules", "--json")
	var m struct {
		Rules   []json.RawMessage
		Summary struct{ Rules, Musts int }
	}
	if code != ExitPass || json.Unmarshal([]byte(out), &m) != nil || len(m.Rules) != m.Summary.Rules || m.Summary.Musts == 0 {
		t.Fatalf("rules --json: exit %d, %d rules, summary %+v\n%s", code, len(m.Rules), m.Summary, errOut)
	}
	empty := t.TempDir()
	os.WriteFile(filepath.Join(empty, "go.mod"), []byte("module github.com/blindpost/blindpost\n"), 0o644)
	code, out, errOut = run(t, "rules", "--repo", empty, "--require-musts")
	if code != ExitFail || !strings.Contains(out, "MUST rules no conformance case or vector checks") || !strings.Contains(errOut, "--require-musts") {
		t.Errorf("rules --require-musts on a repository without vectors: exit %d\n%s\n%s", code, out, errOut)
	}
	if code, _, errOut := run(t, "rules", "--repo", t.TempDir()); code != ExitPass {
		// A directory without tests or vectors is still a repository to scan.
		t.Errorf("rules --repo EMPTY: exit %d: %s", code, errOut)
	}
}
