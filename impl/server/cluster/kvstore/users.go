package kvstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/blindpost/blindpost/impl/server/directory"
	"github.com/nats-io/nats.go/jetstream"
)

// record is the stored form of a binding. Its last-seen time lives in the same value (unlike in
// the bbolt file), so that Prune's delete on the binding's revision loses to a registration
// that touched the name after Prune read it.
type record struct {
	IdentityKey []byte    `json:"identity_key"`
	GroupKey    []byte    `json:"group_key"`
	GroupKeySig []byte    `json:"group_key_sig"`
	BoundAt     time.Time `json:"bound_at"`
	UpdatedAt   time.Time `json:"updated_at"`
	LastSeen    int64     `json:"last_seen"` // Unix seconds, as the bbolt directory keeps it
}

func (r record) entry(user string) directory.Entry {
	return directory.Entry{User: user, IdentityKey: r.IdentityKey, GroupKey: r.GroupKey, GroupKeySig: r.GroupKeySig,
		BoundAt: r.BoundAt, UpdatedAt: r.UpdatedAt, LastSeen: time.Unix(r.LastSeen, 0)}
}

func (r record) holds(e directory.Entry) bool {
	return string(r.IdentityKey) == string(e.IdentityKey) && string(r.GroupKey) == string(e.GroupKey) &&
		string(r.GroupKeySig) == string(e.GroupKeySig)
}

func decodeRecord(e jetstream.KeyValueEntry) (record, error) {
	var r record
	if err := json.Unmarshal(e.Value(), &r); err != nil {
		return r, fmt.Errorf("kvstore: corrupt record %s: %w", e.Key(), err)
	}
	return r, nil
}

// binding returns the record of user and its revision; revision 0 when the name is not bound.
func (s *Store) binding(ctx context.Context, user string) (record, uint64, error) {
	e, err := s.get(ctx, userKey(user))
	if err != nil || e == nil {
		return record{}, 0, err
	}
	r, err := decodeRecord(e)
	return r, e.Revision(), err
}

// Bind implements directory.Store (spec §5.2 [REG-5] [REG-6] [REG-12] [REG-13], §5.2.1): see the
// package doc for how a new name is admitted, counted and created.
func (s *Store) Bind(e directory.Entry, a directory.Admission) (directory.Result, error) {
	ctx, cancel := s.ctx()
	defer cancel()
	for range maxAttempts {
		r, rev, err := s.binding(ctx, e.User)
		if err != nil {
			return 0, fmt.Errorf("bind %q: %w", e.User, err)
		}
		var res directory.Result
		var done bool
		if rev == 0 {
			res, done, err = s.bindNew(ctx, e, a)
		} else {
			res, done, err = s.bindKnown(ctx, e, r, rev)
		}
		if err != nil {
			return 0, fmt.Errorf("bind %q: %w", e.User, err)
		}
		if done {
			return res, nil
		}
	}
	return 0, fmt.Errorf("bind %q: %w", e.User, ErrContention)
}

// bindKnown handles a name bound at revision rev; done is false when the binding moved meanwhile.
func (s *Store) bindKnown(ctx context.Context, e directory.Entry, r record, rev uint64) (directory.Result, bool, error) {
	// spec §5.2 [REG-5] [REG-6]: never replace the identity key of a bound name.
	if string(r.IdentityKey) != string(e.IdentityKey) {
		return 0, true, directory.ErrIdentityMismatch
	}
	now := s.now()
	if r.holds(e) {
		if now.Sub(time.Unix(r.LastSeen, 0)) < directory.SeenResolution {
			return directory.Unchanged, true, nil
		}
		r.LastSeen = now.Unix()
		ok, err := s.putRecord(ctx, e.User, r, rev)
		return directory.Unchanged, ok, err
	}
	// spec §5.2 [REG-12]: keep the most recent group key and signature.
	r.GroupKey, r.GroupKeySig, r.UpdatedAt, r.LastSeen = e.GroupKey, e.GroupKeySig, now, now.Unix()
	ok, err := s.putRecord(ctx, e.User, r, rev)
	return directory.Updated, ok, err
}

