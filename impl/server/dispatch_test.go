package server_test

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/blindpost/blindpost/impl/server/servertest"
	"github.com/blindpost/blindpost/impl/wire"
	"github.com/blindpost/blindpost/schemas/corpus"
)

// validRequests returns, for each type of wire.RequestTypes, the valid examples of the schemas'
// corpus (schemas/testdata/valid/c2s), as objects whose members are kept as written. The corpus
// has a file for every schema (schemas/corpus_test.go), so a request added to the schemas comes
// with examples; a type without one fails the test.
func validRequests(t *testing.T) map[wire.RequestType][]map[string]json.RawMessage {
	t.Helper()
	out := map[wire.RequestType][]map[string]json.RawMessage{}
	for _, ex := range corpus.Valid(t, "c2s") {
		m, err := wire.Decode(wire.FromClient, ex)
		if err != nil {
			t.Fatalf("%s: %v", ex, err)
		}
		var members map[string]json.RawMessage
		if err := json.Unmarshal(ex, &members); err != nil {
			t.Fatal(err)
		}
		typ := m.(wire.Request).RequestType()
		out[typ] = append(out[typ], members)
	}
	for _, typ := range wire.RequestTypes() {
		if len(out[typ]) == 0 {
			t.Errorf("schemas/testdata/valid/c2s has no %s", typ)
		}
	}
	return out
}

// TestEveryRequestHandled sends a valid request of every type that the schemas define
// (wire.RequestTypes) from a registered connection, and checks that the relay answers it (spec
// §5.1: every request gets exactly one answer, SRV-13) with something other than the internal
// error of a type its dispatcher has no case for. A message added to the schemas without a
// handler in the relay fails here.
func TestEveryRequestHandled(t *testing.T) {
	srv := servertest.Start(t)
	c := connect(t, srv, "dispatch-probe")
	for typ, examples := range validRequests(t) {
		members := examples[0]
		id := c.id()
		members["id"] = json.RawMessage(fmt.Sprintf("%q", id))
		data, err := json.Marshal(members)
		if err != nil {
			t.Fatal(err)
		}
		c.sendRaw(string(data))
		for {
			m := c.nextMsg()
			if m["id"] != id {
				continue // a message forwarded to the probe by an earlier request
			}
			if m["type"] == "error" && m["code"] == "internal" {
				t.Errorf("%s: the relay answered %s: does (*conn).dispatch have a case for it?", typ, compact(m))
			}
			break
		}
	}
}
