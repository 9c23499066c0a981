package gen

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"

	"github.com/blindpost/blindpost/impl/e2ee/direct"
	"github.com/blindpost/blindpost/impl/e2ee/identity"
	"github.com/blindpost/blindpost/impl/wire"
)

// This file makes every fenced JSON example of spec/protocol.md, in the order they appear, from
// the fixed seed: alice and bob are the identities of the vectors, the server pin is SHA-256 of
// "test" (the pin the driver example shows), and every signature, proof, fingerprint, record,
// commit and group message is computed and checked here. `make vectors` writes them into the
// spec; TestSpecExamples fails when the spec holds anything else.

// exampleSentAt is the sent_at of the example contents: 2026-11-17T00:00:00Z in milliseconds.
const exampleSentAt = 1795651200000

// examplePin is the example server pin: SHA-256("test"), written sha256:9f86d0….
var examplePin = func() []byte { s := sha256.Sum256([]byte("test")); return s[:] }()

// specExamples returns the JSON text of every fenced example of the spec, in order.
func specExamples(t *testing.T) []string {
	alice, bob := idOf("alice"), idOf("bob")
	challenge := randBytes("spec example challenge", identity.ChallengeSize)
	proof := must(alice.RegisterProof(challenge, examplePin, "alice"))
	check(identity.VerifyRegisterProof(challenge, examplePin, "alice", alice.Public(), alice.GroupPublic(), proof) == nil, "example proof does not verify")
	for _, u := range []string{"alice", "bob"} {
		k := idOf(u)
		check(identity.VerifyGroupKeySig(u, k.Public(), k.GroupPublic(), k.GroupKeySig(u)) == nil, "example group key signature of %s", u)
	}
	fp := sha256.Sum256(alice.Public())
	fingerprint := "sha256:" + hex.EncodeToString(fp[:])
	check(fingerprint == identity.Fingerprint(alice.Public()), "example fingerprint")

	// The 1:1 session of the examples: alice asks bob; alice's record 0 says hello, record 1 closes.
	hs := runHandshake("spec-example", handshakeInputs("spec example", "alice", "bob", suites, suites))
	sid := hs.in.SessionID
	hello := fmt.Sprintf(`{"text":"hello bob","sent_at":%d}`, exampleSentAt)
	msg := hs.record("i2r", "msg", 0, []byte(hello), nil)
	closing := hs.record("i2r", "close", 1, nil, nil)
	checkExampleRecords(hs, msg, closing)
	msgPayload := &wire.MsgRecord{N: 0, Ct: msg.ct}

	// The group of the examples: alice and bob join broadcast at epoch 0; alice commits epoch 1
	// and sends message 0; alice leaves and bob commits epoch 2 for himself.
	c1 := createCommit(t, "spec-example-1", "broadcast", "alice", nil, "alice", "bob")
	c2 := createCommit(t, "spec-example-2", "broadcast", "bob", c1, "bob")
	check(bytes.Equal(c2.c.Prev, c1.hash), "example epoch 2 does not chain to epoch 1")
	gm := c1.honest("alice", 0, fmt.Sprintf(`{"text":"hello group","sent_at":%d}`, exampleSentAt))
	bobAt1 := c1.memberState("bob")
	pt, err := bobAt1.Open(nil, "alice", &gm.m)
	check(err == nil && string(pt) == string(gm.pt), "bob cannot open the example group message: %v", err)

	limits := wire.Limits{MaxMessage: 65536, Rate: 50, Burst: 100, MaxGroups: 16, MaxGroupMembers: 100,
		PingIntervalMs: 30000, PongTimeoutMs: 60000, RegisterTimeoutMs: 10000}
	pin := "sha256:" + hex.EncodeToString(examplePin)
	return []string{
		encodeMessage(&wire.Hello{ID: "1", Protocol: "blindpost/1", User: "alice"}),
		encodeMessage(&wire.HelloAck{ID: "1", Challenge: challenge, Server: "blindpost-server/1.0", Limits: limits}),
		encodeMessage(&wire.Register{ID: "2", IdentityKey: alice.Public(), GroupKey: alice.GroupPublic(), GroupKeySig: alice.GroupKeySig("alice"), Proof: proof}),
		encodeMessage(&wire.RegisterAck{ID: "2", User: "alice", Fingerprint: fingerprint}),
		// §5.2.1: the same register, on a relay whose registration needs an invite.
		encodeMessage(&wire.Register{ID: "2", IdentityKey: alice.Public(), GroupKey: alice.GroupPublic(), GroupKeySig: alice.GroupKeySig("alice"), Proof: proof, Invite: "Xq3_vT9-aB7cD2eF4gH6iJ8k"}),
		encodeMessage(&wire.GetPubkey{ID: "3", User: "bob"}),
		encodeMessage(&wire.Pubkey{ID: "3", User: "bob", IdentityKey: bob.Public(), GroupKey: bob.GroupPublic(), GroupKeySig: bob.GroupKeySig("bob")}),
		encodeMessage(&wire.ListUsers{ID: "4"}),
		encodeMessage(&wire.UserList{ID: "4", Users: []string{"alice", "bob"}, Truncated: false}),
		encodeMessage(&wire.Relay{ID: "7", To: "bob", Session: sid, Payload: msgPayload}),
		encodeMessage(&wire.IncomingRelay{From: "alice", Session: sid, Payload: msgPayload}),
		encodeMessage(&wire.Ack{ID: "7", For: wire.AckedTypeRelay}),
		encodeMessage(&wire.ErrorMessage{ID: "7", Code: wire.ErrorCodeUserOffline, Message: "bob is not connected", For: wire.RequestTypeRelay}),
		encodeMessage(&wire.GroupJoin{ID: "9", Group: "broadcast"}),
		encodeMessage(&wire.GroupMembers{Group: "broadcast", Epoch: 0, Members: []string{"alice", "bob"}}),
		encodeMessage(&wire.GroupCommit{ID: "10", Commit: *wireCommit(&c1.c)}),
		encodeMessage(&wire.GroupMessage{ID: "11", Message: *wireGroupMsg(gm.m)}),
		encodeMessage(&wire.IncomingGroupMessage{From: "alice", Message: *wireGroupMsg(gm.m)}),
		encodeMessage(&wire.ChatRequest{ID: "5", To: "bob", Session: sid}),
		encodeMessage(&wire.IncomingChatResponse{From: "bob", Session: sid, Accepted: true}),
		encodePayload(wireHS1(hs.hs1)),
		encodePayload(wireHS2(hs.hs2)),
		encodePayload(wireHS3(hs.hs3)),
		hello,
		encodePayload(msgPayload),
		encodePayload(&wire.CloseRecord{N: 1, Ct: closing.ct}),
		encodeMessage(&wire.ChatTerminate{ID: "8", To: "bob", Session: sid}),
		encodeJSON(&wire.Receipt{Receipt: 4}), // §6.7
		encodeJSON(wireCommit(&c2.c)),
		encodeJSON(&wire.EpochAck{EpochAck: bobAt1.AckHash()}), // §7.3: bob acknowledges alice's commit of epoch 1
		fmt.Sprintf(`{"id":"1","cmd":"connect","url":"wss://127.0.0.1:8443/","user":"alice","pin":%q}`, pin),
		fmt.Sprintf(`{"id":"1","ok":true,"identity_key":%q,"fingerprint":%q}`, base64.StdEncoding.EncodeToString(alice.Public()), fingerprint),
		fmt.Sprintf(`{"event":"security","code":"replayed_counter","rule":"REC-3","peer":"bob","session":%q,"detail":"record 3 is not above 5"}`, base64.StdEncoding.EncodeToString(sid)),
		// A.5: the optional commands of a person's front end.
		`{"id":"7","cmd":"unlock","passphrase":"correct horse battery staple"}`,
		fmt.Sprintf(`{"id":"7","ok":true,"state":"untrusted","user":"alice","server":"wss://127.0.0.1:8443/","pin":%q}`, pin),
	}
}

