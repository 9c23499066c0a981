package client

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/blindpost/blindpost/impl/e2ee"
	"github.com/blindpost/blindpost/impl/e2ee/identity"
	"github.com/blindpost/blindpost/impl/e2ee/trust"
)

// peerKeys are a user's keys as the directory serves them, with a verified group key signature.
type peerKeys struct {
	user        string
	identityKey ed25519.PublicKey
	groupKey    []byte
	groupKeySig []byte
}

// fetchKeys asks the directory for user's keys (spec §5.4) and verifies the group key signature
// against the identity key served with it (spec §3.2 [KEY-5]).
func (c *Client) fetchKeys(ctx context.Context, cn *conn, user string) (peerKeys, error) {
	m, err := cn.call(ctx, "get_pubkey", encodeGetPubkey(user), nil)
	if err != nil {
		return peerKeys{}, err
	}
	pk, ok := m.(pubkeyMsg)
	if !ok || pk.user != user {
		return peerKeys{}, fmt.Errorf("client: relay answered get_pubkey %s with %T", user, m)
	}
	if err := identity.VerifyGroupKeySig(user, pk.identityKey, pk.groupKey, pk.groupKeySig); err != nil { // spec §3.2 [KEY-5]
		c.securityErr(err, user, SessionID{}, "")
		return peerKeys{}, err
	}
	c.mu.Lock()
	c.dirKeys[user] = slices.Clone(pk.identityKey) // spec §7.1 [GRP-20]
	c.mu.Unlock()
	return peerKeys{user: user, identityKey: pk.identityKey, groupKey: pk.groupKey, groupKeySig: pk.groupKeySig}, nil
}

// checkPeer fetches user's keys and checks the identity key against the pin: pinned on first
// use and reported (spec §6.6 [TRUST-1]), refused with key_changed when it differs from the pin
// (TRUST-2). Sessions start only after this check (HS-2).
func (c *Client) checkPeer(ctx context.Context, cn *conn, user string) (peerKeys, error) {
	keys, err := c.fetchKeys(ctx, cn, user)
	if err != nil {
		return peerKeys{}, err
	}
	isNew, err := c.peers.Pin(user, keys.identityKey)
	if err != nil {
		if !c.securityErr(err, user, SessionID{}, "") { // spec §6.6 [TRUST-2]
			return peerKeys{}, fmt.Errorf("client: pin %s: %w", user, err)
		}
		return peerKeys{}, err
	}
	if isNew { // spec §6.6 [TRUST-1]
		c.emit(PinEvent{Peer: user, Fingerprint: identity.Fingerprint(keys.identityKey), Source: "directory"})
	}
	return keys, nil
}

// PeerKey checks peer's current directory key against the pin, pinning it on first use, and
// returns its fingerprint. A changed key is reported (SecurityEvent key_changed) and returned as
// an error with that outcome.
func (c *Client) PeerKey(ctx context.Context, peer string) (string, error) {
	if !trust.ValidUsername(peer) {
		return "", fmt.Errorf("client: %q is not a username: %w", peer, ErrBadArgument)
	}
	cn, err := c.needConn()
	if err != nil {
		return "", err
	}
	keys, err := c.checkPeer(ctx, cn, peer)
	if err != nil {
		return "", err
	}
	return identity.Fingerprint(keys.identityKey), nil
}

// ServedFingerprint returns the fingerprint of the identity key the directory serves for peer
// now, without pinning it: what a user compares, out of band, before trusting a changed key.
func (c *Client) ServedFingerprint(ctx context.Context, peer string) (string, error) {
	if !trust.ValidUsername(peer) {
		return "", fmt.Errorf("client: %q is not a username: %w", peer, ErrBadArgument)
	}
	cn, err := c.needConn()
	if err != nil {
		return "", err
	}
	keys, err := c.fetchKeys(ctx, cn, peer)
	if err != nil {
		return "", err
	}
	return identity.Fingerprint(keys.identityKey), nil
}

// PinnedFingerprint returns the fingerprint of peer's pinned identity key, if any.
func (c *Client) PinnedFingerprint(peer string) (string, bool) {
	key, ok := c.peers.Lookup(peer)
	if !ok {
		return "", false
	}
	return identity.Fingerprint(key), true
}

