package group

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"testing/cryptotest"

	"github.com/blindpost/blindpost/impl/e2ee"
	"github.com/blindpost/blindpost/impl/e2ee/canonical"
	"github.com/blindpost/blindpost/impl/e2ee/identity"
	"github.com/blindpost/blindpost/impl/e2ee/internal/suite"
	"github.com/blindpost/blindpost/impl/e2ee/trust"
	"github.com/blindpost/blindpost/impl/wire"
	"github.com/blindpost/blindpost/schemas"
	"github.com/blindpost/blindpost/vectors"
)

// groupVectors is vectors/group.json with its cross-references resolved.
type groupVectors struct {
	v        vectors.Group
	ids      map[string]*identity.PrivateKey
	commits  map[string]vectors.CommitVector
	messages map[string]vectors.GroupMessageVector
}

func loadGroupVectors(t testing.TB) *groupVectors {
	t.Helper()
	g := &groupVectors{ids: map[string]*identity.PrivateKey{}, commits: map[string]vectors.CommitVector{}, messages: map[string]vectors.GroupMessageVector{}}
	if err := vectors.Load("group", &g.v); err != nil {
		t.Fatal(err)
	}
	for _, u := range g.v.Users {
		id, err := identity.FromSeed(u.Seed)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(id.Public(), u.IdentityKey) || !bytes.Equal(id.GroupPublic(), u.GroupKey) || !bytes.Equal(id.GroupKeySig(u.User), u.GroupKeySig) {
			t.Fatalf("KEY-4: the keys of %s differ from its seed's", u.User)
		}
		g.ids[u.User] = id
	}
	for _, c := range g.v.Commits {
		g.commits[c.ID] = c
	}
	for _, m := range g.v.Messages {
		g.messages[m.ID] = m
	}
	return g
}

// TestVectors runs vectors/group.json through this package (spec §8,
// VEC-1): every commit's values through Content, CommitHash, WrapInfo,
// ConfirmTag and CommitSignatureInput, its wraps opened by every member,
// its bytes reproduced by CreateCommit (with crypto/hpke made deterministic
// by testing/cryptotest) and its wire JSON accepted by ReceiveCommit of
// every other member (spec §7.1, GRP-1 to GRP-9); every message sealed by
// the sender's State and opened by the receiver's from its wire JSON (spec
// §7.2, GRP-13, GRP-15, GRP-16, with the 12-byte nonce and 16-byte tag of
// VEC-4); every negative vector step by step, with GRP-10 checked after each
// rejected commit (commit signatures VEC-3 rejects included); every
// malformed object through impl/wire.
func TestVectors(t *testing.T) {
	g := loadGroupVectors(t)
	for _, c := range g.v.Commits {
		t.Run("commit/"+c.ID, func(t *testing.T) { g.runCommit(t, c) })
	}
	for _, m := range g.v.Messages {
		t.Run("message/"+m.ID, func(t *testing.T) { g.runMessage(t, m) })
	}
	for _, c := range g.v.Negative {
		t.Run("negative/"+c.ID, func(t *testing.T) { g.runNegative(t, c) })
	}
	for _, c := range g.v.Malformed {
		t.Run("malformed/"+c.ID, func(t *testing.T) { checkMalformed(t, c) })
	}
}

// commitFromObject converts the hex form of a commit.
func commitFromObject(o vectors.CommitObject) *Commit {
	c := &Commit{Group: o.Group, Epoch: uint64(o.Epoch), Committer: o.Committer, Prev: o.Prev, Confirm: o.Confirm, Sig: o.Sig}
	for _, m := range o.Members {
		c.Members = append(c.Members, Member{User: m.User, IdentityKey: m.IdentityKey, GroupKey: m.GroupKey, GroupKeySig: m.GroupKeySig})
	}
	for _, w := range o.Wraps {
		c.Wraps = append(c.Wraps, Wrap{User: w.User, Wrap: w.Wrap})
	}
	return c
}

