// Command blindpost-bench measures Blindpost relays against a bare WebSocket forwarder, in the
// same run on the same machine (README "Performance"; make bench runs its suite). It parses its command line
// and calls package impl/bench/benchcmd; `blindpost-bench --help` shows worked examples.
package main

import (
	"context"
	"os"

	"github.com/blindpost/blindpost/impl/bench/benchcmd"
)

func main() {
	os.Exit(benchcmd.Main(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}
