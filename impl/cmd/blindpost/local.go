package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/spf13/cobra"

	"github.com/blindpost/blindpost/impl/client"
	"github.com/blindpost/blindpost/impl/client/control"
	"github.com/blindpost/blindpost/impl/client/history"
	"github.com/blindpost/blindpost/impl/client/profile"
	"github.com/blindpost/blindpost/impl/e2ee/identity"
)

// The local state of a running client: its control socket and its encrypted history (spec
// Appendix C).

func init() { extraCommands = append(extraCommands, newHistoryCmd) }

// HistoryFile is the name of the encrypted history in a profile directory (spec Appendix C).
const HistoryFile = "history"

// listenControl binds the profile's control socket before the client connects, so that a second
// client for the same user is refused here instead of replacing the first one's connection. A
// socket that cannot be bound at all (a profile path too long for a unix socket, a file system
// without sockets) only costs the shortcut: the client runs without it, and says so.
func (a *app) listenControl(p profile.Profile) (*control.Listener, error) {
	l, err := control.Listen(p.Path(control.SocketName))
	switch {
	case errors.Is(err, control.ErrRunning):
		return nil, fmt.Errorf("a blindpost client (chat or gui) is already running for %s: use that one, or quit it first; "+
			"blindpost send and blindpost peers trust work through it (%w)", p.User, err)
	case err != nil:
		fmt.Fprintf(a.stderr, "warning: no control socket (%v); blindpost send would log in a second time and end this session\n", err)
		return nil, nil
	}
	return l, nil
}

// serveControl answers send and trust requests through c until ctx ends; a nil l does nothing.
func serveControl(ctx context.Context, l *control.Listener, c *client.Client, log *slog.Logger) {
	if l == nil {
		return
	}
	l.Log = log
	if err := l.Serve(ctx, c); err != nil {
		log.Warn("control socket stopped", "err", err)
	}
}

// openHistory opens the profile's encrypted history under a key derived from the identity seed,
// so it is exactly as protected as the seed (spec §9 [CLI-24]); off (--no-history) opens none.
func (a *app) openHistory(p profile.Profile, key *identity.PrivateKey, off bool) (*history.Store, error) {
	if off {
		return nil, nil
	}
	seed := key.Seed()
	defer clear(seed)
	k, err := history.Key(seed)
	if err != nil {
		return nil, err
	}
	defer clear(k)
	s, err := history.Open(p.Path(HistoryFile), k)
	if errors.Is(err, history.ErrUndecryptable) {
		return nil, fmt.Errorf("%w; start with --no-history, or delete it with: blindpost history clear --user %s", err, p.User)
	}
	return s, err
}

// viaControl sends req to the client running for the profile's user, if one runs: handled says
// whether it did, and err is the outcome as the command reports it.
func (a *app) viaControl(ctx context.Context, req control.Request) (resp control.Response, handled bool, err error) {
	p, err := a.profile()
	if err != nil {
		return resp, false, nil // the direct path reports profile problems itself
	}
	cn, err := control.Dial(p.Path(control.SocketName))
	if err != nil {
		return resp, false, nil // no client runs: connect directly, as always
	}
	fmt.Fprintf(a.stderr, "Going through the blindpost client already running for %s.\n", p.User)
	resp, err = cn.Do(ctx, req)
	if err != nil {
		return resp, true, err
	}
	if !resp.OK {
		return resp, true, withCode(exitOfKind(resp.Kind), errors.New(resp.Error))
	}
	return resp, true, nil
}

// exitOfKind maps a control error kind to the exit status of the command (root.go).
func exitOfKind(kind string) int {
	switch kind {
	case control.KindUsage:
		return exitUsage
	case control.KindPeer:
		return exitPeer
	case control.KindSecurity:
		return exitSecurity
	}
	return exitError
}

func newHistoryCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "history",
		Short: "Manage the encrypted conversation history of an identity",
		Long: `The conversation history is kept in the profile directory, encrypted under a key derived from
your identity key, which your passphrase protects: never in plaintext. chat --no-history neither
reads nor writes it.`,
	}
	cmd.AddCommand(&cobra.Command{
		Use:     "clear",
		Short:   "Delete the conversation history of an identity",
		Example: `  blindpost history clear --user alice`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := a.profile()
			if err != nil {
				return err
			}
			if err := history.Clear(p.Path(HistoryFile)); err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "Deleted the conversation history of %s.\n", p.User)
			return nil
		},
	})
	return cmd
}