// commitFromWire converts a commit decoded by impl/wire.
func commitFromWire(w *wire.Commit) *Commit {
	c := &Commit{Group: w.Group, Epoch: uint64(w.Epoch), Committer: w.Committer, Prev: w.Prev, Confirm: w.Confirm, Sig: w.Sig}
	for _, m := range w.Members {
		c.Members = append(c.Members, Member{User: m.User, IdentityKey: m.IdentityKey, GroupKey: m.GroupKey, GroupKeySig: m.GroupKeySig})
	}
	for _, x := range w.Wraps {
		c.Wraps = append(c.Wraps, Wrap{User: x.User, Wrap: x.Wrap})
	}
	return c
}

func wireCommitOf(c *Commit) *wire.Commit {
	w := &wire.Commit{Group: c.Group, Epoch: int64(c.Epoch), Committer: c.Committer, Prev: c.Prev, Confirm: c.Confirm, Sig: c.Sig}
	for _, m := range c.Members {
		w.Members = append(w.Members, wire.CommitMember{User: m.User, IdentityKey: m.IdentityKey, GroupKey: m.GroupKey, GroupKeySig: m.GroupKeySig})
	}
	for _, x := range c.Wraps {
		w.Wraps = append(w.Wraps, wire.CommitWrap{User: x.User, Wrap: x.Wrap})
	}
	return w
}

// sameCommit compares two commits, treating nil and empty alike.
func sameCommit(a, b *Commit) bool { return commitDiff(a, b) == "" }

// commitDiff names the fields in which two commits differ.
func commitDiff(a, b *Commit) string {
	var diff []string
	va, vb := reflect.ValueOf(*a), reflect.ValueOf(*b)
	for i := range va.NumField() {
		if fmt.Sprintf("%+x", va.Field(i).Interface()) != fmt.Sprintf("%+x", vb.Field(i).Interface()) {
			diff = append(diff, va.Type().Field(i).Name)
		}
	}
	return strings.Join(diff, ", ")
}

