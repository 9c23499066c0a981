package kvstore

import (
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/blindpost/blindpost/impl/server/cluster/natstest"
	"github.com/blindpost/blindpost/impl/server/directory"
	"github.com/blindpost/blindpost/impl/server/directory/storetest"
	"github.com/nats-io/nats.go/jetstream"
	"pgregory.net/rapid"
)

var buckets atomic.Int64

// openOn opens a Store on a fresh R3 bucket through a connection to node i of c.
func openOn(t testing.TB, c *natstest.Cluster, i int, bucket string, maxUsers int, now func() time.Time) *Store {
	t.Helper()
	js, err := jetstream.New(c.Connect(i))
	if err != nil {
		t.Fatal(err)
	}
	var s *Store
	// The meta leader places an R3 bucket only on servers it counts online now; on a busy
	// machine a server whose report is late counts as offline for a moment ("no suitable
	// peers"), which cluster.Join waits out too.
	c.WaitFor("bucket "+bucket+" placed on three servers", func() bool {
		s, err = Open(t.Context(), js, Options{Bucket: bucket, Replicas: 3, MaxUsers: maxUsers, Now: now})
		return !noSuitablePeers(err)
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// noSuitablePeers reports whether err is JetStream's refusal to place a stream on enough
// servers (nats-server's JSClusterNoPeersErrF, not among nats.go's named codes).
func noSuitablePeers(err error) bool {
	var api *jetstream.APIError
	return errors.As(err, &api) && api.ErrorCode == 10005
}

func newBucket() string { return fmt.Sprintf("test%d", buckets.Add(1)) }

// TestStoreContract runs the same contract against the bbolt directory and the key-value store
// on a three-node JetStream cluster (R3 bucket): the cluster must behave as one relay.
func TestStoreContract(t *testing.T) {
	c := natstest.Start(t, 3)
	stores := []struct {
		name string
		open storetest.Opener
	}{
		{"bbolt", func(t *testing.T, maxUsers int, now func() time.Time) directory.Store {
			d, err := directory.Open(filepath.Join(t.TempDir(), directory.FileName), directory.Options{MaxUsers: maxUsers, Now: now})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { d.Close() })
			return d
		}},
		{"kv-r3", func(t *testing.T, maxUsers int, now func() time.Time) directory.Store {
			return openOn(t, c, 0, newBucket(), maxUsers, now)
		}},
	}
	for _, s := range stores {
		t.Run(s.name, func(t *testing.T) { storetest.Run(t, s.open) })
	}
}

// TestRaceAcrossNodes: relays on different NATS nodes racing for the same new name or the same
// group epoch give exactly one winner (spec §5.2 [REG-5]; §5.9 [GSV-4] [GSV-5]: one ack, the
// others stale_epoch), and every node then reads the winner.
func TestRaceAcrossNodes(t *testing.T) {
	c := natstest.Start(t, 3)
	bucket := newBucket()
	var stores []*Store
	for i := range 3 {
		stores = append(stores, openOn(t, c, i, bucket, 0, time.Now))
	}
	n := 0
	rapid.Check(t, func(rt *rapid.T) {
		n++
		racers := rapid.IntRange(2, 3).Draw(rt, "racers")
		nodes := rapid.Permutation([]int{0, 1, 2}).Draw(rt, "nodes")[:racers]
		name := fmt.Sprintf("user%d", n)
		// Every racer brings the same invite, with a use for each: the losers must give
		// theirs back (spec §5.2.1: a refused registration uses nothing).
		code, _, err := stores[0].CreateInvite(racers, 0)
		if err != nil {
			rt.Fatal(err)
		}
		admit := directory.Admission{Policy: directory.PolicyInvite, Invite: code}
		results := make([]directory.Result, racers)
		errs := make([]error, racers)
		var wg sync.WaitGroup
		for i, node := range nodes {
			wg.Go(func() {
				results[i], errs[i] = stores[node].Bind(storetest.Entry(name, byte(i+1), 1), admit)
			})
		}
		wg.Wait()
		winner := -1
		for i := range racers {
			switch {
			case errs[i] == nil && results[i] == directory.Created && winner < 0:
				winner = i
			case errors.Is(errs[i], directory.ErrIdentityMismatch):
			default:
				rt.Fatalf("racer %d on node %d: %v, %v (winner so far %d)", i, nodes[i], results[i], errs[i], winner)
			}
		}
		if winner < 0 {
			rt.Fatalf("no racer bound %s: %v", name, errs)
		}
		for node, s := range stores {
			if held, err := s.Holds(storetest.Entry(name, byte(winner+1), 1)); err != nil || !held {
				rt.Fatalf("node %d does not read the winner's binding of %s: %v, %v", node, name, held, err)
			}
		}

		if uses := inviteUses(rt, stores[nodes[0]], code); uses != racers-1 {
			rt.Fatalf("the invite has %d uses left after one name was bound, want %d", uses, racers-1)
		}
		if err := stores[0].RevokeInvite(code); err != nil {
			rt.Fatal(err)
		}
		// The counter behind --max-users counts exactly the bound names.
		if got, want := counter(rt, stores[nodes[1]], keyUsers), n; got != want {
			rt.Fatalf("users counter = %d after %d names bound", got, want)
		}

		group := fmt.Sprintf("g%d", n)
		epochs := rapid.IntRange(1, 3).Draw(rt, "epochs")
		for epoch := int64(1); epoch <= int64(epochs); epoch++ {
			saves := make([]directory.GroupSave, racers)
			for i, node := range nodes {
				wg.Go(func() {
					g := directory.Group{Epoch: epoch, LastCommit: fmt.Appendf(nil, `{"by":%d}`, i), Updated: time.Unix(epoch, 0)}
					saves[i], errs[i] = stores[node].SaveGroupIf(group, g, epoch-1, 0)
				})
			}
			wg.Wait()
			if err := errors.Join(errs...); err != nil {
				rt.Fatal(err)
			}
			won := -1
			for i, sv := range saves {
				switch {
				case sv == directory.GroupSaved && won < 0:
					won = i
				case sv != directory.GroupStale:
					rt.Fatalf("epoch %d: results %v, want one saved and the others stale", epoch, saves)
				}
			}
			if won < 0 {
				rt.Fatalf("epoch %d: nobody saved: %v", epoch, saves)
			}
			for node, s := range stores {
				g, ok, err := s.LoadGroup(group)
				if err != nil || !ok || g.Epoch != epoch || string(g.LastCommit) != fmt.Sprintf(`{"by":%d}`, won) {
					rt.Fatalf("node %d reads %+v, %v, %v; want epoch %d by %d", node, g, ok, err, epoch, won)
				}
			}
		}
	})
}

func inviteUses(rt *rapid.T, s *Store, code string) int {
	e, err := s.get(rt.Context(), inviteKey(code))
	if err != nil || e == nil {
		rt.Fatalf("invite: %v, %v", e, err)
	}
	r, err := decodeInvite(e)
	if err != nil {
		rt.Fatal(err)
	}
	return r.Uses
}

func counter(rt *rapid.T, s *Store, key string) int {
	e, err := s.get(rt.Context(), key)
	if err != nil || e == nil {
		rt.Fatalf("counter %s: %v, %v", key, e, err)
	}
	n, err := strconv.Atoi(string(e.Value()))
	if err != nil {
		rt.Fatal(err)
	}
	return n
}

// TestNATSNodeLoss: with one NATS node of three stopped, the R3 bucket stays readable and
// writable through the other two (bindings kept, registrations go on, group commits sequenced).
func TestNATSNodeLoss(t *testing.T) {
	c := natstest.Start(t, 3)
	bucket := newBucket()
	s0 := openOn(t, c, 0, bucket, 0, time.Now)
	s1 := openOn(t, c, 1, bucket, 0, time.Now)
	for i, u := range []string{"alice", "bob"} {
		if _, err := s0.Bind(storetest.Entry(u, byte(i+1), 1), directory.Admission{}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s0.SaveGroupIf("g", directory.Group{Epoch: 1, LastCommit: []byte(`{}`)}, 0, 0); err != nil {
		t.Fatal(err)
	}
	// The bucket is replicated on the three nodes, and only the leader answers reads.
	info, err := s0.stream.Info(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if info.Config.Replicas != 3 || info.Cluster == nil || len(info.Cluster.Replicas) != 2 || info.Config.AllowDirect {
		t.Fatalf("bucket: %d replicas, cluster %+v, direct gets %v; want R3 and no direct gets", info.Config.Replicas, info.Cluster, info.Config.AllowDirect)
	}
	// Lose the node that leads the bucket: the strongest case.
	dead := info.Cluster.Leader
	c.Stop(c.Index(dead))
	c.WaitReady()
	c.WaitFor("a new leader of the bucket", func() bool {
		info, err := s0.stream.Info(t.Context())
		return err == nil && info.Cluster != nil && info.Cluster.Leader != "" && info.Cluster.Leader != dead
	})
	for _, s := range []*Store{s0, s1} {
		if held, err := s.Holds(storetest.Entry("alice", 1, 1)); err != nil || !held {
			t.Fatalf("after the loss of a node: Holds(alice) = %v, %v", held, err)
		}
	}
	if got, err := s1.Bind(storetest.Entry("carol", 3, 1), directory.Admission{}); err != nil || got != directory.Created {
		t.Fatalf("after the loss of a node: Bind(carol) = %v, %v", got, err)
	}
	if _, err := s0.Bind(storetest.Entry("carol", 4, 1), directory.Admission{}); !errors.Is(err, directory.ErrIdentityMismatch) {
		t.Fatalf("after the loss of a node: a second key for carol = %v, want identity mismatch", err)
	}
	if got, err := s1.SaveGroupIf("g", directory.Group{Epoch: 2, LastCommit: []byte(`{}`)}, 1, 0); err != nil || got != directory.GroupSaved {
		t.Fatalf("after the loss of a node: SaveGroupIf = %v, %v", got, err)
	}
	if got, err := s0.SaveGroupIf("g", directory.Group{Epoch: 2, LastCommit: []byte(`{}`)}, 1, 0); err != nil || got != directory.GroupStale {
		t.Fatalf("after the loss of a node: a second commit for epoch 2 = %v, %v", got, err)
	}
	if n, err := s0.Count(); err != nil || n != 3 {
		t.Fatalf("after the loss of a node: Count = %d, %v", n, err)
	}
}

// TestManyBindsAtOnce: a relay admitting hundreds of new names at once (a crowd reconnecting,
// the scale run) binds every one. Every new name adds one to the same counter; before its
// updates took turns within the process, 300 at once exhausted the compare-and-set retries
// ("too many concurrent writers on one key").
func TestManyBindsAtOnce(t *testing.T) {
	c := natstest.Start(t, 3)
	bucket := newBucket()
	stores := []*Store{openOn(t, c, 0, bucket, 1000, nil), openOn(t, c, 1, bucket, 1000, nil)}
	const n = 300
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			_, errs[i] = stores[i%len(stores)].Bind(storetest.Entry(fmt.Sprintf("crowd%d", i), byte(i), byte(i>>8)), directory.Admission{})
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("bind %d of %d at once: %v", i, n, err)
		}
	}
	if got, err := stores[0].Count(); err != nil || got != n {
		t.Fatalf("Count() = %d, %v; want %d", got, err, n)
	}
}

// TestTakeTokenShared: the registration limit over all addresses is one bucket for the whole
// cluster (spec §5.2.1 [INV-5], §5.11): relays taking at once through two nodes get exactly its
// burst between them, and tokens accrue at its rate from the time recorded.
func TestTakeTokenShared(t *testing.T) {
	c := natstest.Start(t, 3)
	bucket := newBucket()
	stores := []*Store{openOn(t, c, 0, bucket, 0, nil), openOn(t, c, 1, bucket, 0, nil)}
	const burst, tries = 7, 40
	now := time.Unix(1_900_000_000, 0)
	var (
		wg    sync.WaitGroup
		taken atomic.Int64
	)
	for i := range tries {
		wg.Go(func() {
			ok, err := stores[i%2].TakeToken("register", 2, burst, now)
			if err != nil {
				t.Errorf("take %d: %v", i, err)
			}
			if ok {
				taken.Add(1)
			}
		})
	}
	wg.Wait()
	if got := taken.Load(); got != burst {
		t.Fatalf("%d tries at once through two relays took %d tokens; want the burst, %d", tries, got, burst)
	}
	for _, tc := range []struct {
		after time.Duration
		s     *Store
		want  bool
	}{
		{0, stores[0], false},                      // empty
		{400 * time.Millisecond, stores[1], false}, // 0.8 token accrued
		{500 * time.Millisecond, stores[0], true},  // 1.0
		{500 * time.Millisecond, stores[1], false}, // taken already, through the other relay
		{-time.Hour, stores[1], false},             // a clock behind adds nothing
		{2 * time.Second, stores[1], true},         // 3 more
	} {
		ok, err := tc.s.TakeToken("register", 2, burst, now.Add(tc.after))
		if err != nil || ok != tc.want {
			t.Fatalf("at +%s: TakeToken = %v, %v; want %v", tc.after, ok, err, tc.want)
		}
	}
}
