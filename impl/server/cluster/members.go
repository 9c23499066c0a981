package cluster

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"
)

// Members is the member list of a group across the cluster: each member's username and the
// location of its connection (spec §5.9: one list, wherever the members are connected).
type Members map[string]Location

// Nodes returns the nodes holding members, but not skip.
func (ms Members) Nodes(skip string) []string {
	seen := map[string]bool{}
	var out []string
	for _, loc := range ms {
		if loc.Node != skip && !seen[loc.Node] {
			seen[loc.Node] = true
			out = append(out, loc.Node)
		}
	}
	return out
}

func membersKey(group string) string { return hex.EncodeToString([]byte(group)) }

// Members returns the member list of group and its revision (0: no members).
func (n *Node) Members(ctx context.Context, group string) (Members, uint64, error) {
	e, err := n.members.Get(ctx, membersKey(group))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return Members{}, 0, nil
	}
	if err != nil {
		return nil, 0, fmt.Errorf("cluster: members of %q: %w", group, err)
	}
	ms := Members{}
	if err := json.Unmarshal(e.Value(), &ms); err != nil {
		return nil, 0, fmt.Errorf("cluster: corrupt members of %q: %w", group, err)
	}
	return ms, e.Revision(), nil
}

// UpdateMembers changes the member list of group with change, by compare-and-set on the
// entry's revision (retried on a fresh read when another node wrote first), and returns the
// list written and its revision. An error from change is returned as it is and writes nothing.
// An empty list deletes the entry.
func (n *Node) UpdateMembers(ctx context.Context, group string, change func(Members) error) (Members, uint64, error) {
	key := membersKey(group)
	for range 64 {
		ms, rev, err := n.Members(ctx, group)
		if err != nil {
			return nil, 0, err
		}
		if err := change(ms); err != nil {
			return nil, 0, err
		}
		var nrev uint64
		switch {
		case len(ms) == 0 && rev == 0:
			return ms, 0, nil
		case len(ms) == 0:
			err = n.members.Delete(ctx, key, jetstream.LastRevision(rev))
			if err == nil {
				// The delete marker's revision: the next one after rev at least.
				nrev = rev + 1
			}
		default:
			raw, merr := json.Marshal(ms)
			if merr != nil {
				return nil, 0, fmt.Errorf("cluster: members of %q: %w", group, merr)
			}
			if rev == 0 {
				nrev, err = n.members.Create(ctx, key, raw)
			} else {
				nrev, err = n.members.Update(ctx, key, raw, rev)
			}
		}
		if err == nil {
			return ms, nrev, nil
		}
		if !errors.Is(err, jetstream.ErrKeyExists) && !errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
			return nil, 0, fmt.Errorf("cluster: members of %q: %w", group, err)
		}
	}
	return nil, 0, fmt.Errorf("cluster: members of %q: too many concurrent changes", group)
}
