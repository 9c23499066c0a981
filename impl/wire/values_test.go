package wire

import (
	"pgregory.net/rapid"
)

// Generators of valid Go values of every generated type, written by hand from the schemas (not
// from the generator's model), biased towards the bounds.

func boundedInt(lo, hi int64) *rapid.Generator[int64] {
	return rapid.OneOf(rapid.Just(lo), rapid.Just(hi), rapid.Int64Range(lo, hi), rapid.Int64Range(lo, min(hi, lo+10)))
}

func bytesN(n int) *rapid.Generator[[]byte] { return rapid.SliceOfN(rapid.Byte(), n, n) }

var (
	genUsername = rapid.OneOf(
		rapid.StringMatching(`^[a-z0-9][a-z0-9_.-]{0,31}$`),
		rapid.StringMatching(`^[a-z0-9][a-z0-9_.-]{31}$`),
		rapid.SampledFrom([]string{"alice", "bob", "carol", "a", "0"}),
	)
	genID      = rapid.OneOf(rapid.StringMatching(`^[A-Za-z0-9._:-]{1,64}$`), rapid.StringMatching(`^[A-Za-z0-9._:-]{64}$`))
	genOptID   = rapid.OneOf(rapid.Just(""), genID)
	genSuite   = rapid.OneOf(rapid.Just("x25519-hkdf-sha256-aes256gcm"), rapid.StringMatching(`^[a-z0-9][a-z0-9-]{0,63}$`))
	genPin     = rapid.StringMatching(`^sha256:[0-9a-f]{64}$`)
	genServer  = rapid.StringMatching(`^[!-~]{1,64}$`)
	genCounter = boundedInt(0, 16777215)
	genEpoch   = boundedInt(0, 4294967295)
	genCEpoch  = boundedInt(1, 4294967295)
	genSession = bytesN(16)
	genKey     = bytesN(32)
	genSig     = bytesN(64)
	genCt      = rarely(rapid.SliceOfN(rapid.Byte(), 32760, 32766),
		rapid.OneOf(rapid.SliceOfN(rapid.Byte(), 16, 80), rapid.SliceOfN(rapid.Byte(), 16, 18)))
	genText = rarely(rapid.StringN(4090, 4096, -1), rapid.OneOf(
		rapid.StringN(1, 40, -1),
		rapid.StringOfN(rapid.RuneFrom([]rune{'a', 'é', '€', '😀', '"', '\\', '\n', 0, 0x1f, '<', 0x7f, 0x2028}), 1, 40, -1),
	))
	genErrText = rapid.OneOf(rapid.StringN(1, 40, -1), rapid.StringN(250, 256, -1))
)

// rarely draws from big once in 30 times and from usual otherwise: values at the largest bounds
// are worth testing but slow the oracle down.
func rarely[V any](big, usual *rapid.Generator[V]) *rapid.Generator[V] {
	return rapid.Custom(func(t *rapid.T) V {
		if rapid.IntRange(0, 29).Draw(t, "big") == 0 {
			return big.Draw(t, "big value")
		}
		return usual.Draw(t, "value")
	})
}

// rareMax is the largest count to draw: max once in 30 times, small otherwise.
func rareMax(t *rapid.T, small, max int) int {
	if rapid.IntRange(0, 29).Draw(t, "big") == 0 {
		return max
	}
	return small
}

// The values of the enums, from the generated codec: a value added to a schema is drawn without
// an edit here.
var (
	allRequestTypes = RequestTypes()
	allAckedTypes   = enumValues[AckedType](valuesOfAckedType)
	allErrorCodes   = enumValues[ErrorCode](valuesOfErrorCode)
)

func enumValues[E ~string](values []string) []E {
	out := make([]E, len(values))
	for i, v := range values {
		out[i] = E(v)
	}
	return out
}

// genList draws a slice of n items, usually small, sometimes at the bounds.
func genList[E any](t *rapid.T, g *rapid.Generator[E], lo, hi int, label string) []E {
	n := rapid.OneOf(rapid.IntRange(lo, min(hi, lo+3)), rapid.Just(hi), rapid.IntRange(lo, hi)).Draw(t, label+"#")
	out := make([]E, n)
	for i := range out {
		out[i] = g.Draw(t, label)
	}
	return out
}

