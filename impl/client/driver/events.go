package driver

import (
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"

	"github.com/blindpost/blindpost/impl/client"
	"github.com/blindpost/blindpost/impl/e2ee"
)

func encodeKey(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

// eventLine maps a client event to its driver event (spec A.2), or nil for the events the
// driver protocol has no line for; those are logged.
func eventLine(ev client.Event) any {
	switch e := ev.(type) {
	case client.ChatRequestEvent:
		return chatRequestEvent{Event: "chat_request", From: e.From, Session: e.Session.String()}
	case client.SessionEvent:
		return sessionEvent{Event: "session", Session: e.Session.String(), Peer: e.Peer, State: string(e.State), Reason: clip(e.Reason)}
	case client.DeliveryEvent: // spec A.2 [DRV-20]
		return deliveryEvent{Event: "delivery", Session: e.Session.String(), Peer: e.Peer, N: e.N, State: string(e.State)}
	case client.MessageEvent:
		return messageEvent{Event: "message", Session: e.Session.String(), From: e.From, Text: e.Text, N: e.N}
	case client.GroupEvent: // spec A.2 [DRV-34]
		return groupEvent{Event: "group", Group: e.Group, Epoch: e.Epoch, Members: e.Members, SecuredWith: orEmpty(e.SecuredWith), Missing: orEmpty(e.Missing)}
	case client.GroupSecuredEvent: // spec A.2 [DRV-34]: the same epoch, with the new lists
		return groupEvent{Event: "group", Group: e.Group, Epoch: e.Epoch, Members: e.Members, SecuredWith: orEmpty(e.SecuredWith), Missing: orEmpty(e.Missing)}
	case client.GroupMessageEvent:
		return groupMessageEvent{Event: "group_message", Group: e.Group, From: e.From, Text: e.Text, Epoch: e.Epoch, N: e.N}
	case client.SecurityEvent: // spec A.2 [DRV-2]
		out := securityEvent{Event: "security", Code: string(e.Code), Rule: e.Rule, Peer: e.Peer, Group: e.Group, Detail: clip(e.Detail)}
		if !e.Session.IsZero() {
			out.Session = e.Session.String()
		}
		return out
	case client.PinEvent: // spec A.2, §6.6 [TRUST-1] [TRUST-2]
		reason := "first_use"
		if e.Replaced {
			reason = "trusted"
		}
		return pinnedEvent{Event: "pinned", Peer: e.Peer, Fingerprint: e.Fingerprint, Reason: reason}
	case client.ConnectionEvent:
		if e.State != client.Disconnected {
			return nil
		}
		return disconnectedEvent{Event: "disconnected", Code: e.Code, Reason: clipReason(e.Reason)}
	}
	return nil
}

// orEmpty returns names, or an empty list for nil, so that the line carries [] rather than null.
func orEmpty(names []string) []string {
	if names == nil {
		return []string{}
	}
	return names
}

// clipReason keeps a close reason within the 123 bytes a close frame can carry.
func clipReason(s string) string {
	for len(s) > 123 {
		r := []rune(s)
		s = string(r[:len(r)-1])
	}
	return s
}

// logEvent records the events that have no driver line, for the harness's stderr.
func logEvent(log *slog.Logger, ev client.Event) {
	switch e := ev.(type) {
	case client.PinEvent:
		log.Debug("pinned a peer identity key", "peer", e.Peer, "source", e.Source)
	case client.ConnectionEvent:
		log.Info("connection", "state", e.State.String(), "attempt", e.Attempt, "delay", e.Delay)
	case client.ServerErrorEvent:
		log.Info("relay refused a request", "for", e.For, "code", e.Code, "message", e.Message)
	case client.GroupMembersEvent:
		log.Debug("group members", "group", e.Group, "epoch", e.Epoch, "members", e.Members)
	default:
		log.Debug("event", "type", fmt.Sprintf("%T", ev))
	}
}

// errorCode maps an error of the client to the error code of a driver failure (spec A.1): an
// outcome code of A.4, a relay error code of spec §5.7, or bad_command.
func errorCode(err error) (string, string) {
	var se *client.ServerError
	var f *Failure
	var ce *codedError
	switch {
	case errors.As(err, &f):
		return f.Code, err.Error()
	case errors.As(err, &ce):
		return ce.code, err.Error()
	case errors.As(err, &se):
		return se.Code, err.Error()
	case errors.Is(err, errNoHistory):
		return codeUnimplemented, err.Error()
	case errors.Is(err, client.ErrBadArgument), errors.Is(err, client.ErrUnknownSession):
		return codeBadCommand, err.Error()
	case errors.Is(err, client.ErrNotConnected), errors.Is(err, client.ErrState):
		return "out_of_order", err.Error()
	}
	if o, ok := e2ee.OutcomeOf(err); ok {
		return string(o), err.Error()
	}
	return "internal", err.Error()
}
