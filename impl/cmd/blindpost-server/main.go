// Command blindpost-server is the Blindpost relay (spec/protocol.md §4, §5). It parses its
// command line and calls package impl/server/servercmd; `blindpost-server --help` shows worked
// examples.
package main

import (
	"context"
	"os"

	"github.com/blindpost/blindpost/impl/server/servercmd"
)

func main() {
	os.Exit(servercmd.Main(context.Background(), os.Args[1:], os.Stdout, os.Stderr, os.LookupEnv))
}
