package client

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/blindpost/blindpost/impl/wire"
)

// TestEveryServerMessageHandled decodes every valid server message of the schemas' corpus
// (schemas/testdata/valid/s2c) with decodeInbound and checks that the client has a case for each
// type that the schemas define (wire.ServerMessageTypes): a message added to
// server-message.json without a case in decodeInbound fails here instead of being refused as one
// "a client never receives".
func TestEveryServerMessageHandled(t *testing.T) {
	files, err := filepath.Glob("../../schemas/testdata/valid/s2c/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no corpus of server messages: %v", err)
	}
	seen, failed := map[string]bool{}, map[string]bool{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var examples []json.RawMessage
		if err := json.Unmarshal(data, &examples); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for _, ex := range examples {
			m, err := wire.Decode(wire.FromServer, ex)
			if err != nil {
				t.Fatalf("%s: %v", ex, err)
			}
			seen[m.MessageType()] = true
			if in, err := decodeInbound(ex); (err != nil || in == nil) && !failed[m.MessageType()] {
				failed[m.MessageType()] = true // once per type: the examples can be long
				t.Errorf("%s: decodeInbound: %v", f, err)
			}
		}
	}
	for _, typ := range wire.ServerMessageTypes() {
		if !seen[typ] {
			t.Errorf("schemas/testdata/valid/s2c has no %s", typ)
		}
	}
}
