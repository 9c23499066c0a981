// Command blindpost-server is the Blindpost relay (spec/protocol.md §4, §5). It parses its
// command line and calls package impl/server/cli; `blindpost-server --help` shows worked
// examples.
package main

import (
	"context"
	"os"

	"github.com/blindpost/blindpost/impl/server/cli"
)

func main() {
	os.Exit(cli.Main(context.Background(), os.Args[1:], os.Stdout, os.Stderr, os.LookupEnv))
}
