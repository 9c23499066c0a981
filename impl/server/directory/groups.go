package directory

import (
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// bucketGroups maps a group name to its epoch and last accepted commit (spec §5.9 [GSV-20]).
var bucketGroups = []byte("groups")

// Group is what the relay keeps of a group across restarts and while it has no members: its
// epoch and its last accepted commit, as the JSON the committer sent (spec §5.9 [GSV-20]).
type Group struct {
	Epoch      int64           `json:"epoch"`
	LastCommit json.RawMessage `json:"last_commit"`
	Updated    time.Time       `json:"updated"` // when the commit was accepted
}

// SaveGroup records the epoch and last commit of group name and returns once they are on disk.
// A group not recorded yet is not recorded when max groups are (0: no bound); then it reports
// false, and the group lives in memory only (spec §5.9 [GSV-20]).
func (d *Directory) SaveGroup(name string, g Group, max int) (bool, error) {
	raw, err := json.Marshal(g)
	if err != nil {
		return false, fmt.Errorf("directory: encode group %q: %w", name, err)
	}
	kept := true
	// Update, not Batch: the bucket's statistics are exact only in a transaction that has
	// written nothing yet.
	err = d.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketGroups)
		if max > 0 && b.Get([]byte(name)) == nil && b.Stats().KeyN >= max {
			kept = false
			return nil
		}
		return b.Put([]byte(name), raw)
	})
	if err != nil {
		return false, fmt.Errorf("directory: save group %q: %w", name, err)
	}
	return kept, nil
}

// SaveGroupIf records g for group name only when its recorded epoch is still prevEpoch (no
// record counts as epoch 0), in one transaction, so that of two commits for the same epoch
// exactly one is saved (spec §5.9 [GSV-4] [GSV-5]). A group not recorded yet is not recorded when
// max groups are (0: no bound): GroupNotKept.
func (d *Directory) SaveGroupIf(name string, g Group, prevEpoch int64, max int) (GroupSave, error) {
	raw, err := json.Marshal(g)
	if err != nil {
		return 0, fmt.Errorf("directory: encode group %q: %w", name, err)
	}
	var res GroupSave
	err = d.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketGroups)
		old := b.Get([]byte(name))
		var cur Group
		if old != nil {
			if err := json.Unmarshal(old, &cur); err != nil {
				return fmt.Errorf("directory: corrupt group: %w", err)
			}
		}
		switch {
		case cur.Epoch != prevEpoch:
			res = GroupStale
			return nil
		case max > 0 && old == nil && b.Stats().KeyN >= max:
			res = GroupNotKept
			return nil
		}
		res = GroupSaved
		return b.Put([]byte(name), raw)
	})
	if err != nil {
		return 0, fmt.Errorf("directory: save group %q: %w", name, err)
	}
	return res, nil
}

// LoadGroup returns the recorded state of group name, and false when it has none.
func (d *Directory) LoadGroup(name string) (Group, bool, error) {
	var g Group
	var found bool
	err := d.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketGroups)
		if b == nil {
			return nil
		}
		raw := b.Get([]byte(name))
		if raw == nil {
			return nil
		}
		found = true
		return json.Unmarshal(raw, &g)
	})
	if err != nil {
		return Group{}, false, fmt.Errorf("directory: load group %q: %w", name, err)
	}
	return g, found, nil
}

// GroupCount returns the number of groups with a recorded epoch.
func (d *Directory) GroupCount() (int, error) {
	var n int
	err := d.db.View(func(tx *bolt.Tx) error {
		if b := tx.Bucket(bucketGroups); b != nil {
			n = b.Stats().KeyN
		}
		return nil
	})
	return n, err
}

// PruneGroups forgets the groups whose last commit is older than cutoff and for which keep
// reports false (groups with members now); it returns how many it forgot (spec §5.9 [GSV-20]:
// a group unused for the name release period starts again at epoch 0).
func (d *Directory) PruneGroups(cutoff time.Time, keep func(name string) bool) (int, error) {
	var n int
	err := d.db.Update(func(tx *bolt.Tx) error {
		n = 0
		b := tx.Bucket(bucketGroups)
		var old [][]byte
		err := b.ForEach(func(k, v []byte) error {
			var g Group
			if json.Unmarshal(v, &g) != nil || g.Updated.Before(cutoff) && (keep == nil || !keep(string(k))) {
				old = append(old, k)
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, k := range old {
			if err := b.Delete(k); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("directory: prune groups: %w", err)
	}
	return n, nil
}
