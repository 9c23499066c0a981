// Package directory is the relay's persistent directory of identity keys (spec §5.2, §5.4): every
// username is bound forever to the first identity key that registered it with a valid proof
// (REG-5), together with the most recent group key and group key signature that arrived with a
// valid proof (REG-12). An operator removes bindings (`users remove`, `users prune`), and the relay
// releases the names that have not registered for the name TTL (spec §5.2.1 [INV-7]).
//
// Next to the bindings it keeps what the registration policy of spec §5.2.1 needs: when each
// name last registered, and the operator's invite codes (invites.go); and, for spec §5.9
// [GSV-20], each group's epoch and last accepted commit (groups.go).
//
// The directory is a go.etcd.io/bbolt file in the server's data directory. bbolt holds an
// exclusive lock on it while it is open, so the operator commands refuse to run against the
// directory of a running server instead of corrupting it.
//
// The relay and the operator commands use it through Store (store.go), the interface a cluster's
// shared store (impl/server/cluster/kvstore) implements too; the contract both pass is
// directory/storetest.
package directory

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// FileName is the name of the directory file inside the server's data directory.
const FileName = "directory.db"

var (
	bucketUsers = []byte("users")
	bucketMeta  = []byte("meta")
	keyVersion  = []byte("version")
	keyCount    = []byte("users") // the number of bound names, kept inside every write (REG-13)
	version     = []byte("1")
)

// Errors a caller branches on.
var (
	// ErrIdentityMismatch: the username is bound to another identity key (spec §5.2 [REG-6]).
	ErrIdentityMismatch = errors.New("directory: the username is bound to another identity key")
	// ErrFull: binding a new username would exceed the configured maximum (spec §5.2 [REG-13]).
	ErrFull = errors.New("directory: full")
	// ErrNotFound: the username is not bound.
	ErrNotFound = errors.New("directory: no such user")
	// ErrLocked: another process (normally the running server) holds the directory open.
	ErrLocked = errors.New("directory: locked by another process")
	// ErrClosed: the registration policy is closed and the name is not bound (spec §5.2.1 [INV-1]).
	ErrClosed = errors.New("directory: registration of new names is closed")
	// ErrInviteRequired: the policy needs an invite to bind a new name and none came (spec §5.2.1 [INV-2]).
	ErrInviteRequired = errors.New("directory: an invite is required to register a new name")
	// ErrBadInvite: the invite is unknown, used up, revoked or expired (spec §5.2.1 [INV-3]).
	ErrBadInvite = errors.New("directory: the invite is unknown, used up or expired")
)

// Entry is one binding: a username, its identity key and its latest group key and signature.
type Entry struct {
	User        string
	IdentityKey []byte // Ed25519 public key, 32 bytes
	GroupKey    []byte // X25519 public key, 32 bytes
	GroupKeySig []byte // Ed25519 signature, 64 bytes (spec §3.2)
	BoundAt     time.Time
	UpdatedAt   time.Time
	LastSeen    time.Time // the last registration, to within SeenResolution (spec §5.2.1 [INV-7])
}

