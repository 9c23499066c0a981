package client

import (
	"bytes"
	"errors"
	"fmt"
	"slices"

	"github.com/blindpost/blindpost/impl/e2ee"
	"github.com/blindpost/blindpost/impl/e2ee/group"
	"github.com/blindpost/blindpost/impl/e2ee/identity"
)

// A group member whose identity key changed (a new installation, a name the operator freed)
// commits with its new key. Checked against the old pin its signature fails (GRP-3), but the
// truth the user needs is that the key changed (spec §6.6 [TRUST-2]): the commit is held, and
// once the user trusts the new key it is verified again, so the member is readmitted without
// anyone leaving and rejoining.

// changedCommitter reports the committer of a commit rejected with bad_signature whose listed
// key differs from its pin and verifies the signature: a consistent new identity, not a forgery
// of the pinned one. The caller holds c.mu.
func (c *Client) changedCommitter(cm *group.Commit, err error) (string, bool) {
	if !errors.Is(err, e2ee.BadSignature) {
		return "", false
	}
	for _, m := range cm.Members {
		if m.User != cm.Committer || m.User == c.user {
			continue
		}
		pinned, ok := c.peers.Lookup(m.User)
		if !ok || bytes.Equal(pinned, m.IdentityKey) {
			return "", false
		}
		input := group.CommitSignatureInput(group.CommitHash(cm), cm.Confirm)
		return m.User, identity.Verify(m.IdentityKey, input, cm.Sig)
	}
	return "", false
}

// holdChangedCommitLocked reports a commit by a member whose key changed as key_changed and
// keeps it for Trust. It reports whether it did.
func (c *Client) holdChangedCommitLocked(g *chatGroup, cm *group.Commit, err error) bool {
	user, ok := c.changedCommitter(cm, err)
	if !ok {
		return false
	}
	var listed []byte
	for _, m := range cm.Members {
		if m.User == user {
			listed = m.IdentityKey
		}
	}
	pinned, _ := c.peers.Lookup(user)
	c.security(SecurityEvent{Code: e2ee.KeyChanged, Rule: "TRUST-2", Peer: user, Group: g.name,
		Detail: fmt.Sprintf("%s's identity key changed: the commit of epoch %d is signed by %s, not the pinned %s; "+
			"compare safety numbers, then trust the new key to readmit %s", user, cm.Epoch,
			identity.Fingerprint(listed), identity.Fingerprint(pinned), user)})
	held := *cm
	g.keyHeld, g.keyHeldAnnounced = &held, slices.Clone(g.announced)
	return true
}

// readmitLocked runs after the user trusted peer's new key: a held commit of peer's is verified
// again, and every group decides again whether this client commits (the lowest-named member
// rekeys the group with the new key, spec §7.1 "Who commits").
func (c *Client) readmitLocked(peer string) {
	for _, g := range c.groups {
		if g.st == nil {
			continue
		}
		if h := g.keyHeld; h != nil && h.Committer == peer {
			g.keyHeld = nil
			// The commit is checked as it would have been when it came (GRP-6): against the
			// announcement it was made for. Members that left since are rekeyed out next by the
			// lowest-named member (spec §7.1 "Who commits").
			g.st.Announce(g.keyHeldAnnounced)
			info, err := g.st.ReceiveCommit(h)
			g.st.Announce(g.announced)
			g.gen++
			if err != nil {
				c.securityErr(err, peer, SessionID{}, g.name)
				c.releaseKeyHeldLocked(g)
			} else {
				c.epochAcceptedLocked(g, info) // which releases the held messages into the epoch
			}
			g.updateReadyLocked()
		}
		g.waitAnnounce = false
		c.maybeCommitLocked(g)
	}
}

// maxKeyHeldMsgs bounds the group messages kept behind a commit held for a changed key: one
// acknowledgement per other member, and some messages, in a group of usual size.
const maxKeyHeldMsgs = 64

// holdForKeyLocked keeps a group message of the epoch whose commit waits for the user to trust
// a changed key: the other members acknowledged that epoch meanwhile (spec §7.3), and once the
// commit is accepted their acknowledgements count. It reports whether it kept m.
func (c *Client) holdForKeyLocked(g *chatGroup, m groupMessageMsg) bool {
	h := g.keyHeld
	if h == nil || m.msg.Epoch != h.Epoch || len(g.keyHeldMsgs) >= maxKeyHeldMsgs {
		return false
	}
	g.keyHeldMsgs = append(g.keyHeldMsgs, m)
	return true
}

// releaseKeyHeldLocked checks the messages kept behind a held commit, now that the commit was
// accepted or dropped: they open in its epoch, or are rejected as any message of another epoch
// (spec §7.2 [GRP-14]).
func (c *Client) releaseKeyHeldLocked(g *chatGroup) {
	held := g.keyHeldMsgs
	g.keyHeldMsgs = nil
	for _, m := range held {
		if c.groups[g.name] != g || g.st == nil {
			return
		}
		c.groupMessageLocked(m)
	}
}
