package group

import "crypto/ed25519"

// Member is one entry of a commit's member list: a user with its identity
// key, group key and group key signature. spec §7.1
type Member struct {
	User        string
	IdentityKey []byte
	GroupKey    []byte
	GroupKeySig []byte
}

// Wrap is one entry of a commit's wrap list: the HPKE wrap of the epoch
// secret to a member's group key. spec §7.1
type Wrap struct {
	User string
	Wrap []byte
}

// Commit publishes a group epoch. spec §7.1
type Commit struct {
	Group     string
	Epoch     uint64
	Committer string
	Prev      []byte // empty in the first commit, else the previous commit hash
	Members   []Member
	Wraps     []Wrap
	Confirm   []byte
	Sig       []byte
}

// Message is a group message. Its sender is the username the server stamps
// in from, passed to [State.Open] beside it. spec §7.2
type Message struct {
	Group string
	Epoch uint64
	N     uint64
	CT    []byte
	Sig   []byte
}

// Pins is the pin store a group consults: the trust package's Store
// satisfies it. spec §6.6, GRP-7
type Pins interface {
	// Lookup returns the pinned identity key of user.
	Lookup(user string) (ed25519.PublicKey, bool)
	// Pin pins key for a user on first use and reports whether it was new;
	// it refuses a key that differs from the pin.
	Pin(user string, key ed25519.PublicKey) (bool, error)
}

// EpochInfo describes an epoch that was just accepted.
type EpochInfo struct {
	Epoch     uint64
	Committer string
	Members   []string // sorted
	NewPins   []string // users whose keys were pinned for the first time (TRUST-1)
}
