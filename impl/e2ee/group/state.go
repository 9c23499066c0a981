package group

import (
	"crypto/ed25519"
	"errors"
	"io"
	"slices"
	"sync"

	"github.com/blindpost/blindpost/impl/e2ee"
	"github.com/blindpost/blindpost/impl/e2ee/identity"
)

// Config is what a client brings to a group.
type Config struct {
	Group    string               // the group's name
	Self     string               // this client's username
	Identity *identity.PrivateKey // signs commits and messages, opens wraps
	Pins     Pins                 // the pin store (trust.Store)
	Rand     io.Reader            // epoch secrets; nil means crypto/rand
	// Directory returns the identity key the relay's directory serves for a user (get_pubkey),
	// which a key first seen in a commit must equal before it is pinned (GRP-20). A client
	// fetches the answers before it hands the commit over. Nil only in tests that play members
	// without a relay: then keys are pinned on first use as the commit lists them.
	Directory func(user string) (ed25519.PublicKey, bool)
}

// State is one client's view of one group: the current epoch, the hash of
// the last commit, the epoch secret when this client holds it, and the
// message counters. It is safe for concurrent use.
type State struct {
	mu        sync.Mutex
	cfg       Config
	own       Member // this client's member entry
	epoch     uint64
	lastHash  []byte                       // nil while no commit is known
	members   []string                     // of the last commit, sorted
	announced []string                     // of the last group_members accepted, nil before Announce (GRP-6)
	keys      map[string]ed25519.PublicKey // identity keys of the current epoch's members
	secret    []byte                       // nil when this client cannot read the epoch
	send      *senderState                 // own keys and counter, nil without a secret
	recv      map[string]*senderState      // per sender, current epoch
	scratch   []byte                       // ad || ct for signatures
}

// Join starts following a group from the group_members announcement received
// on joining: its epoch and, when the epoch is above 0, its last_commit
// (GRP-11, GSV-2). The client holds no epoch secret until a commit that
// lists it is accepted.
func Join(cfg Config, epoch uint64, lastCommit *Commit) (*State, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	id := cfg.Identity
	s := &State{
		cfg:   cfg,
		own:   Member{User: cfg.Self, IdentityKey: id.Public(), GroupKey: id.GroupPublic(), GroupKeySig: id.GroupKeySig(cfg.Self)},
		epoch: epoch,
		keys:  map[string]ed25519.PublicKey{},
		recv:  map[string]*senderState{},
	}
	switch {
	case lastCommit == nil && epoch != 0:
		return nil, e2ee.Reject(e2ee.BadPrev, "GRP-11", "group_members at epoch %d carries no last_commit", epoch)
	case lastCommit == nil:
		return s, nil
	case lastCommit.Epoch != epoch || lastCommit.Group != cfg.Group:
		return nil, e2ee.Reject(e2ee.StaleEpoch, "GRP-11", "last_commit is for %s epoch %d, announced %s epoch %d",
			lastCommit.Group, lastCommit.Epoch, cfg.Group, epoch)
	}
	s.lastHash = CommitHash(lastCommit)
	for _, m := range lastCommit.Members {
		s.members = append(s.members, m.User)
	}
	return s, nil
}

// Announce records the members of a group_members announcement the client accepted: a commit
// received afterwards must list exactly them (spec §7.1 [GRP-6]). The relay sends the
// announcement of a membership change before any commit for it, so an honest commit never
// arrives ahead of its announcement.
func (s *State) Announce(members []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.announced = slices.Clone(members)
}

func (c Config) check() error {
	switch {
	case c.Group == "" || c.Self == "":
		return errors.New("e2ee: group and username are required")
	case c.Identity == nil:
		return errors.New("e2ee: no identity key")
	case c.Pins == nil:
		return errors.New("e2ee: no pin store")
	}
	return nil
}

// install makes an accepted commit the current epoch. The previous secret is
// erased and every counter starts again (GRP-13).
func (s *State) install(c *Commit, hash, secret []byte, keys map[string]ed25519.PublicKey) error {
	var send *senderState
	if secret != nil {
		var err error
		if send, err = newSenderState(secret, c.Group, c.Epoch, s.cfg.Self); err != nil {
			return err
		}
	}
	s.erase()
	s.epoch, s.lastHash, s.secret, s.keys, s.send = c.Epoch, hash, secret, keys, send
	s.members = s.members[:0]
	for _, m := range c.Members {
		s.members = append(s.members, m.User)
	}
	s.recv = map[string]*senderState{}
	return nil
}

func (s *State) info(c *Commit, newPins []string) EpochInfo {
	return EpochInfo{Epoch: c.Epoch, Committer: c.Committer, Members: slices.Clone(s.members), NewPins: newPins}
}

// erase overwrites the epoch secret and drops the derived keys.
func (s *State) erase() {
	clear(s.secret)
	s.secret, s.send, s.recv = nil, nil, map[string]*senderState{}
}

// Close erases the epoch secret, for example when the client leaves.
func (s *State) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.erase()
}

// Group returns the group's name.
func (s *State) Group() string { return s.cfg.Group }

// Epoch returns the current epoch.
func (s *State) Epoch() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.epoch
}

// LastCommitHash returns the hash of the last commit, nil when there is none.
func (s *State) LastCommitHash() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.lastHash)
}

// Members returns the members of the last commit, sorted.
func (s *State) Members() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.members)
}

// HasSecret reports whether this client holds the current epoch's secret,
// that is whether it can send and read messages.
func (s *State) HasSecret() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.secret != nil
}

// ShouldCommit applies the "who commits" rule of spec §7.1 to a
// group_members announcement: commit when this client is announced but has
// accepted no commit that lists it (it just joined, possibly a group whose
// last commit, kept by the relay, lists it from an earlier connection:
// spec §5.9 [GSV-20]), or when a member of the last commit is
// no longer announced and this client is the announced member with the
// lowest username among those holding the current epoch secret (the
// announced members of the last commit), or among all announced members
// when none does.
func (s *State) ShouldCommit(announced []string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	self := s.cfg.Self
	if !slices.Contains(announced, self) {
		return false
	}
	if !slices.Contains(s.members, self) || s.secret == nil {
		return true
	}
	var holders []string
	left := false
	for _, m := range s.members {
		if slices.Contains(announced, m) {
			holders = append(holders, m)
		} else {
			left = true
		}
	}
	if !left {
		return false
	}
	if len(holders) == 0 {
		holders = announced
	}
	return slices.Min(holders) == self
}
