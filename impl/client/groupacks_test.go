package client_test

import (
	"slices"
	"strings"

	"github.com/blindpost/blindpost/impl/client"
)

// groupSecured matches the moment a client shows group secured with exactly with, nobody
// missing: a GroupEvent or GroupSecuredEvent (spec §9 [CLI-31]).
func groupSecured(group string, with ...string) func(client.Event) bool {
	want := strings.Join(with, ",")
	return func(e client.Event) bool {
		switch g := e.(type) {
		case client.GroupEvent:
			return g.Group == group && strings.Join(g.SecuredWith, ",") == want && len(g.Missing) == 0
		case client.GroupSecuredEvent:
			return g.Group == group && strings.Join(g.SecuredWith, ",") == want && len(g.Missing) == 0
		}
		return false
	}
}

// othersOf returns names without self.
func othersOf(self string, names []string) []string {
	return slices.DeleteFunc(slices.Clone(names), func(n string) bool { return n == self })
}

// waitSecured waits, after the group event ev of an epoch, until the client shows the group
// secured with exactly with (spec §9 [CLI-31]).
func (p *peer) waitSecured(ev client.Event, group string, with ...string) {
	p.t.Helper()
	if match := groupSecured(group, with...); !match(ev) {
		p.wait("secured with "+strings.Join(with, ", ")+" in "+group, match)
	}
}
