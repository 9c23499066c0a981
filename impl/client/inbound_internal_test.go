package client

import (
	"testing"

	"github.com/blindpost/blindpost/impl/wire"
	"github.com/blindpost/blindpost/schemas/corpus"
)

// TestEveryServerMessageHandled decodes every valid server message of the schemas' corpus
// (schemas/testdata/valid/s2c) with decodeInbound and checks that the client has a case for each
// type that the schemas define (wire.ServerMessageTypes): a message added to
// server-message.json without a case in decodeInbound fails here instead of being refused as one
// "a client never receives".
func TestEveryServerMessageHandled(t *testing.T) {
	seen, failed := map[string]bool{}, map[string]bool{}
	for _, ex := range corpus.Valid(t, "s2c") {
		m, err := wire.Decode(wire.FromServer, ex)
		if err != nil {
			t.Fatalf("%s: %v", ex, err)
		}
		typ := m.MessageType()
		seen[typ] = true
		if in, err := decodeInbound(ex); (err != nil || in == nil) && !failed[typ] {
			failed[typ] = true // once per type: the examples can be long
			t.Errorf("%s: decodeInbound: %v", typ, err)
		}
	}
	for _, typ := range wire.ServerMessageTypes() {
		if !seen[typ] {
			t.Errorf("schemas/testdata/valid/s2c has no %s", typ)
		}
	}
}
