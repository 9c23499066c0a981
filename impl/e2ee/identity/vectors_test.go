package identity

import (
	"bytes"
	"crypto/ecdh"
	"encoding/hex"
	"errors"
	"testing"

	"github.com/blindpost/blindpost/impl/e2ee"
	"github.com/blindpost/blindpost/impl/e2ee/canonical"
	"github.com/blindpost/blindpost/impl/wire"
	"github.com/blindpost/blindpost/vectors"
)

// TestVectors runs vectors/registration.json through this package (spec
// §8, VEC-1): every identity through FromSeed and its group key derivation
// (§3.2, KEY-4), every proof through RegisterProof, VerifyRegisterProof and
// the register message of impl/wire (§5.2, REG-3, REG-11), and every
// negative vector through VerifyGroupKeySig (KEY-5) or VerifyRegisterProof
// (REG-3) with the outcome and rule it names, the signatures VEC-3 rejects
// (S not below the group order, a non-canonical R) included.
func TestVectors(t *testing.T) {
	var v vectors.Registration
	if err := vectors.Load("registration", &v); err != nil {
		t.Fatal(err)
	}
	for _, c := range v.Identities {
		t.Run("identity/"+c.ID, func(t *testing.T) {
			k, err := FromSeed(c.Seed)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(k.Public(), c.IdentityKey) {
				t.Error("§3.1: identity key differs")
			}
			if info := canonical.ExpandInfo(canonical.ExpandGroupKey, c.IdentityKey, GroupKeySize); !bytes.Equal(info, c.GroupKeyInfo) {
				t.Error("ENC-3: group key info differs")
			}
			scalar, err := canonical.Expand(c.Seed, canonical.ExpandGroupKey, c.IdentityKey, GroupKeySize)
			if err != nil || !bytes.Equal(scalar, c.GroupPrivate) {
				t.Errorf("§3.2: gk_private differs: %v", err)
			}
			gk, err := ecdh.X25519().NewPrivateKey(c.GroupPrivate)
			if err != nil || !bytes.Equal(gk.PublicKey().Bytes(), c.GroupKey) || !bytes.Equal(k.GroupPublic(), c.GroupKey) {
				t.Errorf("§3.2: group key differs: %v", err)
			}
			if !bytes.Equal(groupKeyMessage(c.User, c.GroupKey), c.GroupKeySigInput) {
				t.Error("KEY-4, ENC-2: group key signature input differs")
			}
			if !bytes.Equal(k.GroupKeySig(c.User), c.GroupKeySig) {
				t.Error("KEY-4: group key signature differs")
			}
			if err := VerifyGroupKeySig(c.User, c.IdentityKey, c.GroupKey, c.GroupKeySig); err != nil {
				t.Errorf("KEY-5: %v", err)
			}
			if fp := Fingerprint(c.IdentityKey); fp != c.Fingerprint {
				t.Errorf("§3.3: fingerprint %s, want %s", fp, c.Fingerprint)
			}
		})
	}
	for _, c := range v.Proofs {
		t.Run("proof/"+c.ID, func(t *testing.T) {
			k, err := FromSeed(c.Seed)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(k.Public(), c.IdentityKey) || !bytes.Equal(k.GroupPublic(), c.GroupKey) || !bytes.Equal(k.GroupKeySig(c.User), c.GroupKeySig) {
				t.Fatal("KEY-4: keys differ")
			}
			if c.ServerPinText != "sha256:"+hex.EncodeToString(c.ServerPin) {
				t.Error("§4.1: pin text differs")
			}
			if !bytes.Equal(registerMessage(c.Challenge, c.ServerPin, c.User, c.IdentityKey, c.GroupKey), c.ProofInput) {
				t.Error("REG-3, ENC-2: proof input differs")
			}
			proof, err := k.RegisterProof(c.Challenge, c.ServerPin, c.User)
			if err != nil || !bytes.Equal(proof, c.Proof) {
				t.Errorf("REG-11: proof differs: %v", err)
			}
			if err := VerifyRegisterProof(c.Challenge, c.ServerPin, c.User, c.IdentityKey, c.GroupKey, c.Proof); err != nil {
				t.Errorf("REG-3: %v", err)
			}
			// The register message: decoded with impl/wire it carries the
			// same values, and encoding them gives the same bytes.
			m, err := wire.Decode(wire.FromClient, []byte(c.Register))
			if err != nil {
				t.Fatal(err)
			}
			reg, ok := m.(*wire.Register)
			if !ok || !bytes.Equal(reg.IdentityKey, c.IdentityKey) || !bytes.Equal(reg.GroupKey, c.GroupKey) ||
				!bytes.Equal(reg.GroupKeySig, c.GroupKeySig) || !bytes.Equal(reg.Proof, c.Proof) {
				t.Fatalf("register decodes to %+v", m)
			}
			if err := VerifyRegisterProof(c.Challenge, c.ServerPin, c.User, reg.IdentityKey, reg.GroupKey, reg.Proof); err != nil {
				t.Errorf("REG-3: decoded register: %v", err)
			}
			if err := VerifyGroupKeySig(c.User, reg.IdentityKey, reg.GroupKey, reg.GroupKeySig); err != nil {
				t.Errorf("REG-4: decoded register: %v", err)
			}
			out, err := wire.Encode(&wire.Register{IdentityKey: k.Public(), GroupKey: k.GroupPublic(), GroupKeySig: k.GroupKeySig(c.User), Proof: proof})
			if err != nil || string(out) != c.Register {
				t.Errorf("register encodes to %s, %v", out, err)
			}
		})
	}
	for _, c := range v.Negative {
		t.Run("negative/"+c.ID, func(t *testing.T) {
			var err error
			switch c.Check {
			case "group_key_sig":
				err = VerifyGroupKeySig(c.User, c.IdentityKey, c.GroupKey, c.Sig)
			case "register_proof":
				err = VerifyRegisterProof(c.Challenge, c.ServerPin, c.User, c.IdentityKey, c.GroupKey, c.Sig)
			default:
				t.Fatalf("unknown check %q", c.Check)
			}
			// A signature VEC-3 rejects (spec §8) is reported by the check that verified it
			// (vectors/README.md, "VEC-3").
			rule := c.Rule
			if rule == "VEC-3" {
				rule = map[string]string{"group_key_sig": "KEY-5", "register_proof": "REG-3"}[c.Check]
			}
			var e *e2ee.Error
			o, _ := e2ee.OutcomeOf(err)
			if !errors.As(err, &e) || string(o) != c.Expect || e.Rule != rule {
				t.Fatalf("VEC-1: got %v, want %s [%s]", err, c.Expect, rule)
			}
		})
	}
}
