package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/blindpost/blindpost/impl/client"
	"github.com/blindpost/blindpost/impl/client/profile"
	"github.com/blindpost/blindpost/impl/client/tlstrust"
	"github.com/blindpost/blindpost/impl/e2ee"
	"github.com/blindpost/blindpost/impl/e2ee/identity"
)

// envServer names the environment variable that is the default for --server.
const envServer = "BLINDPOST_SERVER"

// trustPolicy builds the certificate trust of --server-pin, --ca and the profile's
// known_servers (spec §4.1).
func (a *app) trustPolicy(p profile.Profile) (tlstrust.Policy, error) {
	policy := tlstrust.Policy{Known: tlstrust.OpenKnownServers(p.Path(profile.KnownServers))}
	if a.flags.serverPin != "" {
		pin, err := tlstrust.ParsePin(a.flags.serverPin)
		if err != nil {
			return policy, withCode(exitUsage, err)
		}
		policy.Pin = &pin
	}
	if a.flags.ca != "" {
		roots, err := tlstrust.LoadCAFile(a.flags.ca)
		if err != nil {
			return policy, withCode(exitUsage, err)
		}
		policy.Roots = roots
	}
	return policy, nil
}

// serverURL returns --server, $BLINDPOST_SERVER, or the only relay in known_servers; HOST:PORT
// stands for wss://HOST:PORT/.
func (a *app) serverURL() (string, error) {
	url := a.flags.server
	if url == "" {
		url = os.Getenv(envServer)
	}
	if url == "" {
		url, _ = a.knownRelay()
	}
	if url == "" {
		return "", usageError("no relay given: pass --server HOST:PORT (or set %s)", envServer)
	}
	url = relayURL(url)
	if _, err := tlstrust.HostPort(url); err != nil {
		return "", withCode(exitUsage, err)
	}
	return url, nil
}

// dial connects the profile's user to the relay, asking on the terminal before trusting an
// unknown certificate (spec §4.1 [TLS-4]).
func (a *app) dial(ctx context.Context, p profile.Profile, key *identity.PrivateKey, tune func(*client.Options)) (*client.Client, error) {
	url, err := a.serverURL()
	if err != nil {
		return nil, err
	}
	policy, err := a.trustPolicy(p)
	if err != nil {
		return nil, err
	}
	opts := client.Options{
		URL:            url,
		User:           p.User,
		Identity:       key,
		TLS:            policy,
		KnownPeersFile: p.Path(profile.KnownPeers),
		Logger:         a.log,
		Invite:         a.flags.invite,
	}
	if a.confirm != nil {
		opts.ConfirmServer = a.confirmServer
	}
	if tune != nil {
		tune(&opts)
	}
	c, err := client.Dial(ctx, opts)
	if err != nil {
		return nil, explainDial(explainRefused(err, url))
	}
	return c, nil
}

// confirmServer shows an unknown certificate's pin and asks the user (spec §4.1 [TLS-4]).
func (a *app) confirmServer(_ context.Context, hostport string, pin tlstrust.Pin) (bool, error) {
	fmt.Fprintf(a.stderr, "The relay %s presents a certificate that no CA you trust vouches for.\n", hostport)
	fmt.Fprintf(a.stderr, "Its pin is %s\n", pin)
	fmt.Fprintf(a.stderr, "Compare it with the pin its operator sees (blindpost-server prints it when it starts).\n")
	return a.confirm("Trust this relay from now on?")
}

// explainDial adds the next step to a connection failure and maps it to an exit code.
func explainDial(err error) error {
	var unknown *tlstrust.UnknownServerError
	var mismatch *tlstrust.PinMismatchError
	switch {
	case errors.As(err, &unknown):
		return withCode(exitConnect, fmt.Errorf("%w\nAfter checking the pin with the relay's operator, pass --server-pin %s (or run on a terminal to confirm it once)", err, unknown.Pin))
	case errors.As(err, &mismatch) && mismatch.Method == tlstrust.MethodKnown:
		return withCode(exitConnect, fmt.Errorf("%w\nIf the relay really changed its certificate, run: blindpost servers forget %s", err, mismatch.HostPort))
	}
	return withCode(exitConnect, err)
}

// exitCodeOf maps an error after connecting to the exit codes of the root help.
func exitCodeOf(err error) int {
	var se *client.ServerError
	switch {
	case errors.As(err, &se) && (se.Code == "user_offline" || se.Code == "unknown_user" || se.Code == "bad_target"):
		return exitPeer
	case errors.Is(err, client.ErrDeclined), errors.Is(err, client.ErrUndelivered), errors.Is(err, context.DeadlineExceeded):
		return exitPeer
	case errors.Is(err, client.ErrBadArgument):
		return exitUsage
	}
	if _, ok := e2ee.OutcomeOf(err); ok {
		return exitSecurity
	}
	return exitError
}
