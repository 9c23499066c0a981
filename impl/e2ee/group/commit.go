package group

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/blindpost/blindpost/impl/e2ee"
	"github.com/blindpost/blindpost/impl/e2ee/identity"
)

// Pending is a commit this client created and sent, waiting for the server's
// ack before it becomes the current epoch ([State.Apply]).
type Pending struct {
	Commit  Commit
	hash    []byte
	secret  []byte
	keys    map[string]ed25519.PublicKey
	unknown []Member // to pin when applied (TRUST-1)
}

// Discard erases the pending epoch secret, for example when the server
// answered stale_epoch.
func (p *Pending) Discard() { clear(p.secret) }

// CreateCommit creates the commit of the next epoch for the given members,
// as the committer (spec §7.1). members are the announced members with the
// keys the directory served; this client's own entry is added or replaced
// with its own keys. Every other member's key is checked against its pin
// (TRUST-2: a changed key refuses the epoch with key_changed) and its group
// key signature verified (KEY-5). The epoch secret is fresh from cfg.Rand
// (GRP-1) and wrapped to every member, this client included.
//
// The HPKE ephemerals come from crypto/rand, not cfg.Rand (crypto/hpke takes
// no reader); vector generators make them deterministic with
// testing/cryptotest.SetGlobalRandom.
func (s *State) CreateCommit(members []Member) (*Pending, error) {
	s.mu.Lock()
	epoch, prev := s.epoch+1, slices.Clone(s.lastHash)
	s.mu.Unlock()
	if epoch > MaxEpoch {
		return nil, errors.New("e2ee: epoch counter exhausted")
	}
	if len(members) > 2*MaxMembers {
		return nil, fmt.Errorf("e2ee: %d members, at most %d fit in a commit", len(members), MaxMembers)
	}
	list, keys, unknown, err := s.memberList(members)
	if err != nil {
		return nil, err
	}
	if len(list) > MaxMembers {
		return nil, fmt.Errorf("e2ee: %d members, at most %d fit in a commit", len(list), MaxMembers)
	}
	secret := make([]byte, SecretSize)
	if _, err := io.ReadFull(s.rand(), secret); err != nil {
		return nil, fmt.Errorf("e2ee: read epoch secret: %w", err)
	}
	c := Commit{Group: s.cfg.Group, Epoch: epoch, Committer: s.cfg.Self, Prev: prev, Members: list}
	secrets := make([][]byte, len(list))
	for i := range secrets {
		secrets[i] = secret // spec §7.1 [GRP-1]: the same secret to every member
	}
	hash, err := s.seal(&c, secrets, secret)
	if err != nil {
		clear(secret)
		return nil, err
	}
	return &Pending{Commit: c, hash: hash, secret: secret, keys: keys, unknown: unknown}, nil
}

func (s *State) rand() io.Reader {
	if s.cfg.Rand != nil {
		return s.cfg.Rand
	}
	return rand.Reader
}

// memberList sorts the members, puts this client's own entry in, and checks
// every other entry's pin and group key signature.
func (s *State) memberList(members []Member) ([]Member, map[string]ed25519.PublicKey, []Member, error) {
	self := s.cfg.Self
	list := []Member{s.own}
	keys := map[string]ed25519.PublicKey{self: s.own.IdentityKey}
	var unknown []Member
	for _, m := range members {
		if m.User == self {
			if subtle.ConstantTimeCompare(m.IdentityKey, s.own.IdentityKey) != 1 {
				return nil, nil, nil, errors.New("e2ee: own member entry has another identity key")
			}
			continue
		}
		if _, dup := keys[m.User]; dup {
			return nil, nil, nil, fmt.Errorf("e2ee: member %s listed twice", m.User)
		}
		isNew, err := s.checkPin(m, e2ee.KeyChanged, "TRUST-2")
		if err != nil {
			return nil, nil, nil, err
		}
		if err := identity.VerifyGroupKeySig(m.User, m.IdentityKey, m.GroupKey, m.GroupKeySig); err != nil {
			return nil, nil, nil, err // spec §3.2 [KEY-5]
		}
		if isNew {
			unknown = append(unknown, m)
		}
		keys[m.User] = slices.Clone(m.IdentityKey)
		list = append(list, m)
	}
	slices.SortFunc(list, func(a, b Member) int { return strings.Compare(a.User, b.User) })
	return list, keys, unknown, nil
}

