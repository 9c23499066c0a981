package benchcmd

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// TestUsage checks the command line's help and its handling of bad flags; the scenarios are
// tested in package scenario.
func TestUsage(t *testing.T) {
	var out, errs bytes.Buffer
	if code := Main(context.Background(), []string{"--help"}, &out, &errs); code != ExitOK {
		t.Fatalf("--help: exit %d: %s", code, errs.String())
	}
	for _, want := range []string{"relay", "latency", "idle", "connect", "fanout", "e2e", "suite", "forwarder", "--url", "--pin", "--json"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("help lacks %q", want)
		}
	}
	if strings.Contains(out.String(), "  server ") {
		t.Error("the hidden server subcommand is listed")
	}
	errs.Reset()
	if code := Main(context.Background(), []string{"relay", "--pairs", "x"}, &out, &errs); code != ExitConfig {
		t.Fatalf("a bad flag: exit %d", code)
	}
	errs.Reset()
	if code := Main(context.Background(), []string{"relay", "--url", "wss://127.0.0.1:1/", "--pin", "nope"}, &out, &errs); code != ExitConfig || !strings.Contains(errs.String(), "--pin") {
		t.Fatalf("a bad pin: exit %d: %s", code, errs.String())
	}
}
