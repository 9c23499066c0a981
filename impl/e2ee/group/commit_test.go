package group

import (
	"bytes"
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/hpke"
	"crypto/sha256"
	"fmt"
	"slices"
	"testing"
	"testing/cryptotest"

	"github.com/blindpost/blindpost/impl/e2ee"
	"github.com/blindpost/blindpost/impl/e2ee/canonical"
	"github.com/blindpost/blindpost/impl/e2ee/identity"
)

// TestCommitFormat checks a commit against an independent computation of the
// formulas of spec §7.1 (ENC-2: every hashed, MACed and signed input is the
// enc layout or the fixed layout the spec gives), and GRP-1: every wrap holds
// the same fresh secret.
func TestCommitFormat(t *testing.T) {
	w := newWorld(t, "alice", "bob", "carol")
	c := w.commit
	alice := w.get("alice")

	// content, with member_i and wrapentry_i each a bytes field of a list.
	var members, wraps []byte
	for i, m := range c.Members {
		mi := append(append(append(canonical.AppendText(nil, m.User), canonical.AppendBytes(nil, m.IdentityKey)...),
			canonical.AppendBytes(nil, m.GroupKey)...), canonical.AppendBytes(nil, m.GroupKeySig)...)
		members = append(members, canonical.AppendBytes(nil, mi)...)
		wi := append(canonical.AppendText(nil, c.Wraps[i].User), canonical.AppendBytes(nil, c.Wraps[i].Wrap)...)
		wraps = append(wraps, canonical.AppendBytes(nil, wi)...)
	}
	content := canonical.AppendText(nil, "broadcast")
	content = canonical.AppendUint64(content, 1)
	content = canonical.AppendText(content, "alice")
	content = canonical.AppendBytes(content, nil) // prev is empty in the first commit
	content = canonical.AppendBytes(content, members)
	content = canonical.AppendBytes(content, wraps)
	if !bytes.Equal(Content(c), content) {
		t.Fatal("§7.1: content differs")
	}
	hash := sha256.Sum256(append([]byte("blindpost/1 commit"), content...))
	if !bytes.Equal(CommitHash(c), hash[:]) {
		t.Fatal("§7.1: commit_hash differs")
	}

	// Every wrap opens, with plain crypto/hpke and the spec's info, to the
	// same secret (GRP-1), from which confirm follows.
	var secret []byte
	for i, m := range c.Members {
		if len(c.Wraps[i].Wrap) != 80 {
			t.Fatalf("wrap is %d bytes", len(c.Wraps[i].Wrap))
		}
		info := append(canonical.AppendText(nil, "blindpost/1 group wrap"), canonical.AppendText(nil, "broadcast")...)
		info = canonical.AppendText(canonical.AppendUint64(info, 1), m.User)
		got := openWithHPKE(t, w.get(m.User).id, info, c.Wraps[i].Wrap)
		if secret != nil && !bytes.Equal(got, secret) {
			t.Fatal("GRP-1: members got different secrets")
		}
		secret = got
	}
	ck, _ := canonical.Expand(secret, canonical.ExpandConfirm, canonical.AppendUint64(canonical.AppendText(nil, "broadcast"), 1), 32)
	mac := hmac.New(sha256.New, ck)
	mac.Write(hash[:])
	if !bytes.Equal(c.Confirm, mac.Sum(nil)) {
		t.Fatal("§7.1: confirm differs")
	}
	signed := append(append([]byte("blindpost/1 commit sig"), hash[:]...), c.Confirm...)
	if !ed25519.Verify(alice.id.Public(), signed, c.Sig) {
		t.Fatal("§7.1: sig is not over label || commit_hash || confirm")
	}
	if !slices.IsSortedFunc(c.Members, func(a, b Member) int { return bytes.Compare([]byte(a.User), []byte(b.User)) }) {
		t.Fatal("members not sorted")
	}
}

