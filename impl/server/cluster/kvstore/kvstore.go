// Package kvstore keeps the relay's persistent state (directory.Store) in a NATS JetStream
// key-value bucket, so that the relays of a cluster share one directory (spec §5.2), one set of
// invites (§5.2.1) and one record of each group's epoch (§5.9 [GSV-20]). The bucket is
// replicated by JetStream (R3 on a cluster of three NATS servers), so it stays readable and
// writable when one NATS node is lost.
//
// # Keys
//
// One bucket holds everything, under prefixes: "u.<hex(name)>" a binding, "g.<hex(group)>" a
// group, "i.<hex(SHA-256(code))>" an invite, "m.users" and "m.groups" the counters. Names are
// hex-encoded because a key may not hold every character a group name may; hex keeps byte
// order, so a listing sorted by key is sorted by name.
//
// # Atomicity without transactions
//
// The bbolt directory does each operation in one transaction. A key-value bucket offers atomic
// operations on one key only: Create (succeeds only when the key is absent, or deleted) and
// Update / Delete with the key's last revision (compare-and-set). Every rule is built on those:
//
//   - First binding wins (spec §5.2 [REG-5]): a new name is bound with Create; of two relays
//     binding it at once exactly one succeeds, and the other re-reads the binding and answers as
//     for a bound name (identity_mismatch, or unchanged for the same key). A group key update,
//     a last-seen update and a removal are compare-and-set on the binding's revision, so a
//     removal (Prune) never removes a name that registered after it was read.
//   - --max-users (spec §5.2 [REG-13]): the number of bound names is the counter "m.users". A
//     new name first reserves a place by compare-and-set on the counter (refused with ErrFull
//     when the counter is at the bound), then is created; a relay that loses the Create gives
//     its place back by compare-and-set. Removals count the name out the same way. The counter
//     therefore never counts fewer names than are bound, and the bound is never exceeded; a
//     relay that dies between the reservation and the Create leaves the counter one too high
//     (a place lost, never one too many). Under contention for the last place, a registration
//     may be refused as full while another's reservation is outstanding, where one transaction
//     would have seen the name already bound.
//     Every new name writes this one key, so new names are bound one after the other across
//     the cluster (a registration of a bound name, the common case, reads one key only).
//   - Invites (spec §5.2.1 [INV-3] [INV-4]): each use is taken once: a redemption decrements
//     the invite's uses by compare-and-set, before the name is created. A registration that
//     then loses the name gives the use back by compare-and-set, so a refused registration uses
//     nothing. A used-up invite is kept (with no uses left) for RefundWindow, so that the use
//     can come back, and is deleted afterwards; a use given back after that, or after the
//     invite was revoked, is not restored (the invite is gone either way).
//   - Group epochs (spec §5.9 [GSV-4] [GSV-5]): SaveGroupIf is Update with the revision at
//     which the recorded epoch was read (Create for a group not recorded), so of two commits for
//     the same epoch on two relays exactly one is saved. The number of recorded groups is the
//     counter "m.groups", kept like "m.users".
//
// Every read goes to the bucket's stream leader (see OpenBucket and scan), so a relay reads what
// another relay wrote once that write was acknowledged. A listing (List, Count, Invites, the
// candidates of Prune) reads its keys one by one, not at one instant as a bbolt transaction
// does; each removal re-checks its key by compare-and-set.
//
// A compare-and-set that fails because another relay wrote first is retried on a fresh read, up
// to maxAttempts times (then the operation fails with ErrContention); each operation has a time
// limit (Options.Timeout).
package kvstore

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/blindpost/blindpost/impl/server/directory"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// DefaultBucket is the bucket name Open uses when Options.Bucket is empty.
const DefaultBucket = "blindpost"

// RefundWindow is how long a used-up invite is kept so that a registration that redeemed its
// last use and then lost the name can give the use back.
const RefundWindow = time.Minute

// maxAttempts bounds the retries of one compare-and-set loop.
const maxAttempts = 64

