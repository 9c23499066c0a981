package wire

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/blindpost/blindpost/schemas"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

// Plain structs: what a program would decode into with encoding/json and no validation.
type (
	plainHello struct {
		Type, ID, Protocol, User string
	}
	plainRegister struct {
		Type, ID    string
		IdentityKey []byte `json:"identity_key"`
		GroupKey    []byte `json:"group_key"`
		GroupKeySig []byte `json:"group_key_sig"`
		Proof       []byte
	}
	plainUser struct{ Type, ID, User string }
	plainID   struct{ Type, ID string }
	plainChat struct {
		Type, ID, To, From string
		Session            []byte
		Accepted           bool
	}
	plainPayload struct {
		Kind   string
		Suites []string
		Suite  string
		E      []byte
		Sig    []byte
		Fin    []byte
		N      int64
		Ct     []byte
	}
	plainRelay struct {
		Type, ID, To, From string
		Session            []byte
		Payload            plainPayload
	}
	plainGroup        struct{ Type, ID, Group string }
	plainCommitMember struct {
		User        string
		IdentityKey []byte `json:"identity_key"`
		GroupKey    []byte `json:"group_key"`
		GroupKeySig []byte `json:"group_key_sig"`
	}
	plainCommit struct {
		Group     string
		Epoch     int64
		Committer string
		Prev      string
		Members   []plainCommitMember
		Wraps     []struct {
			User string
			Wrap []byte
		}
		Confirm []byte
		Sig     []byte
	}
	plainGroupCommit struct {
		Type, ID, From string
		Commit         plainCommit
	}
	plainGroupMsg struct {
		Group    string
		Epoch, N int64
		Ct, Sig  []byte
	}
	plainGroupMessage struct {
		Type, ID, From string
		Message        plainGroupMsg
	}
	plainHelloAck struct {
		Type, ID  string
		Challenge []byte
		Server    string
		Limits    struct {
			MaxMessage      int64 `json:"max_message"`
			Rate, Burst     int64
			MaxGroups       int64 `json:"max_groups"`
			MaxGroupMembers int64 `json:"max_group_members"`
			PingIntervalMs  int64 `json:"ping_interval_ms"`
			PongTimeoutMs   int64 `json:"pong_timeout_ms"`
			RegisterTimeout int64 `json:"register_timeout_ms"`
		}
	}
	plainRegisterAck struct{ Type, ID, User, Fingerprint string }
	plainPubkey      struct {
		Type, ID, User string
		IdentityKey    []byte `json:"identity_key"`
		GroupKey       []byte `json:"group_key"`
		GroupKeySig    []byte `json:"group_key_sig"`
	}
	plainUserList struct {
		Type, ID  string
		Users     []string
		Truncated bool
	}
	plainAck          struct{ Type, ID, For string }
	plainError        struct{ Type, ID, Code, Message, For string }
	plainGroupMembers struct {
		Type, Group string
		Epoch       int64
		Members     []string
		LastCommit  *plainCommit `json:"last_commit"`
	}
	plainContent struct {
		Text   string
		SentAt int64 `json:"sent_at"`
	}
)

// benchCase is one message kind: its canonical bytes and the three ways to decode it.
type benchCase struct {
	name   string
	schema string
	m      any
	plain  func() any
}

func benchCommit() Commit {
	c := Commit{Group: "broadcast", Epoch: 7, Committer: "alice", Prev: key32, Confirm: key32, Sig: sig64}
	for _, u := range []string{"alice", "bob", "carol"} {
		c.Members = append(c.Members, CommitMember{User: u, IdentityKey: key32, GroupKey: key32, GroupKeySig: sig64})
		c.Wraps = append(c.Wraps, CommitWrap{User: u, Wrap: bytes.Repeat([]byte{7}, 80)})
	}
	return c
}

// plainOf returns a function that makes a fresh T to decode into, as Decode makes a fresh message.
func plainOf[T any]() func() any { return func() any { return new(T) } }

