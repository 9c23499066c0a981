package direct

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"errors"
	"sync"
	"testing"

	"github.com/blindpost/blindpost/impl/e2ee"
	"github.com/blindpost/blindpost/impl/e2ee/canonical"
)

// TestRecordFormat checks a record against an independent computation of
// spec §6.4: REC-1 counters from 0, the nonce, and the associated data of
// REC-8 binding kind, h, sender, recipient and counter, built with enc (ENC-2).
func TestRecordFormat(t *testing.T) {
	si, sr, ci, _ := pair(t)
	tr := ci.Trace
	block, _ := aes.NewCipher(tr.KeyI2R)
	gcm, _ := cipher.NewGCM(block)
	for n, text := range []string{`{"text":"a","sent_at":1}`, `{"text":"b","sent_at":2}`, ""} {
		rec, err := si.Seal(nil, []byte(text))
		if err != nil {
			t.Fatal(err)
		}
		if rec.Kind != KindMsg || rec.N != uint64(n) {
			t.Fatalf("REC-1: record %d has kind %q n %d", n, rec.Kind, rec.N)
		}
		nonce := bytes.Clone(tr.IVI2R)
		for i := 0; i < 8; i++ {
			nonce[4+i] ^= byte(uint64(n) >> (56 - 8*i))
		}
		ad := canonical.AppendText(nil, "blindpost/1 msg")
		ad = canonical.AppendBytes(ad, tr.H)
		ad = canonical.AppendText(ad, "alice")
		ad = canonical.AppendText(ad, "bob")
		ad = binary.BigEndian.AppendUint64(ad, uint64(n))
		if want := gcm.Seal(nil, nonce, []byte(text), ad); !bytes.Equal(rec.CT, want) {
			t.Fatalf("REC-8: record %d ciphertext differs", n)
		}
		if !bytes.Equal(AppendAD(nil, KindMsg, tr.H, "alice", "bob", uint64(n)), ad) || !bytes.Equal(Nonce(tr.IVI2R, uint64(n)), nonce) {
			t.Fatal("AppendAD or Nonce differ from §6.4")
		}
		pt, err := sr.Open(nil, rec)
		if err != nil || string(pt) != text {
			t.Fatalf("open: %q, %v", pt, err)
		}
	}
	// The other direction uses r2i keys.
	rec, _ := sr.Seal(nil, []byte("x"))
	if pt, err := si.Open(nil, rec); err != nil || string(pt) != "x" {
		t.Fatalf("r2i: %v", err)
	}
}

// TestSealAppends checks that Seal and Open append to dst and that CT is the
// appended part only.
func TestSealAppends(t *testing.T) {
	si, sr, _, _ := pair(t)
	dst := []byte("prefix")
	rec, _ := si.Seal(dst, []byte("hello"))
	if len(rec.CT) != 5+16 {
		t.Fatalf("CT is %d bytes", len(rec.CT))
	}
	out, err := sr.Open([]byte("keep:"), rec)
	if err != nil || string(out) != "keep:hello" {
		t.Fatalf("%q, %v", out, err)
	}
}

// TestRecordLimit checks REC-2: Seal refuses message 2^24-1 and above, which
// keeps the last number for the close record.
func TestRecordLimit(t *testing.T) {
	si, sr, _, _ := pair(t)
	if _, err := si.Seal(nil, make([]byte, MaxPlaintext+1)); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("oversized plaintext: %v", err)
	}
	si.send.next = MaxRecords - 1
	if _, err := si.Seal(nil, []byte("x")); !errors.Is(err, ErrRecordLimit) {
		t.Fatalf("REC-2: got %v", err)
	}
	rec, err := si.SealClose(nil)
	if err != nil || rec.N != MaxRecords-1 {
		t.Fatalf("REC-2: close record %d, %v", rec.N, err)
	}
	if _, err := sr.Open(nil, rec); err != nil || sr.State() != StateEnded {
		t.Fatalf("close at the limit: %v", err)
	}
}

// TestReplayAndReorder checks REC-3: a counter not above the highest accepted
// is replayed_counter before decryption, and the session goes on.
func TestReplayAndReorder(t *testing.T) {
	si, sr, _, _ := pair(t)
	r0, _ := si.Seal(nil, []byte("0"))
	r1, _ := si.Seal(nil, []byte("1"))
	r2, _ := si.Seal(nil, []byte("2"))
	if _, err := sr.Open(nil, r1); err != nil { // a gap is fine
		t.Fatal(err)
	}
	_, err := sr.Open(nil, r0) // reordered
	wantOutcome(t, err, e2ee.ReplayedCounter, "REC-3")
	_, err = sr.Open(nil, r1) // replayed
	wantOutcome(t, err, e2ee.ReplayedCounter, "REC-3")
	garbage := Record{Kind: KindMsg, N: 1, CT: []byte("not even a tag")}
	_, err = sr.Open(nil, garbage) // rejected before decryption, so no bad_tag
	wantOutcome(t, err, e2ee.ReplayedCounter, "REC-3")
	if pt, err := sr.Open(nil, r2); err != nil || string(pt) != "2" || sr.State() != StateOpen {
		t.Fatalf("REC-3: session changed: %v", err)
	}
}

