package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/blindpost/blindpost/impl/client"
	"github.com/blindpost/blindpost/impl/client/tui"
)

func init() { extraCommands = append(extraCommands, newChatCmd) }

// chatFlags are the flags of blindpost chat.
type chatFlags struct {
	glyphs  string
	noJoin  bool
	logFile string
	// noHistory keeps no encrypted history (spec §9 [CLI-24]).
	noHistory bool
}

func newChatCmd(a *app) *cobra.Command {
	var f chatFlags
	cmd := &cobra.Command{
		Use:   "chat",
		Short: "Chat full screen: 1:1 sessions and the broadcast group, end-to-end encrypted",
		Long: `chat connects to the relay and opens a full-screen chat: the people online and the Broadcast
group on the left, the selected conversation on the right, the input line at the bottom.

The status line always says whether the selected conversation is end-to-end secured, and with
whom. Select a name and press Enter to ask for a chat; accept a request with a (or /accept).
Compare safety numbers with /verify; after someone's key changed, /trust NAME shows what
changed. F1 or /help lists every key and command; Ctrl-C ends your sessions and quits.

A relay whose certificate nothing vouches for is shown with its pin and trusted only if you
confirm, before the chat starts; while it is the only relay you trusted, --server can be left
out. Ctrl-C or Ctrl-D at the passphrase or the trust question stops without changing anything.

What others send is shown defanged (spec §9 CLI-30): control, bidirectional and invisible
characters appear as U+FFFD, and each line after the first of a message is marked with ↳ (| with
--glyphs ascii), so that nobody can fake a line of someone else's. A message that cannot be
sent stays in the input line.`,
		Example: `  blindpost chat --user alice --server chat.example.org:8443

  # A self-signed relay, pinned explicitly (the relay prints its pin when it starts):
  blindpost chat --server 127.0.0.1:8443 --server-pin sha256:9f86d0818…

  # Later, with one relay in known_servers:
  blindpost chat

  # Without the glyphs (a terminal without UTF-8), and without joining Broadcast:
  blindpost chat --glyphs ascii --no-join

Exit status: 0 after quitting, 1 error, 2 bad usage, 3 connection or certificate refused.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return a.runChat(cmd, f) },
	}
	cmd.Flags().StringVar(&f.glyphs, "glyphs", "auto", "symbols on screen: unicode, ascii, or auto (unicode when the locale is UTF-8)")
	cmd.Flags().BoolVar(&f.noJoin, "no-join", false, "do not join the broadcast group at start (/join joins it later)")
	cmd.Flags().StringVar(&f.logFile, "log-file", "", "write diagnostics to FILE (never plaintext or keys); the screen has no room for them")
	cmd.Flags().BoolVar(&f.noHistory, "no-history", false, "neither read nor keep the encrypted conversation history")
	return cmd
}

func (a *app) runChat(cmd *cobra.Command, f chatFlags) error {
	ascii, err := asciiGlyphs(f.glyphs)
	if err != nil {
		return err
	}
	if !isTerminal(a.stdin) || !isTerminal(a.stdout) {
		return usageError("chat needs a terminal; scripts use blindpost send or blindpost driver")
	}
	logger, closeLog, err := a.chatLogger(f.logFile)
	if err != nil {
		return err
	}
	defer closeLog()
	p, err := a.profile()
	if err != nil {
		return err
	}
	verified, err := tui.OpenVerifications(p.Path(tui.VerifiedFile))
	if err != nil {
		return err
	}
	// Say that no relay is given before asking for the passphrase, not after.
	url, err := a.serverURL()
	if err != nil {
		return err
	}
	ctl, err := a.listenControl(p) // before connecting: a second client would replace the first
	if err != nil {
		return err
	}
	if ctl != nil {
		defer ctl.Close()
	}
	key, err := a.loadIdentity(p)
	if err != nil {
		return err
	}
	defer key.Erase()
	hist, err := a.openHistory(p, key, f.noHistory)
	if err != nil {
		return err
	}
	defer hist.Close()
	// The passphrase and an unknown certificate are asked here, on the plain terminal.
	c, err := a.dial(cmd.Context(), p, key, func(o *client.Options) { o.Logger, o.History = logger, hist })
	if err != nil {
		return err
	}
	ctx, stop := context.WithCancel(cmd.Context())
	defer stop()
	go serveControl(ctx, ctl, c, logger)
	return tui.Run(ctx, c, a.stdin, a.stdout, tui.Options{
		Server: url, JoinBroadcast: !f.noJoin, ASCII: ascii, Verified: verified, History: hist,
	})
}

// chatLogger logs to --log-file, or nowhere: the full screen owns the terminal.
func (a *app) chatLogger(path string) (*slog.Logger, func(), error) {
	if path == "" {
		return slog.New(slog.NewTextHandler(io.Discard, nil)), func() {}, nil
	}
	file, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, nil, fmt.Errorf("log file: %w", err)
	}
	level := slog.LevelInfo
	if a.flags.verbose {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(file, &slog.HandlerOptions{Level: level})), func() { file.Close() }, nil
}

// asciiGlyphs decides --glyphs: auto uses the glyphs when the locale says UTF-8.
func asciiGlyphs(mode string) (bool, error) {
	switch mode {
	case "unicode":
		return false, nil
	case "ascii":
		return true, nil
	case "auto":
		return !utf8Locale(), nil
	}
	return false, usageError("--glyphs is unicode, ascii or auto, not %q", mode)
}

// utf8Locale reports whether the character set of the locale (LC_ALL, LC_CTYPE, LANG, the
// first one set) is UTF-8.
func utf8Locale() bool {
	for _, name := range []string{"LC_ALL", "LC_CTYPE", "LANG"} {
		if v := os.Getenv(name); v != "" {
			v = strings.ToLower(v)
			return strings.Contains(v, "utf-8") || strings.Contains(v, "utf8")
		}
	}
	return false
}

// isTerminal reports whether r or w is a terminal.
func isTerminal(f any) bool {
	file, ok := f.(*os.File)
	return ok && term.IsTerminal(int(file.Fd()))
}