const (
	prefixUser   = "u."
	prefixGroup  = "g."
	prefixInvite = "i."
	keyUsers     = "m.users"
	keyGroups    = "m.groups"
)

// ErrContention: a compare-and-set lost to other writers maxAttempts times in a row.
var ErrContention = errors.New("kvstore: too many concurrent writers on one key; try again")

// Options configure Open.
type Options struct {
	// Bucket is the key-value bucket's name; "" means DefaultBucket.
	Bucket string
	// Replicas is the bucket's replication factor: 3 on a cluster of three NATS servers or
	// more; 0 means 1.
	Replicas int
	// MaxUsers bounds the number of bound usernames; 0 means no bound (spec §5.8 [LIM-5]).
	MaxUsers int
	// Timeout bounds each operation; 0 means 5 s.
	Timeout time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Store is a directory.Store in a JetStream key-value bucket. It is safe for concurrent use, by
// several goroutines and by several relays sharing the bucket.
type Store struct {
	kv       jetstream.KeyValue
	stream   jetstream.Stream // the bucket's stream, for listings
	subjects string           // the subject prefix of the bucket's keys, "$KV.<bucket>."
	maxUsers int
	timeout  time.Duration
	now      func() time.Time
}

var _ directory.Store = (*Store)(nil)

// Open creates the bucket if it does not exist (with opts.Replicas) and returns a Store on it.
// The NATS connection behind js stays the caller's: Close does not close it.
func Open(ctx context.Context, js jetstream.JetStream, opts Options) (*Store, error) {
	name := opts.Bucket
	if name == "" {
		name = DefaultBucket
	}
	kv, stream, err := OpenBucket(ctx, js, name, "blindpost relay state: bindings, invites, group epochs", max(opts.Replicas, 1), jetstream.FileStorage)
	if err != nil {
		return nil, fmt.Errorf("kvstore: open bucket %q: %w", name, err)
	}
	s := &Store{kv: kv, stream: stream, subjects: "$KV." + name + ".", maxUsers: opts.MaxUsers, timeout: opts.Timeout, now: opts.Now}
	if s.timeout <= 0 {
		s.timeout = 5 * time.Second
	}
	if s.now == nil {
		s.now = time.Now
	}
	return s, nil
}

// Bounded returns a Store on the same bucket that binds at most maxUsers names (0: no bound)
// with the clock now (nil: time.Now).
func (s *Store) Bounded(maxUsers int, now func() time.Time) *Store {
	b := *s
	b.maxUsers, b.now = maxUsers, now
	if b.now == nil {
		b.now = time.Now
	}
	return &b
}

// OpenBucket opens the key-value bucket name, creating it (with replicas copies in storage, and
// desc) when no relay has yet, so that every read goes to the bucket's stream leader: a relay
// must read what another relay wrote as soon as that one was answered, which direct gets from
// any replica do not promise. It also returns the bucket's stream, for listings. The bucket's
// Get, Create, Update and Delete are sent again while JetStream does not take them (patientKV).
func OpenBucket(ctx context.Context, js jetstream.JetStream, name, desc string, replicas int, storage jetstream.StorageType) (jetstream.KeyValue, jetstream.Stream, error) {
	_, err := js.KeyValue(ctx, name)
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		_, err = js.CreateKeyValue(ctx, jetstream.KeyValueConfig{
			Bucket:      name,
			Description: desc,
			History:     1,
			Replicas:    replicas,
			Storage:     storage,
		})
		if errors.Is(err, jetstream.ErrBucketExists) {
			err = nil // another relay created it first
		}
	}
	if err != nil {
		return nil, nil, err
	}
	stream, err := js.Stream(ctx, "KV_"+name)
	if err != nil {
		return nil, nil, err
	}
	if cfg := stream.CachedInfo().Config; cfg.AllowDirect {
		cfg.AllowDirect = false
		if stream, err = js.UpdateStream(ctx, cfg); err != nil {
			return nil, nil, err
		}
	}
	kv, err := js.KeyValue(ctx, name) // reads the stream's configuration again: no direct gets
	if err != nil {
		return nil, nil, err
	}
	return patientKV{kv}, stream, nil
}

