package kvstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/blindpost/blindpost/impl/server/directory"
	"github.com/nats-io/nats.go/jetstream"
)

// inviteRecord is an invite as stored under "i.<hex(SHA-256(code))>": never the code itself
// (spec §5.2.1).
type inviteRecord struct {
	ID      string    `json:"id"`
	Uses    int       `json:"uses"`
	Expires time.Time `json:"expires"`
	Created time.Time `json:"created"`
	Spent   time.Time `json:"spent,omitzero"` // when the last use was taken (see RefundWindow)
}

// live reports whether an invite may still bind a name at now.
func (r inviteRecord) live(now time.Time) bool {
	return r.Uses > 0 && (r.Expires.IsZero() || now.Before(r.Expires))
}

// stale reports whether an invite can be deleted: expired, or used up for longer than
// RefundWindow.
func (r inviteRecord) stale(now time.Time) bool {
	expired := !r.Expires.IsZero() && !now.Before(r.Expires)
	return expired || r.Uses <= 0 && now.Sub(r.Spent) >= RefundWindow
}

func (r inviteRecord) invite() directory.Invite {
	return directory.Invite{ID: r.ID, Uses: r.Uses, Expires: r.Expires, Created: r.Created}
}

func decodeInvite(e jetstream.KeyValueEntry) (inviteRecord, error) {
	var r inviteRecord
	if err := json.Unmarshal(e.Value(), &r); err != nil {
		return r, fmt.Errorf("kvstore: corrupt invite: %w", err)
	}
	return r, nil
}

// CreateInvite implements directory.Store.
func (s *Store) CreateInvite(uses int, ttl time.Duration) (string, directory.Invite, error) {
	if uses < 1 {
		return "", directory.Invite{}, errors.New("kvstore: an invite needs at least one use")
	}
	ctx, cancel := s.ctx()
	defer cancel()
	now := s.now()
	if err := s.dropStaleInvites(ctx, now); err != nil {
		return "", directory.Invite{}, fmt.Errorf("kvstore: create invite: %w", err)
	}
	code, id := directory.NewInviteCode()
	r := inviteRecord{ID: id, Uses: uses, Created: now}
	if ttl > 0 {
		r.Expires = now.Add(ttl)
	}
	raw, err := encode(r)
	if err == nil {
		_, err = s.cas(ctx, inviteKey(code), raw, 0) // 18 random bytes: never taken
	}
	if err != nil {
		return "", directory.Invite{}, fmt.Errorf("kvstore: create invite: %w", err)
	}
	return code, r.invite(), nil
}

// dropStaleInvites deletes the invites that are expired or used up past RefundWindow, each on
// the revision at which it was read stale.
func (s *Store) dropStaleInvites(ctx context.Context, now time.Time) error {
	es, err := s.scan(ctx, prefixInvite)
	if err != nil {
		return err
	}
	for _, e := range es {
		r, err := decodeInvite(e)
		if err == nil && !r.stale(now) {
			continue
		}
		if _, err := s.casDelete(ctx, e.Key(), e.Revision()); err != nil {
			return err
		}
	}
	return nil
}

// redeem takes one use of the invite code by compare-and-set (spec §5.2.1 [INV-3] [INV-4]).
func (s *Store) redeem(ctx context.Context, code string) error {
	return s.updateInvite(ctx, code, func(r *inviteRecord, now time.Time) error {
		if !r.live(now) {
			return directory.ErrBadInvite
		}
		r.Uses--
		if r.Uses == 0 {
			r.Spent = now
		}
		return nil
	})
}

// refund gives back the use redeem took, when the registration that took it bound nothing. An
// invite revoked or dropped meanwhile stays gone.
func (s *Store) refund(ctx context.Context, code string) error {
	err := s.updateInvite(ctx, code, func(r *inviteRecord, _ time.Time) error {
		r.Uses++
		r.Spent = time.Time{}
		return nil
	})
	if errors.Is(err, directory.ErrBadInvite) {
		return nil
	}
	return err
}

// updateInvite applies change to the invite code by compare-and-set, retrying on a fresh read;
// an invite that is not stored is ErrBadInvite.
func (s *Store) updateInvite(ctx context.Context, code string, change func(*inviteRecord, time.Time) error) error {
	key := inviteKey(code) // the lookup is by hash: its timing says nothing of a stored code
	for range maxAttempts {
		e, err := s.get(ctx, key)
		if err != nil {
			return err
		}
		if e == nil {
			return directory.ErrBadInvite
		}
		r, err := decodeInvite(e)
		if err != nil {
			return err
		}
		if err := change(&r, s.now()); err != nil {
			return err
		}
		raw, err := encode(r)
		if err != nil {
			return err
		}
		ok, err := s.cas(ctx, key, raw, e.Revision())
		if err != nil || ok {
			return err
		}
	}
	return fmt.Errorf("%w (invite)", ErrContention)
}

// Invites implements directory.Store.
func (s *Store) Invites() ([]directory.Invite, error) {
	ctx, cancel := s.ctx()
	defer cancel()
	es, err := s.scan(ctx, prefixInvite)
	if err != nil {
		return nil, fmt.Errorf("kvstore: invites: %w", err)
	}
	now := s.now()
	var out []directory.Invite
	for _, e := range es {
		r, err := decodeInvite(e)
		if err != nil {
			return nil, err
		}
		if r.live(now) {
			out = append(out, r.invite())
		}
	}
	slices.SortFunc(out, func(a, b directory.Invite) int { return a.Created.Compare(b.Created) })
	return out, nil
}

// RevokeInvite implements directory.Store: the invite is deleted whatever its revision, since
// a revocation wins over a redemption in flight only if it comes first.
func (s *Store) RevokeInvite(idOrCode string) error {
	ctx, cancel := s.ctx()
	defer cancel()
	now := s.now()
	err := s.revoke(ctx, idOrCode, now)
	if err != nil {
		return fmt.Errorf("kvstore: revoke invite %q: %w", idOrCode, err)
	}
	return nil
}

func (s *Store) revoke(ctx context.Context, idOrCode string, now time.Time) error {
	if err := s.dropStaleInvites(ctx, now); err != nil {
		return err
	}
	es, err := s.scan(ctx, prefixInvite)
	if err != nil {
		return err
	}
	byCode := inviteKey(idOrCode)
	for _, e := range es {
		r, err := decodeInvite(e)
		if err != nil || !r.live(now) {
			continue // an invite used up (kept for RefundWindow) is not usable: nothing to revoke
		}
		if e.Key() == byCode || strings.EqualFold(r.ID, idOrCode) {
			if err := s.kv.Delete(ctx, e.Key()); err != nil {
				return err
			}
			return nil
		}
	}
	return directory.ErrNotFound
}
