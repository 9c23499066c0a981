// Command blindpost-bench measures Blindpost relays against a bare WebSocket forwarder, in the
// same run on the same machine (README "Performance"; make bench runs its suite). It parses its command line
// and calls package impl/bench/cli; `blindpost-bench --help` shows worked examples.
package main

import (
	"context"
	"os"

	"github.com/blindpost/blindpost/impl/bench/cli"
)

func main() {
	os.Exit(cli.Main(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}
