package group

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ed25519"
	"encoding/binary"
	"errors"
	"testing"

	"github.com/blindpost/blindpost/impl/e2ee"
	"github.com/blindpost/blindpost/impl/e2ee/canonical"
)

// TestMessageFormat checks a group message against an independent
// computation of spec §7.2: k_s, iv_s, nonce, ad, ct and sig.
func TestMessageFormat(t *testing.T) {
	w := newWorld(t, "alice", "bob")
	alice, bob := w.get("alice"), w.get("bob")
	secret := bytes.Clone(alice.st.secret)
	content := []byte(`{"text":"hi all","sent_at":1}`)
	for n := uint64(0); n < 3; n++ {
		m, err := alice.st.Seal(nil, content)
		if err != nil {
			t.Fatal(err)
		}
		if m.N != n || m.Epoch != 1 || m.Group != "broadcast" {
			t.Fatalf("GRP-13: message %d has n %d epoch %d", n, m.N, m.Epoch)
		}
		ctx := canonical.AppendText(canonical.AppendUint64(canonical.AppendText(nil, "broadcast"), 1), "alice")
		key, _ := canonical.Expand(secret, canonical.ExpandGroupSenderKey, ctx, 32)
		iv, _ := canonical.Expand(secret, canonical.ExpandGroupSenderIV, ctx, 12)
		nonce := bytes.Clone(iv)
		binary.BigEndian.PutUint64(nonce[4:], binary.BigEndian.Uint64(iv[4:])^n)
		ad := canonical.AppendText(nil, "blindpost/1 group msg")
		ad = canonical.AppendText(ad, "broadcast")
		ad = canonical.AppendUint64(ad, 1)
		ad = canonical.AppendText(ad, "alice")
		ad = canonical.AppendUint64(ad, n)
		block, _ := aes.NewCipher(key)
		gcm, _ := cipher.NewGCM(block)
		if !bytes.Equal(m.CT, gcm.Seal(nil, nonce, content, ad)) {
			t.Fatal("§7.2: ct differs")
		}
		if !ed25519.Verify(alice.id.Public(), append(ad, m.CT...), m.Sig) {
			t.Fatal("§7.2: sig is not over ad || ct")
		}
		pt, err := bob.st.Open(nil, "alice", &m)
		if err != nil || !bytes.Equal(pt, content) {
			t.Fatalf("open: %v", err)
		}
	}
}