// genDistinct draws n distinct strings.
func genDistinct(t *rapid.T, g *rapid.Generator[string], lo, hi int, label string) []string {
	n := rapid.OneOf(rapid.IntRange(lo, min(hi, lo+3)), rapid.Just(hi), rapid.IntRange(lo, hi)).Draw(t, label+"#")
	seen := map[string]bool{}
	var out []string
	for i := 0; len(out) < n && i < 10*n+20; i++ {
		s := g.Draw(t, label)
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	for j := 0; len(out) < n; j++ { // fill up deterministically
		s := "u" + itoa(j)
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

func itoa(i int) string {
	const digits = "0123456789"
	if i < 10 {
		return digits[i : i+1]
	}
	return itoa(i/10) + digits[i%10:i%10+1]
}

var genLimits = rapid.Custom(func(t *rapid.T) Limits {
	return Limits{
		MaxMessage:        boundedInt(1024, 16777216).Draw(t, "max_message"),
		Rate:              boundedInt(10, 1000000).Draw(t, "rate"),
		Burst:             boundedInt(20, 1000000).Draw(t, "burst"),
		MaxGroups:         boundedInt(1, 1024).Draw(t, "max_groups"),
		MaxGroupMembers:   boundedInt(1, 128).Draw(t, "max_group_members"),
		PingIntervalMs:    boundedInt(100, 30000).Draw(t, "ping_interval_ms"),
		PongTimeoutMs:     boundedInt(200, 120000).Draw(t, "pong_timeout_ms"),
		RegisterTimeoutMs: boundedInt(500, 60000).Draw(t, "register_timeout_ms"),
	}
})

var genCommitMember = rapid.Custom(func(t *rapid.T) CommitMember {
	return CommitMember{User: genUsername.Draw(t, "user"), IdentityKey: genKey.Draw(t, "identity_key"),
		GroupKey: genKey.Draw(t, "group_key"), GroupKeySig: genSig.Draw(t, "group_key_sig")}
})

var genCommitWrap = rapid.Custom(func(t *rapid.T) CommitWrap {
	return CommitWrap{User: genUsername.Draw(t, "user"), Wrap: bytesN(80).Draw(t, "wrap")}
})

var genCommit = rapid.Custom(func(t *rapid.T) *Commit {
	maxN := rareMax(t, 3, 128)
	return &Commit{
		Group:     genUsername.Draw(t, "group"),
		Epoch:     genCEpoch.Draw(t, "epoch"),
		Committer: genUsername.Draw(t, "committer"),
		Prev:      rapid.OneOf(rapid.Just[[]byte](nil), genKey).Draw(t, "prev"),
		Members:   genList(t, genCommitMember, 1, maxN, "members"),
		Wraps:     genList(t, genCommitWrap, 1, maxN, "wraps"),
		Confirm:   genKey.Draw(t, "confirm"),
		Sig:       genSig.Draw(t, "sig"),
	}
})

var genGroupMsg = rapid.Custom(func(t *rapid.T) *GroupMsg {
	return &GroupMsg{Group: genUsername.Draw(t, "group"), Epoch: genCEpoch.Draw(t, "epoch"), N: genCounter.Draw(t, "n"),
		Ct: genCt.Draw(t, "ct"), Sig: genSig.Draw(t, "sig")}
})

var genContent = rapid.Custom(func(t *rapid.T) *Content {
	return &Content{Text: genText.Draw(t, "text"), SentAt: boundedInt(0, 9007199254740991).Draw(t, "sent_at")}
})

var genPayload = rapid.OneOf(
	rapid.Custom(func(t *rapid.T) Payload {
		return &HS1{Suites: genDistinct(t, genSuite, 1, 8, "suites"), E: genKey.Draw(t, "e")}
	}),
	rapid.Custom(func(t *rapid.T) Payload {
		return &HS2{Suite: genSuite.Draw(t, "suite"), E: genKey.Draw(t, "e"), Sig: genSig.Draw(t, "sig"), Fin: genKey.Draw(t, "fin")}
	}),
	rapid.Custom(func(t *rapid.T) Payload {
		return &HS3{Sig: genSig.Draw(t, "sig"), Fin: genKey.Draw(t, "fin")}
	}),
	rapid.Custom(func(t *rapid.T) Payload {
		return &MsgRecord{N: genCounter.Draw(t, "n"), Ct: genCt.Draw(t, "ct")}
	}),
	rapid.Custom(func(t *rapid.T) Payload {
		return &CloseRecord{N: genCounter.Draw(t, "n"), Ct: genSession.Draw(t, "ct")}
	}),
)

// kind is one generated type with the stream that decodes it.
type kind struct {
	name   string // the schema
	stream string // the key of topTargets, or "" for the type's own UnmarshalJSON
	gen    *rapid.Generator[any]
}

func (k kind) target() target {
	if k.stream != "" {
		return topTargets[k.stream]
	}
	tg, _ := targetFor(k.name)
	return tg
}

func anyGen[V any](g *rapid.Generator[V]) *rapid.Generator[any] {
	return rapid.Map(g, func(v V) any { return v })
}

func msg[V any](fn func(t *rapid.T) V) *rapid.Generator[any] { return anyGen(rapid.Custom(fn)) }

var kinds = []kind{
	{"c2s/hello.json", "client", msg(func(t *rapid.T) *Hello {
		return &Hello{ID: genOptID.Draw(t, "id"), Protocol: HelloProtocol, User: genUsername.Draw(t, "user")}
	})},
	{"c2s/register.json", "client", msg(func(t *rapid.T) *Register {
		return &Register{ID: genOptID.Draw(t, "id"), IdentityKey: genKey.Draw(t, "ik"), GroupKey: genKey.Draw(t, "gk"),
			GroupKeySig: genSig.Draw(t, "gks"), Proof: genSig.Draw(t, "proof")}
	})},
	{"c2s/get_pubkey.json", "client", msg(func(t *rapid.T) *GetPubkey {
		return &GetPubkey{ID: genOptID.Draw(t, "id"), User: genUsername.Draw(t, "user")}
	})},
	{"c2s/list_users.json", "client", msg(func(t *rapid.T) *ListUsers { return &ListUsers{ID: genOptID.Draw(t, "id")} })},
	{"c2s/chat_request.json", "client", msg(func(t *rapid.T) *ChatRequest {
		return &ChatRequest{ID: genOptID.Draw(t, "id"), To: genUsername.Draw(t, "to"), Session: genSession.Draw(t, "session")}
	})},
	{"c2s/chat_response.json", "client", msg(func(t *rapid.T) *ChatResponse {
		return &ChatResponse{ID: genOptID.Draw(t, "id"), To: genUsername.Draw(t, "to"), Session: genSession.Draw(t, "session"),
			Accepted: rapid.Bool().Draw(t, "accepted")}
	})},
	{"c2s/chat_terminate.json", "client", msg(func(t *rapid.T) *ChatTerminate {
		return &ChatTerminate{ID: genOptID.Draw(t, "id"), To: genUsername.Draw(t, "to"), Session: genSession.Draw(t, "session")}
	})},
	{"c2s/relay.json", "client", msg(func(t *rapid.T) *Relay {
		return &Relay{ID: genOptID.Draw(t, "id"), To: genUsername.Draw(t, "to"), Session: genSession.Draw(t, "session"),
			Payload: genPayload.Draw(t, "payload")}
	})},
	{"c2s/group_join.json", "client", msg(func(t *rapid.T) *GroupJoin {
		return &GroupJoin{ID: genOptID.Draw(t, "id"), Group: genUsername.Draw(t, "group")}
	})},
	{"c2s/group_leave.json", "client", msg(func(t *rapid.T) *GroupLeave {
		return &GroupLeave{ID: genOptID.Draw(t, "id"), Group: genUsername.Draw(t, "group")}
	})},
	{"c2s/group_commit.json", "client", msg(func(t *rapid.T) *GroupCommit {
		return &GroupCommit{ID: genOptID.Draw(t, "id"), Commit: *genCommit.Draw(t, "commit")}
	})},
	{"c2s/group_message.json", "client", msg(func(t *rapid.T) *GroupMessage {
		return &GroupMessage{ID: genOptID.Draw(t, "id"), Message: *genGroupMsg.Draw(t, "message")}
	})},
	{"s2c/hello_ack.json", "server", msg(func(t *rapid.T) *HelloAck {
		return &HelloAck{ID: genOptID.Draw(t, "id"), Challenge: genKey.Draw(t, "challenge"), Server: genServer.Draw(t, "server"),
			Limits: genLimits.Draw(t, "limits")}
	})},
	{"s2c/register_ack.json", "server", msg(func(t *rapid.T) *RegisterAck {
		return &RegisterAck{ID: genOptID.Draw(t, "id"), User: genUsername.Draw(t, "user"), Fingerprint: genPin.Draw(t, "fp")}
	})},
	{"s2c/pubkey.json", "server", msg(func(t *rapid.T) *Pubkey {
		return &Pubkey{ID: genOptID.Draw(t, "id"), User: genUsername.Draw(t, "user"), IdentityKey: genKey.Draw(t, "ik"),
			GroupKey: genKey.Draw(t, "gk"), GroupKeySig: genSig.Draw(t, "gks")}
	})},
	{"s2c/user_list.json", "server", msg(func(t *rapid.T) *UserList {
		return &UserList{ID: genOptID.Draw(t, "id"), Users: genDistinct(t, genUsername, 1, rareMax(t, 5, 1000), "users"),
			Truncated: rapid.Bool().Draw(t, "truncated")}
	})},
	{"s2c/ack.json", "server", msg(func(t *rapid.T) *Ack {
		return &Ack{ID: genOptID.Draw(t, "id"), For: rapid.SampledFrom(allAckedTypes).Draw(t, "for")}
	})},
	{"s2c/error.json", "server", msg(func(t *rapid.T) *ErrorMessage {
		return &ErrorMessage{ID: genOptID.Draw(t, "id"), Code: rapid.SampledFrom(allErrorCodes).Draw(t, "code"),
			Message: genErrText.Draw(t, "message"), For: rapid.SampledFrom(append([]RequestType{""}, allRequestTypes...)).Draw(t, "for")}
	})},
	{"s2c/chat_request.json", "server", msg(func(t *rapid.T) *IncomingChatRequest {
		return &IncomingChatRequest{From: genUsername.Draw(t, "from"), Session: genSession.Draw(t, "session")}
	})},
	{"s2c/chat_response.json", "server", msg(func(t *rapid.T) *IncomingChatResponse {
		return &IncomingChatResponse{From: genUsername.Draw(t, "from"), Session: genSession.Draw(t, "session"),
			Accepted: rapid.Bool().Draw(t, "accepted")}
	})},
	{"s2c/chat_terminate.json", "server", msg(func(t *rapid.T) *IncomingChatTerminate {
		return &IncomingChatTerminate{From: genUsername.Draw(t, "from"), Session: genSession.Draw(t, "session")}
	})},
	{"s2c/relay.json", "server", msg(func(t *rapid.T) *IncomingRelay {
		return &IncomingRelay{From: genUsername.Draw(t, "from"), Session: genSession.Draw(t, "session"),
			Payload: genPayload.Draw(t, "payload")}
	})},
	{"s2c/group_members.json", "server", msg(func(t *rapid.T) *GroupMembers {
		m := &GroupMembers{Group: genUsername.Draw(t, "group"), Epoch: genEpoch.Draw(t, "epoch"),
			Members: genDistinct(t, genUsername, 1, rareMax(t, 4, 128), "members")}
		if rapid.Bool().Draw(t, "has_last_commit") {
			m.LastCommit = genCommit.Draw(t, "last_commit")
		}
		return m
	})},
	{"s2c/group_commit.json", "server", msg(func(t *rapid.T) *IncomingGroupCommit {
		return &IncomingGroupCommit{From: genUsername.Draw(t, "from"), Commit: *genCommit.Draw(t, "commit")}
	})},
	{"s2c/group_message.json", "server", msg(func(t *rapid.T) *IncomingGroupMessage {
		return &IncomingGroupMessage{From: genUsername.Draw(t, "from"), Message: *genGroupMsg.Draw(t, "message")}
	})},
	{"e2e/payload.json", "payload", anyGen(genPayload)},
	{"e2e/content.json", "content", anyGen(genContent)},
	{"e2e/commit.json", "commit", anyGen(genCommit)},
	{"e2e/group_msg.json", "group_msg", anyGen(genGroupMsg)},
	{"e2e/commit_member.json", "", anyGen(rapid.Map(genCommitMember, func(m CommitMember) *CommitMember { return &m }))},
	{"e2e/commit_wrap.json", "", anyGen(rapid.Map(genCommitWrap, func(m CommitWrap) *CommitWrap { return &m }))},
}
