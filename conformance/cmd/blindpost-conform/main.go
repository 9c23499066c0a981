// Command blindpost-conform is the Blindpost conformance runner: it checks a server or a client
// against spec/protocol.md, and prints the traceability matrix of the spec. It parses its
// command line and calls package conformance/conformcmd; `blindpost-conform --help` shows examples.
package main

import (
	"context"
	"os"
	"os/signal"

	"github.com/blindpost/blindpost/conformance/conformcmd"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := conformcmd.Main(&conformcmd.App{Ctx: ctx, Stdout: os.Stdout, Stderr: os.Stderr, Args: os.Args[1:], Prog: os.Args[0]})
	stop()
	os.Exit(code)
}
