package gen

import (
	"bytes"
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"io"
	"slices"
	"strings"
	"testing"
	"testing/cryptotest"

	"github.com/blindpost/blindpost/impl/e2ee/group"
	"github.com/blindpost/blindpost/impl/e2ee/identity"
	"github.com/blindpost/blindpost/impl/e2ee/trust"
	"github.com/blindpost/blindpost/impl/e2ee/wireconv"
	"github.com/blindpost/blindpost/impl/wire"
	"github.com/blindpost/blindpost/vectors"
)

// member returns the commit entry of the user called name.
func member(name string) group.Member {
	id := idOf(name)
	return group.Member{User: name, IdentityKey: id.Public(), GroupKey: id.GroupPublic(), GroupKeySig: id.GroupKeySig(name)}
}

// commitRun is one commit the generator made, with what went into it.
type commitRun struct {
	id     string
	prev   *commitRun
	secret []byte
	seed   uint64
	skE    [][]byte
	c      group.Commit
	hash   []byte
}

// state returns the state of name in group grp just before the epoch of cr:
// joined at the previous commit's epoch with it as last_commit (GRP-11).
func (cr *commitRun) state(grp, name string, rnd io.Reader) *group.State {
	cfg := group.Config{Group: grp, Self: name, Identity: idOf(name), Pins: trust.NewMemory(), Rand: rnd}
	if cr.prev == nil {
		return must(group.Join(cfg, 0, nil))
	}
	return must(group.Join(cfg, uint64(cr.prev.c.Epoch), &cr.prev.c))
}

// memberState returns the state of name once it accepted cr.
func (cr *commitRun) memberState(name string) *group.State {
	st := cr.state(cr.c.Group, name, nil)
	_ = must(st.ReceiveCommit(&cr.c))
	return st
}

// createCommit has committer create the commit of the epoch after prev in
// grp for members, through impl/e2ee/group, with crypto/hpke made
// deterministic by testing/cryptotest, and checks every byte of it against
// the formulas of spec §7.1.
func createCommit(t *testing.T, id, grp, committer string, prev *commitRun, members ...string) *commitRun {
	cr := &commitRun{id: id, prev: prev, secret: randBytes("group "+id+" epoch secret", 32), seed: goSeed("group commit " + id)}
	st := cr.state(grp, committer, bytes.NewReader(cr.secret))
	var others []group.Member
	for _, m := range members {
		if m != committer {
			others = append(others, member(m))
		}
	}
	// crypto/hpke draws each wrap's ephemeral from crypto/rand, in the
	// order of the sorted members: read them first, then start again.
	cryptotest.SetGlobalRandom(t, cr.seed)
	for range members {
		cr.skE = append(cr.skE, must(io.ReadAll(io.LimitReader(rand.Reader, 32))))
	}
	cryptotest.SetGlobalRandom(t, cr.seed)
	p := must(st.CreateCommit(others))
	cr.c = p.Commit
	cr.hash = group.CommitHash(&cr.c)
	check(len(cr.c.Members) == len(members), "%s: %d members", id, len(cr.c.Members))
	for _, m := range members {
		if m != committer {
			_ = cr.memberState(m) // every member accepts it
		}
	}
	return cr
}

// hpkeLabeled is LabeledExtract and LabeledExpand of RFC 9180 §4.
type hpkeLabeled []byte // the suite_id

func (s hpkeLabeled) extract(salt []byte, label string, ikm []byte) []byte {
	return must(hkdf.Extract(sha256.New, cat([]byte("HPKE-v1"), s, []byte(label), ikm), salt))
}

func (s hpkeLabeled) expand(prk []byte, label string, info []byte, n int) []byte {
	l := binary.BigEndian.AppendUint16(nil, uint16(n))
	return must(hkdf.Expand(sha256.New, prk, string(cat(l, []byte("HPKE-v1"), s, []byte(label), info)), n))
}

// hpkeSeal is the single-shot HPKE base-mode seal of spec §7.1 with a given
// ephemeral, written from RFC 9180: DHKEM(X25519, HKDF-SHA256),
// HKDF-SHA256, AES-256-GCM, empty aad.
func hpkeSeal(skE, pkR, info, pt []byte) (shared, key, baseNonce, wrap []byte) {
	kem := hpkeLabeled("KEM\x00\x20")
	suite := hpkeLabeled("HPKE\x00\x20\x00\x01\x00\x02")
	e := must(ecdh.X25519().NewPrivateKey(skE))
	dh := must(e.ECDH(must(ecdh.X25519().NewPublicKey(pkR))))
	enc := e.PublicKey().Bytes()
	shared = kem.expand(kem.extract(nil, "eae_prk", dh), "shared_secret", cat(enc, pkR), 32)
	ctx := cat([]byte{0}, suite.extract(nil, "psk_id_hash", nil), suite.extract(nil, "info_hash", info))
	secret := suite.extract(shared, "secret", nil)
	key = suite.expand(secret, "key", ctx, 32)
	baseNonce = suite.expand(secret, "base_nonce", ctx, 12)
	return shared, key, baseNonce, cat(enc, gcmSeal(key, baseNonce, pt, nil))
}