// openWithHPKE opens a wrap with the standard library directly, as another
// implementation would: base mode, DHKEM(X25519), HKDF-SHA256, AES-256-GCM.
func openWithHPKE(t *testing.T, id *identity.PrivateKey, info, wrap []byte) []byte {
	t.Helper()
	seed := id.Seed()
	scalar, _ := canonical.Expand(seed, canonical.ExpandGroupKey, id.Public(), 32)
	priv, _ := ecdh.X25519().NewPrivateKey(scalar)
	k, _ := hpke.NewDHKEMPrivateKey(priv)
	pt, err := hpke.Open(k, hpke.HKDFSHA256(), hpke.AES256GCM(), info, wrap)
	if err != nil {
		t.Fatalf("§7.1: wrap does not open with plain HPKE: %v", err)
	}
	return pt
}

// TestReceiveCommitRejects checks GRP-2 to GRP-10: each defect of a commit is
// rejected with its outcome, and leaves the receiver's state and pins as
// they were (GRP-10). The genuine commit is accepted afterwards.
func TestReceiveCommitRejects(t *testing.T) {
	w := newWorld(t, "alice", "bob", "carol")
	alice, bob, carol := w.get("alice"), w.get("bob"), w.get("carol")
	mallory := newClient(t, "mallory", 66)
	p, err := alice.st.CreateCommit([]Member{alice.member(), bob.member(), carol.member()})
	if err != nil {
		t.Fatal(err)
	}
	secret := p.secret
	otherSecret := bytes.Repeat([]byte{0xee}, 32)
	rewrap := func(c *Commit, i int, info []byte, gk []byte) {
		wr, err := identity.SealGroupWrap(gk, info, secret)
		if err != nil {
			t.Fatal(err)
		}
		c.Wraps[i].Wrap = wr
	}
	tests := []struct {
		name    string
		outcome e2ee.Outcome
		rule    string
		mutate  func(c *Commit)
	}{
		{"committer not listed", e2ee.NotListed, "GRP-2", func(c *Commit) { c.Committer = "dave" }},
		{"flipped signature", e2ee.BadSignature, "GRP-3", func(c *Commit) { c.Sig[3] ^= 1 }},
		{"signed by another member", e2ee.BadSignature, "GRP-3", func(c *Commit) { resign(t, c, carol.id, secret) }},
		{"committer key substituted", e2ee.BadSignature, "GRP-3", func(c *Commit) {
			c.Members[0] = Member{User: "alice", IdentityKey: mallory.id.Public(), GroupKey: mallory.id.GroupPublic(), GroupKeySig: mallory.id.GroupKeySig("alice")}
			resign(t, c, mallory.id, secret)
		}},
		{"epoch skipped", e2ee.StaleEpoch, "GRP-4", func(c *Commit) { c.Epoch = 3; resign(t, c, alice.id, secret) }},
		{"old epoch replayed", e2ee.StaleEpoch, "GRP-4", func(c *Commit) { *c = *cloneCommit(w.commit) }},
		{"prev does not chain", e2ee.BadPrev, "GRP-5", func(c *Commit) { c.Prev = bytes.Repeat([]byte{1}, 32); resign(t, c, alice.id, secret) }},
		{"prev empty after a commit", e2ee.BadPrev, "GRP-5", func(c *Commit) { c.Prev = nil; resign(t, c, alice.id, secret) }},
		{"members unsorted", e2ee.BadMembers, "GRP-6", func(c *Commit) {
			c.Members[1], c.Members[2] = c.Members[2], c.Members[1]
			c.Wraps[1], c.Wraps[2] = c.Wraps[2], c.Wraps[1]
			resign(t, c, alice.id, secret)
		}},
		{"member duplicated", e2ee.BadMembers, "GRP-6", func(c *Commit) {
			c.Members[2], c.Wraps[2] = c.Members[1], c.Wraps[1]
			resign(t, c, alice.id, secret)
		}},
		{"wraps out of order", e2ee.BadMembers, "GRP-6", func(c *Commit) {
			c.Wraps[1], c.Wraps[2] = c.Wraps[2], c.Wraps[1]
			resign(t, c, alice.id, secret)
		}},
		{"wrap missing", e2ee.BadMembers, "GRP-6", func(c *Commit) { c.Wraps = c.Wraps[:2]; resign(t, c, alice.id, secret) }},
		{"short identity key", e2ee.Malformed, "MSG-1", func(c *Commit) {
			c.Members[2].IdentityKey = c.Members[2].IdentityKey[:31]
			resign(t, c, alice.id, secret)
		}},
		{"receiver not listed", e2ee.NotListed, "GRP-6", func(c *Commit) {
			c.Members = slices.Delete(c.Members, 1, 2)
			c.Wraps = slices.Delete(c.Wraps, 1, 2)
			resign(t, c, alice.id, secret)
		}},
		{"receiver listed with another key", e2ee.KeyNotPinned, "GRP-7", func(c *Commit) {
			c.Members[1].IdentityKey = mallory.id.Public()
			resign(t, c, alice.id, secret)
		}},
		{"member key differs from pin", e2ee.KeyNotPinned, "GRP-7", func(c *Commit) {
			c.Members[2] = Member{User: "carol", IdentityKey: mallory.id.Public(), GroupKey: mallory.id.GroupPublic(), GroupKeySig: mallory.id.GroupKeySig("carol")}
			rewrap(c, 2, WrapInfo("broadcast", 2, "carol"), mallory.id.GroupPublic())
			resign(t, c, alice.id, secret)
		}},
		{"group key signature broken", e2ee.BadSignature, "GRP-7", func(c *Commit) {
			c.Members[2].GroupKeySig = bytes.Clone(c.Members[2].GroupKeySig)
			c.Members[2].GroupKeySig[0] ^= 1
			resign(t, c, alice.id, secret)
		}},
		{"group key substituted", e2ee.BadSignature, "GRP-7", func(c *Commit) {
			c.Members[2].GroupKey = mallory.id.GroupPublic()
			resign(t, c, alice.id, secret)
		}},
		{"wrap for another epoch", e2ee.BadWrap, "GRP-8", func(c *Commit) {
			rewrap(c, 1, WrapInfo("broadcast", 3, "bob"), bob.id.GroupPublic())
			resign(t, c, alice.id, secret)
		}},
		{"wrap to another key", e2ee.BadWrap, "GRP-8", func(c *Commit) {
			rewrap(c, 1, WrapInfo("broadcast", 2, "bob"), carol.id.GroupPublic())
			resign(t, c, alice.id, secret)
		}},
		{"confirm from another secret", e2ee.BadConfirmationTag, "GRP-9", func(c *Commit) { resign(t, c, alice.id, otherSecret) }},
	}
	for _, tt := range tests {
		t.Run(tt.rule+" "+tt.name, func(t *testing.T) {
			before, pinsBefore := snapshot(bob.st), bob.pins.Users()
			c := cloneCommit(&p.Commit)
			tt.mutate(c)
			_, err := bob.st.ReceiveCommit(c)
			wantOutcome(t, err, tt.outcome, tt.rule)
			if snapshot(bob.st) != before || !slices.Equal(bob.pins.Users(), pinsBefore) {
				t.Fatal("GRP-10: a rejected commit changed the state or the pins")
			}
		})
	}
	if _, err := bob.st.ReceiveCommit(&p.Commit); err != nil {
		t.Fatalf("GRP-10: genuine commit refused after the rejections: %v", err)
	}
}

