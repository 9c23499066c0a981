// Package wireconv converts the crypto core's end-to-end objects to and from their wire types:
// the handshake messages and records of spec §6 (impl/e2ee/direct) to the relay payloads of
// schemas/e2e/payload.json, and the commits and group messages of spec §7 (impl/e2ee/group) to
// schemas/e2e/commit.json and schemas/e2e/group_msg.json (impl/wire).
//
// The crypto packages never import the codec; programs that put their objects on the wire (the
// client, the conformance runner, the vector generator, the load tool) convert here, once.
package wireconv

import (
	"fmt"

	"github.com/blindpost/blindpost/impl/e2ee/direct"
	"github.com/blindpost/blindpost/impl/e2ee/group"
	"github.com/blindpost/blindpost/impl/wire"
)

// FromPayload returns the direct value a relay payload carries: a direct.HS1, direct.HS2,
// direct.HS3 or direct.Record.
func FromPayload(p wire.Payload) (any, error) {
	switch p := p.(type) {
	case *wire.HS1:
		return direct.HS1{Suites: p.Suites, E: p.E}, nil
	case *wire.HS2:
		return direct.HS2{Suite: p.Suite, E: p.E, Sig: p.Sig, Fin: p.Fin}, nil
	case *wire.HS3:
		return direct.HS3{Sig: p.Sig, Fin: p.Fin}, nil
	case *wire.MsgRecord:
		return direct.Record{Kind: direct.KindMsg, N: uint64(p.N), CT: p.Ct}, nil
	case *wire.CloseRecord:
		return direct.Record{Kind: direct.KindClose, N: uint64(p.N), CT: p.Ct}, nil
	}
	return nil, fmt.Errorf("wireconv: no direct value for payload %T", p)
}

// ToPayload returns the relay payload of a direct.HS1, direct.HS2, direct.HS3 or direct.Record.
func ToPayload(v any) (wire.Payload, error) {
	switch v := v.(type) {
	case direct.HS1:
		return &wire.HS1{Suites: v.Suites, E: v.E}, nil
	case direct.HS2:
		return &wire.HS2{Suite: v.Suite, E: v.E, Sig: v.Sig, Fin: v.Fin}, nil
	case direct.HS3:
		return &wire.HS3{Sig: v.Sig, Fin: v.Fin}, nil
	case direct.Record:
		if v.Kind == direct.KindClose {
			return &wire.CloseRecord{N: int64(v.N), Ct: v.CT}, nil
		}
		return &wire.MsgRecord{N: int64(v.N), Ct: v.CT}, nil
	}
	return nil, fmt.Errorf("wireconv: cannot relay a %T", v)
}

// FromCommit returns the group commit of a wire commit.
func FromCommit(c *wire.Commit) group.Commit {
	out := group.Commit{Group: c.Group, Epoch: uint64(c.Epoch), Committer: c.Committer, Prev: c.Prev, Confirm: c.Confirm, Sig: c.Sig}
	for _, m := range c.Members {
		out.Members = append(out.Members, group.Member{User: m.User, IdentityKey: m.IdentityKey, GroupKey: m.GroupKey, GroupKeySig: m.GroupKeySig})
	}
	for _, w := range c.Wraps {
		out.Wraps = append(out.Wraps, group.Wrap{User: w.User, Wrap: w.Wrap})
	}
	return out
}

// ToCommit returns the wire commit of a group commit; an absent prev becomes the empty string
// of the first commit (spec §7.1).
func ToCommit(c *group.Commit) wire.Commit {
	out := wire.Commit{Group: c.Group, Epoch: int64(c.Epoch), Committer: c.Committer, Prev: c.Prev, Confirm: c.Confirm, Sig: c.Sig}
	if out.Prev == nil {
		out.Prev = []byte{}
	}
	for _, m := range c.Members {
		out.Members = append(out.Members, wire.CommitMember{User: m.User, IdentityKey: m.IdentityKey, GroupKey: m.GroupKey, GroupKeySig: m.GroupKeySig})
	}
	for _, w := range c.Wraps {
		out.Wraps = append(out.Wraps, wire.CommitWrap{User: w.User, Wrap: w.Wrap})
	}
	return out
}

// FromGroupMsg returns the group message of a wire group message.
func FromGroupMsg(m *wire.GroupMsg) group.Message {
	return group.Message{Group: m.Group, Epoch: uint64(m.Epoch), N: uint64(m.N), CT: m.Ct, Sig: m.Sig}
}

// ToGroupMsg returns the wire group message of a group message.
func ToGroupMsg(m *group.Message) wire.GroupMsg {
	return wire.GroupMsg{Group: m.Group, Epoch: int64(m.Epoch), N: int64(m.N), Ct: m.CT, Sig: m.Sig}
}