// record is the stored form of an Entry; the username is the bbolt key.
type record struct {
	IdentityKey []byte    `json:"identity_key"`
	GroupKey    []byte    `json:"group_key"`
	GroupKeySig []byte    `json:"group_key_sig"`
	BoundAt     time.Time `json:"bound_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// keysPrefix is how json.Marshal of a record with e's keys begins.
func keysPrefix(e Entry) []byte {
	b64 := base64.StdEncoding
	p := make([]byte, 0, 64+b64.EncodedLen(len(e.IdentityKey)+len(e.GroupKey)+len(e.GroupKeySig)))
	p = append(p, `{"identity_key":"`...)
	p = b64.AppendEncode(p, e.IdentityKey)
	p = append(p, `","group_key":"`...)
	p = b64.AppendEncode(p, e.GroupKey)
	p = append(p, `","group_key_sig":"`...)
	p = b64.AppendEncode(p, e.GroupKeySig)
	return append(p, `",`...)
}

// keysOnly is the part of a record that Holds compares.
type keysOnly struct {
	IdentityKey []byte `json:"identity_key"`
	GroupKey    []byte `json:"group_key"`
	GroupKeySig []byte `json:"group_key_sig"`
}

// Result says what Bind did.
type Result int

// The results of Bind.
const (
	Created   Result = iota + 1 // a new username was bound
	Updated                     // the same identity key registered a new group key or signature
	Unchanged                   // the same identity key registered the same group key again
)

// String returns created, updated or unchanged.
func (r Result) String() string {
	switch r {
	case Created:
		return "created"
	case Updated:
		return "updated"
	case Unchanged:
		return "unchanged"
	}
	return fmt.Sprintf("Result(%d)", int(r))
}

// Options configure Open.
type Options struct {
	// MaxUsers bounds the number of bound usernames; 0 means no bound (spec §5.8 [LIM-5]).
	MaxUsers int
	// LockTimeout is how long Open waits for another process to release the file; 0 means a
	// short default of 100 ms, so that a command run next to a live server fails fast.
	LockTimeout time.Duration
	// ReadOnly opens the file with a shared lock, for commands that only read.
	ReadOnly bool
	// Now is the clock; nil means time.Now. Tests move it to age names and invites.
	Now func() time.Time
}

// Directory is an open directory file. It is safe for concurrent use.
type Directory struct {
	db       *bolt.DB
	maxUsers int
	now      func() time.Time
}

// Open opens (creating if needed, mode 0600) the directory file at path.
func Open(path string, opts Options) (*Directory, error) {
	timeout := opts.LockTimeout
	if timeout <= 0 {
		timeout = 100 * time.Millisecond
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: timeout, ReadOnly: opts.ReadOnly})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, fmt.Errorf("%w: %s is in use (is blindpost-server running with this data directory? stop it first)", ErrLocked, path)
	}
	if err != nil {
		return nil, fmt.Errorf("directory: open %s: %w", path, err)
	}
	// Bindings made together share a transaction (Bind); a binding waits at most this long
	// for company.
	db.MaxBatchDelay = time.Millisecond
	d := &Directory{db: db, maxUsers: opts.MaxUsers, now: time.Now}
	if opts.Now != nil {
		d.now = opts.Now
	}
	if opts.ReadOnly {
		return d, d.checkVersion()
	}
	if err := d.init(); err != nil {
		db.Close()
		return nil, err
	}
	return d, nil
}

func (d *Directory) init() error {
	err := d.db.Update(func(tx *bolt.Tx) error {
		users, err := tx.CreateBucketIfNotExists(bucketUsers)
		if err != nil {
			return err
		}
		meta, err := tx.CreateBucketIfNotExists(bucketMeta)
		if err != nil {
			return err
		}
		if v := meta.Get(keyVersion); v == nil {
			if err := meta.Put(keyVersion, version); err != nil {
				return err
			}
		}
		if meta.Get(keyCount) == nil {
			// Nothing is written yet in this transaction, so the bucket's statistics are exact.
			if err := putCount(meta, users.Stats().KeyN); err != nil {
				return err
			}
		}
		if err := d.initSeen(tx, users); err != nil {
			return err
		}
		for _, b := range [][]byte{bucketInvites, bucketGroups} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("directory: initialise: %w", err)
	}
	return d.checkVersion()
}

func (d *Directory) checkVersion() error {
	return d.db.View(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		if meta == nil {
			return errors.New("directory: not a blindpost directory (no meta bucket)")
		}
		if v := meta.Get(keyVersion); string(v) != string(version) {
			return fmt.Errorf("directory: unsupported format version %q", v)
		}
		return nil
	})
}

// Close flushes and closes the file.
func (d *Directory) Close() error {
	if err := d.db.Close(); err != nil {
		return fmt.Errorf("directory: close: %w", err)
	}
	return nil
}

// Admission is what a registration brings for the registration policy (spec §5.2.1): the
// relay's policy and the invite the register carried, if any. Only a new name needs admitting.
type Admission struct {
	Policy Policy
	Invite string // "" when the register carried none
}

