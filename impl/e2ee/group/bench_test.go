package group

import (
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/hpke"
	"crypto/sha256"
	"fmt"
	"testing"

	"github.com/blindpost/blindpost/impl/e2ee/canonical"
)

// Each protocol benchmark has a baseline sub-benchmark beside it that makes
// the same standard-library primitive calls with fixed inputs, measured in
// the same run.

func benchWorld(b *testing.B, n int) *world {
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("user%03d", i)
	}
	return newWorld(b, names...)
}

// BenchmarkCommit creates a commit (as the committer) and receives one (as
// a member) for groups of 10 and 100.
func BenchmarkCommit(b *testing.B) {
	for _, n := range []int{10, 100} {
		w := benchWorld(b, n)
		committer, receiver := w.clients[0], w.clients[1]
		var members []Member
		for _, c := range w.clients {
			members = append(members, c.member())
		}
		b.Run(fmt.Sprintf("create/%d/protocol", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				p, err := committer.st.CreateCommit(members)
				if err != nil {
					b.Fatal(err)
				}
				p.Discard()
			}
		})
		p, _ := committer.st.CreateCommit(members)
		in := newPrimitiveInputs(b, committer, receiver, &p.Commit, p.secret)
		b.Run(fmt.Sprintf("create/%d/baseline", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				in.create(b)
			}
		})
		b.Run(fmt.Sprintf("receive/%d/protocol", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := receiver.st.verify(&p.Commit); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("receive/%d/baseline", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				in.receive(b)
			}
		})
	}
}

var (
	benchKDF  = hpke.HKDFSHA256()
	benchAEAD = hpke.AES256GCM()
	benchKEM  = hpke.DHKEM(ecdh.X25519())
)

// primitiveInputs holds, computed once with the protocol's own encoders, the
// exact inputs of every primitive call a commit makes, so the baselines time
// the primitive calls alone.
type primitiveInputs struct {
	signer      *client
	secret      []byte
	gkPubs      []hpke.PublicKey
	gkMsgs      [][]byte // group key signature messages
	infos       [][]byte
	content     []byte
	confirmInfo string
	signed      []byte // label || hash || confirm
	commit      *Commit
	receiverKey hpke.PrivateKey
	receiverIdx int
}

func newPrimitiveInputs(b *testing.B, committer, receiver *client, c *Commit, secret []byte) *primitiveInputs {
	in := &primitiveInputs{signer: committer, secret: secret, commit: c, receiverIdx: 1}
	for _, m := range c.Members {
		pk, err := benchKEM.NewPublicKey(m.GroupKey)
		if err != nil {
			b.Fatal(err)
		}
		in.gkPubs = append(in.gkPubs, pk)
		msg := append([]byte(canonical.LabelGroupKey), canonical.AppendBytes(canonical.AppendText(nil, m.User), m.GroupKey)...)
		in.gkMsgs = append(in.gkMsgs, msg)
		in.infos = append(in.infos, WrapInfo(c.Group, c.Epoch, m.User))
	}
	in.content = append([]byte(canonical.LabelCommit), Content(c)...)
	in.confirmInfo = string(canonical.ExpandInfo(canonical.ExpandConfirm, canonical.AppendUint64(canonical.AppendText(nil, c.Group), c.Epoch), 32))
	in.signed = CommitSignatureInput(CommitHash(c), c.Confirm)
	k, err := hpke.NewDHKEMPrivateKey(groupPrivate(b, receiver))
	if err != nil {
		b.Fatal(err)
	}
	in.receiverKey = k
	return in
}

// create: a group key signature verification per other member, an HPKE seal
// per member, SHA-256 of the content, the confirm key (one HKDF-Expand) and
// its HMAC, and the committer's signature.
func (in *primitiveInputs) create(b *testing.B) {
	for i, m := range in.commit.Members {
		if i != 0 {
			ed25519.Verify(m.IdentityKey, in.gkMsgs[i], m.GroupKeySig)
		}
		if _, err := hpke.Seal(in.gkPubs[i], benchKDF, benchAEAD, in.infos[i], in.secret); err != nil {
			b.Fatal(err)
		}
	}
	in.confirm()
	in.signer.id.Sign(in.signed)
}

func (in *primitiveInputs) confirm() []byte {
	hash := sha256.Sum256(in.content)
	key, _ := hkdf.Expand(sha256.New, in.secret, in.confirmInfo, 32)
	mac := hmac.New(sha256.New, key)
	mac.Write(hash[:])
	return mac.Sum(nil)
}

// receive: the committer's signature, a group key signature per member,
// SHA-256 of the content, one HPKE open, the confirm key and its HMAC.
func (in *primitiveInputs) receive(b *testing.B) {
	c := in.commit
	if !ed25519.Verify(c.Members[0].IdentityKey, in.signed, c.Sig) {
		b.Fatal("commit signature")
	}
	for i, m := range c.Members {
		if !ed25519.Verify(m.IdentityKey, in.gkMsgs[i], m.GroupKeySig) {
			b.Fatal("group key signature")
		}
	}
	if _, err := hpke.Open(in.receiverKey, benchKDF, benchAEAD, in.infos[in.receiverIdx], c.Wraps[in.receiverIdx].Wrap); err != nil {
		b.Fatal(err)
	}
	hmac.Equal(in.confirm(), c.Confirm)
}

// groupPrivate derives c's group key as §3.2 does, for the baseline.
func groupPrivate(b *testing.B, c *client) *ecdh.PrivateKey {
	scalar, err := canonical.Expand(c.id.Seed(), canonical.ExpandGroupKey, c.id.Public(), 32)
	if err != nil {
		b.Fatal(err)
	}
	k, err := ecdh.X25519().NewPrivateKey(scalar)
	if err != nil {
		b.Fatal(err)
	}
	return k
}

// BenchmarkMessage signs and seals, and verifies and opens, a 200-byte group
// message.
func BenchmarkMessage(b *testing.B) {
	w := benchWorld(b, 3)
	sender, receiver := w.clients[0], w.clients[1]
	pt := make([]byte, 200)
	buf := make([]byte, 0, 512)
	b.Run("seal/protocol", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if sender.st.send.next >= MaxMessages-1 {
				sender.st.send.next = 0
			}
			if _, err := sender.st.Seal(buf, pt); err != nil {
				b.Fatal(err)
			}
		}
	})
	st, _ := newSenderState(sender.st.secret, "broadcast", 1, sender.name)
	nonce, ad := st.prepare(0)
	signed := make([]byte, 0, 512)
	b.Run("seal/baseline", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			ct := st.aead.Seal(buf, nonce, pt, ad)
			signed = append(append(signed[:0], ad...), ct...)
			sender.id.Sign(signed)
		}
	})
	sender.st.send.next = 0
	m, _ := sender.st.Seal(nil, pt)
	if _, err := receiver.st.Open(nil, sender.name, &m); err != nil {
		b.Fatal(err)
	}
	b.Run("open/protocol", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			receiver.st.recv[sender.name].any = false
			if _, err := receiver.st.Open(buf, sender.name, &m); err != nil {
				b.Fatal(err)
			}
		}
	})
	nonce, ad = st.prepare(m.N)
	pub := sender.id.Public()
	b.Run("open/baseline", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			signed = append(append(signed[:0], ad...), m.CT...)
			if !ed25519.Verify(pub, signed, m.Sig) {
				b.Fatal("verify")
			}
			if _, err := st.aead.Open(buf, nonce, m.CT, ad); err != nil {
				b.Fatal(err)
			}
		}
	})
}
