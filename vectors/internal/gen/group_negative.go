package gen

import (
	"crypto/ed25519"
	"encoding/json"
	"testing"
	"testing/cryptotest"

	"github.com/blindpost/blindpost/impl/e2ee/group"
	"github.com/blindpost/blindpost/impl/e2ee/identity"
	"github.com/blindpost/blindpost/impl/wire"
	"github.com/blindpost/blindpost/vectors"
)

func joinStep(epoch int64, lastCommit string) vectors.GroupStep {
	return vectors.GroupStep{Action: "join", Epoch: &epoch, LastCommitRef: lastCommit, Expect: "ok"}
}

func receiveRef(id, expect, rule string) vectors.GroupStep {
	return vectors.GroupStep{Action: "receive_commit", CommitRef: id, Expect: expect, Rule: rule}
}

func receive(c *group.Commit, expect, rule string) vectors.GroupStep {
	o := commitObject(c)
	return vectors.GroupStep{Action: "receive_commit", Commit: &o, JSON: payloadIfValid(wireCommit(c)), Expect: expect, Rule: rule}
}

func openRef(id, from, expect, rule string) vectors.GroupStep {
	return vectors.GroupStep{Action: "open_message", From: from, MessageRef: id, Expect: expect, Rule: rule}
}

func openMsg(g groupMsg, from, expect, rule string) vectors.GroupStep {
	o := messageObject(g.m)
	st := vectors.GroupStep{Action: "open_message", From: from, Message: &o, JSON: payloadIfValid(wireGroupMsg(g.m)), Expect: expect, Rule: rule}
	if expect == "ok" {
		pt := string(g.pt)
		st.Plaintext = &pt
	}
	return st
}

