package gen

import (
	"bytes"
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"math/big"
	"slices"

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
	return vectors.IdentityVector{ID: id, Comment: comment, Rules: []string{"ENC-3", "KEY-4", "KEY-5"},
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
	return vectors.ProofVector{ID: id, Comment: comment, Rules: []string{"KEY-4", "REG-3", "REG-11"},
		User: user, Seed: iv.Seed, IdentityKey: iv.IdentityKey, GroupKey: iv.GroupKey, GroupKeySig: iv.GroupKeySig,
		Challenge: challenge, ServerPin: pin, ServerPinText: "sha256:" + hex.EncodeToString(pin),
		ProofInput: in, Proof: proof,
		Register: encodeMessage(&wire.Register{IdentityKey: iv.IdentityKey, GroupKey: iv.GroupKey, GroupKeySig: iv.GroupKeySig, Proof: proof})}
}

// malleate returns the Ed25519 signature sig with L added to its S: the same
// point, an S that is not below the group order (RFC 8032 §5.1.7 rejects it).
func malleate(sig []byte) []byte {
	l, _ := new(big.Int).SetString("7237005577332262213973186563042994240857116359379907606001950938285454250989", 10)
	le := func(b []byte) []byte { c := bytes.Clone(b); slices.Reverse(c); return c }
	s := new(big.Int).SetBytes(le(sig[32:]))
	s.Add(s, l)
	out := make([]byte, 32)
	s.FillBytes(out)
	return cat(sig[:32], le(out))
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
		gks("gks-s-not-reduced", "alice's signature with the group order L added to S: the same point R, but S is not below L (RFC 8032 §5.1.7, VEC-3).",
			"alice", a.IdentityKey, a.GroupKey, malleate(a.GroupKeySig)),
		gks("gks-without-label", "alice signed enc(user, GK_public) without the label \"blindpost/1 group key\".", "alice", a.IdentityKey, a.GroupKey,
			ed25519.Sign(ed25519.NewKeyFromSeed(a.Seed), encode(fText("alice"), fBytes(a.GroupKey)))),
		proof("proof-other-server", "alice's proof, made for another server's pin, replayed by that server to this one (REG-11).", "alice",
			a.Challenge, otherPin, a.IdentityKey, a.GroupKey, a.Proof),
		proof("proof-other-challenge", "alice's proof from an earlier connection: another challenge.", "alice",
			randBytes("registration other challenge", 32), a.ServerPin, a.IdentityKey, a.GroupKey, a.Proof),
		proof("proof-other-user", "alice's proof presented for the username mallory.", "mallory", a.Challenge, a.ServerPin, a.IdentityKey, a.GroupKey, a.Proof),
		proof("proof-other-group-key", "alice's proof with mallory's group key in the register message.", "alice", a.Challenge, a.ServerPin, a.IdentityKey, mallory.GroupKey, a.Proof),
		proof("proof-s-not-reduced", "alice's proof with L added to S.", "alice", a.Challenge, a.ServerPin, a.IdentityKey, a.GroupKey, malleate(a.Proof)),
		proof("proof-zero", "An all-zero proof.", "alice", a.Challenge, a.ServerPin, a.IdentityKey, a.GroupKey, make([]byte, 64)),
	}
	return out
}
