// Package cluster lets several relays behave, to every client, as one relay (spec §5.11,
// "Relays in a cluster"), over NATS with JetStream: it gives a relay (package server) the shared
// directory (package kvstore), who is online where (presence.go), the member lists of groups
// (members.go) and a subject of its own on which the other relays reach it (this file). What
// the relay does with them, the protocol's rules, stays in package server; this package knows
// nothing of the wire format.
//
// # Buckets and subjects
//
// With the prefix P (Options.Bucket, "blindpost" by default): the key-value bucket P holds the
// directory (kvstore), P-presence maps each online user to the node and connection holding it,
// P-members maps each group with members online to them. Node N listens on P.node.N, one
// subscription whose messages are handled one after the other, in the order NATS delivers them.
//
// # Order
//
// NATS delivers the messages one connection publishes, to one subscription, in the order they
// were published. Each relay has one connection; a relay sends what one client connection
// asked for from that connection's reader goroutine, and a request is answered before the next
// message of that client is read. So the messages of one sender reach one recipient in the
// order the sender sent them (spec §5.11 [CLU-3]).
package cluster

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/blindpost/blindpost/impl/server/cluster/kvstore"
	"github.com/blindpost/blindpost/impl/server/directory"
)

// DefaultBucket is the prefix of the buckets and subjects when Options.Bucket is empty.
const DefaultBucket = kvstore.DefaultBucket

// ErrNodeGone: no relay listens on the subject of the node asked (NATS "no responders"): the
// node has stopped or lost NATS, and what it held is gone with it.
var ErrNodeGone = errors.New("cluster: the node is gone")

// Options configure Join.
type Options struct {
	Conn     *nats.Conn // connected by the caller (external or embedded NATS)
	Bucket   string     // KV bucket prefix; "" = default
	Replicas int        // JetStream replicas of the buckets (1 or 3; 0 = min(3, servers))
	NodeName string     // "" = random; shown in logs and status
	Logger   *slog.Logger
}

// Handler is the relay side of a node: what the node delivers to its relay. Every method runs
// on the node's goroutines and must not block for long: the messages of the node's subject are
// handled one after the other.
type Handler interface {
	// HandleMessage handles a message from another node on this node's subject; when it has a
	// reply subject the handler answers with m.RespondMsg.
	HandleMessage(m *nats.Msg)
	// HandlePresence reports a change of the presence bucket: user is now at loc (ok), or
	// nowhere (!ok).
	HandlePresence(user string, loc Location, ok bool)
	// HandleLost reports that the NATS connection is closed for good (its reconnects are
	// exhausted): the node can no longer act as part of the cluster.
	HandleLost()
}

// Node is one relay's membership in a cluster.
type Node struct {
	nc     *nats.Conn
	js     jetstream.JetStream
	log    *slog.Logger
	id     string
	prefix string
	store  *kvstore.Store
	opts   Options

	presence jetstream.KeyValue
	pstream  jetstream.Stream
	members  jetstream.KeyValue
	view     *view
	replies  *replies

	mu      sync.Mutex
	handler Handler
	sub     *nats.Subscription
	closed  bool
	life    context.Context // ends when the node closes (stop)
	stop    context.CancelFunc
	done    chan struct{}

	withdraw withdrawals // releases to send again (withdraw.go)
}

var nodeNameRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,32}$`)

// Join opens (creating them when no node has yet) the cluster's buckets on opts.Conn, starts
// watching who is online, and returns the node. It does not listen on the node's subject until
// Attach.
func Join(ctx context.Context, opts Options) (*Node, error) {
	if opts.Conn == nil {
		return nil, errors.New("cluster: no NATS connection")
	}
	if opts.NodeName != "" && !nodeNameRE.MatchString(opts.NodeName) {
		return nil, fmt.Errorf("cluster: node name %q: use 1 to 32 letters, digits, - or _", opts.NodeName)
	}
	if opts.Bucket == "" {
		opts.Bucket = DefaultBucket
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if opts.Replicas == 0 {
		opts.Replicas = min(3, max(1, len(opts.Conn.Servers())))
	}
	js, err := jetstream.New(opts.Conn)
	if err != nil {
		return nil, fmt.Errorf("cluster: %w", err)
	}
	n := &Node{nc: opts.Conn, js: js, prefix: opts.Bucket, opts: opts, id: nodeID(opts.NodeName)}
	n.log = opts.Logger.With("node", n.id)
	if err := n.openBuckets(ctx); err != nil {
		return nil, err
	}
	if err := n.startReplies(); err != nil {
		return nil, err
	}
	wctx, stop := context.WithCancel(context.Background())
	n.life, n.stop, n.done = wctx, stop, make(chan struct{})
	if n.view, err = watchPresence(ctx, wctx, n); err != nil {
		stop()
		_ = n.replies.sub.Unsubscribe()
		return nil, fmt.Errorf("cluster: watch presence: %w", err)
	}
	opts.Conn.SetClosedHandler(func(*nats.Conn) { n.lost() })
	n.log.Info("joined the cluster", "bucket", opts.Bucket, "replicas", opts.Replicas)
	return n, nil
}

// JoinWait bounds how long Join waits for JetStream to place the cluster's buckets: nodes that
// start together find a meta leader before every server has reported itself to it, and until
// then an R3 bucket has "no suitable peers".
const JoinWait = time.Minute

// joinAttempt bounds one attempt at opening the buckets.
const joinAttempt = 5 * time.Second

// openBuckets opens or creates the directory, presence and members buckets, trying again while
// the cluster cannot place them yet (transient), up to JoinWait.
func (n *Node) openBuckets(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, JoinWait)
	defer cancel()
	for attempt := 1; ; attempt++ {
		err := n.openBucketsOnce(ctx)
		if err == nil || !transient(err) || ctx.Err() != nil {
			return err
		}
		n.log.Info("cluster: the buckets cannot be placed yet; trying again", "attempt", attempt, "err", err)
		t := time.NewTimer(250 * time.Millisecond)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w (gave up after %s: are the other NATS servers of the cluster running and routed?)", err, JoinWait)
		case <-t.C:
		}
	}
}

func (n *Node) openBucketsOnce(parent context.Context) error {
	ctx, cancel := context.WithTimeout(parent, joinAttempt)
	defer cancel()
	var err error
	opts := n.opts
	if n.store, err = kvstore.Open(ctx, n.js, kvstore.Options{Bucket: opts.Bucket, Replicas: opts.Replicas}); err != nil {
		return fmt.Errorf("cluster: %w", err)
	}
	if n.presence, n.pstream, err = kvstore.OpenBucket(ctx, n.js, opts.Bucket+"-presence", "blindpost relay presence: user to node", opts.Replicas, jetstream.MemoryStorage); err != nil {
		return fmt.Errorf("cluster: presence bucket: %w", err)
	}
	if n.members, _, err = kvstore.OpenBucket(ctx, n.js, opts.Bucket+"-members", "blindpost relay group members", opts.Replicas, jetstream.MemoryStorage); err != nil {
		return fmt.Errorf("cluster: members bucket: %w", err)
	}
	return nil
}

// jsErrNoSuitablePeers is JetStream's error code for a stream it cannot place on enough servers
// (not among the client library's named codes).
const jsErrNoSuitablePeers jetstream.ErrorCode = 10005

// transient reports whether err may go away while the cluster forms: no servers to place a
// bucket on yet, a bucket being created by another node, no JetStream answer yet, or an attempt
// that ran out of time.
func transient(err error) bool {
	var api *jetstream.APIError
	if errors.As(err, &api) {
		// A bucket another node is creating at the same moment may not be found yet.
		return api.ErrorCode == jsErrNoSuitablePeers || api.ErrorCode == jetstream.JSErrCodeStreamNotFound || api.Code == 503
	}
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrNoResponders) ||
		errors.Is(err, jetstream.ErrStreamNotFound) || errors.Is(err, jetstream.ErrBucketNotFound) ||
		errors.Is(err, nats.ErrTimeout) || errors.Is(err, jetstream.ErrJetStreamNotEnabled)
}

// nodeID returns name followed by a random suffix, so that a restarted node is a new node:
// entries a previous run left behind never name a live connection.
func nodeID(name string) string {
	var b [4]byte
	rand.Read(b[:])
	if name == "" {
		name = "node"
	}
	return name + "-" + hex.EncodeToString(b[:])
}

// ID returns the node's id: its name and a random suffix. Other nodes address it by it.
func (n *Node) ID() string { return n.id }

// Store returns the cluster's directory, with no bound on the number of names.
func (n *Node) Store() directory.Store { return n.store }

// StoreFor returns the cluster's directory bounded to maxUsers names (0: no bound), with the
// clock now (nil: time.Now), as a relay configured with --max-users uses it (spec §5.2 [REG-13]):
// the bucket Join opened, not opened again.
func (n *Node) StoreFor(maxUsers int, now func() time.Time) directory.Store {
	return n.store.Bounded(maxUsers, now)
}

// Logger returns the node's logger.
func (n *Node) Logger() *slog.Logger { return n.log }

func (n *Node) subject(node string) string { return n.prefix + ".node." + node }

// Attach makes h the node's relay and starts listening on the node's subject.
func (n *Node) Attach(h Handler) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return errors.New("cluster: the node is closed")
	}
	if n.handler != nil {
		return errors.New("cluster: the node already serves a relay")
	}
	sub, err := n.nc.Subscribe(n.subject(n.id), func(m *nats.Msg) {
		if m.Header.Get(opHeader) == opPing {
			_ = m.Respond(nil) // Sweep: this node is alive
			return
		}
		h.HandleMessage(m)
	})
	if err != nil {
		return fmt.Errorf("cluster: subscribe: %w", err)
	}
	// A relay's traffic arrives here: no message is dropped for a slow handler (it never
	// blocks long), the limits are those of memory.
	_ = sub.SetPendingLimits(-1, -1)
	if err := n.nc.Flush(); err != nil {
		sub.Unsubscribe()
		return fmt.Errorf("cluster: subscribe: %w", err)
	}
	n.handler, n.sub = h, sub
	return nil
}

// Detach stops listening on the node's subject; the relay is no longer part of the cluster.
func (n *Node) Detach() {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.sub != nil {
		_ = n.sub.Unsubscribe()
	}
	n.handler, n.sub = nil, nil
}

func (n *Node) currentHandler() Handler {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.handler
}

func (n *Node) lost() {
	n.mu.Lock()
	h, closed := n.handler, n.closed
	n.mu.Unlock()
	if closed {
		return
	}
	n.log.Error("the NATS connection is closed: the node leaves the cluster")
	if h != nil {
		h.HandleLost()
	}
}

// Request sends data with hdr to node and waits for its answer, until ctx is done. It returns
// ErrNodeGone when no relay listens on that node's subject.
func (n *Node) Request(ctx context.Context, node string, hdr nats.Header, data []byte) (*nats.Msg, error) {
	m, err := n.nc.RequestMsgWithContext(ctx, &nats.Msg{Subject: n.subject(node), Header: hdr, Data: data})
	if errors.Is(err, nats.ErrNoResponders) {
		return nil, fmt.Errorf("%w: %s", ErrNodeGone, node)
	}
	if err != nil {
		return nil, fmt.Errorf("cluster: request to %s: %w", node, err)
	}
	return m, nil
}

// Publish sends data with hdr to node without waiting. It never blocks: NATS buffers it.
func (n *Node) Publish(node string, hdr nats.Header, data []byte) error {
	if err := n.nc.PublishMsg(&nats.Msg{Subject: n.subject(node), Header: hdr, Data: data}); err != nil {
		return fmt.Errorf("cluster: publish to %s: %w", node, err)
	}
	return nil
}

// Close stops the node: it no longer listens or watches. The NATS connection stays the
// caller's, and so do the buckets: what they hold stays for the other nodes.
func (n *Node) Close() error {
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return nil
	}
	n.closed = true
	sub := n.sub
	n.handler, n.sub = nil, nil
	n.mu.Unlock()
	if sub != nil {
		_ = sub.Unsubscribe()
	}
	_ = n.replies.sub.Unsubscribe()
	n.stop()
	<-n.done
	n.stopWithdrawing()
	return nil
}