// TestMessageRejects checks GRP-14 to GRP-17, each rejection leaving the
// counters as they were.
func TestMessageRejects(t *testing.T) {
	w := newWorld(t, "alice", "bob", "carol")
	alice, bob, carol := w.get("alice"), w.get("bob"), w.get("carol")
	seal := func(c *client) Message {
		m, err := c.st.Seal(nil, []byte("x"))
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	m0, m1 := seal(alice), seal(alice)
	if _, err := bob.st.Open(nil, "alice", &m1); err != nil { // a gap is fine
		t.Fatal(err)
	}
	resignMsg := func(m Message, signer *client, from string) Message {
		ad := AppendMessageAD(nil, m.Group, m.Epoch, from, m.N)
		m.Sig = signer.id.Sign(append(ad, m.CT...))
		return m
	}
	jump := seal(alice)
	jump.N = 1 + MaxJump + 1
	first := seal(carol)
	first.N = MaxJump + 1
	tests := []struct {
		name    string
		from    string
		msg     Message
		outcome e2ee.Outcome
		rule    string
	}{
		{"old epoch", "alice", func() Message { m := seal(alice); m.Epoch = 0; return m }(), e2ee.StaleEpoch, "GRP-14"},
		{"future epoch", "alice", func() Message { m := seal(alice); m.Epoch = 2; return m }(), e2ee.StaleEpoch, "GRP-14"},
		{"reordered", "alice", m0, e2ee.ReplayedCounter, "GRP-15"},
		{"replayed", "alice", m1, e2ee.ReplayedCounter, "GRP-15"},
		{"jump above 2^16 (garbage sig: no crypto before the counter check)", "alice", func() Message { m := jump; m.Sig = nil; return m }(), e2ee.CounterJump, "GRP-15"},
		{"first message above 2^16", "carol", first, e2ee.CounterJump, "GRP-15"},
		{"sender not a member", "mallory", seal(alice), e2ee.ForgedSender, "GRP-16"},
		{"from is the receiver itself", "bob", resignMsg(seal(bob), bob, "bob"), e2ee.ForgedSender, "GRP-16"},
		{"stamped with another member", "carol", seal(alice), e2ee.ForgedSender, "GRP-16"},
		{"member forges another member", "alice", resignMsg(sealAs(t, carol, "alice"), carol, "alice"), e2ee.ForgedSender, "GRP-16"},
		{"signed but undecryptable", "alice", func() Message {
			m := seal(alice)
			m.CT = bytes.Clone(m.CT)
			m.CT[0] ^= 1
			return resignMsg(m, alice, "alice")
		}(), e2ee.BadTag, "GRP-17"},
	}
	for _, tt := range tests {
		t.Run(tt.rule+" "+tt.name, func(t *testing.T) {
			before := snapshot(bob.st)
			pt, err := bob.st.Open(nil, tt.from, &tt.msg)
			wantOutcome(t, err, tt.outcome, tt.rule)
			if pt != nil || snapshot(bob.st) != before || bob.st.recv["alice"].highest != 1 {
				t.Fatal("a rejected message changed the state")
			}
		})
	}
	// GRP-17: the epoch goes on after bad_tag.
	m := seal(alice)
	if _, err := bob.st.Open(nil, "alice", &m); err != nil {
		t.Fatalf("GRP-17: epoch ended: %v", err)
	}
}

// sealAs has c derive another member's sender key (every member can) and
// encrypt a message in their name: what a forging member would do.
func sealAs(t *testing.T, c *client, victim string) Message {
	t.Helper()
	st, err := newSenderState(c.st.secret, "broadcast", c.st.epoch, victim)
	if err != nil {
		t.Fatal(err)
	}
	nonce, ad := st.prepare(7)
	return Message{Group: "broadcast", Epoch: c.st.epoch, N: 7, CT: st.aead.Seal(nil, nonce, []byte("forged"), ad)}
}

// TestJumpBoundary checks GRP-15 at its edges: exactly 2^16 above is
// accepted, and a first message may carry 2^16.
func TestJumpBoundary(t *testing.T) {
	w := newWorld(t, "alice", "bob")
	alice, bob := w.get("alice"), w.get("bob")
	alice.st.send.next = MaxJump
	m, _ := alice.st.Seal(nil, []byte("a"))
	if _, err := bob.st.Open(nil, "alice", &m); err != nil {
		t.Fatalf("first message at 2^16: %v", err)
	}
	alice.st.send.next = 2 * MaxJump
	m, _ = alice.st.Seal(nil, []byte("b"))
	if _, err := bob.st.Open(nil, "alice", &m); err != nil {
		t.Fatalf("jump of exactly 2^16: %v", err)
	}
}

// TestNewEpochResetsCounters checks GRP-13: a new epoch starts counters at
// 0, and messages of the old epoch are stale.
func TestNewEpochResetsCounters(t *testing.T) {
	w := newWorld(t, "alice", "bob")
	alice, bob := w.get("alice"), w.get("bob")
	old, _ := alice.st.Seal(nil, []byte("old"))
	w.recommit(t, bob)
	m, _ := alice.st.Seal(nil, []byte("new"))
	if m.N != 0 || m.Epoch != 2 {
		t.Fatalf("GRP-13: n %d epoch %d", m.N, m.Epoch)
	}
	if _, err := bob.st.Open(nil, "alice", &m); err != nil {
		t.Fatal(err)
	}
	_, err := bob.st.Open(nil, "alice", &old)
	wantOutcome(t, err, e2ee.StaleEpoch, "GRP-14")
}

// TestNoSecret checks that a client without the epoch secret neither sends
// nor reads, and that Close erases the secret.
func TestNoSecret(t *testing.T) {
	w := newWorld(t, "alice", "bob")
	dave := newClient(t, "dave", 9)
	dave.join(t, 1, w.commit)
	if _, err := dave.st.Seal(nil, []byte("x")); !errors.Is(err, ErrCannotSend) {
		t.Fatalf("sent without a secret: %v", err)
	}
	m, _ := w.get("alice").st.Seal(nil, []byte("x"))
	_, err := dave.st.Open(nil, "alice", &m)
	wantOutcome(t, err, e2ee.StaleEpoch, "GRP-14")
	bob := w.get("bob")
	bob.st.Close()
	if bob.st.HasSecret() {
		t.Fatal("Close kept the secret")
	}
	other := m
	other.Group = "other"
	_, err = w.get("alice").st.Open(nil, "bob", &other)
	wantOutcome(t, err, e2ee.UnexpectedMessage, "")
}

// TestMessageAllocs checks the allocation budget of a group message.
func TestMessageAllocs(t *testing.T) {
	w := newWorld(t, "alice", "bob")
	alice, bob := w.get("alice"), w.get("bob")
	pt := make([]byte, 200)
	buf := make([]byte, 0, 512)
	var m Message
	seal := testing.AllocsPerRun(50, func() { m, _ = alice.st.Seal(buf, pt) })
	m, _ = alice.st.Seal(nil, pt)
	if _, err := bob.st.Open(nil, "alice", &m); err != nil {
		t.Fatal(err)
	}
	open := testing.AllocsPerRun(50, func() {
		bob.st.recv["alice"].any = false
		if _, err := bob.st.Open(buf, "alice", &m); err != nil {
			t.Fatal(err)
		}
	})
	if seal > 2 || open > 2 {
		t.Fatalf("allocs: seal %v, open %v", seal, open)
	}
	t.Logf("allocs per group message: seal %v, open %v", seal, open)
}

// TestMessageLimits checks GRP-18: no message number 2^24 or above is sent,
// and content above the schema's ciphertext bound is refused.
func TestMessageLimits(t *testing.T) {
	w := newWorld(t, "alice", "bob")
	alice := w.get("alice")
	if _, err := alice.st.Seal(nil, make([]byte, MaxPlaintext+1)); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("oversized content: %v", err)
	}
	m, err := alice.st.Seal(nil, make([]byte, MaxPlaintext))
	if err != nil || len(m.CT) != 32766 {
		t.Fatalf("largest content: %d, %v", len(m.CT), err)
	}
	alice.st.send.next = MaxMessages - 1
	if m, err := alice.st.Seal(nil, nil); err != nil || m.N != MaxMessages-1 {
		t.Fatalf("GRP-18: last message: %v", err)
	}
	if _, err := alice.st.Seal(nil, nil); !errors.Is(err, ErrMessageLimit) {
		t.Fatalf("GRP-18: message 2^24: %v", err)
	}
}
