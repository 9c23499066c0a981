package clientsuite

import (
	"bytes"
	"crypto/ecdh"
	"slices"
	"testing"

	"github.com/blindpost/blindpost/impl/e2ee/canonical"
	"github.com/blindpost/blindpost/impl/e2ee/direct"
	"github.com/blindpost/blindpost/impl/e2ee/identity"
	"github.com/blindpost/blindpost/vectors"
)

// TestForgeMatchesVectors recomputes every published handshake with forge.go: the transcript
// hash, the key schedule, both signatures and both Finished MACs (spec §6.2, §6.3).
func TestForgeMatchesVectors(t *testing.T) {
	var hs vectors.Handshake
	if err := vectors.Load("handshake", &hs); err != nil {
		t.Fatal(err)
	}
	if len(hs.Handshakes) == 0 {
		t.Fatal("no handshake vectors")
	}
	for _, v := range hs.Handshakes {
		t.Run(v.ID, func(t *testing.T) {
			tr := Transcript{
				SessionID: v.SessionID, Initiator: v.Initiator.User, Responder: v.Responder.User,
				IKI: v.Initiator.IdentityKey, IKR: v.Responder.IdentityKey, Offered: v.SuitesOffered, Chosen: v.Suite,
				EI: v.InitiatorEphemeral.Public, ER: v.ResponderEphemeral.Public,
			}
			h := tr.Hash()
			if !bytes.Equal(h, v.H) {
				t.Fatalf("h = %x, want %x", h, v.H)
			}
			priv, err := ecdh.X25519().NewPrivateKey(v.InitiatorEphemeral.Private)
			if err != nil {
				t.Fatal(err)
			}
			dh, err := DH(priv, v.ResponderEphemeral.Public)
			if err != nil || !bytes.Equal(dh, v.DH) {
				t.Fatalf("dh = %x, %v; want %x", dh, err, v.DH)
			}
			k, err := DeriveHSKeys(dh, h)
			if err != nil {
				t.Fatal(err)
			}
			got := [][]byte{k.KeyI2R, k.IVI2R, k.KeyR2I, k.IVR2I, k.FinI, k.FinR}
			want := [][]byte{v.Keys.I2RKey, v.Keys.I2RIV, v.Keys.R2IKey, v.Keys.R2IIV, v.Keys.InitiatorFinishedKey, v.Keys.ResponderFinishedKey}
			for i := range got {
				if !bytes.Equal(got[i], want[i]) {
					t.Errorf("key %d = %x, want %x", i, got[i], want[i])
				}
			}
			if !bytes.Equal(FinishedMAC(k.FinR, h), v.FinR) || !bytes.Equal(FinishedMAC(k.FinI, h), v.FinI) {
				t.Error("Finished MACs differ")
			}
			ini, res := key(t, v.Initiator.Seed), key(t, v.Responder.Seed)
			if !bytes.Equal(SignHS(res, canonical.LabelResponder, h), v.SigR) || !bytes.Equal(SignHS(ini, canonical.LabelInitiator, h), v.SigI) {
				t.Error("signatures differ")
			}
			if !VerifyHS(v.Responder.IdentityKey, canonical.LabelResponder, h, v.SigR) {
				t.Error("VerifyHS rejects sig_r")
			}
		})
	}
}

