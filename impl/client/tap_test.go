package client_test

import (
	"testing"

	"github.com/blindpost/blindpost/impl/client"
	"github.com/blindpost/blindpost/impl/client/internal/testrelay"
	"github.com/blindpost/blindpost/impl/client/tlstrust"
	"github.com/blindpost/blindpost/impl/client/wiretap"
	"github.com/blindpost/blindpost/impl/server/servertest"
	"github.com/blindpost/blindpost/impl/wire"
)

// tapped is a relay behind a wiretap proxy: the test sees and injects messages.
type tapped struct {
	*testrelay.Relay
	srv *servertest.Server
	tap *wiretap.Proxy
}

func startTapped(t *testing.T) *tapped {
	t.Helper()
	r := testrelay.Start(t)
	return &tapped{Relay: r, srv: r.Srv, tap: r.Tap}
}

// connect dials the proxy as user.
func (tp *tapped) connect(t *testing.T, user string, opts ...peerOption) *peer {
	t.Helper()
	return connect(t, tp.srv, user, append([]peerOption{func(o *client.Options) {
		pin := tp.Pin()
		o.URL, o.TLS = tp.URL(), tlstrust.Policy{Pin: &pin}
	}}, opts...)...)
}

// sent decodes what crossed the proxy towards the relay.
func (tp *tapped) sent(t *testing.T) []wire.Message {
	t.Helper()
	var out []wire.Message
	for _, m := range tp.Sent(t, wiretap.ToRelay) {
		out = append(out, m.Msg)
	}
	return out
}
