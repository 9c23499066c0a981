package wire

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/blindpost/blindpost/schemas"
)

// streamTypes reads the type enum of a top-level schema straight from its file.
func streamTypes(t *testing.T, file string) []string {
	t.Helper()
	data, err := schemas.FS.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var s struct {
		Properties struct {
			Type struct {
				Enum []string `json:"enum"`
			} `json:"type"`
		} `json:"properties"`
	}
	if err := json.Unmarshal(data, &s); err != nil {
		t.Fatal(err)
	}
	return s.Properties.Type.Enum
}

// TestTypeLists checks the generated lists of types against the schema files: RequestTypes is
// the enum of client-message.json, ServerMessageTypes that of server-message.json, and
// ResponseTypes the server messages with an id.
func TestTypeLists(t *testing.T) {
	var requests []string
	for _, r := range RequestTypes() {
		requests = append(requests, string(r))
	}
	if want := streamTypes(t, schemas.ClientMessage); !slices.Equal(requests, want) {
		t.Errorf("RequestTypes() = %v, want %v", requests, want)
	}
	if got, want := ServerMessageTypes(), streamTypes(t, schemas.ServerMessage); !slices.Equal(got, want) {
		t.Errorf("ServerMessageTypes() = %v, want %v", got, want)
	}
	// The responses are the server messages whose schema has an id member (spec §5.1).
	var responses []string
	for _, typ := range ServerMessageTypes() {
		data, err := schemas.FS.ReadFile("s2c/" + typ + ".json")
		if err != nil {
			t.Fatal(err)
		}
		var s struct {
			Properties map[string]json.RawMessage `json:"properties"`
		}
		if err := json.Unmarshal(data, &s); err != nil {
			t.Fatal(err)
		}
		if s.Properties["id"] != nil {
			responses = append(responses, typ)
		}
	}
	if !slices.Equal(ResponseTypes(), responses) {
		t.Errorf("ResponseTypes() = %v, want %v", ResponseTypes(), responses)
	}
}

// TestRequests decodes every valid client request of the corpus and checks that it is a Request
// whose RequestType is its type member and whose RequestID is its id member.
func TestRequests(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(corpusDir, "valid", "c2s", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no corpus of client requests: %v", err)
	}
	seen := map[RequestType]bool{}
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
			var members struct {
				Type string `json:"type"`
				ID   string `json:"id"`
			}
			if err := json.Unmarshal(ex, &members); err != nil {
				t.Fatal(err)
			}
			m, err := Decode(FromClient, ex)
			if err != nil {
				t.Fatalf("%s: %v", ex, err)
			}
			r, ok := m.(Request)
			if !ok {
				t.Fatalf("%T is not a Request", m)
			}
			if string(r.RequestType()) != members.Type || r.RequestID() != members.ID {
				t.Errorf("%s: RequestType() = %q, RequestID() = %q", ex, r.RequestType(), r.RequestID())
			}
			seen[r.RequestType()] = true
		}
	}
	for _, ex := range []Response{&HelloAck{ID: "h"}, &RegisterAck{ID: "h"}, &Pubkey{ID: "h"}, &UserList{ID: "h"}, &Ack{ID: "h"}, &ErrorMessage{ID: "h"}} {
		if ex.RequestID() != "h" || !slices.Contains(ResponseTypes(), ex.MessageType()) {
			t.Errorf("%T: RequestID() = %q, in ResponseTypes: %v", ex, ex.RequestID(), slices.Contains(ResponseTypes(), ex.MessageType()))
		}
	}
	for _, typ := range RequestTypes() {
		if !seen[typ] {
			t.Errorf("no valid %s in the corpus", typ)
		}
	}
}

// TestValidMatchers checks the exported matchers of defs.json's string definitions on values at
// and beyond their bounds (spec §5.1, §5.9, §3.3).
func TestValidMatchers(t *testing.T) {
	tests := []struct {
		name  string
		valid func(string) bool
		ok    []string
		bad   []string
	}{
		{"username", ValidUsername, []string{"a", "0", "alice", "a_b.c-d", "z" + strings.Repeat("9", 31)},
			[]string{"", "Alice", "_a", ".a", "-a", "a b", "al\u00efce", "z" + strings.Repeat("9", 32), "a\n"}},
		{"group", ValidGroup, []string{"broadcast", "g-1"}, []string{"", "G", "g/1"}},
		{"id", ValidID, []string{"1", "a:b.c-d_e", strings.Repeat("x", 64)},
			[]string{"", "has space", strings.Repeat("x", 65), "\u00e9"}},
		{"pin", ValidPin, []string{"sha256:" + strings.Repeat("0f", 32)},
			[]string{"sha256:" + strings.Repeat("0F", 32), "sha256:" + strings.Repeat("0", 63), "sha1:00"}},
		{"rule_id", ValidRuleID, []string{"MSG-5", "GRP-11"}, []string{"MSG-0", "msg-5", "MSG-", "MSG-05"}},
	}
	for _, tt := range tests {
		for _, s := range tt.ok {
			if !tt.valid(s) {
				t.Errorf("%s: %q rejected", tt.name, s)
			}
		}
		for _, s := range tt.bad {
			if tt.valid(s) {
				t.Errorf("%s: %q accepted", tt.name, s)
			}
		}
	}
}
