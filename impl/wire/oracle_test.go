package wire

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/blindpost/blindpost/schemas"
)

// tb is what the helpers need from *testing.T, *testing.F and *rapid.T.
type tb interface {
	Helper()
	Fatal(args ...any)
	Fatalf(format string, args ...any)
	Errorf(format string, args ...any)
	Logf(format string, args ...any)
}

// target is one way to decode a JSON text, paired with the schema that defines it: the oracle
// (schemas.Check: the strict well-formedness reader plus the jsonschema validator) must agree
// with the generated decoder on every input.
type target struct {
	schema string
	decode func([]byte) (any, error)
}

func unmarshalInto(newValue func() json.Unmarshaler) func([]byte) (any, error) {
	return func(data []byte) (any, error) {
		v := newValue()
		if err := v.UnmarshalJSON(data); err != nil {
			return nil, err
		}
		return v, nil
	}
}

// topTargets are the decoding entry points of the API.
var topTargets = map[string]target{
	"client":    {schemas.ClientMessage, func(b []byte) (any, error) { return Decode(FromClient, b) }},
	"server":    {schemas.ServerMessage, func(b []byte) (any, error) { return Decode(FromServer, b) }},
	"payload":   {schemas.Payload, func(b []byte) (any, error) { return DecodePayload(b) }},
	"content":   {schemas.Content, func(b []byte) (any, error) { return DecodeContent(b) }},
	"commit":    {schemas.Commit, func(b []byte) (any, error) { return DecodeCommit(b) }},
	"group_msg": {schemas.GroupMsg, func(b []byte) (any, error) { return DecodeGroupMsg(b) }},
	"receipt":   {schemas.Receipt, func(b []byte) (any, error) { return DecodeReceipt(b) }},
	"epoch_ack": {schemas.EpochAck, func(b []byte) (any, error) { return DecodeEpochAck(b) }},
}

// typeTargets decode with the UnmarshalJSON of each generated type, against its own schema.
var typeTargets = map[string]func() json.Unmarshaler{
	"c2s/hello.json":          func() json.Unmarshaler { return new(Hello) },
	"c2s/register.json":       func() json.Unmarshaler { return new(Register) },
	"c2s/get_pubkey.json":     func() json.Unmarshaler { return new(GetPubkey) },
	"c2s/list_users.json":     func() json.Unmarshaler { return new(ListUsers) },
	"c2s/chat_request.json":   func() json.Unmarshaler { return new(ChatRequest) },
	"c2s/chat_response.json":  func() json.Unmarshaler { return new(ChatResponse) },
	"c2s/chat_terminate.json": func() json.Unmarshaler { return new(ChatTerminate) },
	"c2s/relay.json":          func() json.Unmarshaler { return new(Relay) },
	"c2s/group_join.json":     func() json.Unmarshaler { return new(GroupJoin) },
	"c2s/group_leave.json":    func() json.Unmarshaler { return new(GroupLeave) },
	"c2s/group_commit.json":   func() json.Unmarshaler { return new(GroupCommit) },
	"c2s/group_message.json":  func() json.Unmarshaler { return new(GroupMessage) },
	"s2c/hello_ack.json":      func() json.Unmarshaler { return new(HelloAck) },
	"s2c/register_ack.json":   func() json.Unmarshaler { return new(RegisterAck) },
	"s2c/pubkey.json":         func() json.Unmarshaler { return new(Pubkey) },
	"s2c/user_list.json":      func() json.Unmarshaler { return new(UserList) },
	"s2c/ack.json":            func() json.Unmarshaler { return new(Ack) },
	"s2c/error.json":          func() json.Unmarshaler { return new(ErrorMessage) },
	"s2c/chat_request.json":   func() json.Unmarshaler { return new(IncomingChatRequest) },
	"s2c/chat_response.json":  func() json.Unmarshaler { return new(IncomingChatResponse) },
	"s2c/chat_terminate.json": func() json.Unmarshaler { return new(IncomingChatTerminate) },
	"s2c/relay.json":          func() json.Unmarshaler { return new(IncomingRelay) },
	"s2c/group_members.json":  func() json.Unmarshaler { return new(GroupMembers) },
	"s2c/group_commit.json":   func() json.Unmarshaler { return new(IncomingGroupCommit) },
	"s2c/group_message.json":  func() json.Unmarshaler { return new(IncomingGroupMessage) },
	"e2e/hs1.json":            func() json.Unmarshaler { return new(HS1) },
	"e2e/hs2.json":            func() json.Unmarshaler { return new(HS2) },
	"e2e/hs3.json":            func() json.Unmarshaler { return new(HS3) },
	"e2e/msg.json":            func() json.Unmarshaler { return new(MsgRecord) },
	"e2e/close.json":          func() json.Unmarshaler { return new(CloseRecord) },
	"e2e/commit.json":         func() json.Unmarshaler { return new(Commit) },
	"e2e/commit_member.json":  func() json.Unmarshaler { return new(CommitMember) },
	"e2e/commit_wrap.json":    func() json.Unmarshaler { return new(CommitWrap) },
	"e2e/content.json":        func() json.Unmarshaler { return new(Content) },
	"e2e/group_msg.json":      func() json.Unmarshaler { return new(GroupMsg) },
	"e2e/receipt.json":        func() json.Unmarshaler { return new(Receipt) },
	"e2e/epoch_ack.json":      func() json.Unmarshaler { return new(EpochAck) },
}

