package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/blindpost/blindpost/impl/client/display"
	"github.com/blindpost/blindpost/impl/e2ee/keyfile"
)

// Exit codes of every blindpost command, documented in the root help.
const (
	exitOK       = 0 // success
	exitError    = 1 // any other failure: configuration, identity, files
	exitUsage    = 2 // bad flags or arguments
	exitConnect  = 3 // could not connect: network, TLS certificate refused, registration refused
	exitPeer     = 4 // the peer is offline, unknown, declined, or did not answer in time
	exitSecurity = 5 // a security check failed: key changed, handshake or record rejected
)

// exitError carries the exit code a command failure maps to.
type exitErr struct {
	code int
	err  error
}

func (e *exitErr) Error() string { return e.err.Error() }
func (e *exitErr) Unwrap() error { return e.err }

// withCode wraps err so that the command exits with code.
func withCode(code int, err error) error {
	if err == nil {
		return nil
	}
	return &exitErr{code: code, err: err}
}

// app holds what the commands share: the standard streams and the hooks tests replace.
type app struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	// readSecret reads a passphrase from the terminal without echo; nil when stdin is not one.
	readSecret func(prompt string) (string, error)
	// keyfileOpts tunes the age encryption of new identities (tests lower the scrypt cost).
	keyfileOpts *keyfile.Options
	// confirm asks a yes/no question on the terminal; nil when stdin is not one.
	confirm func(question string) (bool, error)

	flags globalFlags
	log   *slog.Logger
}

// globalFlags are the flags every command accepts.
type globalFlags struct {
	user      string
	configDir string
	server    string
	ca        string
	serverPin string
	invite    string
	passFile  string
	verbose   bool
}

func newApp(stdin io.Reader, stdout, stderr io.Writer) *app {
	a := &app{stdin: stdin, stdout: stdout, stderr: stderr}
	a.readSecret, a.confirm = terminalPrompts(stdin, stderr)
	return a
}

// extraCommands lets other files of this package add commands to the root without editing it.
//
// The full-screen chat command lives in chat.go (owned by the terminal UI, impl/client/tui); it
// registers itself here from an init function:
//
//	func init() { extraCommands = append(extraCommands, newChatCmd) }
var extraCommands []func(*app) *cobra.Command

func (a *app) root() *cobra.Command {
	root := &cobra.Command{
		Use:   "blindpost",
		Short: "End-to-end encrypted chat over a blind relay",
		Long: `blindpost is the reference Blindpost client. The relay forwards what clients send each other
without being able to read it: every 1:1 chat and every group message is encrypted and signed
on your machine (spec: spec/protocol.md).`,
		Example: `  # Create your identity (asks for a passphrase twice):
  blindpost init --user alice

  # Show who you are, to compare fingerprints out of band:
  blindpost whoami --user alice

  # Send one message (the relay prints its pin when it starts):
  blindpost send --user alice --server wss://127.0.0.1:8443/ \
      --server-pin sha256:9f86d0818… --to bob "lunch at noon?"

  # Let a test harness drive the client over stdin/stdout (spec Appendix A):
  blindpost driver

  # See and manage the keys you pinned for your peers:
  blindpost peers list --user alice

Exit status: 0 success, 1 error, 2 bad usage, 3 connection or certificate refused,
4 peer offline, unknown, declined or silent, 5 security check failed.

Environment: BLINDPOST_CONFIG_DIR replaces the configuration root
($XDG_CONFIG_HOME/blindpost); BLINDPOST_USER and BLINDPOST_SERVER are the defaults of --user
and --server.`,
		SilenceErrors: true,
		SilenceUsage:  true,
		PersistentPreRun: func(cmd *cobra.Command, args []string) {
			level := slog.LevelWarn
			if a.flags.verbose {
				level = slog.LevelDebug
			}
			a.log = slog.New(slog.NewTextHandler(a.stderr, &slog.HandlerOptions{Level: level}))
		},
	}
	root.SetIn(a.stdin)
	root.SetOut(a.stdout)
	root.SetErr(a.stderr)
	pf := root.PersistentFlags()
	pf.StringVarP(&a.flags.user, "user", "u", "", "your username (default $BLINDPOST_USER, or the only identity in the config root)")
	pf.StringVar(&a.flags.configDir, "config-dir", "", "configuration root holding one directory per user (default $BLINDPOST_CONFIG_DIR or $XDG_CONFIG_HOME/blindpost)")
	pf.StringVar(&a.flags.server, "server", "", "relay address, HOST:PORT or wss://HOST:PORT/ (default $BLINDPOST_SERVER, or the only relay in known_servers)")
	pf.StringVar(&a.flags.ca, "ca", "", "PEM file of the CA that signed the relay's certificate (instead of the system roots)")
	pf.StringVar(&a.flags.serverPin, "server-pin", "", "trust only the relay certificate with this pin, sha256:HEX (printed by the relay)")
	pf.StringVar(&a.flags.invite, "invite", "", "invite code the relay's operator gave you, to register a new username on an invite-only relay")
	pf.StringVar(&a.flags.passFile, "passphrase-file", "", "read the identity passphrase from the first line of FILE instead of the terminal")
	pf.BoolVarP(&a.flags.verbose, "verbose", "v", false, "log protocol steps to stderr (never plaintext or keys)")

	root.AddCommand(a.initCmd(), a.whoamiCmd(), a.sendCmd(), a.driverCmd(), a.peersCmd(), a.serversCmd())
	for _, add := range extraCommands {
		root.AddCommand(add(a))
	}
	return root
}

// run executes the command line args and returns the exit status.
func (a *app) run(args []string) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return a.runContext(ctx, args)
}

func (a *app) runContext(ctx context.Context, args []string) int {
	root := a.root()
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	if errors.Is(err, errAborted) {
		fmt.Fprintf(a.stderr, "blindpost: %s\n", errAborted)
		return exitError
	}
	// An error may quote the relay or a peer (a reason, a server message): spec §9 [CLI-30].
	fmt.Fprintf(a.stderr, "blindpost: %s\n", display.Clean(strings.TrimPrefix(err.Error(), "blindpost: ")))
	var ee *exitErr
	if errors.As(err, &ee) {
		return ee.code
	}
	if isUsageError(err) {
		return exitUsage
	}
	return exitError
}

// isUsageError recognises cobra's errors about flags and arguments.
func isUsageError(err error) bool {
	msg := err.Error()
	for _, prefix := range []string{"unknown command", "unknown flag", "unknown shorthand flag", "flag needs an argument", "invalid argument", "accepts ", "requires at least", "required flag"} {
		if strings.HasPrefix(msg, prefix) {
			return true
		}
	}
	return false
}

// usageError marks a problem with the command line.
func usageError(format string, args ...any) error {
	return withCode(exitUsage, fmt.Errorf(format, args...))
}
