package wire

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func mustDecode(t *testing.T, dir Direction, s string) Message {
	t.Helper()
	m, err := Decode(dir, []byte(s))
	if err != nil {
		t.Fatalf("Decode(%s): %v", s, err)
	}
	return m
}

var (
	session16 = bytes.Repeat([]byte{0xda}, 16)
	key32     = bytes.Repeat([]byte{0x11}, 32)
	sig64     = bytes.Repeat([]byte{0x22}, 64)
)

// TestDecodeTypes checks that Decode returns the generated type its type member selects, with
// the decoded bytes of base64 members.
func TestDecodeTypes(t *testing.T) {
	tests := []struct {
		dir  Direction
		in   string
		want Message
	}{
		{FromClient, `{"type":"hello","id":"1","protocol":"blindpost/1","user":"alice"}`,
			&Hello{ID: "1", Protocol: HelloProtocol, User: "alice"}},
		{FromClient, `{"type":"list_users"}`, &ListUsers{}},
		{FromClient, `{"type":"chat_request","to":"bob","session":"2ssslZEny/S/y5gWIrZ4Tg=="}`,
			&ChatRequest{To: "bob", Session: []byte{0xda, 0xcb, 0x2c, 0x95, 0x91, 0x27, 0xcb, 0xf4, 0xbf, 0xcb, 0x98, 0x16, 0x22, 0xb6, 0x78, 0x4e}}},
		{FromServer, `{"type":"ack","id":"7","for":"relay"}`, &Ack{ID: "7", For: AckedTypeRelay}},
		{FromServer, `{"type":"error","code":"user_offline","message":"bob is not connected","for":"relay"}`,
			&ErrorMessage{Code: ErrorCodeUserOffline, Message: "bob is not connected", For: RequestTypeRelay}},
		{FromServer, `{"type":"user_list","users":["alice","bob"],"truncated":true}`,
			&UserList{Users: []string{"alice", "bob"}, Truncated: true}},
		{FromServer, `{"type":"group_members","group":"broadcast","epoch":4,"members":["alice"]}`,
			&GroupMembers{Group: "broadcast", Epoch: 4, Members: []string{"alice"}}},
	}
	for _, tt := range tests {
		got := mustDecode(t, tt.dir, tt.in)
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Decode(%s) = %#v, want %#v", tt.in, got, tt.want)
		}
		if got.MessageType() != tt.want.MessageType() {
			t.Errorf("MessageType() = %q", got.MessageType())
		}
	}
}