// groupNegatives returns the group event sequences a client must reject.
// c1, c2 and c3 are the commits of broadcast epochs 1 to 3.
func groupNegatives(t *testing.T, c1, c2, c3 *commitRun) []vectors.GroupNegative {
	var out []vectors.GroupNegative
	neg := func(id, comment, expect, rule, self string, pins []vectors.Pin, steps ...vectors.GroupStep) {
		out = append(out, vectors.GroupNegative{ID: id, Comment: comment, Expect: expect, Rule: rule,
			Group: "broadcast", Self: self, Pins: pins, Steps: steps})
	}
	// forged builds an inline commit; each starts from its own random state
	// so that it does not depend on the others.
	forged := func(id string, base *commitRun, change func(*group.Commit), rewrap bool, secretOf func(string) []byte, signer string) *group.Commit {
		cryptotest.SetGlobalRandom(t, goSeed("group negative "+id))
		return forge(base, change, rewrap, secretOf, signer)
	}
	pin := func(user, as string) vectors.Pin {
		return vectors.Pin{User: user, IdentityKey: vectors.Hex(idOf(as).Public())}
	}
	noPins := []vectors.Pin{}
	at0 := joinStep(0, "")
	at1 := []vectors.GroupStep{at0, receiveRef(c1.id, "ok", "")}
	steps := func(prefix []vectors.GroupStep, more ...vectors.GroupStep) []vectors.GroupStep {
		return append(append([]vectors.GroupStep{}, prefix...), more...)
	}
	keep := func(*group.Commit) {}
	m := member

	// bad_signature (GRP-3): the committer's signature.
	c2SigFlipped := c2.c
	c2SigFlipped.Sig = flip(c2.c.Sig, 0)
	neg("commit-sig-flipped", "One bit of the committer's signature is flipped. The commit is rejected and changes nothing (GRP-10): "+
		"the genuine commit is accepted next.", "bad_signature", "GRP-3", "bob", noPins,
		steps(at1, receive(&c2SigFlipped, "bad_signature", "GRP-3"), receiveRef(c2.id, "ok", ""))...)
	neg("commit-signed-by-other-key", "The commit of epoch 2 signed by mallory instead of carol, whose key bob pinned.", "bad_signature", "GRP-3", "bob",
		[]vectors.Pin{pin("carol", "carol")},
		steps(at1, receive(forged("signed-by-other", c2, keep, false, nil, "mallory"), "bad_signature", "GRP-3"))...)
	neg("commit-committer-key-substituted", "The commit lists mallory's identity key for carol and is signed by mallory; bob pinned carol's "+
		"real key, so the signature is checked with the pin (TRUST-3).", "bad_signature", "GRP-3", "bob", []vectors.Pin{pin("carol", "carol")},
		steps(at1, receive(forged("committer-substituted", c2, func(c *group.Commit) {
			c.Members[2].IdentityKey = idOf("mallory").Public()
		}, false, nil, "mallory"), "bad_signature", "GRP-3"))...)

	// bad_signature (VEC-3): carol's own key over the right message, in a form that a lax
	// verifier accepts and RFC 8032 §5.1.7 rejects.
	for _, v := range vec3Sigs {
		c := c2.c
		c.Sig = v.sig(seedOf("carol"), group.CommitSignatureInput(c2.hash, c2.c.Confirm))
		neg("commit-sig-"+v.id, "The commit of epoch 2 with carol's signature of the right message, "+v.comment+" (RFC 8032 §5.1.7). "+
			"It is rejected and changes nothing (GRP-10): the genuine commit is accepted next.", "bad_signature", "VEC-3", "bob", noPins,
			steps(at1, receive(&c, "bad_signature", "VEC-3"), receiveRef(c2.id, "ok", ""))...)
	}

	// stale_epoch (GRP-4) and bad_prev (GRP-5).
	neg("commit-epoch-skipped", "carol commits epoch 3 while bob is at epoch 1.", "stale_epoch", "GRP-4", "bob", noPins,
		steps(at1, receive(forged("epoch-skipped", c2, func(c *group.Commit) { c.Epoch = 3 }, true, nil, "carol"), "stale_epoch", "GRP-4"))...)
	neg("commit-replayed", "The commit of epoch 2 arrives again after bob accepted it.", "stale_epoch", "GRP-4", "bob", noPins,
		steps(at1, receiveRef(c2.id, "ok", ""), receiveRef(c2.id, "stale_epoch", "GRP-4"))...)
	neg("commit-old-epoch", "The commit of epoch 1 arrives while bob is at epoch 2.", "stale_epoch", "GRP-4", "bob", noPins,
		steps(at1, receiveRef(c2.id, "ok", ""), receiveRef(c1.id, "stale_epoch", "GRP-4"))...)
	neg("commit-prev-wrong", "The commit of epoch 2 with a prev that is not the hash of the commit of epoch 1.", "bad_prev", "GRP-5", "bob", noPins,
		steps(at1, receive(forged("prev-wrong", c2, func(c *group.Commit) { c.Prev = randBytes("group negative prev", 32) }, false, nil, "carol"), "bad_prev", "GRP-5"))...)
	neg("commit-prev-empty", "The commit of epoch 2 with an empty prev.", "bad_prev", "GRP-5", "bob", noPins,
		steps(at1, receive(forged("prev-empty", c2, func(c *group.Commit) { c.Prev = nil }, false, nil, "carol"), "bad_prev", "GRP-5"))...)
	neg("first-commit-prev-not-empty", "The first commit of the group with a prev: nothing came before it.", "bad_prev", "GRP-5", "bob", noPins,
		at0, receive(forged("first-prev", c1, func(c *group.Commit) { c.Prev = randBytes("group negative first prev", 32) }, false, nil, "alice"), "bad_prev", "GRP-5"))

	// not_listed (GRP-2, GRP-6) and bad_members (GRP-6).
	neg("commit-receiver-not-listed", "carol commits epoch 2 for alice and carol only; bob receives it.", "not_listed", "GRP-6", "bob", noPins,
		steps(at1, receive(forged("not-listed", c2, func(c *group.Commit) { c.Members = []group.Member{m("alice"), m("carol")} }, true, nil, "carol"), "not_listed", "GRP-6"))...)
	neg("commit-by-leaver", "carol left after epoch 2; she commits epoch 3 for the remaining alice and bob, choosing a secret she knows. "+
		"Her commit does not list her.", "not_listed", "GRP-2", "bob", noPins,
		steps(at1, receiveRef(c2.id, "ok", ""), receive(forged("leaver", c3, func(c *group.Commit) {
			c.Committer, c.Members = "carol", []group.Member{m("alice"), m("bob")}
		}, true, nil, "carol"), "not_listed", "GRP-2"))...)
	neg("commit-members-unsorted", "The members of epoch 2 in the order bob, alice, carol.", "bad_members", "GRP-6", "bob", noPins,
		steps(at1, receive(forged("unsorted", c2, func(c *group.Commit) { c.Members = []group.Member{m("bob"), m("alice"), m("carol")} }, true, nil, "carol"), "bad_members", "GRP-6"))...)
	neg("commit-member-duplicated", "bob is listed twice.", "bad_members", "GRP-6", "bob", noPins,
		steps(at1, receive(forged("duplicated", c2, func(c *group.Commit) { c.Members = []group.Member{m("alice"), m("bob"), m("bob"), m("carol")} }, true, nil, "carol"), "bad_members", "GRP-6"))...)
	neg("commit-wrap-missing", "Three members, two wraps.", "bad_members", "GRP-6", "bob", noPins,
		steps(at1, receive(forged("wrap-missing", c2, func(c *group.Commit) { c.Wraps = c.Wraps[:2] }, false, nil, "carol"), "bad_members", "GRP-6"))...)
	neg("commit-wraps-out-of-order", "The wraps in the order alice, carol, bob.", "bad_members", "GRP-6", "bob", noPins,
		steps(at1, receive(forged("wraps-order", c2, func(c *group.Commit) { c.Wraps[1], c.Wraps[2] = c.Wraps[2], c.Wraps[1] }, false, nil, "carol"), "bad_members", "GRP-6"))...)

	// key_not_pinned and bad_signature of group keys (GRP-7).
	mallory := idOf("mallory")
	neg("commit-member-key-not-pinned", "bob pinned alice's key when he accepted epoch 1; the commit of epoch 2 lists mallory's keys for alice.",
		"key_not_pinned", "GRP-7", "bob", noPins,
		steps(at1, receive(forged("not-pinned", c2, func(c *group.Commit) {
			c.Members[0] = group.Member{User: "alice", IdentityKey: mallory.Public(), GroupKey: mallory.GroupPublic(), GroupKeySig: mallory.GroupKeySig("alice")}
		}, true, nil, "carol"), "key_not_pinned", "GRP-7"))...)
	neg("commit-own-key-differs", "The commit lists mallory's keys for bob himself. (GRP-6 says the receiver's own entry must carry its own key; "+
		"the reference implementation names GRP-7, as Appendix A.4 does for key_not_pinned.)", "key_not_pinned", "GRP-7", "bob", noPins,
		steps(at1, receive(forged("own-key", c2, func(c *group.Commit) {
			c.Members[1] = group.Member{User: "bob", IdentityKey: mallory.Public(), GroupKey: mallory.GroupPublic(), GroupKeySig: mallory.GroupKeySig("bob")}
		}, true, nil, "carol"), "key_not_pinned", "GRP-7"))...)
	neg("commit-group-key-sig-broken", "carol's group key signature has a flipped bit.", "bad_signature", "GRP-7", "bob", noPins,
		steps(at1, receive(forged("gks-broken", c2, func(c *group.Commit) { c.Members[2].GroupKeySig = flip(c.Members[2].GroupKeySig, 5) }, false, nil, "carol"), "bad_signature", "GRP-7"))...)
	neg("commit-group-key-substituted", "alice's entry carries mallory's group key with alice's genuine group key signature.", "bad_signature", "GRP-7", "bob", noPins,
		steps(at1, receive(forged("gk-substituted", c2, func(c *group.Commit) { c.Members[0].GroupKey = mallory.GroupPublic() }, true, nil, "carol"), "bad_signature", "GRP-7"))...)

	// bad_signature (KEY-7): a committer listed under the neutral point, whose constant signature
	// (R = neutral point, S = 0) a cofactorless verifier accepts for every commit.
	neutralSig := cat(neutralCanonical, make([]byte, 32))
	weak := c2.c
	weak.Members = append([]group.Member(nil), c2.c.Members...)
	weak.Members[2] = group.Member{User: "carol", IdentityKey: neutralCanonical, GroupKey: c2.c.Members[2].GroupKey, GroupKeySig: neutralSig}
	weak.Sig = neutralSig
	neg("commit-committer-small-order-key", "The commit of epoch 2 lists the neutral point as carol's identity key, with the constant "+
		"signature as her group key signature and as the commit signature: crypto/ed25519 accepts both, KEY-7 refuses the key "+
		"before verifying anything with it.", "bad_signature", "KEY-7", "bob", noPins,
		steps(at1, receive(&weak, "bad_signature", "KEY-7"), receiveRef(c2.id, "ok", ""))...)

	// bad_members (GRP-6): the members of the last announcement.
	announce := func(users ...string) vectors.GroupStep {
		return vectors.GroupStep{Action: "announce", Announced: users, Expect: "ok"}
	}
	neg("commit-members-not-announced", "carol's commit of epoch 2 lists alice, bob and carol, but the last group_members bob accepted "+
		"announced alice and bob only: it is rejected and changes nothing (GRP-10); once carol's join is announced the same commit is accepted.",
		"bad_members", "GRP-6", "bob", noPins,
		steps(at1, announce("alice", "bob"), receiveRef(c2.id, "bad_members", "GRP-6"), announce("alice", "bob", "carol"), receiveRef(c2.id, "ok", ""))...)

	// key_not_pinned (GRP-20): a key first seen in a commit is the directory's, never a member's.
	neg("commit-key-not-in-directory", "bob has not pinned carol. A member lists mallory's keys for carol and signs as carol with "+
		"mallory's key (GRP-3 checks the listed key, there being no pin); the directory serves carol's real key, so the commit is "+
		"rejected and nothing is pinned (GRP-10): the genuine commit is accepted next and pins carol's real key.",
		"key_not_pinned", "GRP-20", "bob", noPins,
		steps(at1, receive(forged("not-in-directory", c2, func(c *group.Commit) {
			c.Members[2] = group.Member{User: "carol", IdentityKey: mallory.Public(), GroupKey: mallory.GroupPublic(), GroupKeySig: mallory.GroupKeySig("carol")}
		}, true, nil, "mallory"), "key_not_pinned", "GRP-20"), receiveRef(c2.id, "ok", ""))...)
	noDirectory := vectors.GroupNegative{ID: "commit-key-directory-silent", Comment: "bob has not pinned carol and the directory " +
		"serves another key for her than the commit of epoch 2 lists (mallory's): the genuine-looking commit is rejected.",
		Expect: "key_not_pinned", Rule: "GRP-20", Group: "broadcast", Self: "bob", Pins: noPins,
		Directory: []vectors.Pin{pin("carol", "mallory")},
		Steps:     steps(at1, receiveRef(c2.id, "key_not_pinned", "GRP-20"))}
	out = append(out, noDirectory)

	// bad_wrap (GRP-8).
	rewrapBob := func(id string, info func(c *group.Commit) []byte, gk func() []byte) *group.Commit {
		return forged(id, c2, func(c *group.Commit) {
			c.Wraps[1].Wrap = must(identity.SealGroupWrap(gk(), info(c), c2.secret))
		}, false, nil, "carol")
	}
	neg("commit-wrap-info-other-user", "bob's wrap was sealed with the wrap info of alice.", "bad_wrap", "GRP-8", "bob", noPins,
		steps(at1, receive(rewrapBob("wrap-info-user", func(c *group.Commit) []byte { return group.WrapInfo(c.Group, c.Epoch, "alice") },
			func() []byte { return idOf("bob").GroupPublic() }), "bad_wrap", "GRP-8"))...)
	neg("commit-wrap-info-other-epoch", "bob's wrap was sealed with the wrap info of epoch 1.", "bad_wrap", "GRP-8", "bob", noPins,
		steps(at1, receive(rewrapBob("wrap-info-epoch", func(c *group.Commit) []byte { return group.WrapInfo(c.Group, 1, "bob") },
			func() []byte { return idOf("bob").GroupPublic() }), "bad_wrap", "GRP-8"))...)
	neg("commit-wrap-to-other-key", "bob's wrap was sealed to carol's group key.", "bad_wrap", "GRP-8", "bob", noPins,
		steps(at1, receive(rewrapBob("wrap-other-key", func(c *group.Commit) []byte { return group.WrapInfo(c.Group, c.Epoch, "bob") },
			func() []byte { return idOf("carol").GroupPublic() }), "bad_wrap", "GRP-8"))...)
	neg("commit-wrap-flipped", "One bit of bob's wrap is flipped.", "bad_wrap", "GRP-8", "bob", noPins,
		steps(at1, receive(forged("wrap-flipped", c2, func(c *group.Commit) { c.Wraps[1].Wrap = flip(c.Wraps[1].Wrap, 40) }, false, nil, "carol"), "bad_wrap", "GRP-8"))...)

	// bad_confirmation_tag (GRP-9).
	other := randBytes("group negative split secret", 32)
	split := forged("split", c2, keep, true, func(u string) []byte {
		if u == "bob" {
			return other
		}
		return nil
	}, "carol")
	neg("commit-split-secret", "carol wrapped one secret to alice and herself and another to bob; the tag is of the first. bob is caught; "+
		"alice would accept.", "bad_confirmation_tag", "GRP-9", "bob", noPins,
		steps(at1, receive(split, "bad_confirmation_tag", "GRP-9"))...)
	neg("commit-confirm-flipped", "The confirmation tag has a flipped bit (and the signature covers it).", "bad_confirmation_tag", "GRP-9", "bob", noPins,
		steps(at1, receive(withConfirm(forged("confirm-flipped", c2, keep, false, nil, "carol"), flip(c2.c.Confirm, 0), "carol"), "bad_confirmation_tag", "GRP-9"))...)

	// malformed (MSG-1): a key of the wrong size in a signed commit.
	neg("commit-group-key-31-bytes", "carol's group key is 31 bytes; the commit is otherwise valid and signed.", "malformed", "MSG-1", "bob", noPins,
		steps(at1, receive(forged("gk-31", c2, func(c *group.Commit) { c.Members[2].GroupKey = c.Members[2].GroupKey[:31] }, false, nil, "carol"), "malformed", "MSG-1"))...)

	// GRP-11: the starting point of a joiner.
	neg("join-last-commit-other-epoch", "group_members announces epoch 2 but carries the commit of epoch 1.", "stale_epoch", "GRP-11", "dave", noPins,
		joinStepWith(2, c1.id, "stale_epoch", "GRP-11"))
	neg("join-without-last-commit", "group_members announces epoch 2 without last_commit.", "bad_prev", "GRP-11", "dave", noPins,
		joinStepWith(2, "", "bad_prev", "GRP-11"))

	// key_changed (TRUST-2): a committer whose directory served a changed key.
	changed := []vectors.MemberEntry{{User: "bob", IdentityKey: vectors.Hex(idOf("bob").Public()), GroupKey: idOf("bob").GroupPublic(), GroupKeySig: idOf("bob").GroupKeySig("bob")}}
	neg("create-commit-key-changed", "alice pinned another key for bob; the directory now serves bob's current key. alice must not commit to it.",
		"key_changed", "TRUST-2", "alice", []vectors.Pin{pin("bob", "mallory")},
		at0, vectors.GroupStep{Action: "create_commit", Members: changed, Expect: "key_changed", Rule: "TRUST-2"})

	// Group messages (GRP-14 to GRP-17, GRP-19).
	at2 := steps(at1, receiveRef(c2.id, "ok", ""))
	pt := func(label string) string { return content("group negative "+label, 80) }
	neg("message-old-epoch", "alice's message of epoch 1 arrives after bob accepted epoch 2.", "stale_epoch", "GRP-14", "bob", noPins,
		steps(at2, openRef("broadcast-1-alice-0", "alice", "stale_epoch", "GRP-14"))...)
	neg("message-future-epoch", "carol's message of epoch 2 arrives while bob is at epoch 1.", "stale_epoch", "GRP-14", "bob", noPins,
		steps(at1, openRef("broadcast-2-carol-0", "carol", "stale_epoch", "GRP-14"))...)
	neg("message-before-first-commit", "carol joined at epoch 1 and holds no secret yet.", "stale_epoch", "GRP-14", "carol", noPins,
		joinStep(1, c1.id), openRef("broadcast-1-alice-0", "alice", "stale_epoch", "GRP-14"))
	neg("message-replayed", "alice's message 0 arrives twice.", "replayed_counter", "GRP-15", "bob", noPins,
		steps(at1, openRef("broadcast-1-alice-0", "alice", "ok", ""), openRef("broadcast-1-alice-0", "alice", "replayed_counter", "GRP-15"))...)
	neg("message-reordered", "alice's message 1 arrives before her message 0; message 2 then opens.", "replayed_counter", "GRP-15", "bob", noPins,
		steps(at1, openMsg(c1.honest("alice", 1, pt("a1")), "alice", "ok", ""), openRef("broadcast-1-alice-0", "alice", "replayed_counter", "GRP-15"),
			openMsg(c1.honest("alice", 2, pt("a2")), "alice", "ok", ""))...)
	neg("message-first-counter-jump", "alice's first message of the epoch has counter 65537, above 2^16.", "counter_jump", "GRP-15", "bob", noPins,
		steps(at1, openMsg(c1.honest("alice", 65537, pt("j1")), "alice", "counter_jump", "GRP-15"))...)
	neg("message-counter-jump", "After message 0, alice's message 65537 jumps by more than 2^16; message 65536 is the largest step allowed.",
		"counter_jump", "GRP-15", "bob", noPins,
		steps(at1, openRef("broadcast-1-alice-0", "alice", "ok", ""), openMsg(c1.honest("alice", 65537, pt("j2")), "alice", "counter_jump", "GRP-15"),
			openMsg(c1.honest("alice", 65536, pt("j3")), "alice", "ok", ""))...)
	neg("message-from-self", "bob's own message comes back stamped from bob.", "forged_sender", "GRP-16", "bob", noPins,
		steps(at1, openRef("broadcast-1-bob-0", "bob", "forged_sender", "GRP-16"))...)
	neg("message-from-non-member", "A message stamped from dave, who is not a member of epoch 1.", "forged_sender", "GRP-16", "bob", noPins,
		steps(at1, openMsg(c1.seal("dave", 0, []byte(pt("d")), "dave", "dave"), "dave", "forged_sender", "GRP-16"))...)
	neg("message-sig-flipped", "alice's message with one bit of its signature flipped. (Appendix A.4 lists group message signatures under "+
		"bad_signature too; GRP-16 names forged_sender.)", "forged_sender", "GRP-16", "bob", noPins,
		steps(at1, openMsg(withSig(c1.honest("alice", 0, pt("s")), 3), "alice", "forged_sender", "GRP-16"))...)
	neg("message-member-forges-member", "carol, a member of epoch 2, encrypts with alice's sender key and ad and signs with her own key, "+
		"stamped from alice: members cannot forge each other.", "forged_sender", "GRP-16", "bob", noPins,
		steps(at2, openMsg(c2.seal("alice", 0, []byte(pt("forge")), "alice", "carol"), "alice", "forged_sender", "GRP-16"))...)
	neg("message-from-mismatch", "carol's genuine message stamped from alice.", "forged_sender", "GRP-16", "bob", noPins,
		steps(at2, openRef("broadcast-2-carol-0", "alice", "forged_sender", "GRP-16"))...)
	// The order of spec §7.2: membership (GRP-16) before the counter (GRP-15) before the
	// signature (GRP-16) before decryption (GRP-17).
	neg("message-order-member-before-counter", "A message stamped from dave, not a member of epoch 1, with counter 65537: "+
		"membership is checked before the counter, so it is forged_sender, not counter_jump (spec §7.2 order).", "forged_sender", "GRP-16", "bob", noPins,
		steps(at1, openMsg(c1.seal("dave", 65537, []byte(pt("o1")), "dave", "dave"), "dave", "forged_sender", "GRP-16"))...)
	neg("message-order-counter-before-signature", "alice's message 0 again, with a flipped signature: the counter is checked before the "+
		"signature, so it is replayed_counter, not forged_sender (spec §7.2 order).", "replayed_counter", "GRP-15", "bob", noPins,
		steps(at1, openRef("broadcast-1-alice-0", "alice", "ok", ""), openMsg(withSig(c1.honest("alice", 0, pt("o2")), 7), "alice", "replayed_counter", "GRP-15"))...)
	tampered := c1.honest("alice", 0, pt("t"))
	tampered.m.CT = flip(tampered.m.CT, 0)
	tampered = resignMsg(tampered, "alice")
	neg("message-bad-tag", "alice signed a ciphertext that does not authenticate under her sender key; the epoch goes on and her genuine "+
		"message 0 opens.", "bad_tag", "GRP-17", "bob", noPins,
		steps(at1, openMsg(tampered, "alice", "bad_tag", "GRP-17"), openRef("broadcast-1-alice-0", "alice", "ok", ""))...)
	neg("message-bad-content", "alice's message 0 decrypts to text that is not a content object; her message 1 opens.", "bad_content", "GRP-19", "bob", noPins,
		steps(at1, openMsg(c1.honest("alice", 0, "hello"), "alice", "bad_content", "GRP-19"), openMsg(c1.honest("alice", 1, pt("c1")), "alice", "ok", ""))...)

	// Epoch acknowledgements (GRP-22): an acknowledgement of epoch 2 naming the commit of epoch 1.
	neg("message-ack-other-commit", "bob's message 0 of epoch 2 is an epoch acknowledgement naming the commit of epoch 1, not carol's commit "+
		"of epoch 2 that alice accepted; bob's genuine acknowledgement, message 1, then opens.", "bad_epoch_ack", "GRP-22", "alice", noPins,
		steps(at2, openMsg(c2.honest("bob", 0, epochAck(c1.hash)), "bob", "bad_epoch_ack", "GRP-22"),
			openMsg(c2.honest("bob", 1, epochAck(c2.hash)), "bob", "ok", ""))...)
	return out
}

