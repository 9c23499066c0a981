package client_test

import (
	"strings"
	"testing"

	"github.com/blindpost/blindpost/impl/client/tlstrust"
	"github.com/blindpost/blindpost/impl/server"
	"github.com/blindpost/blindpost/impl/server/admin"
)

// TestInvite checks that the client sends the invite its user gave it (spec §5.2.1): on an
// invite-only relay it registers a new name with it, and without it gets invite_required
// (INV-2); the invite, used once, is not needed to register the same name again (INV-4).
func TestInvite(t *testing.T) {
	srv := startServer(t, func(c *server.Config) { c.Registration = "invite" })
	pin := srv.Pin
	o := dialOpts(t, srv.URL, tlstrust.Policy{Pin: &pin})
	if err := dialAndClose(t, o); err == nil || !strings.Contains(err.Error(), "invite_required") {
		t.Fatalf("register without invite: %v, want invite_required", err)
	}
	resp, err := admin.Call(ctx(t), server.AdminSocketPath(srv.Config), admin.Request{Command: admin.InvitesCreate, Uses: 1})
	if err != nil || resp.Error != "" {
		t.Fatalf("invites create: %v %s", err, resp.Error)
	}
	o.Invite = resp.Code
	if err := dialAndClose(t, o); err != nil {
		t.Fatalf("register with the invite: %v", err)
	}
	if err := dialAndClose(t, o); err != nil { // the name is bound: the used invite is not checked
		t.Fatalf("register again: %v", err)
	}
}