func key(t *testing.T, seed []byte) *identity.PrivateKey {
	t.Helper()
	k, err := identity.FromSeed(seed)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestSNotReducedMatchesVectors checks sNotReduced against the published VEC-3 vectors: alice's
// proof with L added to S is the proof-s-not-reduced signature, which does not verify.
func TestSNotReducedMatchesVectors(t *testing.T) {
	var reg vectors.Registration
	if err := vectors.Load("registration", &reg); err != nil {
		t.Fatal(err)
	}
	var want []byte
	for _, n := range reg.Negative {
		if n.ID == "proof-s-not-reduced" && n.Rule == "VEC-3" {
			want = n.Sig
		}
	}
	p := reg.Proofs[0]
	got := sNotReduced(p.Proof)
	if want == nil || p.ID != "alice-proof" || !bytes.Equal(got, want) {
		t.Fatalf("sNotReduced(alice's proof) = %x, the vector proof-s-not-reduced %x", got, want)
	}
	if identity.Verify(p.IdentityKey, p.ProofInput, got) || !identity.Verify(p.IdentityKey, p.ProofInput, p.Proof) {
		t.Error("VEC-3: the proof with S not below L verifies, or the genuine one does not")
	}
}

// TestLowOrderPointsMatchVectors checks LowOrderPoints against the HS-6 negatives of
// vectors/handshake.json, and that X25519 gives all zero for each.
func TestLowOrderPointsMatchVectors(t *testing.T) {
	var hs vectors.Handshake
	if err := vectors.Load("handshake", &hs); err != nil {
		t.Fatal(err)
	}
	var published [][]byte
	for _, n := range hs.Negative {
		if n.Rule == "HS-6" && n.Role == "initiator" && n.Steps[0].HS2 != nil {
			published = append(published, n.Steps[0].HS2.E)
		}
	}
	if len(published) != len(LowOrderPoints) {
		t.Fatalf("%d published low-order points, %d here", len(published), len(LowOrderPoints))
	}
	priv, err := ecdh.X25519().NewPrivateKey(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range LowOrderPoints {
		if !slices.ContainsFunc(published, func(b []byte) bool { return bytes.Equal(b, p.Point) }) {
			t.Errorf("%s %x is not among the published points", p.Name, p.Point)
		}
		if _, err := DH(priv, p.Point); err == nil {
			t.Errorf("%s: X25519 did not refuse the all-zero output", p.Name)
		}
	}
}

// TestForgeInteroperatesWithDirect runs the honest forge as initiator against the responder of
// impl/e2ee/direct, which must accept its hs3.
func TestForgeInteroperatesWithDirect(t *testing.T) {
	ik, rk := key(t, bytes.Repeat([]byte{1}, 32)), key(t, bytes.Repeat([]byte{2}, 32))
	sid := bytes.Repeat([]byte{3}, 16)
	eph, err := ecdh.X25519().NewPrivateKey(bytes.Repeat([]byte{4}, 32))
	if err != nil {
		t.Fatal(err)
	}
	tr := Transcript{SessionID: sid, Initiator: "ivy", Responder: "rob", IKI: ik.Public(), IKR: rk.Public(),
		Offered: []string{direct.Suite}, Chosen: direct.Suite, EI: eph.PublicKey().Bytes()}
	r, hs2, err := direct.NewResponder(direct.Config{SessionID: sid, Initiator: "ivy", Responder: "rob", Identity: rk,
		PeerIdentityKey: ik.Public()}, direct.HS1{Suites: tr.Offered, E: tr.EI})
	if err != nil {
		t.Fatal(err)
	}
	tr.ER = hs2.E
	h := tr.Hash()
	dh, err := DH(eph, hs2.E)
	if err != nil {
		t.Fatal(err)
	}
	k, err := DeriveHSKeys(dh, h)
	if err != nil {
		t.Fatal(err)
	}
	if !VerifyHS(rk.Public(), canonical.LabelResponder, h, hs2.Sig) || !bytes.Equal(FinishedMAC(k.FinR, h), hs2.Fin) {
		t.Fatal("the forge does not verify direct's hs2")
	}
	if _, err := r.ReadHS3(direct.HS3{Sig: SignHS(ik, canonical.LabelInitiator, h), Fin: FinishedMAC(k.FinI, h)}); err != nil {
		t.Fatalf("direct rejects the forge's hs3: %v", err)
	}
}

func TestSplitCommand(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"blindpost driver", []string{"blindpost", "driver"}},
		{"  a\tb  ", []string{"a", "b"}},
		{`'/path with space/bin' driver`, []string{"/path with space/bin", "driver"}},
		{`python3 -c "print(\"hi\")"`, []string{"python3", "-c", `print("hi")`}},
		{`a\ b c`, []string{"a b", "c"}},
		{`x""y ''`, []string{"xy", ""}},
	}
	for _, tt := range tests {
		got, err := SplitCommand(tt.in)
		if err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("SplitCommand(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{`'open`, `"open`, `trailing\`} {
		if _, err := SplitCommand(bad); err == nil {
			t.Errorf("SplitCommand(%q): no error", bad)
		}
	}
	if got := shellQuote("/tmp/a b/blindpost driver"); got != `'/tmp/a b/blindpost driver'` {
		t.Errorf("shellQuote = %s", got)
	}
}
