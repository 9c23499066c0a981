package group

import (
	"crypto/cipher"
	"crypto/ed25519"
	"encoding/binary"
	"errors"

	"github.com/blindpost/blindpost/impl/e2ee"
	"github.com/blindpost/blindpost/impl/e2ee/identity"
	"github.com/blindpost/blindpost/impl/e2ee/internal/suite"
)

// ErrCannotSend means this client holds no secret for the current epoch (it
// just joined, or left) and cannot send group messages until a commit that
// lists it is accepted.
var ErrCannotSend = errors.New("e2ee: no epoch secret to send with")

// Limits of a sender in one epoch.
var (
	// ErrMessageLimit means this client sent its last allowed message in the
	// epoch; it commits a new epoch for the same members first (GRP-18).
	ErrMessageLimit = errors.New("e2ee: group message limit reached, commit a new epoch")
	// ErrTooLarge means the content exceeds MaxPlaintext.
	ErrTooLarge = errors.New("e2ee: content too large for one group message")
)

// MaxMessages bounds a sender's counter in one epoch: no message number 2^24
// or above is sent. spec §7.2 [GRP-18]
const MaxMessages = 1 << 24

// MaxPlaintext is the largest content Seal accepts: a ciphertext holds at
// most 32766 bytes, its 16-byte tag included (spec §7.2, the schemas).
const MaxPlaintext = 32750

// senderState is one sender's key, IV and counter in the current epoch.
type senderState struct {
	aead    cipher.AEAD
	iv      [suite.NonceSize]byte
	nonce   [suite.NonceSize]byte
	ad      []byte // associated data with the counter last
	next    uint64 // own sending: next counter
	highest uint64 // receiving: highest accepted counter
	any     bool   // receiving: a message was accepted
}

func newSenderState(secret []byte, group string, epoch uint64, sender string) (*senderState, error) {
	key, iv, err := SenderKeys(secret, group, epoch, sender)
	if err != nil {
		return nil, err
	}
	defer clear(key)
	aead, err := suite.NewAEAD(key)
	if err != nil {
		return nil, err
	}
	st := &senderState{aead: aead, ad: AppendMessageAD(nil, group, epoch, sender, 0)}
	copy(st.iv[:], iv)
	return st, nil
}

// prepare sets the nonce and associated data of counter n.
func (st *senderState) prepare(n uint64) (nonce, ad []byte) {
	suite.Nonce(&st.nonce, &st.iv, n)
	ad = st.ad
	binary.BigEndian.PutUint64(ad[len(ad)-8:], n) // the uint64 n that ends the ad
	return st.nonce[:], ad
}

// Seal encrypts content as this client's next group message and signs it
// (spec §7.2): ct = AES-256-GCM(k_s, nonce, content, ad), sig = Sign(IK,
// ad || ct). The ciphertext is appended to dst; Message.CT is the appended
// part. Counters start at 0 in each epoch (GRP-13).
func (s *State) Seal(dst, content []byte) (Message, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.send
	if st == nil {
		return Message{}, ErrCannotSend
	}
	if st.next >= MaxMessages { // spec §7.2 [GRP-18]
		return Message{}, ErrMessageLimit
	}
	if len(content) > MaxPlaintext {
		return Message{}, ErrTooLarge
	}
	n := st.next
	nonce, ad := st.prepare(n)
	out := st.aead.Seal(dst, nonce, content, ad)
	ct := out[len(dst):]
	s.scratch = append(append(s.scratch[:0], ad...), ct...)
	sig := s.cfg.Identity.Sign(s.scratch)
	st.next++
	return Message{Group: s.cfg.Group, Epoch: s.epoch, N: n, CT: ct, Sig: sig}, nil
}