// patientKV is a bucket whose reads and compare-and-set writes are sent again while JetStream
// does not take them (untilTaken), within the caller's context.
type patientKV struct{ jetstream.KeyValue }

func (kv patientKV) Get(ctx context.Context, key string) (e jetstream.KeyValueEntry, err error) {
	err = untilTaken(ctx, func() error {
		e, err = kv.KeyValue.Get(ctx, key)
		return err
	})
	return e, err
}

func (kv patientKV) Create(ctx context.Context, key string, value []byte, opts ...jetstream.KVCreateOpt) (rev uint64, err error) {
	err = untilTaken(ctx, func() error {
		rev, err = kv.KeyValue.Create(ctx, key, value, opts...)
		return err
	})
	return rev, err
}

func (kv patientKV) Update(ctx context.Context, key string, value []byte, last uint64) (rev uint64, err error) {
	err = untilTaken(ctx, func() error {
		rev, err = kv.KeyValue.Update(ctx, key, value, last)
		return err
	})
	return rev, err
}

func (kv patientKV) Delete(ctx context.Context, key string, opts ...jetstream.KVDeleteOpt) error {
	return untilTaken(ctx, func() error { return kv.KeyValue.Delete(ctx, key, opts...) })
}

// Close does nothing: the bucket lives in the NATS cluster and the connection is the caller's.
func (s *Store) Close() error { return nil }

func (s *Store) ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), s.timeout)
}

func userKey(name string) string  { return prefixUser + hex.EncodeToString([]byte(name)) }
func groupKey(name string) string { return prefixGroup + hex.EncodeToString([]byte(name)) }
func inviteKey(code string) string {
	return prefixInvite + hex.EncodeToString(directory.InviteHash(code))
}

// nameOf decodes the name in a key made by userKey or groupKey.
func nameOf(key, prefix string) (string, error) {
	b, err := hex.DecodeString(key[len(prefix):])
	if err != nil {
		return "", fmt.Errorf("kvstore: corrupt key %q: %w", key, err)
	}
	return string(b), nil
}

// get returns the entry at key, or nil when there is none.
func (s *Store) get(ctx context.Context, key string) (jetstream.KeyValueEntry, error) {
	e, err := s.kv.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("kvstore: get %s: %w", key, err)
	}
	return e, nil
}

// scan returns the entries whose keys begin with prefix ("u.", "g.", "i."), sorted by key. The
// keys come from the stream's subjects, which its leader reports, and each value from a read at
// the leader: a key-value watcher would read a consumer that may lag the last acknowledged
// writes, and a listing must show what was just written (`invites create`, then `invites
// list`).
func (s *Store) scan(ctx context.Context, prefix string) ([]jetstream.KeyValueEntry, error) {
	info, err := s.stream.Info(ctx, jetstream.WithSubjectFilter(s.subjects+prefix+">"))
	if err != nil {
		return nil, fmt.Errorf("kvstore: list %s: %w", prefix, err)
	}
	keys := make([]string, 0, len(info.State.Subjects))
	for subj := range info.State.Subjects {
		keys = append(keys, strings.TrimPrefix(subj, s.subjects))
	}
	slices.Sort(keys)
	out := make([]jetstream.KeyValueEntry, 0, len(keys))
	for _, k := range keys {
		e, err := s.get(ctx, k)
		if err != nil {
			return nil, err
		}
		if e != nil { // nil: a deleted key (its delete marker is a message too)
			out = append(out, e)
		}
	}
	return out, nil
}

// isConflict reports whether err is a lost compare-and-set (Create on an existing key, Update
// or Delete on a moved revision).
func isConflict(err error) bool {
	return errors.Is(err, jetstream.ErrKeyExists) || errors.Is(err, jetstream.ErrKeyRevisionMismatch)
}