// Trust pins the identity key the directory serves for peer now, replacing the old pin: the
// user's explicit decision after a key change (spec §6.6 [TRUST-2]). Sessions with peer can start
// again afterwards.
func (c *Client) Trust(ctx context.Context, peer string) error {
	if !trust.ValidUsername(peer) || peer == c.user {
		return fmt.Errorf("client: cannot trust %q: %w", peer, ErrBadArgument)
	}
	cn, err := c.needConn()
	if err != nil {
		return err
	}
	keys, err := c.fetchKeys(ctx, cn, peer)
	if err != nil {
		return err
	}
	old, had := c.peers.Lookup(peer)
	if err := c.peers.Trust(peer, keys.identityKey); err != nil {
		return fmt.Errorf("client: %w", err)
	}
	replaced := had && !slices.Equal(old, keys.identityKey)
	if !had || replaced {
		c.emit(PinEvent{Peer: peer, Fingerprint: identity.Fingerprint(keys.identityKey), Replaced: replaced, Source: "directory"})
	}
	if replaced { // spec §6.6 [TRUST-2]: the groups take the trusted key in
		c.mu.Lock()
		c.readmitLocked(peer)
		c.mu.Unlock()
	}
	return nil
}

// SafetyNumber returns the 60-digit safety number of the user and peer (spec §6.6), computed
// from peer's pinned key; a peer without a pin is first checked against the directory and
// pinned. It also emits a SafetyNumberEvent.
func (c *Client) SafetyNumber(ctx context.Context, peer string) (string, error) {
	if !trust.ValidUsername(peer) || peer == c.user {
		return "", fmt.Errorf("client: no safety number with %q: %w", peer, ErrBadArgument)
	}
	key, ok := c.peers.Lookup(peer)
	if !ok {
		cn, err := c.needConn()
		if err != nil {
			return "", err
		}
		keys, err := c.checkPeer(ctx, cn, peer)
		if err != nil {
			return "", err
		}
		key = keys.identityKey
	}
	digits, err := trust.SafetyNumber(c.user, c.id.Public(), peer, key) // spec §6.6 [TRUST-4] [TRUST-5]
	if err != nil {
		return "", fmt.Errorf("client: %w", err)
	}
	c.emit(SafetyNumberEvent{Peer: peer, Digits: digits})
	return digits, nil
}

// ListUsers asks the relay for the users online now (spec §5.4) and emits a UsersEvent when the
// list changed since the last time.
func (c *Client) ListUsers(ctx context.Context) ([]string, bool, error) {
	cn, err := c.needConn()
	if err != nil {
		return nil, false, err
	}
	m, err := cn.call(ctx, "list_users", encodeListUsers(), nil)
	if err != nil {
		return nil, false, err
	}
	ul, ok := m.(userList)
	if !ok {
		return nil, false, fmt.Errorf("client: relay answered list_users with %T", m)
	}
	c.mu.Lock()
	changed := !slices.Equal(c.online, ul.users) || c.online == nil
	c.online = slices.Clone(ul.users)
	if changed {
		c.emit(UsersEvent{Users: slices.Clone(ul.users), Truncated: ul.truncated})
	}
	c.mu.Unlock()
	return ul.users, ul.truncated, nil
}

// Online returns the last polled list of online users.
func (c *Client) Online() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.online)
}

// pollUsers refreshes the online list periodically while connected (spec §5.4 [SRV-5]).
func (c *Client) pollUsers() {
	defer c.wg.Done()
	t := time.NewTicker(c.opts.PollUsers)
	defer t.Stop()
	for {
		if c.Connected() {
			ctx, cancel := context.WithTimeout(c.ctx, c.opts.PollUsers)
			if _, _, err := c.ListUsers(ctx); err != nil && !errors.Is(err, ErrNotConnected) && c.ctx.Err() == nil {
				c.log.Debug("client: list_users failed", "err", err)
			}
			cancel()
		}
		select {
		case <-c.ctx.Done():
			return
		case <-t.C:
		}
	}
}

// isOutcome reports whether err is a protocol rejection with outcome o.
func isOutcome(err error, o e2ee.Outcome) bool { return errors.Is(err, o) }