// epochAck is the plaintext of an epoch acknowledgement of the commit with hash (spec §7.3).
func epochAck(hash []byte) string {
	return encodeJSON(&wire.EpochAck{EpochAck: hash})
}

// joinStepWith is a join whose outcome is not ok.
func joinStepWith(epoch int64, lastCommit, expect, rule string) vectors.GroupStep {
	s := joinStep(epoch, lastCommit)
	s.Expect, s.Rule = expect, rule
	return s
}

// withConfirm replaces the confirmation tag of c and signs c again by
// signer, so that only the tag is wrong.
func withConfirm(c *group.Commit, confirm []byte, signer string) *group.Commit {
	c.Confirm = confirm
	c.Sig = ed25519.Sign(ed25519.NewKeyFromSeed(seedOf(signer)), group.CommitSignatureInput(group.CommitHash(c), confirm))
	return c
}

// withSig returns g with bit 0 of byte i of its signature flipped.
func withSig(g groupMsg, i int) groupMsg {
	g.m.Sig = flip(g.m.Sig, i)
	return g
}

// resignMsg signs g's ad and ciphertext again with signer.
func resignMsg(g groupMsg, signer string) groupMsg {
	g.m.Sig = ed25519.Sign(ed25519.NewKeyFromSeed(seedOf(signer)), cat(g.ad, g.m.CT))
	return g
}