// bindNew admits, counts and creates a new name; done is false when another relay bound the
// name first (then the place and the invite use are given back).
func (s *Store) bindNew(ctx context.Context, e directory.Entry, a directory.Admission) (directory.Result, bool, error) {
	switch {
	case a.Policy == directory.PolicyClosed:
		return 0, true, directory.ErrClosed // spec §5.2.1 [INV-1]
	case a.Invite == "" && a.Policy == directory.PolicyInvite:
		return 0, true, directory.ErrInviteRequired // spec §5.2.1 [INV-2]
	}
	// spec §5.2 [REG-13]: a place first, so that the bound is never exceeded.
	if err := s.reserve(ctx, keyUsers, s.maxUsers); errors.Is(err, errFull) {
		return 0, true, directory.ErrFull
	} else if err != nil {
		return 0, true, err
	}
	if a.Invite != "" {
		// spec §5.2.1 [INV-3] [INV-4]
		if err := s.redeem(ctx, a.Invite); err != nil {
			return 0, true, errors.Join(err, s.release(ctx, keyUsers))
		}
	}
	now := s.now()
	// spec §5.2 [REG-5]: the first identity key with a valid proof holds the name.
	ok, err := s.putRecord(ctx, e.User, record{e.IdentityKey, e.GroupKey, e.GroupKeySig, now, now, now.Unix()}, 0)
	if ok && err == nil {
		return directory.Created, true, nil
	}
	// Lost the name (or failed): give back what was taken for it.
	undo := s.release(ctx, keyUsers)
	if a.Invite != "" {
		undo = errors.Join(undo, s.refund(ctx, a.Invite))
	}
	return 0, err != nil, errors.Join(err, undo)
}

// putRecord writes the binding of user at revision rev (0: create it).
func (s *Store) putRecord(ctx context.Context, user string, r record, rev uint64) (bool, error) {
	raw, err := encode(r)
	if err != nil {
		return false, err
	}
	return s.cas(ctx, userKey(user), raw, rev)
}

// Holds implements directory.Store.
func (s *Store) Holds(e directory.Entry) (bool, error) {
	ctx, cancel := s.ctx()
	defer cancel()
	r, rev, err := s.binding(ctx, e.User)
	if err != nil {
		return false, fmt.Errorf("holds %q: %w", e.User, err)
	}
	return rev != 0 && r.holds(e), nil
}

// HoldsAll implements directory.Store. The entries are read one by one, not at one instant: a
// binding cannot change its identity key, so only a group key update or a removal between two
// reads can make the answer differ from a snapshot's.
func (s *Store) HoldsAll(es []directory.Entry) (int, error) {
	ctx, cancel := s.ctx()
	defer cancel()
	for i, e := range es {
		r, rev, err := s.binding(ctx, e.User)
		if err != nil {
			return i, fmt.Errorf("holds %q: %w", e.User, err)
		}
		if rev == 0 || !r.holds(e) {
			return i, nil
		}
	}
	return -1, nil
}

// Touch implements directory.Store (spec §5.2.1 [INV-7]). A lost compare-and-set is not
// retried: whoever wrote the binding meanwhile was a registration of it, or its removal.
func (s *Store) Touch(user string) error {
	ctx, cancel := s.ctx()
	defer cancel()
	r, rev, err := s.binding(ctx, user)
	if err != nil {
		return fmt.Errorf("kvstore: touch %q: %w", user, err)
	}
	now := s.now()
	if rev == 0 || now.Sub(time.Unix(r.LastSeen, 0)) < directory.SeenResolution {
		return nil
	}
	r.LastSeen = now.Unix()
	if _, err := s.putRecord(ctx, user, r, rev); err != nil {
		return fmt.Errorf("kvstore: touch %q: %w", user, err)
	}
	return nil
}

// Lookup implements directory.Store.
func (s *Store) Lookup(user string) (directory.Entry, error) {
	ctx, cancel := s.ctx()
	defer cancel()
	r, rev, err := s.binding(ctx, user)
	if err == nil && rev == 0 {
		err = directory.ErrNotFound
	}
	if err != nil {
		return directory.Entry{}, fmt.Errorf("lookup %q: %w", user, err)
	}
	return r.entry(user), nil
}