// TestSplitSecret checks GRP-9: a committer that wraps different secrets to
// different members is caught by the members whose secret differs from the
// one the confirmation tag was made with.
func TestSplitSecret(t *testing.T) {
	w := newWorld(t, "alice", "bob", "carol")
	alice := w.get("alice")
	members := []Member{w.get("alice").member(), w.get("bob").member(), w.get("carol").member()}
	c := Commit{Group: "broadcast", Epoch: 2, Committer: "alice", Prev: CommitHash(w.commit), Members: members}
	s1, s2 := bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32)
	if _, err := alice.st.seal(&c, [][]byte{s1, s1, s2}, s1); err != nil {
		t.Fatal(err)
	}
	if _, err := w.get("bob").st.ReceiveCommit(&c); err != nil {
		t.Fatalf("bob got the confirmed secret: %v", err)
	}
	_, err := w.get("carol").st.ReceiveCommit(&c)
	wantOutcome(t, err, e2ee.BadConfirmationTag, "GRP-9")
}

// TestPinsOnAccept checks GRP-7 with TRUST-1: unknown keys are pinned on
// first use, only when the commit is accepted, and reported.
func TestPinsOnAccept(t *testing.T) {
	w := newWorld(t, "alice", "bob")
	dave := newClient(t, "dave", 9)
	dave.join(t, 1, w.commit)
	if !dave.st.ShouldCommit([]string{"alice", "bob", "dave"}) {
		t.Fatal("§7.1: a joiner must commit")
	}
	p, err := dave.st.CreateCommit([]Member{w.get("alice").member(), w.get("bob").member()})
	if err != nil {
		t.Fatal(err)
	}
	bob := w.get("bob")
	bad := cloneCommit(&p.Commit)
	bad.Sig[0] ^= 1
	if _, err := bob.st.ReceiveCommit(bad); err == nil {
		t.Fatal("bad commit accepted")
	}
	if _, ok := bob.pins.Lookup("dave"); ok {
		t.Fatal("GRP-10: a rejected commit pinned a key")
	}
	info, err := bob.st.ReceiveCommit(&p.Commit)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(info.NewPins, []string{"dave"}) || info.Epoch != 2 || info.Committer != "dave" {
		t.Fatalf("TRUST-1: %+v", info)
	}
	if k, _ := bob.pins.Lookup("dave"); !bytes.Equal(k, dave.id.Public()) {
		t.Fatal("TRUST-1: dave not pinned")
	}
	info, err = dave.st.Apply(p)
	if err != nil || !slices.Equal(info.NewPins, []string{"alice", "bob"}) {
		t.Fatalf("committer pins: %+v, %v", info, err)
	}
}

