// Package conformcmd is the command line of blindpost-conform, the Blindpost conformance runner
// (spec §1.1): `server` checks a relay, `rules` prints the traceability matrix of spec/protocol.md, and
// other suites add their commands with Register. The flags every run shares (selection, seed,
// reports, expected failures, strictness, deadlines) are RunFlags, so that every suite's command
// reads and reports the same way.
//
// Exit status: 0 when no case failed (warnings allowed unless --strict), 1 when a case failed
// (a MUST, a panic, a timeout, an expected failure that passed, or a SHOULD under --strict) or
// --require-musts found a MUST nothing checks, 2 for a usage or configuration error.
package conformcmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/spf13/cobra"
)

// The exit statuses of the command.
const (
	ExitPass  = 0
	ExitFail  = 1
	ExitUsage = 2
)

// App is what a command needs from the process: its output streams, its arguments (for repro
// commands) and its context (cancelled by an interrupt).
type App struct {
	Ctx            context.Context
	Stdout, Stderr io.Writer
	Args           []string // the arguments after the program name
	Prog           string   // the program name, for repro commands
}

// ExitError ends a command with a status and, when Err is set, a message on standard error.
type ExitError struct {
	Code int
	Err  error
}

// Error returns the message, or the exit status when there is none.
func (e *ExitError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit status %d", e.Code)
	}
	return e.Err.Error()
}

// Unwrap returns the error behind the exit status.
func (e *ExitError) Unwrap() error { return e.Err }

// usage wraps a configuration error as exit status 2.
func usage(err error) error { return &ExitError{Code: ExitUsage, Err: err} }

var (
	registryMu sync.Mutex
	builders   []func(*App) *cobra.Command
)

// Register adds a subcommand, built for each run of Main; suites call it from an init function.
func Register(build func(*App) *cobra.Command) {
	registryMu.Lock()
	defer registryMu.Unlock()
	builders = append(builders, build)
}

// New returns the root command with every registered subcommand.
func New(app *App) *cobra.Command {
	root := &cobra.Command{
		Use:   "blindpost-conform",
		Short: "prove a Blindpost server or client right, or show exactly where it is wrong",
		Long: `blindpost-conform checks an implementation of the Blindpost protocol against spec/protocol.md.
Every case names the rules it checks; a failure quotes the rule, shows the expected and the actual
behaviour, and gives the seed, the wire transcript and the command that replays just that case.

Exit status: 0 when no case failed, 1 when one did, 2 for a usage or configuration error.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(app.Stdout)
	root.SetErr(app.Stderr)
	registryMu.Lock()
	defer registryMu.Unlock()
	for _, b := range builders {
		root.AddCommand(b(app))
	}
	return root
}

// Main runs the command line and returns the exit status.
func Main(app *App) int {
	root := New(app)
	root.SetArgs(app.Args)
	err := root.ExecuteContext(app.Ctx)
	var ee *ExitError
	switch {
	case err == nil:
		return ExitPass
	case errors.As(err, &ee):
		if ee.Err != nil {
			fmt.Fprintf(app.Stderr, "blindpost-conform: %v\n", ee.Err)
		}
		return ee.Code
	default:
		fmt.Fprintf(app.Stderr, "blindpost-conform: %v\nRun 'blindpost-conform --help' for usage.\n", err)
		return ExitUsage
	}
}
