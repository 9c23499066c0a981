package serversuite

import (
	"testing"

	"github.com/blindpost/blindpost/impl/wire"
	"github.com/blindpost/blindpost/schemas/corpus"
)

// TestWithIDEveryRequest checks that withID sets the id of a request of every type the schemas
// define (a valid example of each from the schemas' corpus), which the cases rely on to match
// answers to requests (spec §5.1 [MSG-5]).
func TestWithIDEveryRequest(t *testing.T) {
	seen := map[wire.RequestType]bool{}
	for _, ex := range corpus.Valid(t, "c2s") {
		m, err := wire.Decode(wire.FromClient, ex)
		if err != nil {
			t.Fatalf("%s: %v", ex, err)
		}
		r := withID(m, "set-by-test").(wire.Request)
		if r.RequestID() != "set-by-test" {
			t.Errorf("withID on %s: id %q", r.RequestType(), r.RequestID())
		}
		seen[r.RequestType()] = true
	}
	for _, typ := range wire.RequestTypes() {
		if !seen[typ] {
			t.Errorf("schemas/testdata/valid/c2s has no %s", typ)
		}
	}
}

// TestHostileBasesCoverEveryRequest checks the claim of hostileBases: one base of every client
// request type the schemas define, so that a request added to the schemas gets hostile variants.
func TestHostileBasesCoverEveryRequest(t *testing.T) {
	have := map[string]bool{}
	for _, b := range hostileBases {
		have[b.typ] = true
	}
	for _, typ := range wire.RequestTypes() {
		if !have[string(typ)] {
			t.Errorf("hostileBases has no %s base", typ)
		}
	}
}
