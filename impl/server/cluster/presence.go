package cluster

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Location is where a user is online: a node and a connection of that node.
type Location struct {
	Node string `json:"node"`
	Conn uint64 `json:"conn"`
	// Rev is the presence bucket's revision of the entry: a later claim has a larger one.
	Rev uint64 `json:"-"`
}

// view is the node's copy of the presence bucket, kept by a watcher. rev is the last revision
// applied; Sync waits until it reaches the bucket's last revision.
type view struct {
	mu      sync.Mutex
	users   map[string]Location
	rev     uint64
	changed chan struct{} // closed and replaced whenever rev moves
}

func presenceKey(user string) string { return hex.EncodeToString([]byte(user)) }

// watchPresence starts the watcher of the presence bucket; it runs until wctx is done.
func watchPresence(ctx, wctx context.Context, n *Node) (*view, error) {
	w, err := n.presence.WatchAll(wctx)
	if err != nil {
		return nil, err
	}
	v := &view{users: make(map[string]Location), changed: make(chan struct{})}
	go func() {
		defer close(n.done)
		defer w.Stop()
		for {
			select {
			case <-wctx.Done():
				return
			case e, ok := <-w.Updates():
				if !ok {
					return
				}
				if e != nil {
					v.apply(n, e)
				}
			}
		}
	}()
	return v, nil
}

func (v *view) apply(n *Node, e jetstream.KeyValueEntry) {
	raw, err := hex.DecodeString(e.Key())
	if err != nil {
		n.log.Warn("presence: corrupt key", "key", e.Key())
		return
	}
	user := string(raw)
	var loc Location
	ok := e.Operation() == jetstream.KeyValuePut
	if ok {
		if err := json.Unmarshal(e.Value(), &loc); err != nil {
			n.log.Warn("presence: corrupt entry", "user", user)
			ok = false
		}
		loc.Rev = e.Revision()
	}
	v.mu.Lock()
	if ok {
		v.users[user] = loc
	} else {
		delete(v.users, user)
	}
	v.rev = max(v.rev, e.Revision())
	close(v.changed)
	v.changed = make(chan struct{})
	v.mu.Unlock()
	if h := n.currentHandler(); h != nil {
		h.HandlePresence(user, loc, ok)
	}
}

// Sync waits until the node's view holds every presence change acknowledged before it was
// called: a user whose registration was answered on any node is then in the view.
func (n *Node) Sync(ctx context.Context) error {
	info, err := n.pstream.Info(ctx)
	if err != nil {
		return fmt.Errorf("cluster: presence: %w", err)
	}
	last := info.State.LastSeq
	for {
		n.view.mu.Lock()
		rev, changed := n.view.rev, n.view.changed
		n.view.mu.Unlock()
		if rev >= last {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("cluster: presence: %w", ctx.Err())
		case <-changed:
		}
	}
}

// Locate returns where user is online. A user the view does not hold is read from the
// bucket (at its leader), so that one who registered just now on another node is found even
// while the view lags (a watcher catching up after its NATS server was lost).
func (n *Node) Locate(ctx context.Context, user string) (Location, bool, error) {
	if loc, ok := n.lookup(user); ok {
		return loc, true, nil
	}
	return n.read(ctx, user)
}

// read returns the presence entry of user as the bucket holds it now.
func (n *Node) read(ctx context.Context, user string) (Location, bool, error) {
	e, err := n.presence.Get(ctx, presenceKey(user))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return Location{}, false, nil
	}
	if err != nil {
		return Location{}, false, fmt.Errorf("cluster: locate %s: %w", user, err)
	}
	var loc Location
	if err := json.Unmarshal(e.Value(), &loc); err != nil {
		return Location{}, false, fmt.Errorf("cluster: locate %s: %w", user, err)
	}
	loc.Rev = e.Revision()
	return loc, true, nil
}

func (n *Node) lookup(user string) (Location, bool) {
	n.view.mu.Lock()
	defer n.view.mu.Unlock()
	loc, ok := n.view.users[user]
	return loc, ok
}

