package direct

import (
	"crypto/cipher"
	"errors"
	"sync"

	"github.com/blindpost/blindpost/impl/e2ee"
	"github.com/blindpost/blindpost/impl/e2ee/canonical"
	"github.com/blindpost/blindpost/impl/e2ee/internal/suite"
)

// Role says which side of a session this is.
type Role int

// The two roles of spec §1.2.
const (
	RoleInitiator Role = iota
	RoleResponder
)

// Kind is the kind of a record. spec §6.4
type Kind string

// The record kinds of spec §6.4 and §6.5.
const (
	KindMsg   Kind = "msg"
	KindClose Kind = "close"
)

// Record is one encrypted record: its kind, its counter and its ciphertext
// (with the 16-byte tag). spec §6.4
type Record struct {
	Kind Kind
	N    uint64
	CT   []byte
}

// MaxRecords is the per-direction record limit of REC-2: no record number
// 2^24 or above is sent. The last number is kept for the close record, so
// Seal refuses message number MaxRecords-1 and a session can always end
// verified.
const MaxRecords = 1 << 24

// MaxPlaintext is the largest plaintext Seal accepts: a ciphertext holds at
// most 32766 bytes, its 16-byte tag included (spec §7.2, the schemas).
const MaxPlaintext = 32750

// State is where a session stands.
type State int

// Session states.
const (
	StateOpen            State = iota // secured: records flow
	StateEnded                        // ended by a close record sent or received, or by Close
	StateEndedUnverified              // ended by chat_terminate without a close record (REC-11)
	StateFailed                       // ended by a record that failed authentication (REC-5)
)

var stateNames = [...]string{"secured", "ended", "ended_unverified", "failed"}

// String returns the state as the driver protocol names it (Appendix A.2).
func (s State) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return "unknown"
}

// Errors for local misuse of a Session (not rejections of received input).
var (
	// ErrSessionEnded means Seal was called on a session that has ended.
	ErrSessionEnded = errors.New("e2ee: session has ended")
	// ErrRecordLimit means the session sent its last allowed record; the
	// caller ends it and starts a new handshake (REC-2).
	ErrRecordLimit = errors.New("e2ee: record limit reached, start a new session")
	// ErrTooLarge means the plaintext exceeds MaxPlaintext.
	ErrTooLarge = errors.New("e2ee: plaintext too large for one record")
)

// Session is a confirmed 1:1 session: the only value that can seal and open
// records (HS-10). It is safe for concurrent use.
type Session struct {
	mu         sync.Mutex
	role       Role
	self, peer string
	h          []byte
	send, recv direction
	state      State
	scratch    []byte // reflection check output
	// closedByPeer is set by a valid close record until the one chat_terminate that follows it
	// (REC-9), which REC-12 exempts.
	closedByPeer bool
}

// direction is the key, IV, counter and associated-data buffers of one
// direction. The associated data of each kind is built once with the
// counter last, so a record only rewrites those 8 bytes.
type direction struct {
	aead    cipher.AEAD
	iv      [suite.NonceSize]byte
	nonce   [suite.NonceSize]byte
	next    uint64 // send: the next counter; receive: unused
	highest uint64 // receive: the highest accepted counter
	any     bool   // receive: a record was accepted
	msgAD   []byte
	closeAD []byte
}

func newSession(role Role, cfg Config, h []byte, k *keys) (*Session, error) {
	s := &Session{role: role, self: cfg.Initiator, peer: cfg.Responder, h: clone(h)}
	sendKey, sendIV, recvKey, recvIV := &k.keyI2R, &k.ivI2R, &k.keyR2I, &k.ivR2I
	if role == RoleResponder {
		s.self, s.peer = cfg.Responder, cfg.Initiator
		sendKey, sendIV, recvKey, recvIV = recvKey, recvIV, sendKey, sendIV
	}
	var err error
	if s.send, err = newDirection(sendKey[:], sendIV, h, s.self, s.peer); err != nil {
		return nil, err
	}
	if s.recv, err = newDirection(recvKey[:], recvIV, h, s.peer, s.self); err != nil {
		return nil, err
	}
	return s, nil
}

