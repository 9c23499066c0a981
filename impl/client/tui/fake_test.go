package tui

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/blindpost/blindpost/impl/client"
	"github.com/blindpost/blindpost/impl/e2ee"
)

// fakeClient stands in for the library: it records the calls, answers at once, and queues the
// events the real library would emit, which the harness then delivers one at a time.
type fakeClient struct {
	user   string
	calls  []string
	queue  []client.Event
	errs   map[string]error  // the error a method returns, by name
	pins   map[string]string // peer → pinned fingerprint
	served map[string]string // peer → fingerprint the directory serves
	next   byte              // the last byte of the last session id handed out
	peers  map[client.SessionID]string
	closed bool
	sentN  uint64               // the counter the next Send returns
	refuse error                // the relay refuses the next records after they were sealed
	outbox []client.Undelivered // what the library keeps of messages that were not delivered
}

func newFake(user string) *fakeClient {
	return &fakeClient{user: user, errs: map[string]error{}, pins: map[string]string{}, served: map[string]string{},
		peers: map[client.SessionID]string{}}
}

// sid returns the session id the fake hands out as number n.
func sid(n byte) client.SessionID { return client.SessionID{15: n} }

// fp returns a fingerprint made of one repeated hex digit.
func fp(digit string) string { return "sha256:" + strings.Repeat(digit, 64) }

func (f *fakeClient) call(format string, args ...any) {
	f.calls = append(f.calls, fmt.Sprintf(format, args...))
}
func (f *fakeClient) emit(e client.Event) { f.queue = append(f.queue, e) }

func (f *fakeClient) User() string                { return f.user }
func (f *fakeClient) Fingerprint() string         { return fp("a") }
func (f *fakeClient) Events() <-chan client.Event { return nil }

func (f *fakeClient) Chat(_ context.Context, peer string) (client.SessionID, error) {
	f.call("Chat %s", peer)
	if err := f.errs["Chat"]; err != nil {
		return client.SessionID{}, err
	}
	f.next++
	s := sid(f.next)
	f.peers[s] = peer
	f.emit(client.SessionEvent{Session: s, Peer: peer, State: client.SessionRequested, Initiator: true})
	return s, nil
}

func (f *fakeClient) Accept(_ context.Context, s client.SessionID) error {
	f.call("Accept %d", s[15])
	if err := f.errs["Accept"]; err != nil {
		return err
	}
	f.emit(client.SessionEvent{Session: s, Peer: f.peerOf(s), State: client.SessionHandshaking, PeerFingerprint: fp("b")})
	return nil
}

func (f *fakeClient) Decline(_ context.Context, s client.SessionID) error {
	f.call("Decline %d", s[15])
	f.emit(client.SessionEvent{Session: s, Peer: f.peerOf(s), State: client.SessionDeclined, Reason: "declined by you"})
	return nil
}

// Send returns the next counter; with errs["Send"] set it fails before sealing, as when the
// connection is down.
func (f *fakeClient) Send(_ context.Context, s client.SessionID, text string) (uint64, error) {
	f.call("Send %d %q", s[15], text)
	if err := f.errs["Send"]; err != nil {
		return 0, err
	}
	n := f.sentN
	f.sentN++
	if f.refuse != nil {
		f.emit(f.fail(s, f.peerOf(s), n, text))
		return n, f.refuse
	}
	return n, nil
}

// fail does what the library does when a message cannot arrive any more: it keeps its text and
// reports it failed (spec §9 [CLI-21]).
func (f *fakeClient) fail(s client.SessionID, peer string, n uint64, text string) client.DeliveryEvent {
	f.outbox = append(f.outbox, client.Undelivered{Session: s, Peer: peer, N: n, Text: text})
	return client.DeliveryEvent{Session: s, Peer: peer, N: n, State: client.DeliveryFailed}
}

func (f *fakeClient) Outbox(peer string) []client.Undelivered {
	var out []client.Undelivered
	for _, u := range f.outbox {
		if u.Peer == peer {
			out = append(out, u)
		}
	}
	return out
}

func (f *fakeClient) TakeOutbox(peer string) []client.Undelivered {
	f.call("TakeOutbox %s", peer)
	out := f.Outbox(peer)
	f.outbox = slices.DeleteFunc(f.outbox, func(u client.Undelivered) bool { return u.Peer == peer })
	return out
}

func (f *fakeClient) End(_ context.Context, s client.SessionID) error {
	f.call("End %d", s[15])
	f.emit(client.SessionEvent{Session: s, Peer: f.peerOf(s), State: client.SessionEnded, Reason: "ended by you"})
	return nil
}

func (f *fakeClient) JoinGroup(_ context.Context, name string) error {
	f.call("JoinGroup %s", name)
	f.emit(client.GroupMembersEvent{Group: name, Epoch: 0, Members: []string{f.user}})
	f.emit(client.GroupEvent{Group: name, Epoch: 1, Members: []string{f.user}, Committer: f.user})
	return nil
}

func (f *fakeClient) LeaveGroup(_ context.Context, name string) error {
	f.call("LeaveGroup %s", name)
	f.emit(client.GroupLeftEvent{Group: name})
	return nil
}

func (f *fakeClient) GroupSend(_ context.Context, name, text string) (uint64, uint64, error) {
	f.call("GroupSend %s %q", name, text)
	return 1, 0, nil
}

func (f *fakeClient) SafetyNumber(_ context.Context, peer string) (string, error) {
	f.call("SafetyNumber %s", peer)
	if _, ok := f.pins[peer]; !ok {
		return "", e2ee.Reject(e2ee.KeyChanged, "TRUST-2", "test")
	}
	return "123456789012345678901234567890098765432109876543210987654321", nil
}

func (f *fakeClient) PinnedFingerprint(peer string) (string, bool) {
	p, ok := f.pins[peer]
	return p, ok
}

func (f *fakeClient) ServedFingerprint(_ context.Context, peer string) (string, error) {
	f.call("ServedFingerprint %s", peer)
	return f.served[peer], nil
}

func (f *fakeClient) Trust(_ context.Context, peer string) error {
	f.call("Trust %s", peer)
	f.pins[peer] = f.served[peer]
	f.emit(client.PinEvent{Peer: peer, Fingerprint: f.served[peer], Replaced: true, Source: "directory"})
	return nil
}

func (f *fakeClient) Close() error {
	f.call("Close")
	f.closed = true
	return nil
}

// peerOf is the peer of a session the fake started or was told about.
func (f *fakeClient) peerOf(s client.SessionID) string { return f.peers[s] }
