package kvstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/blindpost/blindpost/impl/server/directory"
	"github.com/nats-io/nats.go/jetstream"
)

func decodeGroup(e jetstream.KeyValueEntry) (directory.Group, error) {
	var g directory.Group
	if err := json.Unmarshal(e.Value(), &g); err != nil {
		return g, fmt.Errorf("kvstore: corrupt group %s: %w", e.Key(), err)
	}
	return g, nil
}

// group returns the recorded state of a group and its revision; revision 0 when it has none.
func (s *Store) group(ctx context.Context, name string) (directory.Group, uint64, error) {
	e, err := s.get(ctx, groupKey(name))
	if err != nil || e == nil {
		return directory.Group{}, 0, err
	}
	g, err := decodeGroup(e)
	return g, e.Revision(), err
}

// SaveGroup implements directory.Store: the last write wins, as on one relay.
func (s *Store) SaveGroup(name string, g directory.Group, max int) (bool, error) {
	res, err := s.saveGroup(name, g, max, func(directory.Group, uint64) bool { return true })
	return res == directory.GroupSaved, err
}

// SaveGroupIf implements directory.Store (spec §5.9 [GSV-4] [GSV-5]): Update on the revision at
// which the recorded epoch was read to be prevEpoch, or Create when no epoch is recorded and
// prevEpoch is 0.
func (s *Store) SaveGroupIf(name string, g directory.Group, prevEpoch int64, max int) (directory.GroupSave, error) {
	return s.saveGroup(name, g, max, func(cur directory.Group, rev uint64) bool {
		return cur.Epoch == prevEpoch // no record: Epoch 0
	})
}

func (s *Store) saveGroup(name string, g directory.Group, bound int, want func(directory.Group, uint64) bool) (directory.GroupSave, error) {
	raw, err := encode(g)
	if err != nil {
		return 0, err
	}
	ctx, cancel := s.ctx()
	defer cancel()
	for range maxAttempts {
		cur, rev, err := s.group(ctx, name)
		if err != nil {
			return 0, fmt.Errorf("kvstore: save group %q: %w", name, err)
		}
		if !want(cur, rev) {
			return directory.GroupStale, nil
		}
		if rev == 0 {
			// spec §5.9 [GSV-20]: a new group is recorded only below the bound.
			if err := s.reserve(ctx, keyGroups, bound); errors.Is(err, errFull) {
				return directory.GroupNotKept, nil
			} else if err != nil {
				return 0, fmt.Errorf("kvstore: save group %q: %w", name, err)
			}
		}
		ok, err := s.cas(ctx, groupKey(name), raw, rev)
		if rev == 0 && (!ok || err != nil) {
			err = errors.Join(err, s.release(ctx, keyGroups))
		}
		if err != nil {
			return 0, fmt.Errorf("kvstore: save group %q: %w", name, err)
		}
		if ok {
			return directory.GroupSaved, nil
		}
	}
	return 0, fmt.Errorf("kvstore: save group %q: %w", name, ErrContention)
}

// LoadGroup implements directory.Store.
func (s *Store) LoadGroup(name string) (directory.Group, bool, error) {
	ctx, cancel := s.ctx()
	defer cancel()
	g, rev, err := s.group(ctx, name)
	if err != nil {
		return directory.Group{}, false, fmt.Errorf("kvstore: load group %q: %w", name, err)
	}
	return g, rev != 0, nil
}

// GroupCount implements directory.Store.
func (s *Store) GroupCount() (int, error) {
	ctx, cancel := s.ctx()
	defer cancel()
	es, err := s.scan(ctx, prefixGroup)
	return len(es), err
}

// PruneGroups implements directory.Store (spec §5.9 [GSV-20]): each old group is deleted on the
// revision at which it was read old, so a commit accepted meanwhile keeps it.
func (s *Store) PruneGroups(cutoff time.Time, keep func(name string) bool) (int, error) {
	ctx, cancel := s.ctx()
	defer cancel()
	es, err := s.scan(ctx, prefixGroup)
	if err != nil {
		return 0, fmt.Errorf("kvstore: prune groups: %w", err)
	}
	n := 0
	for _, e := range es {
		name, err := nameOf(e.Key(), prefixGroup)
		if err != nil {
			return n, err
		}
		g, err := decodeGroup(e)
		if err == nil && (!g.Updated.Before(cutoff) || keep != nil && keep(name)) {
			continue // a corrupt record goes, as in the bbolt directory
		}
		deleted, err := s.casDelete(ctx, e.Key(), e.Revision())
		if err == nil && deleted {
			n++
			err = s.release(ctx, keyGroups)
		}
		if err != nil {
			return n, fmt.Errorf("kvstore: prune groups: %w", err)
		}
	}
	return n, nil
}
