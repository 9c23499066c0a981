package group

import (
	"crypto/hmac"
	"crypto/sha256"

	"github.com/blindpost/blindpost/impl/e2ee/canonical"
)

// Sizes of group values. spec §7
const (
	SecretSize  = 32 // epoch secret
	ConfirmSize = sha256.Size
	HashSize    = sha256.Size
	MaxJump     = 1 << 16   // GRP-15
	MaxEpoch    = 1<<32 - 1 // the largest epoch the schemas allow
	MaxMembers  = 128       // the most members a commit lists (schemas)
)

// Content returns the commit content of spec §7.1:
//
//	enc(text group, uint64 epoch, text committer, bytes prev,
//	    list(bytes member_1, …), list(bytes wrapentry_1, …))
//
// with member_i = enc(text user, bytes identity_key, bytes group_key, bytes
// group_key_sig) and wrapentry_i = enc(text user_i, bytes wrap_i). Confirm
// and Sig are not part of it.
func Content(c *Commit) []byte {
	size := 64 + len(c.Group) + len(c.Committer) + len(c.Prev)
	for i, m := range c.Members {
		size += 40 + 2*len(m.User) + len(m.IdentityKey) + len(m.GroupKey) + len(m.GroupKeySig)
		if i < len(c.Wraps) {
			size += len(c.Wraps[i].Wrap)
		}
	}
	b := make([]byte, 0, size)
	b = canonical.AppendText(b, c.Group)
	b = canonical.AppendUint64(b, c.Epoch)
	b = canonical.AppendText(b, c.Committer)
	b = canonical.AppendBytes(b, c.Prev)
	// A bytes field holding an encoding is framed like a list: its length
	// is written once its contents are appended.
	b, list := canonical.BeginList(b)
	for _, m := range c.Members {
		var field int
		b, field = canonical.BeginList(b)
		b = canonical.AppendText(b, m.User)
		b = canonical.AppendBytes(b, m.IdentityKey)
		b = canonical.AppendBytes(b, m.GroupKey)
		b = canonical.AppendBytes(b, m.GroupKeySig)
		b = canonical.EndList(b, field)
	}
	b = canonical.EndList(b, list)
	b, list = canonical.BeginList(b)
	for _, w := range c.Wraps {
		var field int
		b, field = canonical.BeginList(b)
		b = canonical.AppendText(b, w.User)
		b = canonical.AppendBytes(b, w.Wrap)
		b = canonical.EndList(b, field)
	}
	return canonical.EndList(b, list)
}

// CommitHash returns commit_hash = SHA-256("blindpost/1 commit" || content),
// the value the next commit's prev holds; a joiner computes it from the
// last_commit of group_members (GRP-11). spec §7.1
func CommitHash(c *Commit) []byte {
	h := sha256.New()
	h.Write([]byte(canonical.LabelCommit))
	h.Write(Content(c))
	return h.Sum(nil)
}

// WrapInfo returns wrap_info = enc(text "blindpost/1 group wrap", text group,
// uint64 epoch, text user), the HPKE info of a member's wrap. spec §7.1
func WrapInfo(group string, epoch uint64, user string) []byte {
	b := canonical.AppendText(nil, canonical.LabelGroupWrap)
	b = canonical.AppendText(b, group)
	b = canonical.AppendUint64(b, epoch)
	return canonical.AppendText(b, user)
}

// ConfirmTag returns confirm = HMAC-SHA256(Expand(epoch_secret, "confirm",
// enc(text group, uint64 epoch), 32), commit_hash). spec §7.1
func ConfirmTag(secret []byte, group string, epoch uint64, commitHash []byte) ([]byte, error) {
	ctx := canonical.AppendUint64(canonical.AppendText(nil, group), epoch)
	key, err := canonical.Expand(secret, canonical.ExpandConfirm, ctx, 32)
	if err != nil {
		return nil, err
	}
	defer clear(key)
	m := hmac.New(sha256.New, key)
	m.Write(commitHash)
	return m.Sum(nil), nil
}

// CommitSignatureInput returns the message the committer signs:
// "blindpost/1 commit sig" || commit_hash || confirm. spec §7.1
func CommitSignatureInput(commitHash, confirm []byte) []byte {
	b := append([]byte(canonical.LabelCommitSig), commitHash...)
	return append(b, confirm...)
}

// SenderKeys returns k_s and iv_s of sender in an epoch:
//
//	Expand(epoch_secret, "group sender key" | "group sender iv", enc(text group, uint64 epoch, text sender), 32 | 12)
//
// spec §7.2
func SenderKeys(secret []byte, group string, epoch uint64, sender string) (key, iv []byte, err error) {
	ctx := canonical.AppendText(canonical.AppendUint64(canonical.AppendText(nil, group), epoch), sender)
	if key, err = canonical.Expand(secret, canonical.ExpandGroupSenderKey, ctx, 32); err != nil {
		return nil, nil, err
	}
	if iv, err = canonical.Expand(secret, canonical.ExpandGroupSenderIV, ctx, 12); err != nil {
		return nil, nil, err
	}
	return key, iv, nil
}

// AppendMessageAD appends the associated data of a group message, which the
// sender also signs (with the ciphertext after it):
//
//	enc(text "blindpost/1 group msg", text group, uint64 epoch, text sender, uint64 n)
//
// spec §7.2
func AppendMessageAD(dst []byte, group string, epoch uint64, sender string, n uint64) []byte {
	dst = canonical.AppendText(dst, canonical.LabelGroupMsg)
	dst = canonical.AppendText(dst, group)
	dst = canonical.AppendUint64(dst, epoch)
	dst = canonical.AppendText(dst, sender)
	return canonical.AppendUint64(dst, n)
}