var benchCases = func() []benchCase {
	ct := bytes.Repeat([]byte{0xab}, 64)
	gm := GroupMsg{Group: "broadcast", Epoch: 7, N: 41, Ct: ct, Sig: sig64}
	users := make([]string, 50)
	for i := range users {
		users[i] = "user" + itoa(i)
	}
	return []benchCase{
		{"c2s/hello", schemas.ClientMessage, &Hello{ID: "1", Protocol: HelloProtocol, User: "alice"}, plainOf[plainHello]()},
		{"c2s/register", schemas.ClientMessage, &Register{ID: "2", IdentityKey: key32, GroupKey: key32, GroupKeySig: sig64, Proof: sig64}, plainOf[plainRegister]()},
		{"c2s/get_pubkey", schemas.ClientMessage, &GetPubkey{ID: "3", User: "bob"}, plainOf[plainUser]()},
		{"c2s/list_users", schemas.ClientMessage, &ListUsers{ID: "4"}, plainOf[plainID]()},
		{"c2s/chat_request", schemas.ClientMessage, &ChatRequest{ID: "5", To: "bob", Session: session16}, plainOf[plainChat]()},
		{"c2s/chat_response", schemas.ClientMessage, &ChatResponse{ID: "6", To: "alice", Session: session16, Accepted: true}, plainOf[plainChat]()},
		{"c2s/chat_terminate", schemas.ClientMessage, &ChatTerminate{ID: "8", To: "bob", Session: session16}, plainOf[plainChat]()},
		{"c2s/relay", schemas.ClientMessage, &Relay{ID: "7", To: "bob", Session: session16, Payload: &MsgRecord{N: 12, Ct: ct}}, plainOf[plainRelay]()},
		{"c2s/group_join", schemas.ClientMessage, &GroupJoin{ID: "9", Group: "broadcast"}, plainOf[plainGroup]()},
		{"c2s/group_leave", schemas.ClientMessage, &GroupLeave{ID: "9", Group: "broadcast"}, plainOf[plainGroup]()},
		{"c2s/group_commit", schemas.ClientMessage, &GroupCommit{ID: "10", Commit: benchCommit()}, plainOf[plainGroupCommit]()},
		{"c2s/group_message", schemas.ClientMessage, &GroupMessage{ID: "11", Message: gm}, plainOf[plainGroupMessage]()},
		{"s2c/hello_ack", schemas.ServerMessage, &HelloAck{ID: "1", Challenge: key32, Server: "blindpost-server/1.0",
			Limits: Limits{MaxMessage: 65536, Rate: 50, Burst: 100, MaxGroups: 16, MaxGroupMembers: 100, PingIntervalMs: 30000, PongTimeoutMs: 60000, RegisterTimeoutMs: 10000}}, plainOf[plainHelloAck]()},
		{"s2c/register_ack", schemas.ServerMessage, &RegisterAck{ID: "2", User: "alice",
			Fingerprint: "sha256:0c7a1e3b9d5f40a2c6e8b1d3f5a7c9e0b2d4f6a8c0e2b4d6f8a0c2e4b6d8f0a2"}, plainOf[plainRegisterAck]()},
		{"s2c/pubkey", schemas.ServerMessage, &Pubkey{ID: "3", User: "bob", IdentityKey: key32, GroupKey: key32, GroupKeySig: sig64}, plainOf[plainPubkey]()},
		{"s2c/user_list", schemas.ServerMessage, &UserList{ID: "4", Users: users, Truncated: false}, plainOf[plainUserList]()},
		{"s2c/ack", schemas.ServerMessage, &Ack{ID: "7", For: AckedTypeRelay}, plainOf[plainAck]()},
		{"s2c/error", schemas.ServerMessage, &ErrorMessage{ID: "7", Code: ErrorCodeUserOffline, Message: "bob is not connected", For: RequestTypeRelay}, plainOf[plainError]()},
		{"s2c/chat_request", schemas.ServerMessage, &IncomingChatRequest{From: "alice", Session: session16}, plainOf[plainChat]()},
		{"s2c/chat_response", schemas.ServerMessage, &IncomingChatResponse{From: "bob", Session: session16, Accepted: true}, plainOf[plainChat]()},
		{"s2c/chat_terminate", schemas.ServerMessage, &IncomingChatTerminate{From: "alice", Session: session16}, plainOf[plainChat]()},
		{"s2c/relay", schemas.ServerMessage, &IncomingRelay{From: "alice", Session: session16, Payload: &HS2{Suite: "x25519-hkdf-sha256-aes256gcm", E: key32, Sig: sig64, Fin: key32}}, plainOf[plainRelay]()},
		{"s2c/group_members", schemas.ServerMessage, &GroupMembers{Group: "broadcast", Epoch: 4, Members: []string{"alice", "bob", "carol"}}, plainOf[plainGroupMembers]()},
		{"s2c/group_commit", schemas.ServerMessage, &IncomingGroupCommit{From: "alice", Commit: benchCommit()}, plainOf[plainGroupCommit]()},
		{"s2c/group_message", schemas.ServerMessage, &IncomingGroupMessage{From: "alice", Message: gm}, plainOf[plainGroupMessage]()},
		{"e2e/content", schemas.Content, &Content{Text: "hello bob, how are you today?", SentAt: 1795651200000}, plainOf[plainContent]()},
	}
}()

// BenchmarkDecode decodes and validates one message of each kind three ways:
//
//	wire:   the generated codec (Decode, or DecodeContent): strict JSON, full schema validation,
//	        typed result;
//	oracle: the reference path: schemas.CheckWellFormed, then jsonschema.UnmarshalJSON and the
//	        compiled jsonschema v6 schema's Validate (no typed result yet);
//	json:   encoding/json Unmarshal into an equivalent plain struct, with no validation at all.
//
// make bench-wire runs it; the ratios to report are oracle/wire and json/wire.
func BenchmarkDecode(b *testing.B) {
	for _, c := range benchCases {
		data, err := json.Marshal(c.m)
		if err != nil {
			b.Fatal(err)
		}
		decode := topTargets["content"].decode
		switch c.schema {
		case schemas.ClientMessage:
			decode = topTargets["client"].decode
		case schemas.ServerMessage:
			decode = topTargets["server"].decode
		}
		if _, err := decode(data); err != nil {
			b.Fatal(err)
		}
		sch, err := schemas.Compile(c.schema)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(c.name+"/wire", func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := decode(data); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(c.name+"/oracle", func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				if err := schemas.CheckWellFormed(data); err != nil {
					b.Fatal(err)
				}
				v, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
				if err != nil {
					b.Fatal(err)
				}
				if err := sch.Validate(v); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(c.name+"/json", func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				if err := json.Unmarshal(data, c.plain()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkEncode encodes one message of each kind: the generated, validating encoder against
// encoding/json's Marshal of the equivalent plain struct.
func BenchmarkEncode(b *testing.B) {
	for _, c := range benchCases {
		data, _ := json.Marshal(c.m)
		plain := c.plain()
		if err := json.Unmarshal(data, plain); err != nil {
			b.Fatal(err)
		}
		marshal := func() ([]byte, error) { return c.m.(json.Marshaler).MarshalJSON() }
		if m, ok := c.m.(Message); ok {
			marshal = func() ([]byte, error) { return Encode(m) }
		}
		b.Run(c.name+"/wire", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := marshal(); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(c.name+"/json", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := json.Marshal(plain); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