// decodeCommitJSON decodes a commit's JSON with impl/wire and checks it
// against the commit it stands for.
func decodeCommitJSON(t *testing.T, text string, want *Commit) *Commit {
	t.Helper()
	w, err := wire.DecodeCommit([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	c := commitFromWire(w)
	if !sameCommit(c, want) {
		t.Fatalf("the commit JSON decodes to another commit")
	}
	return c
}

// state returns a fresh state of self for grp, with empty pins, joined just
// before the epoch of the commit named next (GRP-11).
func (g *groupVectors) state(t *testing.T, self, next string, rnd []byte) (*State, *trust.Store) {
	t.Helper()
	c, ok := g.commits[next]
	if !ok {
		t.Fatalf("no commit %q", next)
	}
	pins := trust.NewMemory()
	cfg := Config{Group: c.Commit.Group, Self: self, Identity: g.ids[self], Pins: pins, Rand: bytes.NewReader(rnd)}
	var st *State
	var err error
	if c.Previous == "" {
		st, err = Join(cfg, 0, nil)
	} else {
		prev := g.commits[c.Previous]
		st, err = Join(cfg, uint64(prev.Commit.Epoch), commitFromObject(prev.Commit))
	}
	if err != nil {
		t.Fatal(err)
	}
	return st, pins
}

// accepted returns a fresh state of self that accepted the commit named id.
func (g *groupVectors) accepted(t *testing.T, self, id string) *State {
	t.Helper()
	st, _ := g.state(t, self, id, nil)
	if _, err := st.ReceiveCommit(commitFromObject(g.commits[id].Commit)); err != nil {
		t.Fatalf("%s accepting %s: %v", self, id, err)
	}
	return st
}

func (g *groupVectors) runCommit(t *testing.T, v vectors.CommitVector) {
	c := commitFromObject(v.Commit)
	if v.Previous != "" && !bytes.Equal(c.Prev, g.commits[v.Previous].CommitHash) {
		t.Error("GRP-5: prev is not the previous commit's hash")
	}
	// The values of spec §7.1.
	if len(v.MemberEncodings) != len(c.Members) || len(v.Wraps) != len(c.Members) {
		t.Fatal("one member encoding and one wrap detail per member")
	}
	for i, m := range c.Members {
		member := canonical.AppendText(nil, m.User)
		member = canonical.AppendBytes(member, m.IdentityKey)
		member = canonical.AppendBytes(member, m.GroupKey)
		member = canonical.AppendBytes(member, m.GroupKeySig)
		if !bytes.Equal(member, v.MemberEncodings[i]) {
			t.Errorf("ENC-1: member_%d differs", i)
		}
		w := v.Wraps[i]
		if w.User != m.User || !bytes.Equal(WrapInfo(c.Group, c.Epoch, m.User), w.Info) || !bytes.Equal(w.Wrap, c.Wraps[i].Wrap) {
			t.Errorf("ENC-2: wrap_info_%d differs", i)
		}
		if len(w.BaseNonce) != 12 || len(w.Wrap) != 32+len(v.EpochSecret)+16 {
			t.Errorf("VEC-4: wrap %d: a %d-byte nonce and a %d-byte wrap; want 12, and enc, the secret and a 16-byte tag", i, len(w.BaseNonce), len(w.Wrap))
		}
		if !bytes.Equal(canonical.AppendBytes(canonical.AppendText(nil, m.User), w.Wrap), w.Entry) {
			t.Errorf("ENC-1: wrapentry_%d differs", i)
		}
		checkWrapDetail(t, w, m.GroupKey, v.EpochSecret)
		// GRP-1, GRP-8: every member opens the same secret.
		if secret, err := g.ids[m.User].OpenGroupWrap(w.Info, w.Wrap); err != nil || !bytes.Equal(secret, v.EpochSecret) {
			t.Errorf("GRP-1: %s opens %x, %v", m.User, secret, err)
		}
	}
	if !bytes.Equal(Content(c), v.Content) || !bytes.Equal(CommitHash(c), v.CommitHash) {
		t.Error("VEC-1, ENC-2: content or commit hash differs")
	}
	if ctx := canonical.AppendUint64(canonical.AppendText(nil, c.Group), c.Epoch); !bytes.Equal(ctx, v.ConfirmContext) {
		t.Error("confirm context differs")
	}
	if key, err := canonical.Expand(v.EpochSecret, canonical.ExpandConfirm, v.ConfirmContext, 32); err != nil || !bytes.Equal(key, v.ConfirmKey) {
		t.Error("ENC-3: confirmation key differs")
	}
	if tag, err := ConfirmTag(v.EpochSecret, c.Group, c.Epoch, v.CommitHash); err != nil || !bytes.Equal(tag, c.Confirm) {
		t.Error("GRP-9: confirmation tag differs")
	}
	if !bytes.Equal(CommitSignatureInput(v.CommitHash, c.Confirm), v.SigInput) || !identity.Verify(g.ids[c.Committer].Public(), v.SigInput, c.Sig) {
		t.Error("GRP-3: signature input or signature differs")
	}

	// The committer reproduces every byte (GRP-1: the secret from its
	// Rand, the HPKE ephemerals from the deterministic crypto/rand).
	st, _ := g.state(t, c.Committer, v.ID, v.EpochSecret)
	var others []Member
	for _, m := range c.Members {
		if m.User != c.Committer {
			others = append(others, m)
		}
	}
	cryptotest.SetGlobalRandom(t, uint64(v.GoRandomSeed))
	p, err := st.CreateCommit(others)
	if err != nil {
		t.Fatal(err)
	}
	if !sameCommit(&p.Commit, c) {
		t.Fatalf("VEC-1: CreateCommit made another commit: %s differ", commitDiff(&p.Commit, c))
	}
	if _, err := st.Apply(p); err != nil {
		t.Fatal(err)
	}

	// The wire forms.
	w := wireCommitOf(c)
	if out, err := w.MarshalJSON(); err != nil || string(out) != v.JSON {
		t.Errorf("commit encodes to %s, %v", out, err)
	}
	fromJSON := decodeCommitJSON(t, v.JSON, c)
	if out, err := wire.Encode(&wire.GroupCommit{Commit: *w}); err != nil || string(out) != v.GroupCommit {
		t.Errorf("group_commit encodes to %s, %v", out, err)
	}
	if out, err := wire.Encode(&wire.IncomingGroupCommit{From: c.Committer, Commit: *w}); err != nil || string(out) != v.Forwarded {
		t.Errorf("forwarded group_commit encodes to %s, %v", out, err)
	}
	if m, err := wire.Decode(wire.FromClient, []byte(v.GroupCommit)); err != nil || !sameCommit(commitFromWire(&m.(*wire.GroupCommit).Commit), c) {
		t.Errorf("group_commit decodes to another commit: %v", err)
	}
	m, err := wire.Decode(wire.FromServer, []byte(v.Forwarded))
	if in, ok := m.(*wire.IncomingGroupCommit); err != nil || !ok || in.From != c.Committer || !sameCommit(commitFromWire(&in.Commit), c) {
		t.Errorf("forwarded group_commit decodes to %#v, %v", m, err)
	}

	// Every other member accepts the commit decoded from JSON.
	var names []string
	for _, mem := range c.Members {
		names = append(names, mem.User)
	}
	for _, mem := range c.Members {
		if mem.User == c.Committer {
			continue
		}
		st, pins := g.state(t, mem.User, v.ID, nil)
		info, err := st.ReceiveCommit(fromJSON)
		if err != nil {
			t.Fatalf("VEC-1: %s rejects it: %v", mem.User, err)
		}
		if info.Epoch != c.Epoch || !slices.Equal(info.Members, names) || !st.HasSecret() || !bytes.Equal(st.LastCommitHash(), v.CommitHash) {
			t.Errorf("%s accepted %+v", mem.User, info)
		}
		if len(pins.Users()) != len(c.Members)-1 {
			t.Errorf("TRUST-1: %s pinned %v", mem.User, pins.Users())
		}
	}
}

// checkWrapDetail recomputes a wrap from its HPKE ephemeral (RFC 9180 base
// mode, DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-256-GCM).
func checkWrapDetail(t *testing.T, w vectors.WrapDetail, pkR, secret []byte) {
	t.Helper()
	labeled := func(suiteID string) (func(salt []byte, label string, ikm []byte) []byte, func(prk []byte, label string, info []byte, n int) []byte) {
		extract := func(salt []byte, label string, ikm []byte) []byte {
			out, err := hkdf.Extract(sha256.New, append([]byte("HPKE-v1"+suiteID+label), ikm...), salt)
			if err != nil {
				t.Fatal(err)
			}
			return out
		}
		expand := func(prk []byte, label string, info []byte, n int) []byte {
			full := binary.BigEndian.AppendUint16(nil, uint16(n))
			full = append(append(full, "HPKE-v1"+suiteID+label...), info...)
			out, err := hkdf.Expand(sha256.New, prk, string(full), n)
			if err != nil {
				t.Fatal(err)
			}
			return out
		}
		return extract, expand
	}
	eph, err := ecdh.X25519().NewPrivateKey(w.EphemeralPrivate)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := ecdh.X25519().NewPublicKey(pkR)
	if err != nil {
		t.Fatal(err)
	}
	dh, err := eph.ECDH(pub)
	if err != nil {
		t.Fatal(err)
	}
	encKey := eph.PublicKey().Bytes()
	kemExtract, kemExpand := labeled("KEM\x00\x20")
	shared := kemExpand(kemExtract(nil, "eae_prk", dh), "shared_secret", append(append([]byte{}, encKey...), pkR...), 32)
	extract, expand := labeled("HPKE\x00\x20\x00\x01\x00\x02")
	ctx := append([]byte{0}, extract(nil, "psk_id_hash", nil)...)
	ctx = append(ctx, extract(nil, "info_hash", w.Info)...)
	ks := extract(shared, "secret", nil)
	key, nonce := expand(ks, "key", ctx, 32), expand(ks, "base_nonce", ctx, 12)
	if !bytes.Equal(shared, w.SharedSecret) || !bytes.Equal(key, w.Key) || !bytes.Equal(nonce, w.BaseNonce) {
		t.Errorf("HPKE key schedule of %s differs", w.User)
	}
	gcm, err := cipher.NewGCM(must(aes.NewCipher(key)))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(append(encKey, gcm.Seal(nil, nonce, secret, nil)...), w.Wrap) {
		t.Errorf("wrap of %s is not enc || ct", w.User)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// messageFromObject converts the hex form of a group message.
func messageFromObject(o vectors.GroupMessageObject) *Message {
	return &Message{Group: o.Group, Epoch: uint64(o.Epoch), N: uint64(o.N), CT: o.CT, Sig: o.Sig}
}

// decodeMessageJSON decodes a group message with impl/wire and checks it
// against the message it stands for.
func decodeMessageJSON(t *testing.T, text string, want *Message) *Message {
	t.Helper()
	w, err := wire.DecodeGroupMsg([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	m := &Message{Group: w.Group, Epoch: uint64(w.Epoch), N: uint64(w.N), CT: w.Ct, Sig: w.Sig}
	if !reflect.DeepEqual(m, want) {
		t.Fatalf("the message JSON decodes to another message")
	}
	return m
}

func (g *groupVectors) runMessage(t *testing.T, v vectors.GroupMessageVector) {
	c, ok := g.commits[v.Commit]
	if !ok || !bytes.Equal(c.EpochSecret, v.EpochSecret) {
		t.Fatalf("no commit %q with this epoch secret", v.Commit)
	}
	m := messageFromObject(v.Message)
	grp, epoch, n := m.Group, m.Epoch, m.N
	if grp != c.Commit.Group || epoch != uint64(c.Commit.Epoch) || len(v.Plaintext) != v.Size {
		t.Fatal("the message is not in its commit's epoch")
	}
	// The values of spec §7.2.
	ctx := canonical.AppendText(canonical.AppendUint64(canonical.AppendText(nil, grp), epoch), v.Sender)
	key, iv, err := SenderKeys(v.EpochSecret, grp, epoch, v.Sender)
	if err != nil || !bytes.Equal(ctx, v.KeyContext) || !bytes.Equal(key, v.SenderKey) || !bytes.Equal(iv, v.SenderIV) {
		t.Errorf("ENC-3: sender key or IV differs: %v", err)
	}
	var nonce, ivArr [suite.NonceSize]byte
	copy(ivArr[:], iv)
	suite.Nonce(&nonce, &ivArr, n)
	if !bytes.Equal(nonce[:], v.Nonce) || !bytes.Equal(AppendMessageAD(nil, grp, epoch, v.Sender, n), v.AD) {
		t.Error("VEC-1, ENC-2: nonce or ad differs")
	}
	if len(v.Nonce) != 12 || len(m.CT) != v.Size+16 {
		t.Errorf("VEC-4: a %d-byte nonce and a %d-byte tag; want 12 and 16", len(v.Nonce), len(m.CT)-v.Size)
	}
	if !identity.Verify(g.ids[v.Sender].Public(), append(slices.Clone(v.AD), m.CT...), m.Sig) {
		t.Error("GRP-16: sig is not the sender's signature of ad || ct")
	}

	// The sender, having sent n messages in the epoch, seals it.
	sender := g.accepted(t, v.Sender, v.Commit)
	sender.send.next = n
	sealed, err := sender.Seal(nil, []byte(v.Plaintext))
	if err != nil || !reflect.DeepEqual(&sealed, m) {
		t.Fatalf("VEC-1: sealed message %d differs from the vector's, %v", sealed.N, err)
	}

	// The wire forms.
	w := &wire.GroupMsg{Group: grp, Epoch: int64(epoch), N: int64(n), Ct: m.CT, Sig: m.Sig}
	if out, err := w.MarshalJSON(); err != nil || string(out) != v.JSON {
		t.Errorf("group message encodes to %s, %v", out, err)
	}
	if out, err := wire.Encode(&wire.GroupMessage{Message: *w}); err != nil || string(out) != v.GroupMessage {
		t.Errorf("group_message encodes to %s, %v", out, err)
	}
	if out, err := wire.Encode(&wire.IncomingGroupMessage{From: v.Sender, Message: *w}); err != nil || string(out) != v.Forwarded {
		t.Errorf("forwarded group_message encodes to %s, %v", out, err)
	}
	if dm, err := wire.Decode(wire.FromClient, []byte(v.GroupMessage)); err != nil || !reflect.DeepEqual(&dm.(*wire.GroupMessage).Message, w) {
		t.Errorf("group_message decodes to another message: %v", err)
	}
	dm, err := wire.Decode(wire.FromServer, []byte(v.Forwarded))
	if in, ok := dm.(*wire.IncomingGroupMessage); err != nil || !ok || in.From != v.Sender || !reflect.DeepEqual(&in.Message, w) {
		t.Errorf("forwarded group_message decodes to %#v, %v", dm, err)
	}

	// The receiver opens it from its JSON.
	receiver := g.accepted(t, v.Receiver, v.Commit)
	pt, err := receiver.Open(nil, v.Sender, decodeMessageJSON(t, v.JSON, m))
	if err != nil || string(pt) != v.Plaintext {
		t.Fatalf("VEC-1: %s opened %q, %v", v.Receiver, pt, err)
	}
	if err := checkPlaintext(receiver, v.Sender, m.Epoch, pt); err != nil {
		t.Errorf("GRP-19, GRP-22: %v", err)
	}
}

// reportedRule is the rule this package names for a rejection that a vector attributes to rule.
// A commit signature VEC-3 rejects (spec §8: S not below the group order, a non-canonical
// encoding) is reported by the check that verified it, GRP-3 (vectors/README.md, "VEC-3").
func reportedRule(rule, action string) string {
	if rule == "VEC-3" && action == "receive_commit" {
		return "GRP-3"
	}
	return rule
}

// wantStep checks err against a vector step's expect and rule.
func wantStep(t *testing.T, where string, err error, expect, rule string) {
	t.Helper()
	if expect == "ok" {
		if err != nil {
			t.Fatalf("%s: VEC-1: got %v, want ok", where, err)
		}
		return
	}
	var e *e2ee.Error
	o, _ := e2ee.OutcomeOf(err)
	if !errors.As(err, &e) || string(o) != expect || e.Rule != rule {
		t.Fatalf("%s: VEC-1: got %v, want %s [%s]", where, err, expect, rule)
	}
}

// pinsOf describes a pin store, to check GRP-10.
func pinsOf(p *trust.Store) string {
	var b strings.Builder
	for _, u := range p.Users() {
		k, _ := p.Lookup(u)
		fmt.Fprintf(&b, "%s=%x ", u, k)
	}
	return b.String()
}

func (g *groupVectors) runNegative(t *testing.T, c vectors.GroupNegative) {
	self, ok := g.ids[c.Self]
	if !ok {
		t.Fatalf("no user %q", c.Self)
	}
	pins := trust.NewMemory()
	for _, p := range c.Pins {
		if _, err := pins.Pin(p.User, ed25519.PublicKey(p.IdentityKey)); err != nil {
			t.Fatal(err)
		}
	}
	// spec §7.1 [GRP-20]: the directory serves each user's own key unless the vector says
	// otherwise.
	directory := map[string]ed25519.PublicKey{}
	for u, id := range g.ids {
		directory[u] = id.Public()
	}
	for _, p := range c.Directory {
		directory[p.User] = ed25519.PublicKey(p.IdentityKey)
	}
	lookup := func(u string) (ed25519.PublicKey, bool) { k, ok := directory[u]; return k, ok }
	cfg := Config{Group: c.Group, Self: c.Self, Identity: self, Pins: pins, Rand: bytes.NewReader(make([]byte, 32)), Directory: lookup}
	var st *State
	seen := false
	for k, s := range c.Steps {
		where := fmt.Sprintf("step %d (%s)", k, s.Action)
		if s.Action != "join" && st == nil {
			t.Fatalf("%s before join", where)
		}
		var err error
		switch s.Action {
		case "join":
			if s.Epoch == nil {
				t.Fatalf("%s: no epoch", where)
			}
			var last *Commit
			if s.LastCommitRef != "" {
				last = commitFromObject(g.commits[s.LastCommitRef].Commit)
			}
			var joined *State
			joined, err = Join(cfg, uint64(*s.Epoch), last)
			if err == nil {
				st = joined
			}
		case "announce": // spec §7.1 [GRP-6]
			st.Announce(s.Announced)
		case "receive_commit":
			var commit *Commit
			switch {
			case s.CommitRef != "":
				v, ok := g.commits[s.CommitRef]
				if !ok {
					t.Fatalf("%s: no commit %q", where, s.CommitRef)
				}
				commit = decodeCommitJSON(t, v.JSON, commitFromObject(v.Commit))
			case s.Commit != nil:
				commit = commitFromObject(*s.Commit)
				if s.JSON != "" {
					commit = decodeCommitJSON(t, s.JSON, commit)
				}
			default:
				t.Fatalf("%s: no commit", where)
			}
			before, pinsBefore := snapshot(st), pinsOf(pins)
			_, err = st.ReceiveCommit(commit)
			if err != nil && (snapshot(st) != before || pinsOf(pins) != pinsBefore) {
				t.Fatalf("%s: GRP-10: the rejected commit changed the state or the pins", where)
			}
		case "create_commit":
			var members []Member
			for _, m := range s.Members {
				members = append(members, Member{User: m.User, IdentityKey: m.IdentityKey, GroupKey: m.GroupKey, GroupKeySig: m.GroupKeySig})
			}
			_, err = st.CreateCommit(members)
		case "open_message":
			var msg *Message
			switch {
			case s.MessageRef != "":
				v, ok := g.messages[s.MessageRef]
				if !ok {
					t.Fatalf("%s: no message %q", where, s.MessageRef)
				}
				msg = decodeMessageJSON(t, v.JSON, messageFromObject(v.Message))
			case s.Message != nil:
				msg = messageFromObject(*s.Message)
				if s.JSON != "" {
					msg = decodeMessageJSON(t, s.JSON, msg)
				}
			default:
				t.Fatalf("%s: no message", where)
			}
			var pt []byte
			pt, err = st.Open(nil, s.From, msg)
			if err != nil && pt != nil {
				t.Fatalf("%s: plaintext released with %v", where, err)
			}
			if err == nil {
				err = checkPlaintext(st, s.From, msg.Epoch, pt)
				if err == nil && s.Plaintext != nil && string(pt) != *s.Plaintext {
					t.Fatalf("%s: opened %q, want %q", where, pt, *s.Plaintext)
				}
			}
		default:
			t.Fatalf("%s: unknown action", where)
		}
		wantStep(t, where, err, s.Expect, reportedRule(s.Rule, s.Action))
		seen = seen || s.Expect == c.Expect && s.Rule == c.Rule
	}
	if !seen {
		t.Fatalf("no step gives the vector's %s [%s]", c.Expect, c.Rule)
	}
}

// malformedRules are the rules Appendix A.4 gives for malformed.
var malformedRules = []string{"MSG-1", "MSG-2", "MSG-3", "MSG-4", "ENC-5", "ENC-6", "ENC-7", "ENC-8", "ENC-9", "ENC-10"}

// checkMalformed checks that impl/wire and the schema oracle both reject a
// malformed commit or group message where the vector says.
func checkMalformed(t *testing.T, c vectors.Malformed) {
	if c.Expect != string(e2ee.Malformed) || !slices.Contains(malformedRules, c.Rule) {
		t.Fatalf("vector expects %s [%s]", c.Expect, c.Rule)
	}
	var err error
	switch c.Schema {
	case schemas.Commit:
		var w *wire.Commit
		if w, err = wire.DecodeCommit([]byte(c.JSON)); w != nil {
			t.Fatal("decoded")
		}
	case schemas.GroupMsg:
		var w *wire.GroupMsg
		if w, err = wire.DecodeGroupMsg([]byte(c.JSON)); w != nil {
			t.Fatal("decoded")
		}
	default:
		t.Fatalf("schema %s is not a group object's", c.Schema)
	}
	var ve *wire.ValidationError
	if !errors.As(err, &ve) || ve.Pointer != c.Pointer || ve.Keyword != c.Keyword {
		t.Fatalf("VEC-1: %s: wire gives %v, the vector says %q %s", c.Rule, err, c.Pointer, c.Keyword)
	}
	violations, err := schemas.Check(c.Schema, []byte(c.JSON))
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, v := range violations {
		found = found || v.Pointer == c.Pointer && v.Keyword == c.Keyword
	}
	if !found {
		t.Errorf("the schema oracle reports %v, not %q %s", violations, c.Pointer, c.Keyword)
	}
}

// checkPlaintext is the client's check of an opened group plaintext: an epoch acknowledgement
// must name the commit of its epoch (spec §7.3 [GRP-22]); anything else must be a content
// object (GRP-19).
func checkPlaintext(st *State, from string, epoch uint64, pt []byte) error {
	if ack, err := wire.DecodeEpochAck(pt); err == nil {
		return st.CheckEpochAck(from, epoch, ack.EpochAck)
	}
	if _, err := wire.DecodeContent(pt); err != nil {
		return e2ee.Wrap(e2ee.BadContent, "GRP-19", err, "message from %s is not content", from)
	}
	return nil
}
