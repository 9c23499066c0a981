package clientsuite

import (
	"fmt"
	"runtime"

	"github.com/blindpost/blindpost/impl/e2ee/identity"
	"github.com/blindpost/blindpost/impl/wire"
)

// Peer is a virtual user: an identity the runner holds, listed in the relay's directory and
// online, whose inbox receives what the client sends it through the relay.
type Peer struct {
	Name  string
	Key   *identity.PrivateKey
	w     *World
	inbox *mailbox[wire.Message]
}

// NewPeer creates a virtual user with a fresh identity from the case's random source and
// registers it at the relay.
func (w *World) NewPeer(name string) *Peer {
	p := &Peer{Name: name, Key: w.NewKey(), w: w, inbox: newMailbox[wire.Message]()}
	w.Relay.mu.Lock()
	w.Relay.peers[name] = p
	w.Relay.mu.Unlock()
	w.Relay.ServeKey(p.Pubkey())
	return p
}

// NewKey returns a fresh identity from the case's random source.
func (w *World) NewKey() *identity.PrivateKey {
	k, err := identity.FromSeed(w.RandBytes(identity.SeedSize))
	if err != nil {
		w.T.Fatalf("clientsuite: identity: %v", err)
	}
	return k
}

// Pubkey is the directory entry of the peer's identity (spec §5.4).
func (p *Peer) Pubkey() wire.Pubkey { return PubkeyOf(p.Name, p.Key) }

// PubkeyOf is the directory entry of key for user.
func PubkeyOf(user string, key *identity.PrivateKey) wire.Pubkey {
	return wire.Pubkey{User: user, IdentityKey: key.Public(), GroupKey: key.GroupPublic(), GroupKeySig: key.GroupKeySig(user)}
}

// Await takes the first message in the peer's inbox that match selects, waiting at most the
// configured wait; on timeout it stops the case naming rule.
func (p *Peer) Await(rule, what string, match func(wire.Message) bool) wire.Message {
	m, ok := p.inbox.nextMatch(p.w.T, what+" for "+p.Name, p.w.Wait, match)
	if !ok {
		p.w.T.MismatchMsg(rule, what+" sent to "+p.Name, "nothing within "+p.w.Wait.String()+p.pendingText(),
			"timed out waiting for %s sent to %s%s", what, p.Name, p.w.D.exitNote())
		runtime.Goexit()
	}
	return m
}

// Pending returns the messages in the peer's inbox not taken yet.
func (p *Peer) Pending() []wire.Message { return p.inbox.pending() }

func (p *Peer) pendingText() string {
	pend := p.inbox.pending()
	if len(pend) == 0 {
		return ""
	}
	s := "; the client sent instead:"
	for _, m := range pend {
		data, _ := wire.Encode(m)
		s += " " + printable(data)
	}
	return s
}

// AwaitRelay takes the next relay payload of kind for session sid.
func (p *Peer) AwaitRelay(rule string, sid []byte, kind string) *wire.Relay {
	m := p.Await(rule, fmt.Sprintf("a relay of %s for session %s", kind, b64(sid)), func(m wire.Message) bool {
		r, ok := m.(*wire.Relay)
		return ok && string(r.Session) == string(sid) && r.Payload.PayloadKind() == kind
	})
	return m.(*wire.Relay)
}

// ChatRequest sends the client a chat_request from the peer (spec §6.1).
func (p *Peer) ChatRequest(sid []byte) {
	p.w.Relay.Send(&wire.IncomingChatRequest{From: p.Name, Session: sid})
}

// ChatResponse sends the client a chat_response from the peer.
func (p *Peer) ChatResponse(sid []byte, accepted bool) {
	p.w.Relay.Send(&wire.IncomingChatResponse{From: p.Name, Session: sid, Accepted: accepted})
}

// Terminate sends the client a chat_terminate from the peer (spec §6.5).
func (p *Peer) Terminate(sid []byte) {
	p.w.Relay.Send(&wire.IncomingChatTerminate{From: p.Name, Session: sid})
}

// Relay sends the client a relay payload from the peer.
func (p *Peer) Relay(sid []byte, payload wire.Payload) { p.RelayAs(p.Name, sid, payload) }

// RelayAs sends a relay payload stamped with from: a relay forging from when from is not the
// peer's name.
func (p *Peer) RelayAs(from string, sid []byte, payload wire.Payload) {
	p.w.Relay.Send(&wire.IncomingRelay{From: from, Session: sid, Payload: payload})
}
