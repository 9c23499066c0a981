package client

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/blindpost/blindpost/impl/e2ee/group"
	"github.com/blindpost/blindpost/impl/e2ee/wireconv"
	"github.com/blindpost/blindpost/impl/wire"
)

// This file is the only one that knows the wire codec: it turns server messages into the
// client's inbound values and the client's requests into wire messages, and maps the end-to-end
// payloads to and from the types of impl/e2ee (which do not import the codec).

// inbound is a decoded server message. Responses carry the id of the request they answer.
type inbound interface{ requestID() string }

type (
	helloAck struct {
		id        string
		challenge []byte
		server    string
		limits    limits
	}
	registerAck struct{ id, user, fingerprint string }
	pubkeyMsg   struct {
		id, user    string
		identityKey ed25519.PublicKey
		groupKey    []byte
		groupKeySig []byte
	}
	userList struct {
		id        string
		users     []string
		truncated bool
	}
	ackMsg   struct{ id, forType string }
	errorMsg struct{ id, code, message, forType string }

	chatRequestMsg struct {
		from string
		sid  SessionID
	}
	chatResponseMsg struct {
		from     string
		sid      SessionID
		accepted bool
	}
	chatTerminateMsg struct {
		from   string
		sid    SessionID
		reason string // set only by the relay itself (spec §5.5)
	}
	// relayMsg carries direct.HS1, direct.HS2, direct.HS3 or direct.Record.
	relayMsg struct {
		from    string
		sid     SessionID
		payload any
	}
	groupMembersMsg struct {
		group      string
		epoch      uint64
		members    []string
		lastCommit *group.Commit
	}
	groupCommitMsg struct {
		from   string
		commit group.Commit
	}
	groupMessageMsg struct {
		from string
		msg  group.Message
	}
	// malformed is a message that failed to decode (spec §5.1 [MSG-1]).
	malformed struct{ err error }
)

func (m helloAck) requestID() string       { return m.id }
func (m registerAck) requestID() string    { return m.id }
func (m pubkeyMsg) requestID() string      { return m.id }
func (m userList) requestID() string       { return m.id }
func (m ackMsg) requestID() string         { return m.id }
func (m errorMsg) requestID() string       { return m.id }
func (chatRequestMsg) requestID() string   { return "" }
func (chatResponseMsg) requestID() string  { return "" }
func (chatTerminateMsg) requestID() string { return "" }
func (relayMsg) requestID() string         { return "" }
func (groupMembersMsg) requestID() string  { return "" }
func (groupCommitMsg) requestID() string   { return "" }
func (groupMessageMsg) requestID() string  { return "" }
func (malformed) requestID() string        { return "" }

// decodeInbound decodes one server message, rejecting anything its schema does not allow
// (spec §5.1 [MSG-1] to [MSG-4]).
func decodeInbound(data []byte) (inbound, error) {
	m, err := wire.Decode(wire.FromServer, data)
	if err != nil {
		return nil, fmt.Errorf("client: %w", err)
	}
	switch m := m.(type) {
	case *wire.HelloAck:
		l := m.Limits
		return helloAck{id: m.ID, challenge: m.Challenge, server: m.Server, limits: limits{
			maxMessage: int(l.MaxMessage), rate: int(l.Rate), burst: int(l.Burst),
			maxGroups: int(l.MaxGroups), maxGroupMembers: int(l.MaxGroupMembers),
		}}, nil
	case *wire.RegisterAck:
		return registerAck{id: m.ID, user: m.User, fingerprint: m.Fingerprint}, nil
	case *wire.Pubkey:
		return pubkeyMsg{id: m.ID, user: m.User, identityKey: m.IdentityKey, groupKey: m.GroupKey, groupKeySig: m.GroupKeySig}, nil
	case *wire.UserList:
		return userList{id: m.ID, users: m.Users, truncated: m.Truncated}, nil
	case *wire.Ack:
		return ackMsg{id: m.ID, forType: string(m.For)}, nil
	case *wire.ErrorMessage:
		return errorMsg{id: m.ID, code: string(m.Code), message: m.Message, forType: string(m.For)}, nil
	case *wire.IncomingChatRequest:
		return chatRequestMsg{from: m.From, sid: SessionID(m.Session)}, nil
	case *wire.IncomingChatResponse:
		return chatResponseMsg{from: m.From, sid: SessionID(m.Session), accepted: m.Accepted}, nil
	case *wire.IncomingChatTerminate:
		return chatTerminateMsg{from: m.From, sid: SessionID(m.Session), reason: string(m.Reason)}, nil
	case *wire.IncomingRelay:
		return relayMsg{from: m.From, sid: SessionID(m.Session), payload: payloadOf(m.Payload)}, nil
	case *wire.GroupMembers:
		gm := groupMembersMsg{group: m.Group, epoch: uint64(m.Epoch), members: m.Members}
		if m.LastCommit != nil {
			c := wireconv.FromCommit(m.LastCommit)
			gm.lastCommit = &c
		}
		return gm, nil
	case *wire.IncomingGroupCommit:
		return groupCommitMsg{from: m.From, commit: wireconv.FromCommit(&m.Commit)}, nil
	case *wire.IncomingGroupMessage:
		g := m.Message
		return groupMessageMsg{from: m.From, msg: wireconv.FromGroupMsg(&g)}, nil
	}
	return nil, fmt.Errorf("client: the relay sent %s, which a client never receives", m.MessageType())
}