// cas writes value at key when its revision is still rev (0: the key is absent), and reports
// false when another writer came first.
func (s *Store) cas(ctx context.Context, key string, value []byte, rev uint64) (bool, error) {
	_, ok, err := s.casRev(ctx, key, value, rev)
	return ok, err
}

// casRev is cas that also returns the revision it wrote.
func (s *Store) casRev(ctx context.Context, key string, value []byte, rev uint64) (uint64, bool, error) {
	var (
		next uint64
		err  error
	)
	if rev == 0 {
		next, err = s.kv.Create(ctx, key, value)
	} else {
		next, err = s.kv.Update(ctx, key, value, rev)
	}
	if isConflict(err) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("kvstore: write %s: %w", key, err)
	}
	return next, true, nil
}

// casDelete deletes key when its revision is still rev, and reports false when another writer
// came first.
func (s *Store) casDelete(ctx context.Context, key string, rev uint64) (bool, error) {
	err := s.kv.Delete(ctx, key, jetstream.LastRevision(rev))
	if isConflict(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("kvstore: delete %s: %w", key, err)
	}
	return true, nil
}

// errFull is what reserve returns at the bound; the callers turn it into their own outcome.
var errFull = errors.New("kvstore: counter at its bound")

// reserve adds one to the counter at key by compare-and-set, unless it is already at bound
// (0: no bound), and then returns errFull.
func (s *Store) reserve(ctx context.Context, key string, bound int) error {
	return s.addCount(key, 1, bound)
}

// release takes one from the counter at key (never below 0).
func (s *Store) release(ctx context.Context, key string) error {
	return s.addCount(key, -1, 0)
}

// cachedKeys holds, per key (bucket and key) that every new name or registration updates, the
// updates waiting in this process and the value and revision last read or written. The updates a
// relay makes at once are applied together, in the order they came, by one compare-and-set
// (group commit): hundreds of registrations admitted at once cost one round trip to the store,
// not one each (each its own compare-and-set, they exhausted maxAttempts against one another:
// "too many concurrent writers"; taking turns, they waited past their time limit). The
// compare-and-set contends only with other relays; while no other relay writes the key, the
// update starts from the value known (no read).
var cachedKeys sync.Map // string → *cachedKey

type cachedKey struct {
	mu      sync.Mutex
	waiting []*keyUpdate
	leading bool // a goroutine is applying updates; it takes the waiting ones when it is done

	// Only the leading goroutine uses these.
	known bool // val and rev are what the bucket held at some point
	val   []byte
	rev   uint64
}

// keyUpdate is one caller's update of a cached key: f gives the next value from the current one
// (nil: none yet); fresh says that the current one was read for this batch.
type keyUpdate struct {
	f    func(cur []byte, fresh bool) ([]byte, error)
	err  error
	done chan struct{}
}

// errStale is what an update function returns to decide on a fresh read instead of the value
// known in this process (it must not when fresh is true).
var errStale = errors.New("kvstore: decide on a fresh read")

// updateCached applies f to the value of key by compare-and-set, together with the other
// updates of key waiting in this process. An error of f other than errStale is f's result, and
// f's update is then left out. f must depend on nothing but its arguments: it may be called
// again when another relay wrote the key meanwhile.
func (s *Store) updateCached(key string, f func(cur []byte, fresh bool) ([]byte, error)) error {
	v, _ := cachedKeys.LoadOrStore(s.subjects+key, new(cachedKey))
	c := v.(*cachedKey)
	u := &keyUpdate{f: f, done: make(chan struct{})}
	c.mu.Lock()
	c.waiting = append(c.waiting, u)
	if c.leading {
		c.mu.Unlock()
		<-u.done // the leader answers within its own time limits
		return u.err
	}
	c.leading = true
	for len(c.waiting) > 0 {
		batch := c.waiting
		c.waiting = nil
		c.mu.Unlock()
		s.applyBatch(key, c, batch)
		for _, b := range batch {
			close(b.done)
		}
		c.mu.Lock()
	}
	c.leading = false
	c.mu.Unlock()
	return u.err
}

