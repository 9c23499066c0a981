package main

import (
	"errors"
	"fmt"
	"strings"
	"syscall"

	"github.com/blindpost/blindpost/impl/client/profile"
	"github.com/blindpost/blindpost/impl/client/tlstrust"
)

// relayURL turns what --server or $BLINDPOST_SERVER says into a relay URL: HOST:PORT, without
// a scheme, means wss://HOST:PORT/ (the only scheme a relay speaks, spec §4.1).
func relayURL(s string) string {
	if strings.Contains(s, "://") {
		return s
	}
	return "wss://" + strings.TrimSuffix(s, "/") + "/"
}

// knownRelay returns the relay of the profile's known_servers when it holds exactly one: a
// person who trusted one relay need not name it again.
func (a *app) knownRelay() (string, bool) {
	p, err := a.profile()
	if err != nil {
		return "", false
	}
	entries, err := tlstrust.OpenKnownServers(p.Path(profile.KnownServers)).List()
	if err != nil || len(entries) != 1 {
		return "", false
	}
	return relayURL(entries[0].HostPort), true
}

// explainRefused adds the next step to a connection that nothing accepted: the relay is
// probably not running there.
func explainRefused(err error, url string) error {
	if !errors.Is(err, syscall.ECONNREFUSED) {
		return err
	}
	hostport, herr := tlstrust.HostPort(url)
	if herr != nil {
		hostport = url
	}
	return fmt.Errorf("%w\nNothing accepts connections at %s: the relay may not be running, or listens on another port.\n"+
		"Its operator starts it with: blindpost-server --listen %s --data DIR", err, hostport, hostport)
}