// TestCreateCommitChecks checks what a committer refuses: a member whose
// directory key differs from the pin (TRUST-2, key_changed), a bad group key
// signature (KEY-5), a duplicate, and a wrong own entry.
func TestCreateCommitChecks(t *testing.T) {
	w := newWorld(t, "alice", "bob")
	alice, bob := w.get("alice"), w.get("bob")
	mallory := newClient(t, "mallory", 66)
	subst := Member{User: "bob", IdentityKey: mallory.id.Public(), GroupKey: mallory.id.GroupPublic(), GroupKeySig: mallory.id.GroupKeySig("bob")}
	_, err := alice.st.CreateCommit([]Member{subst})
	wantOutcome(t, err, e2ee.KeyChanged, "TRUST-2")

	badSig := bob.member()
	badSig.GroupKeySig = make([]byte, 64)
	_, err = alice.st.CreateCommit([]Member{badSig})
	wantOutcome(t, err, e2ee.BadSignature, "KEY-5")

	if _, err := alice.st.CreateCommit([]Member{bob.member(), bob.member()}); err == nil {
		t.Fatal("duplicate accepted")
	}
	var many []Member
	for i := 0; i < MaxMembers; i++ {
		c := newClient(t, fmt.Sprintf("m%03d", i), byte(100+i))
		many = append(many, c.member())
	}
	if _, err := alice.st.CreateCommit(many); err == nil {
		t.Fatal("more members than a commit may list")
	}
	alice.st.epoch = MaxEpoch
	if _, err := alice.st.CreateCommit([]Member{bob.member()}); err == nil {
		t.Fatal("epoch beyond 2^32-1")
	}
	alice.st.epoch = 1
	wrongSelf := alice.member()
	wrongSelf.IdentityKey = mallory.id.Public()
	if _, err := alice.st.CreateCommit([]Member{wrongSelf}); err == nil {
		t.Fatal("wrong own entry accepted")
	}
}