// TestDecodeErrors checks the pointer, keyword and message of typical failures, including those
// of the JSON text (spec MSG-2, MSG-3, MSG-4, ENC-6, ENC-8, ENC-9, ENC-10).
func TestDecodeErrors(t *testing.T) {
	const hello = `{"type":"hello","protocol":"blindpost/1","user":"alice"`
	tests := []struct {
		name    string
		dir     Direction
		in      string
		pointer string
		keyword string
	}{
		{"pattern", FromClient, `{"type":"hello","protocol":"blindpost/1","user":"Alice"}`, "/user", "pattern"},
		{"unknown member", FromClient, hello + `,"from":"x"}`, "", "additionalProperties"},
		{"missing member", FromClient, `{"type":"hello","user":"alice"}`, "", "required"},
		{"no type", FromClient, `{"user":"alice"}`, "", "required"},
		{"unknown type", FromClient, `{"type":"pubkey"}`, "/type", "enum"},
		{"type not a string", FromClient, `{"type":1}`, "/type", "enum"},
		{"not an object", FromClient, `["hello"]`, "", "type"},
		{"const", FromClient, `{"type":"hello","protocol":"blindpost/2","user":"alice"}`, "/protocol", "const"},
		{"wrong type", FromServer, `{"type":"user_list","users":["a"],"truncated":"no"}`, "/truncated", "type"},
		{"item", FromServer, `{"type":"user_list","users":["a","B"],"truncated":false}`, "/users/1", "pattern"},
		{"uniqueItems", FromServer, `{"type":"user_list","users":["a","a"],"truncated":false}`, "/users", "uniqueItems"},
		{"minItems", FromServer, `{"type":"user_list","users":[],"truncated":false}`, "/users", "minItems"},
		{"maxLength", FromServer, `{"type":"error","code":"internal","message":"` + strings.Repeat("é", 257) + `"}`, "/message", "maxLength"},
		{"length in code points", FromServer, `{"type":"error","code":"internal","message":"` + strings.Repeat("😀", 256) + `"}`, "", ""},
		{"enum", FromServer, `{"type":"ack","for":"hello"}`, "/for", "enum"},
		{"nested", FromClient, `{"type":"relay","to":"bob","session":"2ssslZEny/S/y5gWIrZ4Tg==","payload":{"kind":"msg","n":-1,"ct":"sP/arwRx09zFxIOFOQ9yM5vUNDJU+oakpqc0XdlieEqJvqtmvnwH2A=="}}`, "/payload/n", "minimum"},
		{"payload kind", FromClient, `{"type":"relay","to":"bob","session":"2ssslZEny/S/y5gWIrZ4Tg==","payload":{"kind":"hs4"}}`, "/payload/kind", "enum"},
		{"base64 unused bits", FromClient, `{"type":"chat_request","to":"bob","session":"2ssslZEny/S/y5gWIrZ4Th=="}`, "/session", "pattern"},
		{"base64 no padding", FromClient, `{"type":"chat_request","to":"bob","session":"2ssslZEny/S/y5gWIrZ4Tg"}`, "/session", "pattern"},
		{"base64 wrong length", FromClient, `{"type":"chat_request","to":"bob","session":"2ssslZEny/S/y5gWIrZ4TgAA"}`, "/session", "pattern"},
		{"duplicate member", FromClient, `{"type":"hello","user":"alice","protocol":"blindpost/1","user":"bob"}`, "/user", "duplicateKey"},
		{"duplicate escaped", FromClient, `{"type":"hello","user":"alice","protocol":"blindpost/1","\u0075ser":"bob"}`, "/user", "duplicateKey"},
		{"duplicate wins over schema", FromClient, `{"type":"hello","user":"Alice","x":1,"x":2}`, "/x", "duplicateKey"},
		{"trailing data", FromClient, hello + `} {}`, "", "trailingData"},
		{"trailing whitespace", FromClient, hello + "} \r\n\t", "", ""},
		{"syntax", FromClient, hello + `,}`, "", "syntax"},
		{"empty", FromClient, ``, "", "syntax"},
		{"invalid UTF-8", FromClient, `{"type":"hello","protocol":"blindpost/1","user":"al` + "\xff" + `ce"}`, "", "utf8"},
		{"lone surrogate", FromServer, `{"type":"error","code":"internal","message":"\ud800"}`, "", "utf8"},
		{"surrogate pair", FromServer, `{"type":"error","code":"internal","message":"\ud83d\ude00"}`, "", ""},
		{"too deep", FromClient, hello + `,"x":` + strings.Repeat("[", 32) + strings.Repeat("]", 32) + `}`, "", "depth"},
		{"deep but not too deep", FromClient, hello + `,"x":` + strings.Repeat("[", 31) + strings.Repeat("]", 31) + `}`, "", "additionalProperties"},
		{"very deep", FromClient, strings.Repeat("[", 1_000_000), "", "depth"},
		{"integer 3.0", FromClient, `{"type":"relay","to":"bob","session":"2ssslZEny/S/y5gWIrZ4Tg==","payload":{"kind":"close","n":3.0,"ct":"5MCjP6cvyVXIwGj90O3+MA=="}}`, "", ""},
		{"integer 3e0", FromClient, `{"type":"relay","to":"bob","session":"2ssslZEny/S/y5gWIrZ4Tg==","payload":{"kind":"close","n":0.3e1,"ct":"5MCjP6cvyVXIwGj90O3+MA=="}}`, "", ""},
		{"not an integer", FromClient, `{"type":"relay","to":"bob","session":"2ssslZEny/S/y5gWIrZ4Tg==","payload":{"kind":"close","n":3.5,"ct":"5MCjP6cvyVXIwGj90O3+MA=="}}`, "/payload/n", "type"},
		{"huge", FromClient, `{"type":"relay","to":"bob","session":"2ssslZEny/S/y5gWIrZ4Tg==","payload":{"kind":"close","n":123456789012345678901234567890,"ct":"5MCjP6cvyVXIwGj90O3+MA=="}}`, "/payload/n", "maximum"},
		{"leading zero", FromClient, `{"type":"relay","to":"bob","session":"2ssslZEny/S/y5gWIrZ4Tg==","payload":{"kind":"close","n":03,"ct":"5MCjP6cvyVXIwGj90O3+MA=="}}`, "", "syntax"},
		{"wrong direction", FromServer, `{"type":"hello","protocol":"blindpost/1","user":"alice"}`, "/type", "enum"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Decode(tt.dir, []byte(tt.in))
			if tt.keyword == "" {
				if err != nil {
					t.Fatalf("Decode: %v", err)
				}
				return
			}
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("Decode: got %v, want a *ValidationError", err)
			}
			if ve.Pointer != tt.pointer || ve.Keyword != tt.keyword {
				t.Errorf("got %q %s (%v), want %q %s", ve.Pointer, ve.Keyword, err, tt.pointer, tt.keyword)
			}
			// And the oracle says the same.
			tg := topTargets["client"]
			if tt.dir == FromServer {
				tg = topTargets["server"]
			}
			agree(t, tg, []byte(tt.in))
		})
	}
}

