package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/blindpost/blindpost/impl/client/profile"
	"github.com/blindpost/blindpost/impl/client/tlstrust"
)

func (a *app) serversCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "servers",
		Short: "List or forget the relay certificates you trusted on first use",
		Long: `When you connect to a relay whose certificate no CA vouches for, blindpost shows its pin and
asks you to confirm it; the pin is then kept in known_servers (like SSH's known_hosts) and a
different certificate is refused until you forget the old pin (spec §4.1 TLS-4).`,
		Example: `  blindpost servers list --user alice
  blindpost servers forget --user alice 127.0.0.1:8443`,
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "list",
		Short: "List the trusted relay pins",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			known, err := a.knownServers()
			if err != nil {
				return err
			}
			entries, err := known.List()
			if err != nil {
				return err
			}
			if len(entries) == 0 {
				fmt.Fprintln(a.stdout, "No relay pinned yet.")
				return nil
			}
			for _, e := range entries {
				fmt.Fprintf(a.stdout, "%s %s\n", e.HostPort, e.Pin)
			}
			return nil
		},
	}, &cobra.Command{
		Use:   "forget HOST:PORT",
		Short: "Remove the pin of a relay, so that its new certificate can be confirmed",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			known, err := a.knownServers()
			if err != nil {
				return err
			}
			removed, err := known.Remove(args[0])
			if err != nil {
				return err
			}
			if !removed {
				return fmt.Errorf("%s is not in %s", args[0], known.Path())
			}
			fmt.Fprintf(a.stdout, "Forgot the pin of %s.\n", args[0])
			return nil
		},
	})
	return cmd
}

// knownServers returns the known_servers store of the current profile.
func (a *app) knownServers() (*tlstrust.KnownServers, error) {
	p, err := a.profile()
	if err != nil {
		return nil, err
	}
	return tlstrust.OpenKnownServers(p.Path(profile.KnownServers)), nil
}
