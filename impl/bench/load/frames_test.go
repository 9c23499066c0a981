package load

import (
	"bytes"
	"testing"

	"github.com/blindpost/blindpost/impl/wire"
)

// TestRelayBuilder checks that the relay messages the load generator sends are valid client
// messages (spec §5.5, schemas/c2s/relay.json) with the ciphertext size asked, and that the
// stamp survives the relay's forwarding (the s2c form the codec encodes).
func TestRelayBuilder(t *testing.T) {
	session := bytes.Repeat([]byte{7}, 16)
	b, err := NewRelayBuilder("bob", session, 200)
	if err != nil {
		t.Fatal(err)
	}
	st := Stamp{Sched: 123456789, Seq: 42, Sender: 3}
	frame := b.Append(nil, 41, st)
	m, err := wire.Decode(wire.FromClient, frame)
	if err != nil {
		t.Fatalf("%s: %v", frame, err)
	}
	r, ok := m.(*wire.Relay)
	if !ok || r.To != "bob" || !bytes.Equal(r.Session, session) {
		t.Fatalf("decoded %#v", m)
	}
	rec, ok := r.Payload.(*wire.MsgRecord)
	if !ok || rec.N != 41 || len(rec.Ct) != 200 {
		t.Fatalf("payload %#v", r.Payload)
	}
	if got, ok := ReadStamp(frame); !ok || got != st {
		t.Fatalf("ReadStamp = %+v, %v", got, ok)
	}
	fwd, err := wire.Encode(&wire.IncomingRelay{From: "alice", Session: r.Session, Payload: r.Payload})
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := ReadStamp(fwd); !ok || got != st {
		t.Fatalf("ReadStamp of the forwarded form = %+v, %v", got, ok)
	}
	if !IsType(fwd, "relay") || IsType(fwd, "rel") || Type(fwd) != "relay" {
		t.Fatalf("type of %s", fwd)
	}
	if n, ok := Counter(fwd); !ok || n != 41 {
		t.Fatalf("Counter = %d, %v", n, ok)
	}
	if _, err := NewRelayBuilder("bob", session, 16); err == nil {
		t.Fatal("a ciphertext too small for the stamp was accepted")
	}
}

// TestScanning checks the scans on messages that are not in the canonical form.
func TestScanning(t *testing.T) {
	frame := []byte(`{ "id" : "1", "type" : "ack" , "n": 7 }`)
	if Type(frame) != "ack" || !IsType(frame, "ack") || IsType(frame, "relay") {
		t.Fatalf("Type = %q", Type(frame))
	}
	if n, ok := Counter(frame); !ok || n != 7 {
		t.Fatalf("Counter = %d, %v", n, ok)
	}
	if _, ok := ReadStamp(frame); ok {
		t.Fatal("a stamp found in a message without ciphertext")
	}
	if Type([]byte(`[]`)) != "" {
		t.Fatal("a type found in an array")
	}
}

// TestIdentity checks that benchmark keys are reproducible per name and differ across names.
func TestIdentity(t *testing.T) {
	a1, err := NewIdentity("alice")
	if err != nil {
		t.Fatal(err)
	}
	a2, _ := NewIdentity("alice")
	b, _ := NewIdentity("bob")
	if !bytes.Equal(a1.Key.Public(), a2.Key.Public()) || bytes.Equal(a1.Key.Public(), b.Key.Public()) {
		t.Fatal("identities are not one per name")
	}
	if len(a1.GroupKeySig) != 64 {
		t.Fatal("no group key signature")
	}
	if !IsLoopback("wss://127.0.0.1:8443/") || !IsLoopback("wss://localhost/") || IsLoopback("wss://example.org/") {
		t.Fatal("IsLoopback")
	}
	if s := LoopbackSources(3); len(s) != 3 || s[2].String() != "127.0.0.3" {
		t.Fatalf("LoopbackSources = %v", s)
	}
}