// TestReflected checks REC-4: one's own record sent back is reflected_record
// and the session is unchanged.
func TestReflected(t *testing.T) {
	si, sr, _, _ := pair(t)
	for i := 0; i < 3; i++ {
		si.Seal(nil, []byte("pad"))
	}
	own, _ := si.Seal(nil, []byte("mine"))
	_, err := si.Open(nil, own)
	wantOutcome(t, err, e2ee.ReflectedRecord, "REC-4")
	rec, _ := sr.Seal(nil, []byte("from bob"))
	if pt, err := si.Open(nil, rec); err != nil || string(pt) != "from bob" || si.State() != StateOpen {
		t.Fatalf("REC-4: session changed: %v", err)
	}
}

// TestBadTag checks REC-5, REC-6 and REC-12: any other authentication
// failure ends the session, erases keys, releases no plaintext, and every
// later record is unexpected_message.
func TestBadTag(t *testing.T) {
	tamper := map[string]func(*Record){
		"flipped ciphertext": func(r *Record) { r.CT[0] ^= 1 },
		"flipped tag":        func(r *Record) { r.CT[len(r.CT)-1] ^= 0x80 },
		"truncated":          func(r *Record) { r.CT = r.CT[:10] },
		"empty":              func(r *Record) { r.CT = nil },
		"higher counter":     func(r *Record) { r.N += 5 },
		"other kind":         func(r *Record) { r.Kind = KindClose },
	}
	for name, f := range tamper {
		t.Run("REC-5 "+name, func(t *testing.T) {
			si, sr, _, _ := pair(t)
			rec, _ := si.Seal(nil, []byte("secret text"))
			next, _ := si.Seal(nil, []byte("next"))
			f(&rec)
			pt, err := sr.Open(nil, rec)
			wantOutcome(t, err, e2ee.BadTag, "REC-5")
			if pt != nil {
				t.Fatal("REC-6: plaintext released")
			}
			if sr.State() != StateFailed || sr.recv.aead != nil || sr.send.aead != nil {
				t.Fatal("REC-5: keys not erased")
			}
			_, err = sr.Open(nil, next)
			wantOutcome(t, err, e2ee.UnexpectedMessage, "REC-12")
			if _, err := sr.Seal(nil, nil); !errors.Is(err, ErrSessionEnded) {
				t.Fatalf("sealed after failure: %v", err)
			}
		})
	}
}

// TestUnknownKind checks that a kind other than msg or close is refused
// without ending the session.
func TestUnknownKind(t *testing.T) {
	si, sr, _, _ := pair(t)
	rec, _ := si.Seal(nil, []byte("x"))
	rec.Kind = "hs1"
	_, err := sr.Open(nil, rec)
	wantOutcome(t, err, e2ee.Malformed, "MSG-1")
	rec.Kind = KindMsg
	if _, err := sr.Open(nil, rec); err != nil {
		t.Fatal(err)
	}
}

// TestClose checks REC-9, REC-10 and REC-12: the close record has an empty
// plaintext (a 16-byte ct), ends both sides, and nothing is accepted after.
func TestClose(t *testing.T) {
	si, sr, ci, _ := pair(t)
	late, _ := sr.Seal(nil, []byte("in flight"))
	cl, err := si.SealClose(nil)
	if err != nil || cl.Kind != KindClose || cl.N != 0 || len(cl.CT) != 16 {
		t.Fatalf("REC-9: close record %+v, %v", cl, err)
	}
	// Its associated data uses the close label.
	block, _ := aes.NewCipher(ci.Trace.KeyI2R)
	gcm, _ := cipher.NewGCM(block)
	if _, err := gcm.Open(nil, Nonce(ci.Trace.IVI2R, 0), cl.CT, AppendAD(nil, KindClose, ci.Trace.H, "alice", "bob", 0)); err != nil {
		t.Fatal("REC-8: close record not bound to the close label")
	}
	if si.State() != StateEnded || si.send.aead != nil {
		t.Fatal("REC-9: sender kept its keys")
	}
	if _, err := si.Seal(nil, []byte("x")); !errors.Is(err, ErrSessionEnded) {
		t.Fatal("sealed after close")
	}
	_, err = si.Open(nil, late)
	wantOutcome(t, err, e2ee.UnexpectedMessage, "REC-12")

	out, err := sr.Open(nil, cl)
	if err != nil || len(out) != 0 || sr.State() != StateEnded || sr.recv.aead != nil {
		t.Fatalf("REC-10: %v, state %v", err, sr.State())
	}
	_, err = sr.Open(nil, cl)
	wantOutcome(t, err, e2ee.UnexpectedMessage, "REC-12")
	if err := sr.Terminate(); err != nil {
		t.Fatalf("REC-11: terminate after close: %v", err)
	}
}

