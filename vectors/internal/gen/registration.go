package gen

import (
	"bytes"
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"

	"github.com/blindpost/blindpost/impl/e2ee/identity"
	"github.com/blindpost/blindpost/impl/wire"
	"github.com/blindpost/blindpost/vectors"
)

// identityVector derives everything spec §3 gives from the seed of name,
// registered as user, and checks it against impl/e2ee/identity.
func identityVector(id, comment, name, user string) vectors.IdentityVector {
	seed := seedOf(name)
	ik := []byte(ed25519.NewKeyFromSeed(seed).Public().(ed25519.PublicKey))
	gkPriv := expand(seed, "group private key", ik, 32)
	gk := must(ecdh.X25519().NewPrivateKey(gkPriv)).PublicKey().Bytes()
	sigInput := cat([]byte("blindpost/1 group key"), encode(fText(user), fBytes(gk)))
	sig := ed25519.Sign(ed25519.NewKeyFromSeed(seed), sigInput)
	fp := sha256.Sum256(ik)
	k := idOf(name)
	check(bytes.Equal(k.Public(), ik) && bytes.Equal(k.GroupPublic(), gk) && bytes.Equal(k.GroupKeySig(user), sig) &&
		identity.Fingerprint(ik) == "sha256:"+hex.EncodeToString(fp[:]), "%s: identity differs from impl/e2ee/identity", id)
	return vectors.IdentityVector{ID: id, Comment: comment, Rules: []string{"ENC-2", "ENC-3", "KEY-4", "KEY-5"},
		User: user, Seed: seed, IdentityKey: ik, GroupKeyInfo: expandInfo("group private key", ik, 32), GroupPrivate: gkPriv,
		GroupKey: gk, GroupKeySigInput: sigInput, GroupKeySig: sig, Fingerprint: "sha256:" + hex.EncodeToString(fp[:])}
}

// proofInput is the message of a registration proof (spec §5.2).
func proofInput(challenge, pin []byte, user string, ik, gk []byte) []byte {
	return cat([]byte("blindpost/1 register"), encode(fBytes(challenge), fBytes(pin), fText(user), fBytes(ik), fBytes(gk)))
}

// proofVector returns the registration proof of name as user.
func proofVector(id, comment, name, user string) vectors.ProofVector {
	iv := identityVector(id, comment, name, user)
	challenge, pin := randBytes("registration "+id+" challenge", 32), randBytes("registration "+id+" server pin", 32)
	in := proofInput(challenge, pin, user, iv.IdentityKey, iv.GroupKey)
	proof := ed25519.Sign(ed25519.NewKeyFromSeed(iv.Seed), in)
	check(bytes.Equal(must(idOf(name).RegisterProof(challenge, pin, user)), proof), "%s: proof differs from impl/e2ee/identity", id)
	return vectors.ProofVector{ID: id, Comment: comment, Rules: []string{"ENC-2", "KEY-4", "REG-3", "REG-11"},
		User: user, Seed: iv.Seed, IdentityKey: iv.IdentityKey, GroupKey: iv.GroupKey, GroupKeySig: iv.GroupKeySig,
		Challenge: challenge, ServerPin: pin, ServerPinText: "sha256:" + hex.EncodeToString(pin),
		ProofInput: in, Proof: proof,
		Register: encodeMessage(&wire.Register{IdentityKey: iv.IdentityKey, GroupKey: iv.GroupKey, GroupKeySig: iv.GroupKeySig, Proof: proof})}
}

