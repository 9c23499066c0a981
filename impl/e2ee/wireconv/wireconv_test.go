package wireconv

import (
	"bytes"
	"reflect"
	"testing"

	"github.com/blindpost/blindpost/impl/e2ee/direct"
	"github.com/blindpost/blindpost/impl/e2ee/group"
	"github.com/blindpost/blindpost/impl/wire"
)

func b(n int, v byte) []byte { return bytes.Repeat([]byte{v}, n) }

// TestPayloadRoundTrip checks that every direct value survives the wire form and its encoding.
func TestPayloadRoundTrip(t *testing.T) {
	for _, v := range []any{
		direct.HS1{Suites: []string{direct.Suite}, E: b(32, 1)},
		direct.HS2{Suite: direct.Suite, E: b(32, 2), Sig: b(64, 3), Fin: b(32, 4)},
		direct.HS3{Sig: b(64, 5), Fin: b(32, 6)},
		direct.Record{Kind: direct.KindMsg, N: 7, CT: b(40, 7)},
		direct.Record{Kind: direct.KindClose, N: 8, CT: b(16, 8)},
	} {
		p, err := ToPayload(v)
		if err != nil {
			t.Fatalf("%T: %v", v, err)
		}
		data, err := wire.Encode(&wire.Relay{To: "bob", Session: b(16, 9), Payload: p})
		if err != nil {
			t.Fatalf("%T: encode: %v", v, err)
		}
		m, err := wire.Decode(wire.FromClient, data)
		if err != nil {
			t.Fatalf("%T: decode: %v", v, err)
		}
		got, err := FromPayload(m.(*wire.Relay).Payload)
		if err != nil || !reflect.DeepEqual(got, v) {
			t.Errorf("round trip of %T: got %#v, %v", v, got, err)
		}
	}
	if _, err := ToPayload("text"); err == nil {
		t.Error("a string became a payload")
	}
}

// TestCommitAndMessageRoundTrip checks commits (an absent prev is the empty string of the first
// commit, spec §7.1) and group messages.
func TestCommitAndMessageRoundTrip(t *testing.T) {
	c := group.Commit{Group: "broadcast", Epoch: 1, Committer: "alice", Prev: []byte{},
		Members: []group.Member{{User: "alice", IdentityKey: b(32, 1), GroupKey: b(32, 2), GroupKeySig: b(64, 3)}},
		Wraps:   []group.Wrap{{User: "alice", Wrap: b(80, 4)}}, Confirm: b(32, 5), Sig: b(64, 6)}
	w := ToCommit(&c)
	if err := w.Validate(); err != nil {
		t.Fatalf("wire commit: %v", err)
	}
	if got := FromCommit(&w); !reflect.DeepEqual(got, c) {
		t.Errorf("commit round trip: %#v", got)
	}
	c.Prev = nil
	if w := ToCommit(&c); w.Prev == nil || w.Validate() != nil {
		t.Error("an absent prev is not the empty string")
	}
	m := group.Message{Group: "broadcast", Epoch: 2, N: 3, CT: b(40, 7), Sig: b(64, 8)}
	wm := ToGroupMsg(&m)
	if err := wm.Validate(); err != nil {
		t.Fatalf("wire group message: %v", err)
	}
	if got := FromGroupMsg(&wm); !reflect.DeepEqual(got, m) {
		t.Errorf("group message round trip: %#v", got)
	}
}
