package group

import (
	"bytes"
	"slices"

	"github.com/blindpost/blindpost/impl/e2ee"
)

// Epoch acknowledgements (spec §7.3). A member that accepts another member's commit sends, as
// its first group message of the new epoch, a plaintext naming the hash of that commit
// (GRP-21). A member that opens one checks that it names the commit it accepted for that epoch
// (GRP-22): the sender then holds the same epoch, keyed by the same commit. The JSON form of the
// plaintext (schemas/e2e/epoch_ack.json) is the client's; this package holds the hash.

// AckHash returns the hash of the commit of the current epoch, which this member's epoch
// acknowledgement names (spec §7.3 [GRP-21]); nil while the member holds no epoch secret.
func (s *State) AckHash() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.secret == nil {
		return nil
	}
	return slices.Clone(s.lastHash)
}

// CheckEpochAck checks the commit hash of an epoch acknowledgement that from sent in a group
// message of epoch, which [State.Open] accepted: it must be the hash of the commit this member
// accepted for that epoch (spec §7.3 [GRP-22], bad_epoch_ack). The hash is public, so a plain
// comparison will do.
func (s *State) CheckEpochAck(from string, epoch uint64, hash []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if epoch != s.epoch || s.secret == nil || !bytes.Equal(hash, s.lastHash) {
		return e2ee.Reject(e2ee.BadEpochAck, "GRP-22", "%s acknowledges another commit than the one of epoch %d", from, epoch)
	}
	return nil
}
