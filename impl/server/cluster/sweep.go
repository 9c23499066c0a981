package cluster

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go"
)

// A node that stops without withdrawing its users (killed, or cut from NATS) leaves their
// presence entries behind: they would stay listed online (spec §5.4 [SRV-4]) until a message
// for one of them finds nobody at that node. Sweep removes them: it asks every node the view
// names whether it is still there, and withdraws the users of each that is not (spec §5.11
// [CLU-4]).

// opHeader and opPing: the message a node answers itself, before its relay sees anything.
const (
	opHeader = "Bp-Op"
	opPing   = "ping"
)

// Sweep asks every other node that holds users in the view whether it is alive, and removes
// the presence entries of those that are gone. It returns how many entries it removed.
func (n *Node) Sweep(ctx context.Context) (int, error) {
	byNode := map[string]map[string]Location{}
	n.view.mu.Lock()
	for user, loc := range n.view.users {
		if loc.Node == n.id {
			continue
		}
		if byNode[loc.Node] == nil {
			byNode[loc.Node] = map[string]Location{}
		}
		byNode[loc.Node][user] = loc
	}
	n.view.mu.Unlock()
	removed := 0
	var errs []error
	for node, users := range byNode {
		_, err := n.Request(ctx, node, nats.Header{opHeader: {opPing}}, nil)
		if !errors.Is(err, ErrNodeGone) {
			if err != nil {
				errs = append(errs, err)
			}
			continue
		}
		n.log.Warn("a node is gone: its users are withdrawn", "gone", node, "users", len(users))
		for user, loc := range users {
			if err := n.Release(ctx, user, loc.Rev); err != nil {
				errs = append(errs, err)
				continue
			}
			removed++
		}
	}
	if err := errors.Join(errs...); err != nil {
		return removed, fmt.Errorf("cluster: sweep: %w", err)
	}
	return removed, nil
}