// checkPin compares m's identity key with its pin and reports whether it has
// none yet; a different key is rejected with outcome o under rule.
func (s *State) checkPin(m Member, o e2ee.Outcome, rule string) (bool, error) {
	if len(m.IdentityKey) != identity.PublicKeySize {
		return false, e2ee.Reject(e2ee.Malformed, "MSG-1", "identity key of %s is %d bytes", m.User, len(m.IdentityKey))
	}
	pinned, ok := s.cfg.Pins.Lookup(m.User)
	if !ok {
		return true, nil
	}
	if subtle.ConstantTimeCompare(pinned, m.IdentityKey) != 1 {
		return false, e2ee.Reject(o, rule, "identity key listed for %s (%s) differs from its pin (%s)",
			m.User, identity.Fingerprint(m.IdentityKey), identity.Fingerprint(pinned))
	}
	return false, nil
}

// seal fills in the wraps (secrets[i] to member i), the confirmation tag
// (from confirmSecret) and the signature of c, and returns its hash. A
// honest committer passes one secret everywhere; tests pass different ones
// to play a committer that splits the group.
func (s *State) seal(c *Commit, secrets [][]byte, confirmSecret []byte) ([]byte, error) {
	c.Wraps = make([]Wrap, len(c.Members))
	for i, m := range c.Members {
		w, err := identity.SealGroupWrap(m.GroupKey, WrapInfo(c.Group, c.Epoch, m.User), secrets[i])
		if err != nil {
			return nil, fmt.Errorf("e2ee: wrap to %s: %w", m.User, err)
		}
		c.Wraps[i] = Wrap{User: m.User, Wrap: w}
	}
	hash := CommitHash(c)
	confirm, err := ConfirmTag(confirmSecret, c.Group, c.Epoch, hash)
	if err != nil {
		return nil, err
	}
	c.Confirm = confirm
	c.Sig = s.cfg.Identity.Sign(CommitSignatureInput(hash, confirm))
	return hash, nil
}

// Apply makes a commit this client created the current epoch, once the
// server acknowledged it (GSV-5). It fails with stale_epoch when another
// epoch was accepted in the meantime.
func (s *State) Apply(p *Pending) (EpochInfo, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p.secret == nil || p.Commit.Epoch != s.epoch+1 || !slices.Equal(p.Commit.Prev, s.lastHash) {
		return EpochInfo{}, e2ee.Reject(e2ee.StaleEpoch, "GRP-4", "pending commit for epoch %d no longer follows epoch %d", p.Commit.Epoch, s.epoch)
	}
	newPins, err := s.pinAll(p.unknown, e2ee.KeyChanged, "TRUST-2")
	if err != nil {
		return EpochInfo{}, err
	}
	if err := s.install(&p.Commit, p.hash, p.secret, p.keys); err != nil {
		return EpochInfo{}, err
	}
	p.secret = nil // now owned by the state
	return s.info(&p.Commit, newPins), nil
}

// pinAll pins the members that had no pin (TRUST-1) and returns their names.
func (s *State) pinAll(members []Member, o e2ee.Outcome, rule string) ([]string, error) {
	var names []string
	for _, m := range members {
		isNew, err := s.cfg.Pins.Pin(m.User, m.IdentityKey)
		if errors.Is(err, e2ee.KeyChanged) { // pinned by someone else meanwhile
			return nil, e2ee.Wrap(o, rule, err, "identity key of %s differs from its pin", m.User)
		}
		if err != nil {
			return nil, err
		}
		if isNew {
			names = append(names, m.User)
		}
	}
	return names, nil
}