func newDirection(key []byte, iv *[suite.NonceSize]byte, h []byte, sender, recipient string) (direction, error) {
	aead, err := suite.NewAEAD(key)
	if err != nil {
		return direction{}, err
	}
	return direction{
		aead:    aead,
		iv:      *iv,
		msgAD:   AppendAD(nil, KindMsg, h, sender, recipient, 0),
		closeAD: AppendAD(nil, KindClose, h, sender, recipient, 0),
	}, nil
}

// AppendAD appends the associated data of a record (spec §6.4 [REC-8]):
//
//	enc(text "blindpost/1 " || kind, bytes h, text sender, text recipient, uint64 n)
func AppendAD(dst []byte, kind Kind, h []byte, sender, recipient string, n uint64) []byte {
	dst = canonical.AppendText(dst, canonical.Prefix+string(kind))
	dst = canonical.AppendBytes(dst, h)
	dst = canonical.AppendText(dst, sender)
	dst = canonical.AppendText(dst, recipient)
	return canonical.AppendUint64(dst, n)
}

// Nonce returns the nonce of record n under iv: iv XOR (0^32 || uint64_be(n)).
// spec §6.4
func Nonce(iv []byte, n uint64) []byte {
	var in, out [suite.NonceSize]byte
	copy(in[:], iv)
	suite.Nonce(&out, &in, n)
	return out[:]
}

// ad returns the direction's associated data of kind for counter n, or nil
// for an unknown kind.
func (d *direction) ad(kind Kind, n uint64) []byte {
	var ad []byte
	switch kind {
	case KindMsg:
		ad = d.msgAD
	case KindClose:
		ad = d.closeAD
	default:
		return nil
	}
	canonical.AppendUint64(ad[:len(ad)-8], n)
	return ad
}

// Seal encrypts plaintext as the next msg record (spec §6.4 [REC-1]). The
// ciphertext is appended to dst; Record.CT is the appended part, so a dst
// with enough capacity makes Seal allocation-free.
func (s *Session) Seal(dst, plaintext []byte) (Record, error) {
	return s.seal(KindMsg, dst, plaintext)
}

// SealClose encrypts the close record, whose plaintext is empty, and ends
// the session: its keys are erased (spec §6.5 [REC-9]). The caller sends
// it, then chat_terminate.
func (s *Session) SealClose(dst []byte) (Record, error) {
	return s.seal(KindClose, dst, nil)
}

func (s *Session) seal(kind Kind, dst, plaintext []byte) (Record, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state != StateOpen {
		return Record{}, ErrSessionEnded
	}
	n := s.send.next
	if n >= MaxRecords-1 && kind == KindMsg { // spec §6.4 [REC-2]
		return Record{}, ErrRecordLimit
	}
	if len(plaintext) > MaxPlaintext {
		return Record{}, ErrTooLarge
	}
	d := &s.send
	suite.Nonce(&d.nonce, &d.iv, n)
	out := d.aead.Seal(dst, d.nonce[:], plaintext, d.ad(kind, n))
	d.next++
	if kind == KindClose {
		s.end(StateEnded)
	}
	return Record{Kind: kind, N: n, CT: out[len(dst):]}, nil
}

