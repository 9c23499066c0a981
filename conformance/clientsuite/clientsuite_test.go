package clientsuite_test

import (
	"errors"
	"flag"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/blindpost/blindpost/conformance/clientsuite"
	"github.com/blindpost/blindpost/conformance/harness"
)

var seedFlag = flag.Uint64("conform.seed", 0, "seed of the conformance run (0: from the clock)")

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
	binDir    string
)

func TestMain(m *testing.M) {
	if mode := os.Getenv(fakeEnv); mode != "" {
		os.Exit(fakeDriver(mode))
	}
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// blindpost builds the reference client once per test binary.
func blindpost(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "clientsuite-")
		if buildErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "blindpost")
		out, err := exec.Command("go", "build", "-o", binPath, "github.com/blindpost/blindpost/impl/cmd/blindpost").CombinedOutput()
		if err != nil {
			buildErr = err
			t.Logf("go build: %s", out)
		}
	})
	if buildErr != nil {
		t.Fatalf("build blindpost: %v", buildErr)
	}
	return binPath
}

// TestConformClient runs the whole client suite against the reference client, `blindpost
// driver`, each case a subtest. Every case must pass, except the reference-client bugs listed in
// testdata/reference-xfail.txt.
func TestConformClient(t *testing.T) {
	bin := blindpost(t)
	env, err := clientsuite.NewEnv(clientsuite.Config{Driver: clientsuite.QuoteCommand(bin) + " driver"})
	if err != nil {
		t.Fatal(err)
	}
	cases := harness.SuiteCases(clientsuite.Suite)
	xfail, err := harness.LoadExpectedFailures("testdata/reference-xfail.txt", func(id string) bool {
		_, ok := harness.Lookup(id)
		return ok
	})
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Fatal(err)
	}
	seed := *seedFlag
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	t.Logf("seed %d (replay with -args -conform.seed=%d)", seed, seed)
	start := time.Now()
	rep := harness.RunTests(t, cases, harness.Options{
		Seed: seed, Env: env, Parallel: 8, ExpectFail: xfail, TimeoutFor: env.TimeoutFor,
		Repro: func(c harness.Case, seed uint64) string {
			return harness.GoTestRepro(t, "./conformance/clientsuite", c, seed)
		},
	})
	if n := len(rep.Results); n < 80 && !harness.Selected() {
		t.Errorf("only %d cases ran", n)
	}
	t.Logf("%d cases in %s", len(rep.Results), time.Since(start).Round(time.Millisecond))
}
