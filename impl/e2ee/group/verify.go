package group

import (
	"bytes"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/subtle"
	"slices"

	"github.com/blindpost/blindpost/impl/e2ee"
	"github.com/blindpost/blindpost/impl/e2ee/identity"
)

// accepted is what a verified commit yields.
type accepted struct {
	hash    []byte
	secret  []byte
	keys    map[string]ed25519.PublicKey
	unknown []Member
}

// ReceiveCommit verifies a commit forwarded by the server and, when every
// check passes, makes it the current epoch. The checks run in this order,
// each with its outcome:
//
//  1. the committer is listed (not_listed, GRP-2);
//  2. sig verifies with the committer's pinned key, or with its listed key
//     when it has no pin yet (bad_signature, GRP-3);
//  3. the epoch is the current one plus one (stale_epoch, GRP-4);
//  4. prev is the last commit's hash, or empty when there is none (bad_prev, GRP-5);
//  5. the members are sorted without duplicates and the wraps match them one
//     to one (bad_members), their keys and wraps have the sizes the schema
//     gives (malformed, MSG-1), this client is listed (not_listed), the
//     members are those of the last announcement (bad_members), and this
//     client is listed with its own identity key (key_not_pinned) (GRP-6);
//  6. every listed identity key matches its pin (key_not_pinned), or, not
//     pinned yet, the directory's answer (key_not_pinned, GRP-20), and every
//     group key signature verifies (bad_signature) (GRP-7);
//  7. this client's wrap opens with its group key (bad_wrap, GRP-8);
//  8. confirm matches the unwrapped secret, compared in constant time
//     (bad_confirmation_tag, GRP-9).
//
// A rejected commit leaves the state, and the pins, unchanged (GRP-10).
// Keys seen for the first time are pinned only once the commit is accepted.
func (s *State) ReceiveCommit(c *Commit) (EpochInfo, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c.Group != s.cfg.Group {
		return EpochInfo{}, e2ee.Reject(e2ee.UnexpectedMessage, "GRP-11", "commit for group %q reached the state of %q", c.Group, s.cfg.Group)
	}
	a, err := s.verify(c)
	if err != nil {
		return EpochInfo{}, err // spec §7.1 [GRP-10]
	}
	newPins, err := s.pinAll(a.unknown, e2ee.KeyNotPinned, "GRP-7")
	if err != nil {
		clear(a.secret)
		return EpochInfo{}, err
	}
	if err := s.install(c, a.hash, a.secret, a.keys); err != nil {
		return EpochInfo{}, err
	}
	return s.info(c, newPins), nil
}

func (s *State) verify(c *Commit) (*accepted, error) {
	committer := slices.IndexFunc(c.Members, func(m Member) bool { return m.User == c.Committer })
	if committer < 0 { // spec §7.1 [GRP-2]
		return nil, e2ee.Reject(e2ee.NotListed, "GRP-2", "committer %s is not among the members", c.Committer)
	}
	a := &accepted{hash: CommitHash(c)}
	if err := s.checkCommitSig(c, c.Members[committer], a.hash); err != nil {
		return nil, err
	}
	if s.epoch == ^uint64(0) || c.Epoch != s.epoch+1 { // spec §7.1 [GRP-4]
		return nil, e2ee.Reject(e2ee.StaleEpoch, "GRP-4", "commit for epoch %d, current epoch is %d", c.Epoch, s.epoch)
	}
	if !bytes.Equal(c.Prev, s.lastHash) { // spec §7.1 [GRP-5]
		return nil, e2ee.Reject(e2ee.BadPrev, "GRP-5", "prev does not chain to the last accepted commit")
	}
	self, err := s.checkMembers(c)
	if err != nil {
		return nil, err
	}
	if a.keys, a.unknown, err = s.checkKeys(c); err != nil {
		return nil, err
	}
	if a.secret, err = s.openWrap(c, self); err != nil {
		return nil, err
	}
	if err := checkConfirm(c, a.secret, a.hash); err != nil {
		clear(a.secret)
		return nil, err
	}
	return a, nil
}

// checkCommitSig verifies sig with the committer's pinned key (TRUST-3), or
// its listed key when it has none yet. spec §7.1 [GRP-3]
func (s *State) checkCommitSig(c *Commit, committer Member, hash []byte) error {
	key := []byte(committer.IdentityKey)
	if pinned, ok := s.cfg.Pins.Lookup(committer.User); ok {
		key = pinned
	} else if identity.CanonicalKey(key) && !identity.ValidKey(key) { // spec §3.1 [KEY-7]
		return e2ee.Reject(e2ee.BadSignature, "KEY-7", "the identity key listed for committer %s is of small or mixed order", c.Committer)
	}
	if !identity.Verify(key, CommitSignatureInput(hash, c.Confirm), c.Sig) {
		return e2ee.Reject(e2ee.BadSignature, "GRP-3", "commit signature of %s does not verify", c.Committer)
	}
	return nil
}