// Bind binds e.User to e.IdentityKey when the name is free, or records a new group key and
// signature when the name is already bound to the same identity key. It never replaces the
// identity key of a bound name (ErrIdentityMismatch). A new name must be admitted by a
// (ErrClosed, ErrInviteRequired, ErrBadInvite; an invite is used up in the same transaction that
// binds the name) and is refused when the directory holds MaxUsers names (ErrFull).
//
// A registration that changes nothing (the common case: a client reconnecting) is answered
// from a read transaction, without a write and its sync to disk. Writes made at the same time
// share one transaction and one sync (bbolt's Batch), so that a crowd of new users does not
// queue behind the disk one by one.
func (d *Directory) Bind(e Entry, a Admission) (Result, error) {
	if same, err := d.Holds(e); err == nil && same {
		return Unchanged, d.Touch(e.User)
	}
	var res Result
	err := d.db.Batch(func(tx *bolt.Tx) error {
		var err error
		res, err = d.bindTx(tx, e, a)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("bind %q: %w", e.User, err)
	}
	return res, nil
}

// Holds reports whether e.User is bound to exactly e's identity key, group key and group key
// signature: then the signature was verified when it was stored (spec §5.2 [REG-4] [REG-12]).
func (d *Directory) Holds(e Entry) (bool, error) {
	var same bool
	err := d.db.View(func(tx *bolt.Tx) error {
		var err error
		same, err = holdsTx(tx.Bucket(bucketUsers), e)
		return err
	})
	if err != nil {
		return false, fmt.Errorf("holds %q: %w", e.User, err)
	}
	return same, nil
}

// HoldsAll is Holds for several entries in one read transaction: it returns the first entry
// the directory does not hold exactly, or -1 when it holds them all (spec §5.9 [GSV-4]: the keys
// a commit lists are the directory's).
func (d *Directory) HoldsAll(es []Entry) (int, error) {
	first := -1
	err := d.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketUsers)
		for i, e := range es {
			same, err := holdsTx(b, e)
			if err != nil || !same {
				first = i
				return err
			}
		}
		return nil
	})
	if err != nil {
		return first, fmt.Errorf("holds %q: %w", es[first].User, err)
	}
	return first, nil
}

func holdsTx(b *bolt.Bucket, e Entry) (bool, error) {
	raw := b.Get([]byte(e.User))
	if raw == nil {
		return false, nil
	}
	if bytes.HasPrefix(raw, keysPrefix(e)) {
		return true, nil // put wrote exactly these keys (json.Marshal of a record)
	}
	var r keysOnly // the times are not needed, and parsing them costs
	if err := json.Unmarshal(raw, &r); err != nil {
		return false, fmt.Errorf("directory: corrupt record: %w", err)
	}
	return string(r.IdentityKey) == string(e.IdentityKey) && string(r.GroupKey) == string(e.GroupKey) &&
		string(r.GroupKeySig) == string(e.GroupKeySig), nil
}

func (d *Directory) bindTx(tx *bolt.Tx, e Entry, a Admission) (Result, error) {
	b := tx.Bucket(bucketUsers)
	now := d.now()
	key := []byte(e.User)
	raw := b.Get(key)
	if raw == nil {
		if err := admitTx(tx, a, now); err != nil {
			return 0, err
		}
		// spec §5.2 [REG-13]: a full directory refuses a new name. The count is kept in the
		// same transaction: the bucket's statistics leave out the names bound by the other
		// registrations batched into it, and racing registrations then overfill the directory.
		meta := tx.Bucket(bucketMeta)
		n := getCount(meta)
		if d.maxUsers > 0 && n >= d.maxUsers {
			return 0, ErrFull
		}
		if err := putCount(meta, n+1); err != nil {
			return 0, err
		}
		if err := putSeen(tx, key, now); err != nil {
			return 0, err
		}
		// spec §5.2 [REG-5]: the first identity key with a valid proof holds the name.
		return Created, put(b, key, record{e.IdentityKey, e.GroupKey, e.GroupKeySig, now, now})
	}
	if err := putSeen(tx, key, now); err != nil {
		return 0, err
	}
	var r record
	if err := json.Unmarshal(raw, &r); err != nil {
		return 0, fmt.Errorf("directory: corrupt record: %w", err)
	}
	// spec §5.2 [REG-5] [REG-6]: never replace the identity key of a bound name.
	if string(r.IdentityKey) != string(e.IdentityKey) {
		return 0, ErrIdentityMismatch
	}
	if string(r.GroupKey) == string(e.GroupKey) && string(r.GroupKeySig) == string(e.GroupKeySig) {
		return Unchanged, nil
	}
	// spec §5.2 [REG-12]: keep the most recent group key and signature.
	r.GroupKey, r.GroupKeySig, r.UpdatedAt = e.GroupKey, e.GroupKeySig, now
	return Updated, put(b, key, r)
}