func TestValidationErrorText(t *testing.T) {
	_, err := Decode(FromClient, []byte(`{"type":"hello","protocol":"blindpost/1","user":"Alice"}`))
	if want := "wire: /user: pattern: does not match ^[a-z0-9][a-z0-9_.-]{0,31}$"; err == nil || err.Error() != want {
		t.Errorf("got %v, want %s", err, want)
	}
	_, err = Decode(FromClient, []byte(`{"type":"hello","user":"alice"}`))
	if want := `wire: required: missing member "protocol"`; err == nil || err.Error() != want {
		t.Errorf("got %v, want %s", err, want)
	}
	if _, err := Decode(Direction(9), []byte(`{}`)); err == nil || !strings.HasPrefix(err.Error(), "wire: ") {
		t.Errorf("unknown direction: got %v", err)
	}
}

// foreign is a Message that the package did not generate.
type foreign struct{}

func (foreign) MessageType() string { return "hello" }

// TestEncodeValidates checks that Encode refuses invalid messages with the pointer and keyword
// an encoding would fail on (spec MSG-6), and writes nothing then.
func TestEncodeValidates(t *testing.T) {
	tests := []struct {
		name    string
		m       Message
		pointer string
		keyword string
	}{
		{"nil pointer", (*Hello)(nil), "", "type"},
		{"empty user", &Hello{Protocol: HelloProtocol}, "/user", "pattern"},
		{"no protocol", &Hello{User: "alice"}, "/protocol", "const"},
		{"bad id", &Hello{ID: "a b", Protocol: HelloProtocol, User: "alice"}, "/id", "pattern"},
		{"short key", &Register{IdentityKey: key32[:31], GroupKey: key32, GroupKeySig: sig64, Proof: sig64}, "/identity_key", "pattern"},
		{"no payload", &Relay{To: "bob", Session: session16}, "", "required"},
		{"nil payload pointer", &Relay{To: "bob", Session: session16, Payload: (*MsgRecord)(nil)}, "/payload", "type"},
		{"short ct", &Relay{To: "bob", Session: session16, Payload: &MsgRecord{Ct: key32[:15]}}, "/payload/ct", "minLength"},
		{"counter", &Relay{To: "bob", Session: session16, Payload: &CloseRecord{N: 1 << 24, Ct: session16}}, "/payload/n", "maximum"},
		{"enum", &Ack{For: "hello"}, "/for", "enum"},
		{"optional enum", &ErrorMessage{Code: ErrorCodeInternal, Message: "x", For: "nope"}, "/for", "enum"},
		{"invalid UTF-8", &ErrorMessage{Code: ErrorCodeInternal, Message: "\xff"}, "/message", "utf8"},
		{"empty text", &ErrorMessage{Code: ErrorCodeInternal}, "/message", "minLength"},
		{"duplicate users", &UserList{Users: []string{"a", "a"}}, "/users", "uniqueItems"},
		{"no users", &UserList{}, "/users", "minItems"},
		{"bad member", &GroupMembers{Group: "g", Members: []string{"a", "B"}}, "/members/1", "pattern"},
		{"nested commit", &GroupMembers{Group: "g", Members: []string{"a"}, LastCommit: &Commit{}}, "/last_commit/group", "pattern"},
		{"limits", &HelloAck{Challenge: key32, Server: "s", Limits: Limits{}}, "/limits/max_message", "minimum"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dst := []byte("prefix")
			out, err := AppendEncode(dst, tt.m)
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("got %v, want a *ValidationError", err)
			}
			if ve.Pointer != tt.pointer || ve.Keyword != tt.keyword {
				t.Errorf("got %q %s (%v), want %q %s", ve.Pointer, ve.Keyword, err, tt.pointer, tt.keyword)
			}
			if string(out) != "prefix" {
				t.Errorf("AppendEncode wrote %q on error", out)
			}
		})
	}
	for _, m := range []Message{nil, foreign{}} {
		if _, err := Encode(m); err == nil || !strings.HasPrefix(err.Error(), "wire: ") {
			t.Errorf("Encode(%T): got %v", m, err)
		}
	}
}