// Open verifies and decrypts a group message that the server stamped as
// coming from from, and appends its plaintext to dst. The checks run in the
// order of spec §7.2:
//
//   - the message names this group (unexpected_message, GRP-14);
//   - the epoch is the current one and this client holds its secret (stale_epoch, GRP-14);
//   - from is a member of the current epoch other than this client
//     (forged_sender, GRP-16);
//   - the counter is above the highest accepted from this sender in this
//     epoch (replayed_counter) and not more than 2^16 above it, or not above
//     2^16 for a sender's first message (counter_jump), before any signature
//     or decryption work (GRP-15);
//   - sig verifies with the sender's key as pinned when the epoch was
//     accepted (forged_sender, GRP-16);
//   - the ciphertext authenticates (bad_tag, GRP-17; the epoch goes on).
//
// A rejected message changes nothing. Checking that the plaintext is a
// content object is the caller's job.
func (s *State) Open(dst []byte, from string, m *Message) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if m.Group != s.cfg.Group {
		return nil, e2ee.Reject(e2ee.UnexpectedMessage, "GRP-14", "message for group %q reached the state of %q", m.Group, s.cfg.Group)
	}
	if m.Epoch != s.epoch || s.secret == nil { // spec §7.2 [GRP-14]
		return nil, e2ee.Reject(e2ee.StaleEpoch, "GRP-14", "message for epoch %d, current epoch is %d%s", m.Epoch, s.epoch, s.noSecret())
	}
	key, err := s.member(from) // spec §7.2 [GRP-16], membership
	if err != nil {
		return nil, err
	}
	st := s.recv[from]
	if err := checkCounter(st, m.N, from); err != nil { // spec §7.2 [GRP-15]
		return nil, err
	}
	if err := s.checkSig(key, from, m); err != nil { // spec §7.2 [GRP-16], signature
		return nil, err
	}
	if st == nil {
		var err error
		if st, err = newSenderState(s.secret, s.cfg.Group, s.epoch, from); err != nil {
			return nil, err
		}
		s.recv[from] = st
	}
	nonce, ad := st.prepare(m.N)
	out, err := st.aead.Open(dst, nonce, m.CT, ad)
	if err != nil { // spec §7.2 [GRP-17]
		return nil, e2ee.Reject(e2ee.BadTag, "GRP-17", "message %d from %s failed authentication", m.N, from)
	}
	st.highest, st.any = m.N, true
	return out, nil
}

func (s *State) noSecret() string {
	if s.secret == nil {
		return " and this client holds no secret for it"
	}
	return ""
}

// checkCounter applies GRP-15 before any cryptographic work.
func checkCounter(st *senderState, n uint64, from string) error {
	if st == nil || !st.any {
		if n > MaxJump {
			return e2ee.Reject(e2ee.CounterJump, "GRP-15", "first message from %s has counter %d, above 2^16", from, n)
		}
		return nil
	}
	if n <= st.highest {
		return e2ee.Reject(e2ee.ReplayedCounter, "GRP-15", "message %d from %s is not above %d", n, from, st.highest)
	}
	if n-st.highest > MaxJump {
		return e2ee.Reject(e2ee.CounterJump, "GRP-15", "message %d from %s jumps more than 2^16 past %d", n, from, st.highest)
	}
	return nil
}

// member returns the identity key the current epoch's commit lists for from, who must be a
// member other than this client.
func (s *State) member(from string) (ed25519.PublicKey, error) {
	key, ok := s.keys[from]
	if !ok || from == s.cfg.Self {
		return nil, e2ee.Reject(e2ee.ForgedSender, "GRP-16", "%s is not a member of epoch %d", from, s.epoch)
	}
	return key, nil
}

// checkSig checks the sender's signature over ad || ct.
func (s *State) checkSig(key ed25519.PublicKey, from string, m *Message) error {
	s.scratch = AppendMessageAD(s.scratch[:0], s.cfg.Group, s.epoch, from, m.N)
	s.scratch = append(s.scratch, m.CT...)
	if !identity.Verify(key, s.scratch, m.Sig) {
		return e2ee.Reject(e2ee.ForgedSender, "GRP-16", "signature of message %d does not verify with %s's key", m.N, from)
	}
	return nil
}