// wireCommit is the wire form of c.
func wireCommit(c *group.Commit) *wire.Commit {
	w := wireconv.ToCommit(c)
	return &w
}

// commitObject is the hex form of c.
func commitObject(c *group.Commit) vectors.CommitObject {
	o := vectors.CommitObject{Group: c.Group, Epoch: int64(c.Epoch), Committer: c.Committer, Prev: c.Prev, Confirm: c.Confirm, Sig: c.Sig}
	for _, m := range c.Members {
		o.Members = append(o.Members, vectors.MemberEntry{User: m.User, IdentityKey: m.IdentityKey, GroupKey: m.GroupKey, GroupKeySig: m.GroupKeySig})
	}
	for _, x := range c.Wraps {
		o.Wraps = append(o.Wraps, vectors.WrapEntry{User: x.User, Wrap: x.Wrap})
	}
	return o
}

// vector returns cr as a positive vector, every value computed from the
// formulas of spec §7.1 and checked against the commit impl/e2ee made.
func (cr *commitRun) vector(comment string, rules ...string) vectors.CommitVector {
	c := &cr.c
	v := vectors.CommitVector{ID: cr.id, Comment: comment,
		Rules:       append([]string{"ENC-1", "ENC-2", "ENC-3", "VEC-4", "GRP-1", "GRP-2", "GRP-3", "GRP-4", "GRP-5", "GRP-6", "GRP-7", "GRP-8", "GRP-9"}, rules...),
		EpochSecret: cr.secret, GoRandomSeed: int64(cr.seed), Commit: commitObject(c)}
	if cr.prev != nil {
		v.Previous = cr.prev.id
		check(bytes.Equal(c.Prev, cr.prev.hash), "%s: prev is not the previous hash", cr.id)
	}
	var members, entries []field
	for i, m := range c.Members {
		enc := encode(fText(m.User), fBytes(m.IdentityKey), fBytes(m.GroupKey), fBytes(m.GroupKeySig))
		v.MemberEncodings = append(v.MemberEncodings, enc)
		members = append(members, fBytes(enc))
		info := encode(fText("blindpost/1 group wrap"), fText(c.Group), fUint(c.Epoch), fText(m.User))
		shared, key, nonce, wrap := hpkeSeal(cr.skE[i], m.GroupKey, info, cr.secret)
		check(bytes.Equal(wrap, c.Wraps[i].Wrap) && c.Wraps[i].User == m.User, "%s: wrap %d differs from RFC 9180 with its ephemeral", cr.id, i)
		entry := encode(fText(m.User), fBytes(wrap))
		entries = append(entries, fBytes(entry))
		v.Wraps = append(v.Wraps, vectors.WrapDetail{User: m.User, Info: info, EphemeralPrivate: cr.skE[i],
			SharedSecret: shared, Key: key, BaseNonce: nonce, Wrap: wrap, Entry: entry})
	}
	v.Content = encode(fText(c.Group), fUint(c.Epoch), fText(c.Committer), fBytes(c.Prev), fList(members...), fList(entries...))
	hash := sha256.Sum256(cat([]byte("blindpost/1 commit"), v.Content))
	v.CommitHash = hash[:]
	v.ConfirmContext = encode(fText(c.Group), fUint(c.Epoch))
	v.ConfirmKey = expand(cr.secret, "confirm", v.ConfirmContext, 32)
	v.SigInput = cat([]byte("blindpost/1 commit sig"), v.CommitHash, mac(v.ConfirmKey, v.CommitHash))
	check(bytes.Equal(v.Content, group.Content(c)) && bytes.Equal(v.CommitHash, cr.hash) &&
		bytes.Equal(mac(v.ConfirmKey, v.CommitHash), c.Confirm) &&
		bytes.Equal(ed25519.Sign(ed25519.NewKeyFromSeed(seedOf(c.Committer)), v.SigInput), c.Sig), "%s: commit differs from the formulas", cr.id)
	w := wireCommit(c)
	v.JSON = encodeJSON(w)
	v.GroupCommit = encodeMessage(&wire.GroupCommit{Commit: *w})
	v.Forwarded = encodeMessage(&wire.IncomingGroupCommit{From: c.Committer, Commit: *w})
	return v
}