// TestEncodeCanonical checks the canonical form: schema order with type first, optional members
// left out, canonical base64, plain integers, minimal escapes and no HTML escaping.
func TestEncodeCanonical(t *testing.T) {
	tests := []struct {
		m    Message
		want string
	}{
		{&Hello{User: "alice", Protocol: HelloProtocol}, `{"type":"hello","protocol":"blindpost/1","user":"alice"}`},
		{&ErrorMessage{ID: "9", Code: ErrorCodeBadMessage, Message: "<a & \"b\">\n\x01\u2028é😀"},
			`{"type":"error","id":"9","code":"bad_message","message":"<a & \"b\">\n\u0001` + "\u2028é😀" + `"}`},
		{&IncomingRelay{From: "alice", Session: session16, Payload: &CloseRecord{N: 16777215, Ct: session16}},
			`{"type":"relay","from":"alice","session":"2tra2tra2tra2tra2tra2g==","payload":{"kind":"close","n":16777215,"ct":"2tra2tra2tra2tra2tra2g=="}}`},
		{&GroupMembers{Group: "g", Epoch: 0, Members: []string{"b", "a"}},
			`{"type":"group_members","group":"g","epoch":0,"members":["b","a"]}`},
	}
	for _, tt := range tests {
		got, err := Encode(tt.m)
		if err != nil {
			t.Fatalf("Encode(%#v): %v", tt.m, err)
		}
		if string(got) != tt.want {
			t.Errorf("Encode(%T):\n got %s\nwant %s", tt.m, got, tt.want)
		}
		back := mustDecode(t, map[bool]Direction{true: FromClient, false: FromServer}[strings.HasPrefix(tt.want, `{"type":"hello"`)], string(got))
		if !reflect.DeepEqual(back, tt.m) {
			t.Errorf("Decode(Encode(m)) = %#v, want %#v", back, tt.m)
		}
	}
}

// envelope is a caller's own type that embeds generated types: encoding/json must use the
// generated, strict methods for them.
type envelope struct {
	Seq     int          `json:"seq"`
	Msg     Relay        `json:"msg"`
	Content *Content     `json:"content,omitempty"`
	Members []CommitWrap `json:"members"`
}

