package directory

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// bucketInvites maps SHA-256(code) to an invite record: the directory never holds a code itself,
// so a copy of the file lets nobody register (spec §5.2.1).
var bucketInvites = []byte("invites")

// inviteBytes is the entropy of an invite code: 18 bytes, 24 characters of base64url, within
// the 16 to 64 characters of schemas/defs.json#/$defs/invite.
const inviteBytes = 18

// Invite is an invite code's record: its id (the first hex digits of its hash, to list and
// revoke it by), how many new names it may still bind, and when it expires.
type Invite struct {
	ID      string
	Uses    int
	Expires time.Time // zero: never
	Created time.Time
}

type inviteRecord struct {
	ID      string    `json:"id"`
	Uses    int       `json:"uses"`
	Expires time.Time `json:"expires"`
	Created time.Time `json:"created"`
}

func inviteKey(code string) []byte {
	h := sha256.Sum256([]byte(code))
	return h[:]
}

// InviteHash is the key an invite code is stored under: SHA-256(code), so that a store never
// holds a code itself (spec §5.2.1).
func InviteHash(code string) []byte { return inviteKey(code) }

// NewInviteCode returns a fresh random invite code and its id (the first hex digits of its hash,
// to list and revoke it by).
func NewInviteCode() (code, id string) {
	raw := make([]byte, inviteBytes)
	rand.Read(raw) // crypto/rand never fails
	code = base64.RawURLEncoding.EncodeToString(raw)
	return code, hex.EncodeToString(inviteKey(code)[:4])
}

// CreateInvite makes a new invite code good for uses new names until now+ttl (ttl 0: no
// expiry) and returns the code, which is shown once and never stored, and its record.
func (d *Directory) CreateInvite(uses int, ttl time.Duration) (string, Invite, error) {
	if uses < 1 {
		return "", Invite{}, errors.New("directory: an invite needs at least one use")
	}
	code, id := NewInviteCode()
	key := inviteKey(code)
	now := d.now()
	r := inviteRecord{ID: id, Uses: uses, Created: now}
	if ttl > 0 {
		r.Expires = now.Add(ttl)
	}
	err := d.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketInvites)
		if err := dropStaleInvites(b, now); err != nil {
			return err
		}
		return putInvite(b, key, r)
	})
	if err != nil {
		return "", Invite{}, fmt.Errorf("directory: create invite: %w", err)
	}
	return code, Invite(r), nil
}

func putInvite(b *bolt.Bucket, key []byte, r inviteRecord) error {
	raw, err := json.Marshal(r)
	if err != nil {
		return err
	}
	return b.Put(key, raw)
}

// live reports whether an invite may still bind a name at now.
func (r inviteRecord) live(now time.Time) bool {
	return r.Uses > 0 && (r.Expires.IsZero() || now.Before(r.Expires))
}

// dropStaleInvites deletes the invites that are used up or expired.
func dropStaleInvites(b *bolt.Bucket, now time.Time) error {
	var stale [][]byte
	err := b.ForEach(func(k, v []byte) error {
		var r inviteRecord
		if json.Unmarshal(v, &r) != nil || !r.live(now) {
			stale = append(stale, k)
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, k := range stale {
		if err := b.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

// admitTx applies the registration policy to a new name, in the transaction that binds it
// (spec §5.2.1 [INV-1] [INV-2] [INV-3] [INV-4]).
func admitTx(tx *bolt.Tx, a Admission, now time.Time) error {
	switch {
	case a.Policy == PolicyClosed:
		return ErrClosed // spec §5.2.1 [INV-1]
	case a.Invite != "":
		return redeemTx(tx.Bucket(bucketInvites), a.Invite, now) // spec §5.2.1 [INV-3] [INV-4]
	case a.Policy == PolicyInvite:
		return ErrInviteRequired // spec §5.2.1 [INV-2]
	}
	return nil
}

// redeemTx uses one use of the invite code, deleting it once used up (spec §5.2.1 [INV-4]).
func redeemTx(b *bolt.Bucket, code string, now time.Time) error {
	key := inviteKey(code) // the lookup is by hash: its timing says nothing of a stored code
	raw := b.Get(key)
	if raw == nil {
		return ErrBadInvite
	}
	var r inviteRecord
	if err := json.Unmarshal(raw, &r); err != nil {
		return fmt.Errorf("directory: corrupt invite: %w", err)
	}
	if !r.live(now) {
		return ErrBadInvite
	}
	r.Uses--
	if r.Uses == 0 {
		return b.Delete(key)
	}
	return putInvite(b, key, r)
}

// Invites returns the invites that may still bind a name, oldest first.
func (d *Directory) Invites() ([]Invite, error) {
	var out []Invite
	now := d.now()
	err := d.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketInvites)
		if b == nil {
			return nil
		}
		return b.ForEach(func(_, v []byte) error {
			var r inviteRecord
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("directory: corrupt invite: %w", err)
			}
			if r.live(now) {
				out = append(out, Invite(r))
			}
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("directory: invites: %w", err)
	}
	slices.SortFunc(out, func(a, b Invite) int { return a.Created.Compare(b.Created) })
	return out, nil
}

// RevokeInvite deletes the usable invite whose id or code is idOrCode, or returns ErrNotFound
// (an invite used up or expired is not usable: there is nothing left to revoke).
func (d *Directory) RevokeInvite(idOrCode string) error {
	now := d.now()
	err := d.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketInvites)
		if err := dropStaleInvites(b, now); err != nil {
			return err
		}
		if key := inviteKey(idOrCode); b.Get(key) != nil {
			return b.Delete(key)
		}
		var found []byte
		err := b.ForEach(func(k, v []byte) error {
			var r inviteRecord
			if json.Unmarshal(v, &r) == nil && strings.EqualFold(r.ID, idOrCode) {
				found = k
			}
			return nil
		})
		if err != nil {
			return err
		}
		if found == nil {
			return ErrNotFound
		}
		return b.Delete(found)
	})
	if err != nil {
		return fmt.Errorf("directory: revoke invite %q: %w", idOrCode, err)
	}
	return nil
}