// checkMembers checks the shape of the member and wrap lists and returns this
// client's index. spec §7.1 [GRP-6]
func (s *State) checkMembers(c *Commit) (int, error) {
	if len(c.Wraps) != len(c.Members) {
		return 0, e2ee.Reject(e2ee.BadMembers, "GRP-6", "%d wraps for %d members", len(c.Wraps), len(c.Members))
	}
	self := -1
	for i, m := range c.Members {
		if i > 0 && c.Members[i-1].User >= m.User {
			return 0, e2ee.Reject(e2ee.BadMembers, "GRP-6", "members not sorted or duplicated at %s", m.User)
		}
		if c.Wraps[i].User != m.User {
			return 0, e2ee.Reject(e2ee.BadMembers, "GRP-6", "wrap %d is for %s, member %d is %s", i, c.Wraps[i].User, i, m.User)
		}
		if len(m.IdentityKey) != identity.PublicKeySize || len(m.GroupKey) != identity.GroupKeySize || len(c.Wraps[i].Wrap) != identity.WrapSize {
			return 0, e2ee.Reject(e2ee.Malformed, "MSG-1", "key or wrap of %s has the wrong size for its schema", m.User)
		}
		if m.User == s.cfg.Self {
			self = i
		}
	}
	if self < 0 {
		return 0, e2ee.Reject(e2ee.NotListed, "GRP-6", "commit for epoch %d does not list %s", c.Epoch, s.cfg.Self)
	}
	if s.announced != nil && !sameUsers(c.Members, s.announced) {
		return 0, e2ee.Reject(e2ee.BadMembers, "GRP-6", "commit for epoch %d lists other members than the relay announced", c.Epoch)
	}
	if !bytes.Equal(c.Members[self].IdentityKey, s.cfg.Identity.Public()) {
		return 0, e2ee.Reject(e2ee.KeyNotPinned, "GRP-7", "commit lists another identity key for %s", s.cfg.Self)
	}
	return self, nil
}

// sameUsers reports whether the members are the announced users as sets: order and duplicates
// are the sort check's to refuse, above.
func sameUsers(members []Member, announced []string) bool {
	listed := make(map[string]bool, len(members))
	for _, m := range members {
		if !slices.Contains(announced, m.User) {
			return false
		}
		listed[m.User] = true
	}
	return len(listed) == len(announced)
}

// checkKeys checks every listed identity key against its pin and every group
// key signature, and returns the members' keys and those not pinned yet.
// spec §7.1 [GRP-7]
func (s *State) checkKeys(c *Commit) (map[string]ed25519.PublicKey, []Member, error) {
	keys := make(map[string]ed25519.PublicKey, len(c.Members))
	var unknown []Member
	for _, m := range c.Members {
		isNew := false
		if m.User != s.cfg.Self {
			var err error
			if isNew, err = s.checkPin(m, e2ee.KeyNotPinned, "GRP-7"); err != nil {
				return nil, nil, err
			}
			if err := s.checkDirectory(m, isNew); err != nil {
				return nil, nil, err
			}
		}
		if err := identity.VerifyGroupKeySig(m.User, m.IdentityKey, m.GroupKey, m.GroupKeySig); err != nil {
			return nil, nil, e2ee.Wrap(e2ee.BadSignature, "GRP-7", err, "group key signature of %s does not verify", m.User)
		}
		if isNew {
			unknown = append(unknown, m)
		}
		keys[m.User] = slices.Clone(m.IdentityKey)
	}
	return keys, unknown, nil
}

// checkDirectory refuses a key seen for the first time that is not the one the directory serves:
// another member must never be able to choose the key this client pins (TRUST-1 trusts the
// relay on first use, as a 1:1 chat does). spec §7.1 [GRP-20]
func (s *State) checkDirectory(m Member, isNew bool) error {
	if !isNew || s.cfg.Directory == nil {
		return nil
	}
	served, ok := s.cfg.Directory(m.User)
	if !ok {
		return e2ee.Reject(e2ee.KeyNotPinned, "GRP-20", "the directory served no identity key for %s", m.User)
	}
	if subtle.ConstantTimeCompare(served, m.IdentityKey) != 1 {
		return e2ee.Reject(e2ee.KeyNotPinned, "GRP-20", "identity key listed for %s (%s) is not the directory's (%s)",
			m.User, identity.Fingerprint(m.IdentityKey), identity.Fingerprint(served))
	}
	return nil
}

// openWrap opens this client's wrap with its group key and the wrap info for
// its username. spec §7.1 [GRP-8]
func (s *State) openWrap(c *Commit, self int) ([]byte, error) {
	secret, err := s.cfg.Identity.OpenGroupWrap(WrapInfo(c.Group, c.Epoch, s.cfg.Self), c.Wraps[self].Wrap)
	if err != nil {
		return nil, e2ee.Wrap(e2ee.BadWrap, "GRP-8", err, "wrap for %s does not open", s.cfg.Self)
	}
	if len(secret) != SecretSize {
		clear(secret)
		return nil, e2ee.Reject(e2ee.BadWrap, "GRP-8", "wrapped secret is %d bytes, not %d", len(secret), SecretSize)
	}
	return secret, nil
}

// checkConfirm recomputes confirm from the unwrapped secret and compares it
// in constant time. spec §7.1 [GRP-9]
func checkConfirm(c *Commit, secret, hash []byte) error {
	want, err := ConfirmTag(secret, c.Group, c.Epoch, hash)
	if err != nil {
		return err
	}
	if !hmac.Equal(want, c.Confirm) {
		return e2ee.Reject(e2ee.BadConfirmationTag, "GRP-9", "confirmation tag does not match the secret wrapped to %s", c.Committer)
	}
	return nil
}