// groupMsg is a group message computed from spec §7.2.
type groupMsg struct {
	cr            *commitRun
	sender        string
	n             int
	ctx, key, iv  []byte
	nonce, ad, pt []byte
	m             group.Message
}

// seal returns the message n of sender in the epoch of cr. keyOf names the
// member whose sender key, IV and ad are used and signer the identity that
// signs: both are sender for an honest message.
func (cr *commitRun) seal(sender string, n int, pt []byte, keyOf, signer string) groupMsg {
	c := &cr.c
	g := groupMsg{cr: cr, sender: sender, n: n, pt: pt}
	g.ctx = encode(fText(c.Group), fUint(c.Epoch), fText(keyOf))
	g.key, g.iv = expand(cr.secret, "group sender key", g.ctx, 32), expand(cr.secret, "group sender iv", g.ctx, 12)
	g.nonce = nonceOf(g.iv, uint64(n))
	g.ad = encode(fText("blindpost/1 group msg"), fText(c.Group), fUint(c.Epoch), fText(keyOf), fUint(uint64(n)))
	ct := gcmSeal(g.key, g.nonce, pt, g.ad)
	sig := ed25519.Sign(ed25519.NewKeyFromSeed(seedOf(signer)), cat(g.ad, ct))
	g.m = group.Message{Group: c.Group, Epoch: c.Epoch, N: uint64(n), CT: ct, Sig: sig}
	return g
}

// honest returns an honest message of sender.
func (cr *commitRun) honest(sender string, n int, pt string) groupMsg {
	return cr.seal(sender, n, []byte(pt), sender, sender)
}

// wireGroupMsg is the wire form of m.
func wireGroupMsg(m group.Message) *wire.GroupMsg {
	w := wireconv.ToGroupMsg(&m)
	return &w
}

func messageObject(m group.Message) vectors.GroupMessageObject {
	return vectors.GroupMessageObject{Group: m.Group, Epoch: int64(m.Epoch), N: int64(m.N), CT: m.CT, Sig: m.Sig}
}

// vector returns g as a positive vector, checked against impl/e2ee/group.
func (g groupMsg) vector(id, comment, receiver string) vectors.GroupMessageVector {
	sk, iv := must2(group.SenderKeys(g.cr.secret, g.cr.c.Group, g.cr.c.Epoch, g.sender))
	check(bytes.Equal(sk, g.key) && bytes.Equal(iv, g.iv) &&
		bytes.Equal(group.AppendMessageAD(nil, g.cr.c.Group, g.cr.c.Epoch, g.sender, uint64(g.n)), g.ad), "%s: keys or ad differ", id)
	if g.n == 0 {
		m := must(g.cr.memberState(g.sender).Seal(nil, g.pt))
		check(bytes.Equal(m.CT, g.m.CT) && bytes.Equal(m.Sig, g.m.Sig), "%s: message differs from impl/e2ee/group", id)
	}
	pt := must(g.cr.memberState(receiver).Open(nil, g.sender, &g.m))
	check(bytes.Equal(pt, g.pt), "%s: %s cannot open it", id, receiver)
	w := wireGroupMsg(g.m)
	return vectors.GroupMessageVector{ID: id, Comment: comment, Rules: []string{"ENC-1", "ENC-2", "ENC-3", "GRP-13", "GRP-15", "GRP-16", "VEC-4"},
		Commit: g.cr.id, Sender: g.sender, Receiver: receiver, EpochSecret: g.cr.secret,
		KeyContext: g.ctx, SenderKey: g.key, SenderIV: g.iv, Nonce: g.nonce, AD: g.ad, Size: len(g.pt), Plaintext: string(g.pt),
		Message: messageObject(g.m), JSON: encodeJSON(w),
		GroupMessage: encodeMessage(&wire.GroupMessage{Message: *w}),
		Forwarded:    encodeMessage(&wire.IncomingGroupMessage{From: g.sender, Message: *w})}
}

// groupUsers are the users of group.json.
var groupUsers = []string{"alice", "bob", "carol", "dave", "mallory", name32("g"), name32("h")}

