package server_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/blindpost/blindpost/impl/e2ee/direct"
	"github.com/blindpost/blindpost/impl/e2ee/group"
	"github.com/blindpost/blindpost/impl/server"
	"github.com/blindpost/blindpost/impl/server/servertest"
)

// syncBuffer collects the server's logs.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) Bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return bytes.Clone(b.buf.Bytes())
}

// secrets is everything the server must never hold: plaintexts, ciphertexts, keys.
type secrets struct {
	what map[string][]byte
}

func (s *secrets) add(label string, b []byte) {
	if len(b) > 0 {
		s.what[label] = bytes.Clone(b)
	}
}

// TestServerIsBlind chats 1:1 and in a group through the server with the e2ee package, with
// known plaintext markers, then scans everything the server wrote to its data directory and its
// debug-level logs for any plaintext, ciphertext, end-to-end value or key: none may appear
// (SRV-10, SRV-12, spec §10). The public keys in the directory (REG-12) and the group's last
// accepted commit (GSV-20, the one commit chatGroup makes) are the expected exceptions on disk;
// they must still not reach the logs.
func TestServerIsBlind(t *testing.T) {
	var logs syncBuffer
	srv := servertest.Start(t, func(c *server.Config) {
		c.Logger = slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	alice, bob, carol := connect(t, srv, "alice"), connect(t, srv, "bob"), connect(t, srv, "carol")
	s := &secrets{what: map[string][]byte{}}
	for _, c := range []*client{alice, bob, carol} {
		s.add(c.name+" identity seed", c.key.Seed())
	}
	chat1to1(t, s, alice, bob)
	chatGroup(t, s, alice, bob, carol)
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}

	var stored []byte
	err := filepath.WalkDir(srv.DataDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		stored = append(stored, data...)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	logged := logs.Bytes()
	if !bytes.Contains(logged, []byte(`"msg":"received"`)) || !bytes.Contains(stored, []byte("alice")) {
		t.Fatal("the scan would see nothing: no debug logs or no directory")
	}
	for label, secret := range s.what {
		for _, form := range forms(secret) {
			if bytes.Contains(stored, form) && !keptCommit(label) {
				t.Errorf("the data directory holds the %s", label)
			}
			if bytes.Contains(logged, form) {
				t.Errorf("the logs hold the %s", label)
			}
		}
	}
	for _, c := range []*client{alice, bob, carol} {
		for _, key := range [][]byte{c.key.Public(), c.key.GroupPublic()} {
			if bytes.Contains(logged, []byte(b64(key))) || bytes.Contains(logged, []byte(hex.EncodeToString(key))) {
				t.Errorf("the logs hold a public key of %s", c.name)
			}
		}
	}
}

// keptCommit reports whether label names a part of the group's last accepted commit, which
// the server keeps on disk (spec §5.9 [GSV-20], the exception of SRV-12).
func keptCommit(label string) bool {
	return strings.HasPrefix(label, "wrap for ") || label == "confirmation tag" || label == "commit signature"
}

// forms returns the ways a value could be written: raw, base64 and hex.
func forms(b []byte) [][]byte {
	return [][]byte{b, []byte(base64.StdEncoding.EncodeToString(b)), []byte(hex.EncodeToString(b))}
}

func content(t *testing.T, text string) []byte {
	data, err := json.Marshal(msg{"text": text, "sent_at": 1795651200000})
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// relayPayload sends a relay and returns the payload as the recipient received it.
func relayPayload(t *testing.T, from, to *client, sid []byte, p msg) msg {
	t.Helper()
	id := from.id()
	from.send(msg{"type": "relay", "id": id, "to": to.name, "session": b64(sid), "payload": p})
	from.expectAck(id, "relay")
	got := to.expect("relay")
	if got["from"] != from.name {
		t.Fatalf("relay from %v", got["from"])
	}
	return got["payload"].(msg)
}

func field(t *testing.T, p msg, name string) []byte { return unb64(t, p[name].(string)) }

// chat1to1 runs consent, the handshake, one message each way and the end of a session.
func chat1to1(t *testing.T, s *secrets, alice, bob *client) {
	sid, err := direct.NewSessionID(nil)
	if err != nil {
		t.Fatal(err)
	}
	alice.send(msg{"type": "chat_request", "id": "c1", "to": "bob", "session": b64(sid)})
	alice.expectAck("c1", "chat_request")
	bob.expect("chat_request")
	bob.send(msg{"type": "chat_response", "id": "c2", "to": "alice", "session": b64(sid), "accepted": true})
	bob.expectAck("c2", "chat_response")
	alice.expect("chat_response")

	var traceI, traceR direct.Trace
	cfgI := direct.Config{SessionID: sid, Initiator: "alice", Responder: "bob", Identity: alice.key, PeerIdentityKey: bob.key.Public(), Trace: &traceI}
	cfgR := direct.Config{SessionID: sid, Initiator: "alice", Responder: "bob", Identity: bob.key, PeerIdentityKey: alice.key.Public(), Trace: &traceR}
	ini, hs1, err := direct.NewInitiator(cfgI)
	if err != nil {
		t.Fatal(err)
	}
	p := relayPayload(t, alice, bob, sid, msg{"kind": "hs1", "suites": hs1.Suites, "e": b64(hs1.E)})
	resp, hs2, err := direct.NewResponder(cfgR, direct.HS1{Suites: []string{direct.Suite}, E: field(t, p, "e")})
	if err != nil {
		t.Fatal(err)
	}
	p = relayPayload(t, bob, alice, sid, msg{"kind": "hs2", "suite": hs2.Suite, "e": b64(hs2.E), "sig": b64(hs2.Sig), "fin": b64(hs2.Fin)})
	sessI, hs3, err := ini.ReadHS2(direct.HS2{Suite: p["suite"].(string), E: field(t, p, "e"), Sig: field(t, p, "sig"), Fin: field(t, p, "fin")})
	if err != nil {
		t.Fatal(err)
	}
	p = relayPayload(t, alice, bob, sid, msg{"kind": "hs3", "sig": b64(hs3.Sig), "fin": b64(hs3.Fin)})
	sessR, err := resp.ReadHS3(direct.HS3{Sig: field(t, p, "sig"), Fin: field(t, p, "fin")})
	if err != nil {
		t.Fatal(err)
	}
	for _, tr := range []*direct.Trace{&traceI, &traceR} {
		for label, v := range map[string][]byte{"ephemeral private key": tr.EphemeralPrivate, "dh": tr.DH, "prk": tr.PRK,
			"i2r key": tr.KeyI2R, "i2r iv": tr.IVI2R, "r2i key": tr.KeyR2I, "r2i iv": tr.IVR2I,
			"initiator finished key": tr.FinishedKeyI, "responder finished key": tr.FinishedKeyR, "transcript hash": tr.H} {
			s.add(label, v)
		}
	}

	send := func(from, to *client, sender, receiver *direct.Session, text string) {
		pt := content(t, text)
		s.add("1:1 plaintext "+text, pt)
		s.add("1:1 marker "+text, []byte(text))
		rec, err := sender.Seal(nil, pt)
		if err != nil {
			t.Fatal(err)
		}
		s.add("1:1 ciphertext of "+text, rec.CT)
		p := relayPayload(t, from, to, sid, msg{"kind": "msg", "n": rec.N, "ct": b64(rec.CT)})
		got, err := receiver.Open(nil, direct.Record{Kind: direct.KindMsg, N: uint64(p["n"].(float64)), CT: field(t, p, "ct")})
		if err != nil || !bytes.Equal(got, pt) {
			t.Fatalf("%s could not read %q: %v", to.name, text, err)
		}
	}
	send(alice, bob, sessI, sessR, "MARKER-one-to-one-7f3a9c")
	send(bob, alice, sessR, sessI, "MARKER-reply-2b81de")

	rec, err := sessI.SealClose(nil)
	if err != nil {
		t.Fatal(err)
	}
	s.add("close record", rec.CT)
	p = relayPayload(t, alice, bob, sid, msg{"kind": "close", "n": rec.N, "ct": b64(rec.CT)})
	if _, err := sessR.Open(nil, direct.Record{Kind: direct.KindClose, N: uint64(p["n"].(float64)), CT: field(t, p, "ct")}); err != nil {
		t.Fatal(err)
	}
	alice.send(msg{"type": "chat_terminate", "id": "c3", "to": "bob", "session": b64(sid)})
	alice.expectAck("c3", "chat_terminate")
	bob.expect("chat_terminate")
}

// pins is an in-memory pin store.
type pins map[string]ed25519.PublicKey

func (p pins) Lookup(user string) (ed25519.PublicKey, bool) { k, ok := p[user]; return k, ok }

func (p pins) Pin(user string, key ed25519.PublicKey) (bool, error) {
	if old, ok := p[user]; ok {
		if !bytes.Equal(old, key) {
			return false, fmt.Errorf("key of %s changed", user)
		}
		return false, nil
	}
	p[user] = key
	return true, nil
}

// chatGroup has three members join, alice commit an epoch, and each send a group message.
func chatGroup(t *testing.T, s *secrets, clients ...*client) {
	states := map[string]*group.State{}
	for i, c := range clients {
		c.join("room")
		for _, earlier := range clients[:i] {
			earlier.expect("group_members")
		}
		st, err := group.Join(group.Config{Group: "room", Self: c.name, Identity: c.key, Pins: pins{}}, 0, nil)
		if err != nil {
			t.Fatal(err)
		}
		states[c.name] = st
	}
	committer := clients[0]
	var members []group.Member
	for _, c := range clients {
		members = append(members, group.Member{User: c.name, IdentityKey: c.key.Public(), GroupKey: c.key.GroupPublic(), GroupKeySig: c.key.GroupKeySig(c.name)})
	}
	pending, err := states[committer.name].CreateCommit(members)
	if err != nil {
		t.Fatal(err)
	}
	cm := commitJSON(&pending.Commit)
	for _, w := range pending.Commit.Wraps {
		s.add("wrap for "+w.User, w.Wrap)
	}
	s.add("confirmation tag", pending.Commit.Confirm)
	s.add("commit signature", pending.Commit.Sig)
	committer.commit(cm)
	if _, err := states[committer.name].Apply(pending); err != nil {
		t.Fatal(err)
	}
	for _, c := range clients[1:] {
		got := c.expect("group_commit")
		if _, err := states[c.name].ReceiveCommit(commitOf(t, got["commit"].(msg))); err != nil {
			t.Fatalf("%s rejected the commit: %v", c.name, err)
		}
	}
	for i, c := range clients {
		text := fmt.Sprintf("MARKER-group-%d-19c2e4", i)
		pt := content(t, text)
		s.add("group plaintext "+text, pt)
		s.add("group marker "+text, []byte(text))
		gm, err := states[c.name].Seal(nil, pt)
		if err != nil {
			t.Fatal(err)
		}
		s.add("group ciphertext of "+text, gm.CT)
		s.add("group signature of "+text, gm.Sig)
		id := c.id()
		c.send(msg{"type": "group_message", "id": id, "message": msg{"group": gm.Group, "epoch": gm.Epoch, "n": gm.N, "ct": b64(gm.CT), "sig": b64(gm.Sig)}})
		c.expectAck(id, "group_message")
		for _, other := range clients {
			if other == c {
				continue
			}
			got := other.expect("group_message")
			m := got["message"].(msg)
			in := &group.Message{Group: m["group"].(string), Epoch: uint64(m["epoch"].(float64)), N: uint64(m["n"].(float64)),
				CT: field(t, m, "ct"), Sig: field(t, m, "sig")}
			plain, err := states[other.name].Open(nil, got["from"].(string), in)
			if err != nil || !bytes.Equal(plain, pt) {
				t.Fatalf("%s could not read %q: %v", other.name, text, err)
			}
		}
	}
}

func commitJSON(c *group.Commit) msg {
	var ms, ws []msg
	for _, m := range c.Members {
		ms = append(ms, msg{"user": m.User, "identity_key": b64(m.IdentityKey), "group_key": b64(m.GroupKey), "group_key_sig": b64(m.GroupKeySig)})
	}
	for _, w := range c.Wraps {
		ws = append(ws, msg{"user": w.User, "wrap": b64(w.Wrap)})
	}
	return msg{"group": c.Group, "epoch": c.Epoch, "committer": c.Committer, "prev": b64(c.Prev), "members": ms, "wraps": ws,
		"confirm": b64(c.Confirm), "sig": b64(c.Sig)}
}

func commitOf(t *testing.T, m msg) *group.Commit {
	c := &group.Commit{Group: m["group"].(string), Epoch: uint64(m["epoch"].(float64)), Committer: m["committer"].(string),
		Prev: field(t, m, "prev"), Confirm: field(t, m, "confirm"), Sig: field(t, m, "sig")}
	for _, x := range m["members"].([]any) {
		mm := x.(msg)
		c.Members = append(c.Members, group.Member{User: mm["user"].(string), IdentityKey: field(t, mm, "identity_key"),
			GroupKey: field(t, mm, "group_key"), GroupKeySig: field(t, mm, "group_key_sig")})
	}
	for _, x := range m["wraps"].([]any) {
		w := x.(msg)
		c.Wraps = append(c.Wraps, group.Wrap{User: w["user"].(string), Wrap: field(t, w, "wrap")})
	}
	return c
}