// Open authenticates and decrypts a record from the peer and appends its
// plaintext to dst, as cipher.AEAD.Open does. The checks run in the order
// of spec §6.4:
//
//   - a session that has ended rejects every record (unexpected_message, REC-12);
//   - a counter not above the highest accepted is replayed_counter before
//     any decryption, and the session is unchanged (REC-3);
//   - a record that fails under the receive key but opens under this side's
//     own send key and associated data is reflected_record, and the session
//     is unchanged (REC-4);
//   - any other authentication failure is bad_tag and ends the session,
//     erasing its keys (REC-5).
//
// No plaintext is released before the tag verifies (REC-6). A valid close
// record ends the session and erases its keys (REC-10); Open then returns
// dst unchanged. Checking that a msg plaintext is a content object (REC-7)
// is the caller's job: it reports bad_content with [BadContent].
func (s *Session) Open(dst []byte, r Record) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state != StateOpen {
		return nil, e2ee.Reject(e2ee.UnexpectedMessage, "REC-12", "%s record %d for a session that has %s", r.Kind, r.N, s.state)
	}
	d := &s.recv
	ad := d.ad(r.Kind, r.N)
	if ad == nil {
		return nil, e2ee.Reject(e2ee.Malformed, "MSG-1", "unknown record kind %q", r.Kind)
	}
	if d.any && r.N <= d.highest { // spec §6.4 [REC-3]
		return nil, e2ee.Reject(e2ee.ReplayedCounter, "REC-3", "record %d is not above %d", r.N, d.highest)
	}
	suite.Nonce(&d.nonce, &d.iv, r.N)
	out, err := d.aead.Open(dst, d.nonce[:], r.CT, ad)
	if err != nil {
		if s.reflected(r) { // spec §6.4 [REC-4]
			return nil, e2ee.Reject(e2ee.ReflectedRecord, "REC-4", "%s record %d is one this side sent", r.Kind, r.N)
		}
		s.end(StateFailed) // spec §6.4 [REC-5]
		return nil, e2ee.Reject(e2ee.BadTag, "REC-5", "%s record %d failed authentication; session ended", r.Kind, r.N)
	}
	d.highest, d.any = r.N, true
	if r.Kind == KindClose {
		return s.closeReceived(dst, out)
	}
	return out, nil
}

// closeReceived ends the session on a valid close record. spec §6.5 [REC-10]
func (s *Session) closeReceived(dst, out []byte) ([]byte, error) {
	s.end(StateEnded)
	s.closedByPeer = true
	if len(out) != len(dst) {
		clear(out[len(dst):])
		return nil, e2ee.Reject(e2ee.BadContent, "REC-10", "close record carries %d bytes of plaintext; session ended", len(out)-len(dst))
	}
	return dst, nil
}

// reflected reports whether r opens under this side's own send key and the
// associated data of its own direction. spec §6.4 [REC-4]
func (s *Session) reflected(r Record) bool {
	d := &s.send
	suite.Nonce(&d.nonce, &d.iv, r.N)
	out, err := d.aead.Open(s.scratch[:0], d.nonce[:], r.CT, d.ad(r.Kind, r.N))
	clear(out)
	s.scratch = out[:0]
	return err == nil
}

// Terminate handles the peer's chat_terminate: it erases the keys and returns
// unverified_end (REC-11). On a session that has ended it accepts, silently,
// the one chat_terminate that follows a valid close record of the peer's, and
// rejects any other with unexpected_message. spec §6.5 [REC-11] [REC-12]
func (s *Session) Terminate() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state != StateOpen {
		if s.closedByPeer {
			s.closedByPeer = false
			return nil
		}
		return e2ee.Reject(e2ee.UnexpectedMessage, "REC-12", "chat_terminate from %s for a session that has ended", s.peer)
	}
	s.end(StateEndedUnverified)
	return terminated(s.peer)
}

// Close erases the session's keys without sending anything, for example when
// the client shuts down. It is safe to call more than once.
func (s *Session) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state == StateOpen {
		s.end(StateEnded)
	}
}

// end moves to state and erases the keys. The AES key schedules inside the
// cipher.AEAD values cannot be reached; dropping them leaves them to the
// garbage collector.
func (s *Session) end(state State) {
	s.state = state
	for _, d := range []*direction{&s.send, &s.recv} {
		d.aead = nil
		clear(d.iv[:])
		clear(d.nonce[:])
	}
}

// State returns where the session stands.
func (s *Session) State() State {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state
}

// Role returns this side's role.
func (s *Session) Role() Role { return s.role }

// Self returns this side's username; Peer the other side's.
func (s *Session) Self() string { return s.self }

// Peer returns the other side's username.
func (s *Session) Peer() string { return s.peer }

// TranscriptHash returns a copy of h, the final transcript hash.
func (s *Session) TranscriptHash() []byte { return clone(s.h) }

// Sent returns the number of records sealed so far.
func (s *Session) Sent() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.send.next
}

// BadContent returns the bad_content rejection the caller reports when a msg
// plaintext is not a valid content object (REC-7). The session stays open.
func BadContent(n uint64, why string) *e2ee.Error {
	return e2ee.Reject(e2ee.BadContent, "REC-7", "record %d: %s", n, why)
}