// groupMalformed returns commits and group messages that break their schema.
func groupMalformed(c1, c2 *commitRun) []vectors.Malformed {
	j1 := encodeJSON(wireCommit(&c1.c))
	j2 := encodeJSON(wireCommit(&c2.c))
	b64 := func(b []byte) string { return string(must(json.Marshal(b))) }
	g := c1.honest("alice", 3, content("group malformed", 60))
	msg := encodeJSON(wireGroupMsg(g.m))
	membersStart := indexOnce(j1, `"members":`)
	membersEnd := indexOnce(j1, `,"wraps":`)
	return []vectors.Malformed{
		malformed("commit-epoch-0", "A commit for epoch 0: the first commit publishes epoch 1.", "e2e/commit.json",
			replace(j1, `"epoch":1`, `"epoch":0`), "/epoch", "minimum", "MSG-1"),
		malformed("commit-prev-31-bytes", "prev encodes 31 bytes.", "e2e/commit.json",
			replace(j2, b64(c2.c.Prev), b64(c2.c.Prev[:31])), "/prev", "pattern", "ENC-6"),
		malformed("commit-group-key-unused-bits", "The first member's group key is not canonical base64.", "e2e/commit.json",
			replace(j1, b64(c1.c.Members[0].GroupKey), nonCanonical(b64(c1.c.Members[0].GroupKey))), "/members/0/group_key", "pattern", "ENC-6"),
		malformed("commit-wrap-79-bytes", "The first wrap is 79 bytes.", "e2e/commit.json",
			replace(j1, b64(c1.c.Wraps[0].Wrap), b64(c1.c.Wraps[0].Wrap[:79])), "/wraps/0/wrap", "pattern", "ENC-6"),
		malformed("commit-unknown-member", "A commit with a member the schema does not list.", "e2e/commit.json",
			j1[:len(j1)-1]+`,"from":"alice"}`, "", "additionalProperties", "MSG-1"),
		malformed("commit-no-members", "A commit with no members.", "e2e/commit.json",
			j1[:membersStart]+`"members":[]`+j1[membersEnd:], "/members", "minItems", "MSG-1"),
		malformed("commit-group-upper-case", "A group name with an upper-case letter.", "e2e/commit.json",
			replace(j1, `"group":"broadcast"`, `"group":"Broadcast"`), "/group", "pattern", "MSG-1"),
		malformed("message-n-2-24", "A group message counter of 2^24.", "e2e/group_msg.json",
			replace(msg, `"n":3`, `"n":16777216`), "/n", "maximum", "MSG-1"),
		malformed("message-epoch-0", "A group message for epoch 0, which has no secret.", "e2e/group_msg.json",
			replace(msg, `"epoch":1`, `"epoch":0`), "/epoch", "minimum", "MSG-1"),
		malformed("message-missing-sig", "A group message without a signature.", "e2e/group_msg.json",
			replace(msg, `,"sig":`+b64(g.m.Sig), ``), "", "required", "MSG-1"),
		malformed("message-duplicate-n", "A group message with n twice.", "e2e/group_msg.json",
			msg[:len(msg)-1]+`,"n":4}`, "/n", "duplicateKey", "MSG-2"),
		malformed("message-ct-15-bytes", "A ciphertext shorter than a tag.", "e2e/group_msg.json",
			replace(msg, b64(g.m.CT), b64(g.m.CT[:15])), "/ct", "minLength", "ENC-6"),
	}
}