// groupVectors generates group.json.
func groupVectors(t *testing.T) *vectors.Group {
	out := &vectors.Group{Meta: meta("group",
		"A chain of commits of the group broadcast (a first commit, a joiner's, one after a leave, a single member's) and a commit with "+
			"32-character names, each with every value of spec §7.1: member encodings, wrap infos, HPKE ephemerals and key schedules, "+
			"wraps, content, commit hash, confirmation key and tag, signature input and signature, and the exact wire JSON; signed group "+
			"messages of several senders and counters with every value of spec §7.2; commits and messages a member must reject, step by step; "+
			"and commits and messages that break their schema.")}
	for _, u := range groupUsers {
		id := idOf(u)
		out.Users = append(out.Users, vectors.GroupUser{User: u, Seed: seedOf(u), IdentityKey: vectors.Hex(id.Public()), GroupKey: id.GroupPublic(), GroupKeySig: id.GroupKeySig(u)})
	}
	const bc = "broadcast"
	c1 := createCommit(t, "broadcast-1", bc, "alice", nil, "alice", "bob")
	c2 := createCommit(t, "broadcast-2", bc, "carol", c1, "alice", "bob", "carol")
	c3 := createCommit(t, "broadcast-3", bc, "alice", c2, "alice", "carol")
	c4 := createCommit(t, "broadcast-4", bc, "alice", c3, "alice")
	long := createCommit(t, "long-names-1", name32("group"), name32("g"), nil, name32("g"), name32("h"), "alice")
	out.Commits = []vectors.CommitVector{
		c1.vector("The first commit of broadcast: alice, who joined first, commits epoch 1 for alice and bob; prev is empty."),
		c2.vector("carol joined: she commits epoch 2 for the three announced members (\"who commits\", spec §7.1)."),
		c3.vector("bob left: alice, the lowest remaining member of the last commit, commits epoch 3 without him, so he cannot read it."),
		c4.vector("carol left too: alice commits epoch 4 for herself alone."),
		long.vector("A group name and two usernames of 32 characters, with alice: members are sorted by byte value."),
	}
	msgs := []struct {
		id, comment, receiver string
		g                     groupMsg
	}{
		{"broadcast-1-alice-0", "alice's first message of epoch 1, 200 bytes.", "bob", c1.honest("alice", 0, content("group m1", 200))},
		{"broadcast-1-bob-0", "bob's first message of epoch 1: the smallest content object.", "alice", c1.honest("bob", 0, `{"text":"b","sent_at":0}`)},
		{"broadcast-1-bob-1", "bob's second message of epoch 1.", "alice", c1.honest("bob", 1, content("group m3", 120))},
		{"broadcast-2-carol-0", "carol's first message of epoch 2, 4 KiB.", "bob", c2.honest("carol", 0, content("group m4", 4096))},
		{"broadcast-2-alice-255", "alice's message 255 of epoch 2.", "carol", c2.honest("alice", 255, content("group m5", 200))},
		{"broadcast-3-carol-65536", "carol's message 65536 of epoch 3: the largest counter a first message may have (GRP-15).", "alice",
			c3.honest("carol", 65536, content("group m6", 200))},
		{"long-names-1-0", "A message in the group with 32-character names.", name32("h"), long.honest(name32("g"), 0, content("group m7", 200))},
		{"broadcast-2-bob-0-ack", "bob accepted carol's commit of epoch 2: his message 0 of it is the epoch acknowledgement naming that commit's " +
			"hash (spec §7.3).", "alice", c2.honest("bob", 0, epochAck(c2.hash))},
	}
	for _, m := range msgs {
		v := m.g.vector(m.id, m.comment, m.receiver)
		if strings.HasPrefix(v.Plaintext, `{"epoch_ack":`) {
			v.Rules = append(v.Rules, "GRP-21", "GRP-22")
		}
		out.Messages = append(out.Messages, v)
	}
	out.Negative = groupNegatives(t, c1, c2, c3)
	out.Malformed = groupMalformed(c1, c2)
	return out
}

// forge returns a copy of base changed by change, with its wraps remade for
// the members it then lists (to secretOf(user), nil meaning the commit's
// own secret) when rewrap is set, and its confirmation tag (from secret)
// and signature (by signer) recomputed.
func forge(base *commitRun, change func(c *group.Commit), rewrap bool, secretOf func(string) []byte, signer string) *group.Commit {
	c := base.c
	c.Prev = bytes.Clone(c.Prev)
	c.Members, c.Wraps = slices.Clone(c.Members), slices.Clone(c.Wraps)
	change(&c)
	if rewrap {
		c.Wraps = nil
		for _, m := range c.Members {
			secret := base.secret
			if secretOf != nil && secretOf(m.User) != nil {
				secret = secretOf(m.User)
			}
			w := must(identity.SealGroupWrap(m.GroupKey, group.WrapInfo(c.Group, c.Epoch, m.User), secret))
			c.Wraps = append(c.Wraps, group.Wrap{User: m.User, Wrap: w})
		}
	}
	resign(&c, base.secret, signer)
	return &c
}

// resign recomputes the confirmation tag of c from secret and its signature
// by signer.
func resign(c *group.Commit, secret []byte, signer string) {
	hash := group.CommitHash(c)
	c.Confirm = must(group.ConfirmTag(secret, c.Group, c.Epoch, hash))
	c.Sig = ed25519.Sign(ed25519.NewKeyFromSeed(seedOf(signer)), group.CommitSignatureInput(hash, c.Confirm))
}
