package main

import (
	"github.com/blindpost/blindpost/impl/client/wiretap"
	"github.com/blindpost/blindpost/impl/wire"
)

// helloUser returns the user a hello names.
func helloUser(f wiretap.Frame) (string, bool) {
	if f.Direction != wiretap.ToRelay {
		return "", false
	}
	m, err := wire.Decode(wire.FromClient, f.Data)
	if err != nil {
		return "", false
	}
	h, ok := m.(*wire.Hello)
	if !ok {
		return "", false
	}
	return h.User, true
}

// isForwarded reports whether a relay-to-client message is the forwarded copy of what another
// client sent (the demo shows the sender's copy only).
func isForwarded(f wiretap.Frame) bool {
	m, err := wire.Decode(wire.FromServer, f.Data)
	if err != nil {
		return false
	}
	switch m.(type) {
	case *wire.IncomingRelay, *wire.IncomingChatRequest, *wire.IncomingChatResponse,
		*wire.IncomingChatTerminate, *wire.IncomingGroupCommit, *wire.IncomingGroupMessage:
		return true
	}
	return false
}