// IsOnline reports whether the view holds user (without Sync).
func (n *Node) IsOnline(user string) bool {
	_, ok := n.lookup(user)
	return ok
}

// Online returns the users online on any node, sorted by byte value, after Sync.
func (n *Node) Online(ctx context.Context) ([]string, error) {
	sctx, cancel := context.WithTimeout(ctx, syncWait)
	err := n.Sync(sctx)
	cancel()
	if err != nil {
		// The view lags (its watcher is catching up): list the bucket's keys instead.
		return n.listOnline(ctx)
	}
	n.view.mu.Lock()
	defer n.view.mu.Unlock()
	return slices.Sorted(maps.Keys(n.view.users)), nil
}

// OnlineCount returns how many users the view holds online.
func (n *Node) OnlineCount() int {
	n.view.mu.Lock()
	defer n.view.mu.Unlock()
	return len(n.view.users)
}

// Claim records that user is online on this node, on connection conn, and returns the
// location it replaces, if any, and the revision of the claim (spec §5.11 [CLU-2]: one
// connection per user in the cluster). Of two claims at once, each replaces the other in
// turn: the later one, by revision, holds the name.
func (n *Node) Claim(ctx context.Context, user string, conn uint64) (prev Location, had bool, rev uint64, err error) {
	raw, err := json.Marshal(Location{Node: n.id, Conn: conn})
	if err != nil {
		return Location{}, false, 0, fmt.Errorf("cluster: claim: %w", err)
	}
	key := presenceKey(user)
	for range 64 {
		e, err := n.presence.Get(ctx, key)
		var cur uint64
		switch {
		case errors.Is(err, jetstream.ErrKeyNotFound):
			had = false
		case err != nil:
			return Location{}, false, 0, fmt.Errorf("cluster: claim %s: %w", user, err)
		default:
			cur = e.Revision()
			had = json.Unmarshal(e.Value(), &prev) == nil
			prev.Rev = cur
		}
		if cur == 0 {
			rev, err = n.presence.Create(ctx, key, raw)
		} else {
			rev, err = n.presence.Update(ctx, key, raw, cur)
		}
		if err == nil {
			return prev, had, rev, nil
		}
		if !errors.Is(err, jetstream.ErrKeyExists) && !errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
			return Location{}, false, 0, fmt.Errorf("cluster: claim %s: %w", user, err)
		}
		prev, had = Location{}, false
	}
	return Location{}, false, 0, fmt.Errorf("cluster: claim %s: too many concurrent claims", user)
}

// Release removes the claim of revision rev on user, unless a later claim replaced it. When
// the bucket does not take it, it returns the error and sends the release again in the
// background until it does (withdraw.go).
func (n *Node) Release(ctx context.Context, user string, rev uint64) error {
	err := n.release(ctx, user, rev)
	if err != nil {
		n.withdrawLater(user, rev)
	}
	return err
}

// release is Release without the retries.
func (n *Node) release(ctx context.Context, user string, rev uint64) error {
	err := n.presence.Delete(ctx, presenceKey(user), jetstream.LastRevision(rev))
	if err != nil && !errors.Is(err, jetstream.ErrKeyExists) && !errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
		return fmt.Errorf("cluster: release %s: %w", user, err)
	}
	return nil
}

// LocateFresh returns where user is online as the bucket holds it now: a user who went
// offline before it was called is not found.
func (n *Node) LocateFresh(ctx context.Context, user string) (Location, bool, error) {
	return n.read(ctx, user)
}

// syncWait is how long Online waits for the view before it lists the bucket instead.
const syncWait = time.Second

func (n *Node) listOnline(ctx context.Context) ([]string, error) {
	keys, err := n.presence.ListKeys(ctx, jetstream.MetaOnly())
	if err != nil {
		return nil, fmt.Errorf("cluster: online users: %w", err)
	}
	var names []string
	for k := range keys.Keys() {
		if raw, err := hex.DecodeString(k); err == nil {
			names = append(names, string(raw))
		}
	}
	slices.Sort(names)
	return names, nil
}
