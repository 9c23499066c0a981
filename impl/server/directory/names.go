package directory

import (
	"encoding/binary"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// bucketSeen maps a bound name to the Unix second it last registered (spec §5.2.1 [INV-7]).
var bucketSeen = []byte("seen")

// SeenResolution is how stale a name's last-seen time may get before a registration that
// changes nothing else writes it again: a client reconnecting every few seconds costs one write
// an hour, not one per connection. Name release counts in days, so an hour is exact enough.
const SeenResolution = time.Hour

// Policy is the registration policy of spec §5.2.1: who may bind a new name.
type Policy int

// The registration policies.
const (
	PolicyOpen   Policy = iota // anyone with a valid proof (the default)
	PolicyInvite               // only with a valid invite (INV-2, INV-3)
	PolicyClosed               // nobody (INV-1)
)

// String returns open, invite or closed.
func (p Policy) String() string {
	switch p {
	case PolicyOpen:
		return "open"
	case PolicyInvite:
		return "invite"
	case PolicyClosed:
		return "closed"
	}
	return fmt.Sprintf("Policy(%d)", int(p))
}

// ParsePolicy parses open, invite or closed.
func ParsePolicy(s string) (Policy, error) {
	for _, p := range []Policy{PolicyOpen, PolicyInvite, PolicyClosed} {
		if p.String() == s {
			return p, nil
		}
	}
	return 0, fmt.Errorf("directory: registration policy %q is not open, invite or closed", s)
}

// initSeen creates the last-seen bucket. A directory written before it existed gets the time of
// this opening for every name, so that no name is released for having been bound long ago.
func (d *Directory) initSeen(tx *bolt.Tx, users *bolt.Bucket) error {
	if tx.Bucket(bucketSeen) != nil {
		return nil
	}
	seen, err := tx.CreateBucket(bucketSeen)
	if err != nil {
		return err
	}
	now := unixBytes(d.now())
	return users.ForEach(func(k, _ []byte) error { return seen.Put(k, now) })
}

func unixBytes(t time.Time) []byte { return binary.BigEndian.AppendUint64(nil, uint64(t.Unix())) }

func putSeen(tx *bolt.Tx, key []byte, t time.Time) error {
	return tx.Bucket(bucketSeen).Put(key, unixBytes(t))
}

// getSeen returns the last-seen time of key, or def when none is recorded.
func getSeen(tx *bolt.Tx, key []byte, def time.Time) time.Time {
	b := tx.Bucket(bucketSeen)
	if b == nil {
		return def
	}
	v := b.Get(key)
	if len(v) != 8 {
		return def
	}
	return time.Unix(int64(binary.BigEndian.Uint64(v)), 0)
}

// Touch records that user registered now, when its last-seen time is older than SeenResolution
// (spec §5.2.1 [INV-7]); a name that is not bound is left alone.
func (d *Directory) Touch(user string) error {
	key := []byte(user)
	now := d.now()
	var stale bool
	err := d.db.View(func(tx *bolt.Tx) error {
		stale = tx.Bucket(bucketUsers).Get(key) != nil && now.Sub(getSeen(tx, key, time.Time{})) >= SeenResolution
		return nil
	})
	if err != nil || !stale {
		return err
	}
	err = d.db.Batch(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketUsers).Get(key) == nil {
			return nil
		}
		return putSeen(tx, key, now)
	})
	if err != nil {
		return fmt.Errorf("directory: touch %q: %w", user, err)
	}
	return nil
}

// Prune removes every name last seen before cutoff, except those keep reports (the names online
// now), and returns the names it removed in byte order (spec §5.2.1 [INV-7], `users prune`).
func (d *Directory) Prune(cutoff time.Time, keep func(user string) bool) ([]string, error) {
	var removed []string
	err := d.db.Update(func(tx *bolt.Tx) error {
		removed = removed[:0]
		var old [][]byte
		err := tx.Bucket(bucketUsers).ForEach(func(k, v []byte) error {
			e, err := decode(string(k), v)
			if err != nil {
				return err
			}
			if getSeen(tx, k, e.BoundAt).Before(cutoff) && (keep == nil || !keep(e.User)) {
				old = append(old, k)
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, k := range old { // not inside ForEach: bbolt forbids changing a bucket it iterates
			if err := removeTx(tx, k); err != nil {
				return err
			}
			removed = append(removed, string(k))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("directory: prune: %w", err)
	}
	return removed, nil
}

// RemoveAll removes the bindings of users in one transaction and returns the names it removed
// and those that were not bound (`users remove NAME...`).
func (d *Directory) RemoveAll(users []string) (removed, missing []string, err error) {
	err = d.db.Update(func(tx *bolt.Tx) error {
		removed, missing = removed[:0], missing[:0]
		for _, u := range users {
			key := []byte(u)
			if tx.Bucket(bucketUsers).Get(key) == nil {
				missing = append(missing, u)
				continue
			}
			if err := removeTx(tx, key); err != nil {
				return err
			}
			removed = append(removed, u)
		}
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("directory: remove: %w", err)
	}
	return removed, missing, nil
}
