package wire

import (
	"strings"
	"testing"

	"github.com/blindpost/blindpost/spec"
)

// TestSubprotocolIsTheSpecs checks that Subprotocol is the name WS-1 requires (spec §4.2), so
// that the one constant every client, relay and tool uses cannot drift from the spec.
func TestSubprotocolIsTheSpecs(t *testing.T) {
	rules, err := spec.Rules()
	if err != nil {
		t.Fatal(err)
	}
	ws1, ok := spec.Index(rules)["WS-1"]
	if !ok {
		t.Fatal("spec/protocol.md has no rule WS-1")
	}
	if want := "subprotocol `" + Subprotocol + "`"; !strings.Contains(ws1.Text, want) {
		t.Errorf("WS-1 does not name %s: %q", want, ws1.Text)
	}
}