// registrationVectors generates registration.json.
func registrationVectors() *vectors.Registration {
	out := &vectors.Registration{Meta: meta("registration",
		"Identity seeds with the identity key, the derived group key (spec §3.2), the group key signature and the fingerprint (spec §3.3); "+
			"registration proofs with the exact register message (spec §5.2); and group key signatures and proofs a verifier must reject.")}
	out.Identities = []vectors.IdentityVector{
		identityVector("alice", "alice's identity.", "alice", "alice"),
		identityVector("bob", "bob's identity.", "bob", "bob"),
		identityVector("max-length-username", "A 32-character username.", name32("u"), name32("u")),
		identityVector("one-char-username", "A one-character username.", "0", "0"),
	}
	out.Proofs = []vectors.ProofVector{
		proofVector("alice-proof", "alice registers.", "alice", "alice"),
		proofVector("bob-proof", "bob registers.", "bob", "bob"),
		proofVector("max-length-proof", "A 32-character username registers.", name32("u"), name32("u")),
	}
	alice, mallory := out.Proofs[0], identityVector("mallory", "", "mallory", "mallory")
	otherPin := randBytes("registration other server pin", 32)
	gks := func(id, comment, user string, ik, gk, sig []byte) vectors.RegistrationNegative {
		return vectors.RegistrationNegative{ID: id, Comment: comment, Expect: "bad_signature", Rule: "KEY-5",
			Check: "group_key_sig", User: user, IdentityKey: ik, GroupKey: gk, Sig: sig}
	}
	proof := func(id, comment, user string, challenge, pin, ik, gk, sig []byte) vectors.RegistrationNegative {
		return vectors.RegistrationNegative{ID: id, Comment: comment, Expect: "bad_signature", Rule: "REG-3",
			Check: "register_proof", User: user, IdentityKey: ik, GroupKey: gk, Challenge: challenge, ServerPin: pin, Sig: sig}
	}
	a := alice
	out.Negative = []vectors.RegistrationNegative{
		gks("gks-flipped", "alice's group key signature with one bit flipped.", "alice", a.IdentityKey, a.GroupKey, flip(a.GroupKeySig, 10)),
		gks("gks-other-user", "alice's genuine signature checked for another username: the name is signed.", "mallory", a.IdentityKey, a.GroupKey, a.GroupKeySig),
		gks("gks-group-key-substituted", "A server hands out mallory's group key with alice's signature.", "alice", a.IdentityKey, mallory.GroupKey, a.GroupKeySig),
		gks("gks-by-other-identity", "mallory signed alice's group key for alice; checked with alice's identity key.", "alice", a.IdentityKey, a.GroupKey,
			ed25519.Sign(ed25519.NewKeyFromSeed(mallory.Seed), cat([]byte("blindpost/1 group key"), encode(fText("alice"), fBytes(a.GroupKey))))),
		gks("gks-without-label", "alice signed enc(user, GK_public) without the label \"blindpost/1 group key\".", "alice", a.IdentityKey, a.GroupKey,
			ed25519.Sign(ed25519.NewKeyFromSeed(a.Seed), encode(fText("alice"), fBytes(a.GroupKey)))),
		proof("proof-other-server", "alice's proof, made for another server's pin, replayed by that server to this one (REG-11).", "alice",
			a.Challenge, otherPin, a.IdentityKey, a.GroupKey, a.Proof),
		proof("proof-other-challenge", "alice's proof from an earlier connection: another challenge.", "alice",
			randBytes("registration other challenge", 32), a.ServerPin, a.IdentityKey, a.GroupKey, a.Proof),
		proof("proof-other-user", "alice's proof presented for the username mallory.", "mallory", a.Challenge, a.ServerPin, a.IdentityKey, a.GroupKey, a.Proof),
		proof("proof-other-group-key", "alice's proof with mallory's group key in the register message.", "alice", a.Challenge, a.ServerPin, a.IdentityKey, mallory.GroupKey, a.Proof),
		proof("proof-zero", "An all-zero proof.", "alice", a.Challenge, a.ServerPin, a.IdentityKey, a.GroupKey, make([]byte, 64)),
	}
	// VEC-3: signatures that a lax verifier accepts and RFC 8032 §5.1.7 rejects, made with
	// alice's own key over the right message.
	for _, v := range vec3Sigs {
		g := gks("gks-"+v.id, "alice's group key signature, "+v.comment+" (RFC 8032 §5.1.7).", "alice", a.IdentityKey, a.GroupKey,
			v.sig(a.Seed, cat([]byte("blindpost/1 group key"), encode(fText("alice"), fBytes(a.GroupKey)))))
		p := proof("proof-"+v.id, "alice's registration proof, "+v.comment+" (RFC 8032 §5.1.7).", "alice",
			a.Challenge, a.ServerPin, a.IdentityKey, a.GroupKey, v.sig(a.Seed, a.ProofInput))
		g.Rule, p.Rule = "VEC-3", "VEC-3"
		out.Negative = append(out.Negative, g, p)
	}
	// VEC-3, the public key half: the neutral point as identity key in a non-canonical encoding,
	// with the signature (R = neutral point, S = 0) that verifies for every message under a lax
	// decoding of A.
	for _, k := range []struct {
		id, comment string
		key         []byte
	}{
		{"a-y-above-p", "the identity key is the neutral point written with y = p + 1 (y not below p)", neutralYAboveP},
		{"a-negative-zero", "the identity key is the neutral point written with the sign bit of x set although x = 0", neutralNegZero},
	} {
		sig := cat(neutralCanonical, make([]byte, 32))
		check(laxVerify(k.key, a.ProofInput, sig) && strictRejects(k.key, sig), "%s: not a key only a lax verifier accepts", k.id)
		p := proof("proof-"+k.id, "A registration proof where "+k.comment+", signed with R = neutral point and S = 0 (RFC 8032 §5.1.3).", "alice",
			a.Challenge, a.ServerPin, k.key, a.GroupKey, sig)
		p.Rule = "VEC-3"
		out.Negative = append(out.Negative, p)
	}
	// KEY-7: identity keys of small or mixed order, each with a group key signature and a proof
	// that crypto/ed25519 accepts. The non-canonical encodings are VEC-3's too, and named so.
	for _, k := range weakKeys() {
		gksIn := cat([]byte("blindpost/1 group key"), encode(fText("mallory"), fBytes(mallory.GroupKey)))
		g := gks("gks-"+k.id, "mallory's group key signature where "+k.comment+"; crypto/ed25519 accepts the signature.", "mallory",
			k.key, mallory.GroupKey, k.sign(gksIn))
		p := proof("proof-"+k.id, "A registration proof of mallory where "+k.comment+"; crypto/ed25519 accepts the proof.", "mallory",
			a.Challenge, a.ServerPin, k.key, mallory.GroupKey, k.sign(proofInput(a.Challenge, a.ServerPin, "mallory", k.key, mallory.GroupKey)))
		g.Rule, p.Rule = "KEY-7", "KEY-7"
		if !k.strict {
			g.Rule, p.Rule = "VEC-3", "VEC-3"
		}
		out.Negative = append(out.Negative, g, p)
	}
	return out
}