// malformedRule names the rule a message that failed to decode broke (spec §2.4, §5.1).
func malformedRule(err error) string {
	var ve *wire.ValidationError
	if !errors.As(err, &ve) {
		return "MSG-1"
	}
	switch ve.Keyword {
	case wire.KeywordDuplicateKey:
		return "MSG-2"
	case wire.KeywordTrailingData:
		return "MSG-3"
	case wire.KeywordDepth:
		return "MSG-4"
	case wire.KeywordUTF8:
		if strings.Contains(ve.Message, "surrogate") {
			return "ENC-10"
		}
		return "ENC-9"
	}
	return "MSG-1"
}

// errorReplyID returns the id of the request that a server message the codec rejected answers,
// when it is an error: one JSON object whose top level holds "type": "error" and a request id,
// each exactly once. An error with a code outside spec §5.7 is such a message: the client
// reports it as malformed and fails the request it answers (ERR-5). Anything else gives "".
func errorReplyID(data []byte) string {
	dec := json.NewDecoder(bytes.NewReader(data))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return ""
	}
	seen := map[string][]string{}
	for dec.More() {
		key, err := dec.Token()
		if err != nil {
			return ""
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return ""
		}
		if k, _ := key.(string); k == "type" || k == "id" {
			var s string
			if json.Unmarshal(raw, &s) != nil {
				return ""
			}
			seen[k] = append(seen[k], s)
		}
	}
	if len(seen["type"]) != 1 || seen["type"][0] != "error" || len(seen["id"]) != 1 {
		return ""
	}
	return seen["id"][0]
}

// encoder builds a request once its id is known; Encode validates it first (spec §5.1 [MSG-6]).
func encoder(build func(id string) wire.Message) func(id string) ([]byte, error) {
	return func(id string) ([]byte, error) {
		data, err := wire.Encode(build(id))
		if err != nil {
			return nil, fmt.Errorf("client: %w", err)
		}
		return data, nil
	}
}

func encodeHello(id, user string) ([]byte, error) {
	return encoder(func(id string) wire.Message { return &wire.Hello{ID: id, Protocol: wire.HelloProtocol, User: user} })(id)
}

func encodeRegister(id string, ik, gk, gkSig, proof []byte, invite string) ([]byte, error) {
	return encoder(func(id string) wire.Message {
		return &wire.Register{ID: id, IdentityKey: ik, GroupKey: gk, GroupKeySig: gkSig, Proof: proof, Invite: invite}
	})(id)
}

func encodeGetPubkey(user string) func(string) ([]byte, error) {
	return encoder(func(id string) wire.Message { return &wire.GetPubkey{ID: id, User: user} })
}

func encodeListUsers() func(string) ([]byte, error) {
	return encoder(func(id string) wire.Message { return &wire.ListUsers{ID: id} })
}

func encodeChatRequest(to string, sid SessionID) func(string) ([]byte, error) {
	return encoder(func(id string) wire.Message { return &wire.ChatRequest{ID: id, To: to, Session: sid[:]} })
}

func encodeChatResponse(to string, sid SessionID, accepted bool) func(string) ([]byte, error) {
	return encoder(func(id string) wire.Message {
		return &wire.ChatResponse{ID: id, To: to, Session: sid[:], Accepted: accepted}
	})
}

func encodeChatTerminate(to string, sid SessionID) func(string) ([]byte, error) {
	return encoder(func(id string) wire.Message { return &wire.ChatTerminate{ID: id, To: to, Session: sid[:]} })
}

func encodeRelay(to string, sid SessionID, payload any) func(string) ([]byte, error) {
	p, perr := wireconv.ToPayload(payload)
	return func(id string) ([]byte, error) {
		if perr != nil {
			return nil, perr
		}
		return encoder(func(id string) wire.Message { return &wire.Relay{ID: id, To: to, Session: sid[:], Payload: p} })(id)
	}
}

func encodeGroupJoin(name string) func(string) ([]byte, error) {
	return encoder(func(id string) wire.Message { return &wire.GroupJoin{ID: id, Group: name} })
}

func encodeGroupLeave(name string) func(string) ([]byte, error) {
	return encoder(func(id string) wire.Message { return &wire.GroupLeave{ID: id, Group: name} })
}

func encodeGroupCommit(c *group.Commit) func(string) ([]byte, error) {
	wc := wireconv.ToCommit(c)
	return encoder(func(id string) wire.Message { return &wire.GroupCommit{ID: id, Commit: wc} })
}

func encodeGroupMessage(m group.Message) func(string) ([]byte, error) {
	return encoder(func(id string) wire.Message {
		return &wire.GroupMessage{ID: id, Message: wireconv.ToGroupMsg(&m)}
	})
}

// encodeContent is the plaintext of a message: a content object (spec §6.4), canonical JSON.
func encodeContent(text string, at time.Time) ([]byte, error) {
	data, err := wire.Content{Text: text, SentAt: at.UnixMilli()}.MarshalJSON()
	if err != nil {
		return nil, fmt.Errorf("client: %w", err)
	}
	return data, nil
}

// decodeContent checks that a plaintext is a content object (spec §6.4 [REC-7]).
func decodeContent(pt []byte) (string, time.Time, error) {
	c, err := wire.DecodeContent(pt)
	if err != nil {
		return "", time.Time{}, err
	}
	return c.Text, time.UnixMilli(c.SentAt), nil
}

// payloadOf is the direct value of a relay payload; the codec admits only the kinds wireconv
// knows, so the error cannot happen for a decoded message.
func payloadOf(p wire.Payload) any {
	v, _ := wireconv.FromPayload(p)
	return v
}