// applyBatch applies the updates of batch, in order, by one compare-and-set of their result,
// again from a fresh read while another relay wins; each update's err is set.
func (s *Store) applyBatch(key string, c *cachedKey, batch []*keyUpdate) {
	ctx, cancel := s.ctx()
	defer cancel()
	fresh := false
	for attempt := range maxAttempts {
		if err := backoff(ctx, attempt); err != nil {
			setAll(batch, fmt.Errorf("kvstore: %s: %w", key, err))
			return
		}
		if !c.known {
			e, err := s.get(ctx, key)
			if err != nil {
				setAll(batch, err)
				return
			}
			c.val, c.rev = nil, 0
			if e != nil {
				c.val, c.rev = e.Value(), e.Revision()
			}
			c.known, fresh = true, true
		}
		next, stale := c.val, false
		for _, u := range batch {
			v, err := u.f(next, fresh)
			if errors.Is(err, errStale) && !fresh {
				stale = true
				break
			}
			if u.err = err; err == nil {
				next = v
			}
		}
		if stale {
			c.known = false
			continue
		}
		if bytes.Equal(next, c.val) {
			return // nothing to write: every update refused
		}
		rev, ok, err := s.casRev(ctx, key, next, c.rev)
		if err != nil {
			c.known = false
			setAll(batch, err)
			return
		}
		if ok {
			c.val, c.rev = next, rev
			return
		}
		c.known, fresh = false, false // another relay wrote it: read again
	}
	setAll(batch, fmt.Errorf("%w (%s)", ErrContention, key))
}

func setAll(batch []*keyUpdate, err error) {
	for _, u := range batch {
		u.err = err
	}
}

func (s *Store) addCount(key string, delta, bound int) error {
	return s.updateCached(key, func(cur []byte, fresh bool) ([]byte, error) {
		n := 0
		if cur != nil {
			var err error
			if n, err = strconv.Atoi(string(cur)); err != nil {
				return nil, fmt.Errorf("kvstore: corrupt counter %s: %w", key, err)
			}
		}
		if delta > 0 && bound > 0 && n >= bound {
			if !fresh {
				return nil, errStale // another relay may have released places since
			}
			return nil, errFull
		}
		return []byte(strconv.Itoa(max(n+delta, 0))), nil
	})
}

func encode(v any) ([]byte, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("kvstore: encode: %w", err)
	}
	return raw, nil
}

// backoff waits before the attempt-th try of a compare-and-set (none before the first): a
// random time below 100µs·2^attempt, at most 20 ms, so that relays that lost to one another on
// one key (every new name writes "m.users") do not all retry at once and lose again.
func backoff(ctx context.Context, attempt int) error {
	if attempt == 0 {
		return nil
	}
	return pause(ctx, rand.N(min(100*time.Microsecond<<min(attempt, 8), 20*time.Millisecond)))
}

// pause waits d, or until ctx ends: then it returns ctx's error.
func pause(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// notTaken reports whether err says that JetStream did not take a request at all: no stream
// leader just now (503, "JetStream system temporarily unavailable", while the servers elect
// one after a busy spell or a failure) or nobody to answer it. Such a request may be sent
// again, a write included: it was not carried out.
func notTaken(err error) bool {
	var api *jetstream.APIError
	return errors.Is(err, nats.ErrNoResponders) || errors.Is(err, jetstream.ErrNoStreamResponse) ||
		(errors.As(err, &api) && api.Code == http.StatusServiceUnavailable)
}

// untilTaken runs op, and again after a pause while JetStream does not take it (notTaken),
// until ctx ends; it returns op's last error. The pauses grow from 10 ms to half a second: an
// election takes a moment, and requests sent in a tight loop would only add to the load.
func untilTaken(ctx context.Context, op func() error) error {
	for attempt := 0; ; attempt++ {
		err := op()
		if !notTaken(err) {
			return err
		}
		if pause(ctx, min(10*time.Millisecond<<min(attempt, 6), 500*time.Millisecond)) != nil {
			return err
		}
	}
}