// suites is version 1's one suite, offered and supported in the example handshake.
var suites = []string{"x25519-hkdf-sha256-aes256gcm"}

// checkExampleRecords opens the example records with bob's side of the session through
// impl/e2ee/direct.
func checkExampleRecords(hs *hsRun, msg, closing record) {
	i, hs1 := must2(direct.NewInitiator(hs.config(true, nil)))
	r, hs2 := must2(direct.NewResponder(hs.config(false, nil), hs1))
	_, hs3 := must2(i.ReadHS2(hs2))
	sr := must(r.ReadHS3(hs3))
	pt, err := sr.Open(nil, direct.Record{Kind: direct.KindMsg, N: 0, CT: msg.ct})
	check(err == nil && bytes.Equal(pt, msg.pt), "bob cannot open the example record: %v", err)
	_, err = sr.Open(nil, direct.Record{Kind: direct.KindClose, N: 1, CT: closing.ct})
	check(err == nil, "bob cannot open the example close record: %v", err)
}

// fencedExamples returns the body and the line span of every fenced block of text whose info
// string starts with "json".
type fenced struct {
	tag        string
	start, end int // lines of the body, 0-based, end exclusive
}

func fencedExamples(text string) []fenced {
	var out []fenced
	lines := strings.Split(text, "\n")
	for i := 0; i < len(lines); i++ {
		if !strings.HasPrefix(lines[i], "```") {
			continue
		}
		info := strings.TrimSpace(strings.TrimPrefix(lines[i], "```"))
		j := i + 1
		for j < len(lines) && !strings.HasPrefix(lines[j], "```") {
			j++
		}
		if strings.HasPrefix(info, "json") {
			out = append(out, fenced{tag: info, start: i + 1, end: j})
		}
		i = j
	}
	return out
}

// withExamples returns text with the body of its n-th JSON example replaced by examples[n].
func withExamples(text string, examples []string) (string, error) {
	blocks := fencedExamples(text)
	if len(blocks) != len(examples) {
		return "", fmt.Errorf("gen: the spec has %d JSON examples, the generator makes %d", len(blocks), len(examples))
	}
	lines := strings.Split(text, "\n")
	var out []string
	last := 0
	for k, b := range blocks {
		out = append(out, lines[last:b.start]...)
		out = append(out, examples[k])
		last = b.end
	}
	out = append(out, lines[last:]...)
	return strings.Join(out, "\n"), nil
}