// targetFor returns the target of a schema path: an API entry point for the top-level schemas,
// the type's UnmarshalJSON for the others.
func targetFor(schema string) (target, bool) {
	for _, t := range topTargets {
		if t.schema == schema && schema != schemas.Content && schema != schemas.Commit && schema != schemas.GroupMsg &&
			schema != schemas.Receipt && schema != schemas.EpochAck {
			return t, true
		}
	}
	if nv, ok := typeTargets[schema]; ok {
		return target{schema, unmarshalInto(nv)}, true
	}
	return target{}, false
}

// dispatchTarget returns the top-level stream a per-type schema belongs to: the client or
// server stream for c2s/ and s2c/, the payload for the relay payloads.
func dispatchTarget(schema string) (target, bool) {
	switch {
	case strings.HasPrefix(schema, "c2s/"):
		return topTargets["client"], true
	case strings.HasPrefix(schema, "s2c/"):
		return topTargets["server"], true
	case slices.Contains([]string{"e2e/hs1.json", "e2e/hs2.json", "e2e/hs3.json", "e2e/msg.json", "e2e/close.json"}, schema):
		return topTargets["payload"], true
	}
	return target{}, false
}

// verdict is what one side says about an input.
type verdict struct {
	valid   bool
	single  bool // one cause, so pointer and keyword must agree
	pointer string
	keyword string
	detail  string
}

func (v verdict) String() string {
	if v.valid {
		return "valid"
	}
	return fmt.Sprintf("invalid %q %s (%s)", v.pointer, v.keyword, v.detail)
}

// oracle asks the reference validator.
func oracle(t tb, schema string, data []byte) verdict {
	t.Helper()
	viol, err := schemas.Check(schema, data)
	if err != nil {
		t.Fatalf("oracle: %v", err)
	}
	if len(viol) == 0 {
		return verdict{valid: true}
	}
	var details []string
	for _, v := range viol {
		details = append(details, v.String())
	}
	return verdict{single: len(viol) == 1, pointer: viol[0].Pointer, keyword: viol[0].Keyword, detail: strings.Join(details, "; ")}
}

// generated asks the generated decoder, which must return a *ValidationError on failure.
func generated(t tb, tg target, data []byte) (any, verdict) {
	t.Helper()
	v, err := tg.decode(data)
	if err == nil {
		return v, verdict{valid: true}
	}
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("%s: error %T is not a *ValidationError: %v", tg.schema, err, err)
	}
	if !strings.HasPrefix(err.Error(), "wire: ") {
		t.Errorf("error %q lacks the wire: prefix", err)
	}
	return nil, verdict{pointer: ve.Pointer, keyword: ve.Keyword, detail: ve.Message}
}

// agree fails t unless the generated decoder and the oracle agree on data: both accept or both
// reject it, and when the oracle names a single cause, the generated decoder names the same
// pointer and keyword. It returns the decoded value and whether data is valid.
func agree(t tb, tg target, data []byte) (any, bool) {
	t.Helper()
	want := oracle(t, tg.schema, data)
	v, got := generated(t, tg, data)
	if want.valid != got.valid || want.single && (want.pointer != got.pointer || want.keyword != got.keyword) {
		t.Fatalf("%s disagrees with the oracle on %s\n  oracle:    %v\n  generated: %v", tg.schema, quoteInput(data), want, got)
	}
	return v, got.valid
}

func quoteInput(data []byte) string {
	const max = 600
	if len(data) > max {
		return fmt.Sprintf("%q… (%d bytes)", data[:max], len(data))
	}
	return fmt.Sprintf("%q", data)
}

// TestTargetsCoverSchemas fails when a schema of the codec has no decoding target here, so that
// a new schema cannot escape the differential tests.
func TestTargetsCoverSchemas(t *testing.T) {
	paths, err := schemas.Paths()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range paths {
		if p == "defs.json" || strings.HasPrefix(p, "driver/") {
			continue
		}
		if _, ok := targetFor(p); !ok {
			t.Errorf("schemas/%s has no target in oracle_test.go", p)
		}
	}
}