func TestEncodingJSON(t *testing.T) {
	e := envelope{Seq: 1, Msg: Relay{To: "bob", Session: session16, Payload: &HS3{Sig: sig64, Fin: key32}},
		Content: &Content{Text: "<hi>", SentAt: 5}, Members: []CommitWrap{{User: "a", Wrap: bytes.Repeat([]byte{1}, 80)}}}
	data, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	var back envelope
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatalf("Unmarshal(%s): %v", data, err)
	}
	if !reflect.DeepEqual(back, e) {
		t.Errorf("round trip through encoding/json: got %#v, want %#v", back, e)
	}
	// The generated UnmarshalJSON is as strict as Decode.
	bad := bytes.Replace(data, []byte(`"to":"bob"`), []byte(`"to":"bob","to":"eve"`), 1)
	var ve *ValidationError
	if err := json.Unmarshal(bad, &back); !errors.As(err, &ve) || ve.Keyword != KeywordDuplicateKey {
		t.Errorf("duplicate member inside a Relay: got %v", err)
	}
	// A value, not only a pointer, marshals through the generated method, which validates.
	if _, err := json.Marshal(Relay{To: "BOB"}); !errors.As(err, &ve) || ve.Pointer != "/to" {
		t.Errorf("json.Marshal of an invalid Relay value: got %v", err)
	}
}

func TestDecodePayloadAndOthers(t *testing.T) {
	p, err := DecodePayload([]byte(`{"kind":"hs3","sig":"k1zKkNx9GP4y4PXfkOqUNTO+aV2X+Ik9rdO4McLxcqbhNF1A1M7EvS69e1CGezh5q2hYaPxzaA5ZPWWLLS4PHA==","fin":"/kkNmH+zMjoTcuciB0qDNB353+g4yclhS0BF3t+d+eU="}`))
	if err != nil {
		t.Fatal(err)
	}
	if hs3, ok := p.(*HS3); !ok || p.PayloadKind() != "hs3" || len(hs3.Sig) != 64 || len(hs3.Fin) != 32 {
		t.Errorf("DecodePayload: %#v", p)
	}
	c, err := DecodeContent([]byte(`{"text":"hello bob","sent_at":1795651200000}`))
	if err != nil || c.Text != "hello bob" || c.SentAt != 1795651200000 {
		t.Errorf("DecodeContent: %#v, %v", c, err)
	}
	if _, err := DecodeContent([]byte(` {"text":"","sent_at":0}`)); err == nil {
		t.Error("DecodeContent accepted an empty text")
	}
	if _, err := DecodeCommit([]byte(`{}`)); err == nil {
		t.Error("DecodeCommit accepted {}")
	}
	if _, err := DecodeGroupMsg([]byte(`{"group":"g","epoch":0,"n":0,"ct":"AAAAAAAAAAAAAAAAAAAAAA==","sig":"` + strings.Repeat("A", 86) + `=="}`)); err == nil {
		t.Error("DecodeGroupMsg accepted epoch 0")
	}
}

// TestTruncated checks that no strict prefix of a valid message decodes (nats-server's FuzzParser
// property): a message cut short by the transport is never mistaken for a shorter one.
func TestTruncated(t *testing.T) {
	for _, ex := range specExamples(t) {
		tg := topTargets[specTargets[ex.tag]]
		for i := range len(ex.data) {
			if _, err := tg.decode(ex.data[:i]); err == nil {
				t.Errorf("spec/protocol.md:%d: the prefix %q decodes", ex.line, ex.data[:i])
			}
		}
	}
}

func TestUniqueStrings(t *testing.T) {
	long := make([]string, 1000)
	for i := range long {
		long[i] = "u" + itoa(i)
	}
	huge := append(append([]string(nil), long...), long...) // beyond the table: the map
	tests := []struct {
		items []string
		i, j  int
	}{
		{nil, -1, -1},
		{[]string{"a"}, -1, -1},
		{[]string{"a", "b", "a"}, 0, 2},
		{long, -1, -1},
		{append(append([]string(nil), long...), "u7"), 7, 1000},
		{append(append([]string(nil), long[:40]...), "u39", "u3"), 39, 40},
		{huge, 0, 1000},
	}
	for _, tt := range tests {
		if i, j := uniqueStrings(tt.items); i != tt.i || j != tt.j {
			t.Errorf("uniqueStrings(%d items) = %d, %d, want %d, %d", len(tt.items), i, j, tt.i, tt.j)
		}
	}
}
