package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"

	"github.com/spf13/cobra"

	"github.com/blindpost/blindpost/impl/client/gui"
	"github.com/blindpost/blindpost/impl/client/history"
	"github.com/blindpost/blindpost/impl/client/profile"
	"github.com/blindpost/blindpost/impl/e2ee/identity"
)

func init() { extraCommands = append(extraCommands, newGUICmd) }

func newGUICmd(a *app) *cobra.Command {
	var listen string
	var noBrowser, noHistory bool
	cmd := &cobra.Command{
		Use:   "gui",
		Short: "Chat in your web browser: the client runs here, the page only shows it",
		Long: `gui starts the client and serves its window to your web browser on this computer only
(a loopback address). Your keys, the encryption and the connection to the relay stay in this
process; the page shows what happens and sends what you type.

The first time, the page creates your identity (a username and a passphrase, asked twice) and
shows the relay's certificate pin for you to trust. Later it asks for the passphrase.

The address it opens carries a one-time token; other programs and web sites cannot use the
page. With --no-browser, or when no browser can be started, it prints the address instead.`,
		Example: `  blindpost gui

  # A given identity and relay, the address printed rather than opened:
  blindpost gui --user alice --server wss://chat.example.org:8443/ --no-browser`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.runGUI(cmd.Context(), listen, cmd.Flags().Changed("listen"), noBrowser, noHistory)
		},
	}
	cmd.Flags().StringVar(&listen, "listen", gui.DefaultListen, "the address of the page; other than loopback only when named here, with a warning")
	cmd.Flags().BoolVar(&noBrowser, "no-browser", false, "print the address of the page instead of opening a browser")
	cmd.Flags().BoolVar(&noHistory, "no-history", false, "neither read nor write the encrypted local history")
	return cmd
}

func (a *app) runGUI(ctx context.Context, listen string, explicit, noBrowser, noHistory bool) error {
	root, err := a.configRoot()
	if err != nil {
		return err
	}
	user, err := a.guiUser(root)
	if err != nil {
		return err
	}
	opts := gui.Options{Root: root, User: user, Logger: a.log, Keyfile: a.keyfileOpts, ListenControl: a.listenControl,
		OpenHistory: func(p profile.Profile, key *identity.PrivateKey) (*history.Store, error) {
			return a.openHistory(p, key, noHistory)
		}}
	if opts.Server = a.flags.server; opts.Server == "" {
		opts.Server = os.Getenv(envServer)
	}
	policy, err := a.trustPolicy(profile.Profile{})
	if err != nil {
		return err
	}
	opts.ServerPin, opts.Roots = policy.Pin, policy.Roots
	g, err := gui.New(opts)
	if err != nil {
		return withCode(exitUsage, err)
	}
	page, err := gui.Listen(gui.ListenOptions{Addr: listen, Explicit: explicit, Logger: a.log}, g.ServeWS)
	if errors.Is(err, gui.ErrNotLoopback) {
		return usageError("%v; name it with --listen to allow it", err)
	}
	if err != nil {
		return err
	}
	url := page.URL()
	if noBrowser || openBrowser(url) != nil {
		fmt.Fprintf(a.stdout, "Open this address in your web browser (it works once):\n  %s\n", url)
	} else {
		fmt.Fprintf(a.stdout, "Blindpost is open in your web browser. If it is not, open (once):\n  %s\n", url)
	}
	fmt.Fprintln(a.stdout, "Press Ctrl-C here to quit.")
	return page.Serve(ctx)
}

// guiUser is --user, $BLINDPOST_USER, or the only identity of the root; with none, the page
// asks for a name.
func (a *app) guiUser(root string) (string, error) {
	if user := a.flags.user; user != "" {
		return user, nil
	}
	if user := os.Getenv(envUser); user != "" {
		return user, nil
	}
	users, err := profile.Users(root)
	if err != nil {
		return "", err
	}
	switch len(users) {
	case 0:
		return "", nil
	case 1:
		return users[0], nil
	}
	return "", usageError("several identities in %s (%v); choose one with --user", root, users)
}

// openBrowser asks the desktop to open url in the default browser.
func openBrowser(url string) error {
	name := "xdg-open"
	if runtime.GOOS == "darwin" {
		name = "open"
	}
	path, err := exec.LookPath(name)
	if err != nil {
		return err
	}
	cmd := exec.Command(path, url)
	if err := cmd.Start(); err != nil {
		return err
	}
	go func() { _ = cmd.Wait() }()
	return nil
}
