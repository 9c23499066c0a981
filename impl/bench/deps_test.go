package bench

import (
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// relayOnly are the import paths (and their subpackages) of the reference relay and of what
// only the relay links: its bbolt directory and its Prometheus metrics.
var relayOnly = []string{
	"github.com/blindpost/blindpost/impl/server",
	"go.etcd.io/bbolt",
	"github.com/prometheus/client_golang",
}

// mayLinkRelay are the packages of impl/bench allowed to link the relay: the command line, whose
// hidden "server" command runs the reference relay as the benchmarks' child process.
var mayLinkRelay = []string{"github.com/blindpost/blindpost/impl/bench/benchcmd"}

// TestBenchDoesNotLinkRelay keeps the dependencies pointing one way: the load generator, the
// baselines and the scenarios reach every relay over the network (wss://, the subprotocol
// constant from impl/wire, pins from internal/tlspin), so none of them links the relay under
// test or the libraries only the relay needs. It asks the go tool, as `go list -deps` would.
func TestBenchDoesNotLinkRelay(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("the go tool is needed to list the dependencies: %v", err)
		}
		t.Skipf("SKIPPED: no go tool to list the dependencies with (%v); CI runs this test", err)
	}
	out, err := exec.CommandContext(t.Context(), goTool, "list", "-f", "{{.ImportPath}}{{range .Deps}} {{.}}{{end}}", "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	seen := map[string]bool{}
	for line := range strings.Lines(string(out)) {
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		pkg, deps := fields[0], fields[1:]
		seen[pkg] = true
		if slices.Contains(mayLinkRelay, pkg) {
			continue
		}
		if bad := slices.DeleteFunc(deps, func(dep string) bool { return !linksRelay(dep) }); len(bad) > 0 {
			t.Errorf("%s links %s: the load generator, the baselines and the scenarios must not depend on the relay", pkg, strings.Join(bad, ", "))
		}
	}
	// The packages the rule is about must have been listed, or the test proves nothing.
	for _, pkg := range []string{"load", "forwarder", "coalesce", "natsbase", "target", "scenario"} {
		if !seen["github.com/blindpost/blindpost/impl/bench/"+pkg] {
			t.Errorf("go list did not list impl/bench/%s:\n%s", pkg, out)
		}
	}
}

func linksRelay(dep string) bool {
	for _, p := range relayOnly {
		if dep == p || strings.HasPrefix(dep, p+"/") {
			return true
		}
	}
	return false
}
