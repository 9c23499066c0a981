package gen

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"

	"github.com/blindpost/blindpost/impl/e2ee/group"
	"github.com/blindpost/blindpost/impl/e2ee/identity"
	"github.com/blindpost/blindpost/impl/e2ee/wireconv"
	"github.com/blindpost/blindpost/impl/wire"
	"github.com/blindpost/blindpost/spec"
)

// TestSpecExamplesVerify reads the fenced examples of spec/protocol.md, not the generator, and
// checks what they carry cryptographically: the registration proof over the example challenge
// and pin (REG-3), every group key signature (KEY-5), the fingerprint (§3.3), the handshake
// signatures over the transcript of the example session (HS-8), the commit signatures and the
// chain of prev (GRP-3, GRP-5), and the group message signature (GRP-16). The records and wraps
// need secrets the examples do not show; TestGenerate checks those when it makes them.
func TestSpecExamplesVerify(t *testing.T) {
	lines := strings.Split(spec.Protocol, "\n")
	byTag := map[string][][]byte{}
	for _, b := range fencedExamples(spec.Protocol) {
		byTag[b.tag] = append(byTag[b.tag], []byte(strings.Join(lines[b.start:b.end], "\n")))
	}
	var (
		hello    *wire.HelloAck
		reg      *wire.Register
		ack      *wire.RegisterAck
		pub      *wire.Pubkey
		commit1  *wire.Commit
		chatReq  *wire.ChatRequest
		groupMsg *wire.GroupMessage
	)
	for _, dir := range []struct {
		tag string
		d   wire.Direction
	}{{"json c2s", wire.FromClient}, {"json s2c", wire.FromServer}} {
		for _, data := range byTag[dir.tag] {
			m, err := wire.Decode(dir.d, data)
			if err != nil {
				t.Fatalf("%s example %s: %v", dir.tag, data, err)
			}
			switch m := m.(type) {
			case *wire.HelloAck:
				hello = m
			case *wire.Register:
				reg = m
			case *wire.RegisterAck:
				ack = m
			case *wire.Pubkey:
				pub = m
			case *wire.GroupCommit:
				commit1 = &m.Commit
			case *wire.ChatRequest:
				chatReq = m
			case *wire.GroupMessage:
				groupMsg = m
			}
		}
	}
	if hello == nil || reg == nil || ack == nil || pub == nil || commit1 == nil || chatReq == nil || groupMsg == nil {
		t.Fatal("the spec lacks one of the examples this test verifies")
	}
	var connect struct{ Pin string }
	if err := json.Unmarshal(byTag["json driver-command"][0], &connect); err != nil {
		t.Fatal(err)
	}
	pin, err := hex.DecodeString(strings.TrimPrefix(connect.Pin, "sha256:"))
	if err != nil {
		t.Fatal(err)
	}
	// §5.2: the proof covers the example challenge and the pin the driver example trusts.
	if err := identity.VerifyRegisterProof(hello.Challenge, pin, "alice", reg.IdentityKey, reg.GroupKey, reg.Proof); err != nil {
		t.Errorf("REG-3: the register example's proof: %v", err)
	}
	for user, k := range map[string][3][]byte{"alice": {reg.IdentityKey, reg.GroupKey, reg.GroupKeySig}, "bob": {pub.IdentityKey, pub.GroupKey, pub.GroupKeySig}} {
		if err := identity.VerifyGroupKeySig(user, k[0], k[1], k[2]); err != nil {
			t.Errorf("KEY-5: the group key signature of %s: %v", user, err)
		}
	}
	if fp := sha256.Sum256(reg.IdentityKey); ack.Fingerprint != "sha256:"+hex.EncodeToString(fp[:]) {
		t.Errorf("§3.3: register_ack fingerprint %s is not SHA-256 of the registered key", ack.Fingerprint)
	}
	var out struct{ IdentityKey, Fingerprint string }
	if err := json.Unmarshal(byTag["json driver-output"][0], &out); err != nil || out.Fingerprint != ack.Fingerprint {
		t.Errorf("A.1: the connect response's fingerprint %s is not register_ack's (%v)", out.Fingerprint, err)
	}

	// §6.2, §6.3: the handshake signatures over the transcript of the example session.
	payloads := byTag["json payload"]
	hs1 := mustPayload[*wire.HS1](t, payloads[0])
	hs2 := mustPayload[*wire.HS2](t, payloads[1])
	hs3 := mustPayload[*wire.HS3](t, payloads[2])
	h := sha256.Sum256([]byte("blindpost/1"))
	var suites []field
	for _, s := range hs1.Suites {
		suites = append(suites, fText(s))
	}
	for _, f := range []field{fBytes(chatReq.Session), fText("alice"), fText(chatReq.To), fBytes(reg.IdentityKey), fBytes(pub.IdentityKey),
		fList(suites...), fText(hs2.Suite), fBytes(hs1.E), fBytes(hs2.E)} {
		h = sha256.Sum256(cat(h[:], encode(f)))
	}
	if !identity.Verify(pub.IdentityKey, sigInput("responder", h[:]), hs2.Sig) {
		t.Error("HS-8: the hs2 example's signature does not verify with bob's key")
	}
	if !identity.Verify(reg.IdentityKey, sigInput("initiator", h[:]), hs3.Sig) {
		t.Error("HS-8: the hs3 example's signature does not verify with alice's key")
	}

	// §7.1: the commits are signed by their committers and chained.
	c1 := wireconv.FromCommit(commit1)
	c2w, err := wire.DecodeCommit(byTag["json commit"][0])
	if err != nil {
		t.Fatal(err)
	}
	c2 := wireconv.FromCommit(c2w)
	for _, c := range []*group.Commit{&c1, &c2} {
		var key []byte
		for _, m := range c.Members {
			if m.User == c.Committer {
				key = m.IdentityKey
			}
			if err := identity.VerifyGroupKeySig(m.User, m.IdentityKey, m.GroupKey, m.GroupKeySig); err != nil {
				t.Errorf("GRP-7: epoch %d lists a group key of %s whose signature does not verify: %v", c.Epoch, m.User, err)
			}
		}
		if !identity.Verify(key, group.CommitSignatureInput(group.CommitHash(c), c.Confirm), c.Sig) {
			t.Errorf("GRP-3: the commit example of epoch %d is not signed by %s", c.Epoch, c.Committer)
		}
	}
	if c2.Epoch != c1.Epoch+1 || !bytes.Equal(c2.Prev, group.CommitHash(&c1)) {
		t.Errorf("GRP-5: the commit example of epoch %d does not chain to the one of epoch %d", c2.Epoch, c1.Epoch)
	}
	// §7.2: alice's group message is signed with the key the commit of its epoch lists for her.
	m := wireconv.FromGroupMsg(&groupMsg.Message)
	ad := group.AppendMessageAD(nil, m.Group, m.Epoch, "alice", m.N)
	if m.Epoch != c1.Epoch || !identity.Verify(c1.Members[0].IdentityKey, cat(ad, m.CT), m.Sig) {
		t.Error("GRP-16: the group message example is not signed by alice for the epoch of the commit example")
	}
}

func mustPayload[T wire.Payload](t *testing.T, data []byte) T {
	t.Helper()
	p, err := wire.DecodePayload(data)
	if err != nil {
		t.Fatal(err)
	}
	v, ok := p.(T)
	if !ok {
		t.Fatalf("payload example %s is a %T", data, p)
	}
	return v
}
