package directory

import (
	"fmt"
	"time"
)

// Store is the relay's persistent state, as the relay and the operator commands use it: the
// bindings of spec §5.2 with their last-seen times (§5.2.1), the invites of the registration
// policy (§5.2.1) and each group's epoch and last commit (§5.9 [GSV-20]).
//
// *Directory (a bbolt file, one relay) implements it; so does a store shared by the relays of a
// cluster, where every method is atomic cluster-wide in the way its doc comment here states.
// Every implementation is safe for concurrent use.
type Store interface {
	// Bind binds e.User to e.IdentityKey when the name is free and admitted, or records a new
	// group key when the name is bound to the same identity key (spec §5.2 [REG-5] [REG-6]
	// [REG-12] [REG-13], §5.2.1 [INV-1] to [INV-4]). Of several Binds of a free name, exactly one
	// creates it; a refused Bind binds nothing and uses no invite.
	Bind(e Entry, a Admission) (Result, error)
	// Holds reports whether e.User is bound to exactly e's three keys.
	Holds(e Entry) (bool, error)
	// HoldsAll returns the index of the first entry not held exactly, or -1.
	HoldsAll(es []Entry) (int, error)
	// Touch records that a bound user registered now (spec §5.2.1 [INV-7]), to within
	// SeenResolution.
	Touch(user string) error
	// Lookup returns the binding of user, or ErrNotFound.
	Lookup(user string) (Entry, error)
	// Exists reports whether user is bound.
	Exists(user string) (bool, error)
	// List returns every binding, sorted by username (byte order).
	List() ([]Entry, error)
	// Count returns the number of bound usernames.
	Count() (int, error)
	// Remove deletes the binding of user, or returns ErrNotFound.
	Remove(user string) error
	// RemoveAll removes the bindings of users and says which were not bound.
	RemoveAll(users []string) (removed, missing []string, err error)
	// Prune removes the names last seen before cutoff that keep does not report, and returns
	// them in byte order (spec §5.2.1 [INV-7]). A name that registers while Prune runs is kept.
	Prune(cutoff time.Time, keep func(user string) bool) ([]string, error)

	// SaveGroup records the epoch and last commit of a group unconditionally; a group not
	// recorded yet is not recorded when max groups are (it reports false) (spec §5.9 [GSV-20]).
	SaveGroup(name string, g Group, max int) (bool, error)
	// SaveGroupIf records g only when the recorded epoch of the group is still prevEpoch, a
	// group without a record counting as epoch 0: of several saves from the same prevEpoch
	// exactly one is GroupSaved and the others GroupStale (spec §5.9 [GSV-4] [GSV-5]: one ack,
	// the others stale_epoch). A group not recorded yet is GroupNotKept when max groups are.
	SaveGroupIf(name string, g Group, prevEpoch int64, max int) (GroupSave, error)
	// LoadGroup returns the recorded state of a group, and false when it has none.
	LoadGroup(name string) (Group, bool, error)
	// GroupCount returns the number of groups with a recorded epoch.
	GroupCount() (int, error)
	// PruneGroups forgets the groups last committed before cutoff that keep does not report.
	PruneGroups(cutoff time.Time, keep func(name string) bool) (int, error)

	// CreateInvite makes an invite code good for uses new names until now+ttl (0: no expiry).
	CreateInvite(uses int, ttl time.Duration) (string, Invite, error)
	// Invites returns the invites that may still bind a name, oldest first.
	Invites() ([]Invite, error)
	// RevokeInvite deletes the usable invite whose id or code is idOrCode, or returns
	// ErrNotFound.
	RevokeInvite(idOrCode string) error

	// Close releases the store.
	Close() error
}

// The bbolt directory is the single-relay Store.
var _ Store = (*Directory)(nil)

// GroupSave says what SaveGroupIf did.
type GroupSave int

// The results of SaveGroupIf.
const (
	GroupSaved   GroupSave = iota + 1 // recorded: the caller's commit won the epoch
	GroupStale                        // the recorded epoch is not prevEpoch: another commit won
	GroupNotKept                      // a new group over the bound: nothing recorded
)

// String returns saved, stale or not-kept.
func (s GroupSave) String() string {
	switch s {
	case GroupSaved:
		return "saved"
	case GroupStale:
		return "stale"
	case GroupNotKept:
		return "not-kept"
	}
	return fmt.Sprintf("GroupSave(%d)", int(s))
}