// TestApplyStale checks that a pending commit that lost the race cannot be
// applied, and that applying twice fails.
func TestApplyStale(t *testing.T) {
	w := newWorld(t, "alice", "bob")
	alice, bob := w.get("alice"), w.get("bob")
	mine, _ := alice.st.CreateCommit([]Member{bob.member()})
	theirs, _ := bob.st.CreateCommit([]Member{alice.member()})
	bob.st.Apply(theirs)
	if _, err := alice.st.ReceiveCommit(&theirs.Commit); err != nil {
		t.Fatal(err)
	}
	_, err := alice.st.Apply(mine)
	wantOutcome(t, err, e2ee.StaleEpoch, "GRP-4")
	mine.Discard()
	again, _ := alice.st.CreateCommit([]Member{bob.member()})
	if _, err := alice.st.Apply(again); err != nil {
		t.Fatal(err)
	}
	if _, err := alice.st.Apply(again); err == nil {
		t.Fatal("applied twice")
	}
}

// TestJoin checks GRP-11: the joiner takes the announced epoch and the hash
// of last_commit as its starting point, and refuses an inconsistent start.
func TestJoin(t *testing.T) {
	w := newWorld(t, "alice", "bob")
	dave := newClient(t, "dave", 9)
	dave.join(t, 1, w.commit)
	if dave.st.Epoch() != 1 || !bytes.Equal(dave.st.LastCommitHash(), CommitHash(w.commit)) || dave.st.HasSecret() {
		t.Fatal("GRP-11: wrong starting point")
	}
	if !slices.Equal(dave.st.Members(), []string{"alice", "bob"}) {
		t.Fatalf("members %v", dave.st.Members())
	}
	_, err := Join(dave.config(1), 2, nil)
	wantOutcome(t, err, e2ee.BadPrev, "GRP-11")
	_, err = Join(dave.config(1), 3, w.commit)
	wantOutcome(t, err, e2ee.StaleEpoch, "GRP-11")
	for _, cfg := range []Config{{}, {Group: "g", Self: "u"}, {Group: "g", Self: "u", Identity: dave.id}} {
		if _, err := Join(cfg, 0, nil); err == nil {
			t.Error("bad config accepted")
		}
	}
	// A commit for another group is not this state's.
	other := cloneCommit(w.commit)
	other.Group = "other"
	_, err = dave.st.ReceiveCommit(other)
	wantOutcome(t, err, e2ee.UnexpectedMessage, "")
}

// TestShouldCommit checks the "who commits" rule of §7.1.
func TestShouldCommit(t *testing.T) {
	w := newWorld(t, "alice", "bob", "carol")
	tests := []struct {
		self      string
		announced []string
		want      bool
	}{
		{"alice", []string{"alice", "bob", "carol"}, false}, // nothing changed
		{"alice", []string{"alice", "bob", "carol", "dave"}, false},
		{"bob", []string{"bob", "carol"}, true},    // alice left: bob is lowest
		{"carol", []string{"bob", "carol"}, false}, // bob commits
		{"alice", []string{"alice", "carol"}, true},
		{"carol", []string{"carol"}, true},
		{"bob", []string{"alice", "carol"}, false}, // bob is not announced
	}
	for _, tt := range tests {
		if got := w.get(tt.self).st.ShouldCommit(tt.announced); got != tt.want {
			t.Errorf("%s with %v: got %v", tt.self, tt.announced, got)
		}
	}
	fresh := newClient(t, "zed", 30)
	fresh.join(t, 0, nil)
	if !fresh.st.ShouldCommit([]string{"zed"}) {
		t.Fatal("the first member must commit epoch 1")
	}
}

// TestCommitDeterministic checks what vector generation relies on: with a
// fixed cfg.Rand and testing/cryptotest.SetGlobalRandom for the HPKE
// ephemerals, a commit is the same byte for byte.
func TestCommitDeterministic(t *testing.T) {
	build := func() *Commit {
		cryptotest.SetGlobalRandom(t, 42)
		w := newWorld(t, "alice", "bob")
		return w.commit
	}
	a, b := build(), build()
	if !bytes.Equal(Content(a), Content(b)) || !bytes.Equal(a.Sig, b.Sig) || !bytes.Equal(a.Confirm, b.Confirm) {
		t.Fatal("commit is not reproducible")
	}
}
