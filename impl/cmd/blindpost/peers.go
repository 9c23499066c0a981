package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/blindpost/blindpost/impl/client"
	"github.com/blindpost/blindpost/impl/client/control"
	"github.com/blindpost/blindpost/impl/client/display"
	"github.com/blindpost/blindpost/impl/client/profile"
	"github.com/blindpost/blindpost/impl/client/tui"
	"github.com/blindpost/blindpost/impl/e2ee/identity"
	"github.com/blindpost/blindpost/impl/e2ee/trust"
)

func (a *app) peersCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "peers",
		Short: "List, re-trust or forget the identity keys you pinned for your peers",
		Long: `The first time you talk to someone, their identity key is pinned in known_peers. If the relay
later serves another key for them, every new session is refused until you decide to trust the
new key (spec §6.6 TRUST-2): ask them for their fingerprint (blindpost whoami) over another
channel first.`,
		Example: `  blindpost peers list --user alice
  blindpost peers trust bob --user alice --server wss://chat.example.org:8443/ --fingerprint sha256:7471d3…
  blindpost peers forget bob --user alice`,
	}
	cmd.AddCommand(a.peersListCmd(), a.peersTrustCmd(), a.peersForgetCmd())
	return cmd
}

// peerStore opens the profile's known_peers file.
func (a *app) peerStore() (*trust.Store, profile.Profile, error) {
	p, err := a.profile()
	if err != nil {
		return nil, p, err
	}
	s, err := trust.Open(p.Path(profile.KnownPeers))
	return s, p, err
}

func (a *app) peersListCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List the pinned peers, their fingerprints, and whether you verified their safety numbers",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.listPeers()
		},
	}
}

func (a *app) peersTrustCmd() *cobra.Command {
	var expect string
	cmd := &cobra.Command{
		Use:   "trust NAME",
		Short: "Pin the key the relay serves for NAME now, replacing the old pin",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, cancel := context.WithTimeout(cmd.Context(), 30*time.Second)
			defer cancel()
			return a.runTrust(ctx, args[0], expect)
		},
	}
	cmd.Flags().StringVar(&expect, "fingerprint", "", "refuse unless the served key has this fingerprint (sha256:…), as NAME told you")
	return cmd
}

func (a *app) runTrust(ctx context.Context, name, expect string) error {
	if resp, handled, err := a.viaControl(ctx, control.Request{Cmd: "trust", Peer: name, Fingerprint: expect}); handled {
		if err == nil {
			fmt.Fprintf(a.stdout, "Pinned %s: %s\n", name, resp.Fingerprint)
		}
		return err
	}
	return a.oneShot(ctx, func(c *client.Client) error { return a.trustServed(ctx, c, name, expect) })
}

// trustServed pins the key the relay serves for name, when it has the expected fingerprint.
func (a *app) trustServed(ctx context.Context, c *client.Client, name, expect string) error {
	if expect != "" {
		fp, err := c.ServedFingerprint(ctx, name)
		if err != nil {
			return withCode(exitCodeOf(err), err)
		}
		if fp != expect {
			return withCode(exitSecurity, fmt.Errorf("the relay serves %s for %s, not %s: nothing changed", fp, name, expect))
		}
	}
	if err := c.Trust(ctx, name); err != nil {
		return withCode(exitCodeOf(err), err)
	}
	fp, _ := c.PinnedFingerprint(name)
	fmt.Fprintf(a.stdout, "Pinned %s: %s\n", name, fp)
	return nil
}

func (a *app) peersForgetCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "forget NAME",
		Short: "Remove NAME's pin; the next key seen for NAME is pinned on first use",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, _, err := a.peerStore()
			if err != nil {
				return err
			}
			if _, ok := s.Lookup(args[0]); !ok {
				return fmt.Errorf("%s is not pinned", args[0])
			}
			if err := s.Forget(args[0]); err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "Forgot the pin of %s.\n", args[0])
			return nil
		},
	}
}

// listPeers prints each pinned peer with its fingerprint and whether the user marked its
// safety number verified for that key (spec §6.6 [TRUST-4]; verified_peers, Appendix C).
func (a *app) listPeers() error {
	s, p, err := a.peerStore()
	if err != nil {
		return err
	}
	users := s.Users()
	if len(users) == 0 {
		fmt.Fprintln(a.stdout, "No peer pinned yet.")
		return nil
	}
	verified, err := tui.OpenVerifications(p.Path(tui.VerifiedFile))
	if err != nil {
		return err
	}
	width := 0
	for _, u := range users {
		width = max(width, display.Width(u))
	}
	unverified := 0
	for _, u := range users {
		key, _ := s.Lookup(u)
		fp := identity.Fingerprint(key)
		state := "verified"
		if !verified.IsVerified(u, fp) {
			state = "not verified"
			unverified++
		}
		fmt.Fprintf(a.stdout, "%-*s  %s  %s\n", width, display.Line(u), fp, state)
	}
	if unverified > 0 {
		fmt.Fprintln(a.stdout, "To verify a peer, select them in blindpost chat and compare safety numbers with /verify.")
	}
	return nil
}