// TestCloseWithPlaintext checks the reading of §6.5 this package takes: an
// authentic close record with a non-empty plaintext ends the session but is
// reported as bad_content.
func TestCloseWithPlaintext(t *testing.T) {
	si, sr, _, _ := pair(t)
	rec, _ := si.seal(KindClose, nil, []byte("surprise"))
	_, err := sr.Open(nil, rec)
	wantOutcome(t, err, e2ee.BadContent, "")
	if sr.State() != StateEnded {
		t.Fatal("session not ended")
	}
}

// TestTerminateAfterClose checks REC-12's exemption: the one chat_terminate
// that follows a valid close record (REC-9) is accepted silently, a second is
// unexpected_message.
func TestTerminateAfterClose(t *testing.T) {
	si, sr, _, _ := pair(t)
	rec, err := si.SealClose(nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sr.Open(nil, rec); err != nil {
		t.Fatal(err)
	}
	if err := sr.Terminate(); err != nil {
		t.Fatalf("REC-12: the chat_terminate after a valid close record: %v", err)
	}
	wantOutcome(t, sr.Terminate(), e2ee.UnexpectedMessage, "REC-12")
}

// TestTerminate checks REC-11: chat_terminate without a close record erases
// the keys and reports unverified_end.
func TestTerminate(t *testing.T) {
	_, sr, _, _ := pair(t)
	wantOutcome(t, sr.Terminate(), e2ee.UnverifiedEnd, "REC-11")
	if sr.State() != StateEndedUnverified || sr.send.aead != nil {
		t.Fatal("REC-11: keys kept")
	}
	// REC-12: a second chat_terminate is for a session that has ended.
	wantOutcome(t, sr.Terminate(), e2ee.UnexpectedMessage, "REC-12")
	// REC-11: secured or not: during the handshake too.
	ci, cr := configs(newParty(t, "alice", 1), newParty(t, "bob", 2), 9)
	i, hs1, _ := NewInitiator(ci)
	r, _, _ := NewResponder(cr, hs1)
	wantOutcome(t, i.Terminate(), e2ee.UnverifiedEnd, "REC-11")
	wantOutcome(t, r.Terminate(), e2ee.UnverifiedEnd, "REC-11")
	if i.eph != nil || r.k != nil {
		t.Fatal("REC-11: handshake keys kept")
	}
}

// TestCloseErases checks that Close erases keys and is idempotent.
func TestCloseErases(t *testing.T) {
	si, _, _, _ := pair(t)
	si.Close()
	si.Close()
	if si.State() != StateEnded || si.send.aead != nil || si.send.iv != [12]byte{} {
		t.Fatal("keys kept")
	}
}

// TestBadContentHelper checks the REC-7 error the caller reports.
func TestBadContentHelper(t *testing.T) {
	wantOutcome(t, BadContent(3, "not a content object"), e2ee.BadContent, "REC-7")
}

// TestSessionAccessors covers the read-only accessors.
func TestSessionAccessors(t *testing.T) {
	si, sr, ci, _ := pair(t)
	if si.Role() != RoleInitiator || sr.Role() != RoleResponder || si.Self() != "alice" || si.Peer() != "bob" ||
		sr.Self() != "bob" || sr.Peer() != "alice" || !bytes.Equal(si.TranscriptHash(), ci.Trace.H) {
		t.Fatal("accessors wrong")
	}
	si.Seal(nil, nil)
	if si.Sent() != 1 || StateOpen.String() != "secured" || StateEndedUnverified.String() != "ended_unverified" {
		t.Fatal("Sent or String wrong")
	}
}

// TestAllocs checks the performance goal: at most 2 allocations per record
// when dst has room.
func TestAllocs(t *testing.T) {
	si, sr, _, _ := pair(t)
	pt := make([]byte, 200)
	sealBuf := make([]byte, 0, 512)
	openBuf := make([]byte, 0, 512)
	var rec Record
	sealAllocs := testing.AllocsPerRun(100, func() { rec, _ = si.Seal(sealBuf, pt) })
	rec, _ = si.Seal(sealBuf, pt)
	ct := bytes.Clone(rec.CT)
	n := rec.N
	openAllocs := testing.AllocsPerRun(100, func() {
		sr.recv.any = false // reopen the same record
		if _, err := sr.Open(openBuf, Record{Kind: KindMsg, N: n, CT: ct}); err != nil {
			t.Fatal(err)
		}
	})
	if sealAllocs > 2 || openAllocs > 2 {
		t.Fatalf("allocs per record: seal %v, open %v", sealAllocs, openAllocs)
	}
	t.Logf("allocs per record: seal %v, open %v", sealAllocs, openAllocs)
}

// TestConcurrentUse checks that a Session may be used from several goroutines.
func TestConcurrentUse(t *testing.T) {
	si, sr, _, _ := pair(t)
	var wg sync.WaitGroup
	recs := make(chan Record, 64)
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 16; i++ {
				r, err := si.Seal(nil, []byte("x"))
				if err != nil {
					t.Error(err)
				}
				recs <- r
			}
		}()
	}
	wg.Wait()
	close(recs)
	seen := map[uint64]bool{}
	for r := range recs {
		seen[r.N] = true
	}
	if len(seen) != 64 {
		t.Fatalf("REC-1: %d distinct counters for 64 records", len(seen))
	}
	_ = sr
}