// Exists implements directory.Store.
func (s *Store) Exists(user string) (bool, error) {
	_, err := s.Lookup(user)
	if errors.Is(err, directory.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// List implements directory.Store.
func (s *Store) List() ([]directory.Entry, error) {
	ctx, cancel := s.ctx()
	defer cancel()
	es, err := s.scan(ctx, prefixUser)
	if err != nil {
		return nil, err
	}
	out := make([]directory.Entry, 0, len(es))
	for _, e := range es {
		name, err := nameOf(e.Key(), prefixUser)
		if err != nil {
			return nil, err
		}
		r, err := decodeRecord(e)
		if err != nil {
			return nil, err
		}
		out = append(out, r.entry(name))
	}
	return out, nil
}

// Count implements directory.Store with one read of the counter "m.users", rather than a
// listing of every binding (a cluster holds many): it counts the bound names, plus a place
// reserved by a registration in progress, and one for each relay that died between its
// reservation and its Create (see the package doc): never fewer than are bound.
func (s *Store) Count() (int, error) {
	ctx, cancel := s.ctx()
	defer cancel()
	e, err := s.get(ctx, keyUsers)
	if err != nil || e == nil {
		return 0, err
	}
	n, err := strconv.Atoi(string(e.Value()))
	if err != nil {
		return 0, fmt.Errorf("kvstore: corrupt counter %s: %w", keyUsers, err)
	}
	return n, nil
}

// Remove implements directory.Store.
func (s *Store) Remove(user string) error {
	ctx, cancel := s.ctx()
	defer cancel()
	found, err := s.remove(ctx, user, func(record) bool { return true })
	if err == nil && !found {
		err = directory.ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("remove %q: %w", user, err)
	}
	return nil
}

// remove deletes the binding of user when ok approves of it, by compare-and-set on the revision
// ok saw, and counts it out; it reports whether it deleted it.
func (s *Store) remove(ctx context.Context, user string, ok func(record) bool) (bool, error) {
	for range maxAttempts {
		r, rev, err := s.binding(ctx, user)
		if err != nil || rev == 0 || !ok(r) {
			return false, err
		}
		deleted, err := s.casDelete(ctx, userKey(user), rev)
		if err != nil {
			return false, err
		}
		if deleted {
			return true, s.release(ctx, keyUsers)
		}
	}
	return false, ErrContention
}

// RemoveAll implements directory.Store. The names are removed one by one, not at one instant.
func (s *Store) RemoveAll(users []string) (removed, missing []string, err error) {
	ctx, cancel := s.ctx()
	defer cancel()
	for _, u := range users {
		found, err := s.remove(ctx, u, func(record) bool { return true })
		if err != nil {
			return removed, missing, fmt.Errorf("kvstore: remove: %w", err)
		}
		if found {
			removed = append(removed, u)
		} else {
			missing = append(missing, u)
		}
	}
	return removed, missing, nil
}

// Prune implements directory.Store (spec §5.2.1 [INV-7]): each old name is deleted on the
// revision at which it was seen old, so a name that registers meanwhile stays.
func (s *Store) Prune(cutoff time.Time, keep func(user string) bool) ([]string, error) {
	ctx, cancel := s.ctx()
	defer cancel()
	es, err := s.scan(ctx, prefixUser)
	if err != nil {
		return nil, fmt.Errorf("kvstore: prune: %w", err)
	}
	old := func(r record) bool { return time.Unix(r.LastSeen, 0).Before(cutoff) }
	var removed []string
	for _, e := range es {
		name, err := nameOf(e.Key(), prefixUser)
		if err != nil {
			return removed, err
		}
		if keep != nil && keep(name) {
			continue
		}
		found, err := s.remove(ctx, name, old)
		if err != nil {
			return removed, fmt.Errorf("kvstore: prune: %w", err)
		}
		if found {
			removed = append(removed, name)
		}
	}
	return removed, nil
}
