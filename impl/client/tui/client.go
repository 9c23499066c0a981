package tui

import (
	"context"

	tea "charm.land/bubbletea/v2"

	"github.com/blindpost/blindpost/impl/client"
)

// Client is what the terminal UI calls of the client library. *client.Client implements it;
// tests use a fake.
type Client interface {
	User() string
	Fingerprint() string
	Events() <-chan client.Event

	Chat(ctx context.Context, peer string) (client.SessionID, error)
	Accept(ctx context.Context, sid client.SessionID) error
	Decline(ctx context.Context, sid client.SessionID) error
	Send(ctx context.Context, sid client.SessionID, text string) (uint64, error)
	End(ctx context.Context, sid client.SessionID) error
	Outbox(peer string) []client.Undelivered
	TakeOutbox(peer string) []client.Undelivered

	JoinGroup(ctx context.Context, name string) error
	LeaveGroup(ctx context.Context, name string) error
	GroupSend(ctx context.Context, name, text string) (epoch, n uint64, err error)

	SafetyNumber(ctx context.Context, peer string) (string, error)
	PinnedFingerprint(peer string) (string, bool)
	ServedFingerprint(ctx context.Context, peer string) (string, error)
	Trust(ctx context.Context, peer string) error

	Close() error
}

var _ Client = (*client.Client)(nil)

// eventMsg carries one event of the library into Update.
type eventMsg struct{ ev client.Event }

// eventsClosedMsg says that the library closed its event channel: the client stopped for good.
type eventsClosedMsg struct{}

// waitEvent returns a command that reads one event from ch. Update issues it again after each
// event, so that exactly one read is pending at any time and events keep their order.
func waitEvent(ch <-chan client.Event) tea.Cmd {
	return func() tea.Msg {
		ev, ok := <-ch
		if !ok {
			return eventsClosedMsg{}
		}
		return eventMsg{ev}
	}
}