func put(b *bolt.Bucket, key []byte, r record) error {
	raw, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("directory: encode: %w", err)
	}
	return b.Put(key, raw)
}

// Lookup returns the binding of user, or ErrNotFound.
func (d *Directory) Lookup(user string) (Entry, error) {
	var e Entry
	err := d.db.View(func(tx *bolt.Tx) error {
		raw := tx.Bucket(bucketUsers).Get([]byte(user))
		if raw == nil {
			return ErrNotFound
		}
		var err error
		e, err = decodeSeen(tx, user, raw)
		return err
	})
	if err != nil {
		return Entry{}, fmt.Errorf("lookup %q: %w", user, err)
	}
	return e, nil
}

// Exists reports whether user is bound.
func (d *Directory) Exists(user string) (bool, error) {
	_, err := d.Lookup(user)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// List returns every binding, sorted by username (byte order).
func (d *Directory) List() ([]Entry, error) {
	var out []Entry
	err := d.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketUsers).ForEach(func(k, v []byte) error {
			e, err := decodeSeen(tx, string(k), v)
			if err != nil {
				return err
			}
			out = append(out, e)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("directory: list: %w", err)
	}
	return out, nil
}

// Remove deletes the binding of user, freeing the name (spec §5.2: the operator's way to give a
// name back to a user who lost its key). It returns ErrNotFound when the name is not bound.
func (d *Directory) Remove(user string) error {
	err := d.db.Update(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketUsers).Get([]byte(user)) == nil {
			return ErrNotFound
		}
		return removeTx(tx, []byte(user))
	})
	if err != nil {
		return fmt.Errorf("remove %q: %w", user, err)
	}
	return nil
}

// removeTx deletes a bound name with its last-seen time and counts it out.
func removeTx(tx *bolt.Tx, key []byte) error {
	if err := tx.Bucket(bucketUsers).Delete(key); err != nil {
		return err
	}
	if seen := tx.Bucket(bucketSeen); seen != nil {
		if err := seen.Delete(key); err != nil {
			return err
		}
	}
	meta := tx.Bucket(bucketMeta)
	return putCount(meta, max(getCount(meta)-1, 0))
}

// getCount returns the number of bound names kept in meta.
func getCount(meta *bolt.Bucket) int {
	v := meta.Get(keyCount)
	if len(v) != 8 {
		return 0
	}
	return int(binary.BigEndian.Uint64(v))
}

func putCount(meta *bolt.Bucket, n int) error {
	return meta.Put(keyCount, binary.BigEndian.AppendUint64(nil, uint64(n)))
}

// Count returns the number of bound usernames.
func (d *Directory) Count() (int, error) {
	var n int
	err := d.db.View(func(tx *bolt.Tx) error {
		n = tx.Bucket(bucketUsers).Stats().KeyN // committed pages only: exact in a read transaction
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("directory: count: %w", err)
	}
	return n, nil
}

func decode(user string, raw []byte) (Entry, error) {
	var r record
	if err := json.Unmarshal(raw, &r); err != nil {
		return Entry{}, fmt.Errorf("directory: corrupt record for %q: %w", user, err)
	}
	return Entry{User: user, IdentityKey: r.IdentityKey, GroupKey: r.GroupKey, GroupKeySig: r.GroupKeySig,
		BoundAt: r.BoundAt, UpdatedAt: r.UpdatedAt}, nil
}

// decodeSeen is decode with the name's last-seen time from tx.
func decodeSeen(tx *bolt.Tx, user string, raw []byte) (Entry, error) {
	e, err := decode(user, raw)
	if err != nil {
		return e, err
	}
	e.LastSeen = getSeen(tx, []byte(user), e.BoundAt)
	return e, nil
}
