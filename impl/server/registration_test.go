package server_test

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/blindpost/blindpost/impl/server"
	"github.com/blindpost/blindpost/impl/server/admin"
	"github.com/blindpost/blindpost/impl/server/servertest"
)

// TestMaxUsersRacingRegistrations checks REG-13 under concurrency: 40 registrations of new
// names that race each other against --max-users 5 bind exactly 5 names; the others get
// server_full and 1008.
func TestMaxUsersRacingRegistrations(t *testing.T) {
	srv := servertest.Start(t, func(c *server.Config) { c.MaxUsers = 5 })
	const n = 40
	clients := make([]*client, n)
	regs := make([]msg, n)
	for i := range clients {
		clients[i] = dial(t, srv, fmt.Sprintf("racer%d", i))
		regs[i] = clients[i].registerMsg(clients[i].hello(), srv.Pin.Bytes())
	}
	for i, c := range clients { // every register is on the wire before the first answer is read
		c.send(regs[i])
	}
	acked := 0
	for _, c := range clients {
		switch m := c.nextMsg(); m["type"] {
		case "register_ack":
			acked++
		case "error":
			if m["code"] != "server_full" {
				t.Fatalf("%s: %s, want register_ack or server_full", c.name, compact(m))
			}
			c.expectClose(websocket.ClosePolicyViolation)
		default:
			t.Fatalf("%s: %s", c.name, compact(m))
		}
	}
	if acked != 5 {
		t.Fatalf("%d of %d racing registrations bound a name with --max-users 5 (REG-13)", acked, n)
	}
}

// adminCall runs one administration command on srv's socket.
func adminCall(t *testing.T, srv *servertest.Server, req admin.Request) admin.Response {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), wait)
	defer cancel()
	resp, err := admin.Call(ctx, server.AdminSocketPath(srv.Config), req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Error != "" {
		t.Fatalf("%s: %s", req.Command, resp.Error)
	}
	return resp
}

// TestRegistrationPolicy checks INV-1 to INV-4 on the wire: an invite-only relay refuses a new
// name without an invite (invite_required) or with a bad one (bad_invite), both with 1008;
// accepts one with an invite made over the admin socket, exactly once; a bound name needs no
// invite; a closed relay refuses new names with server_full.
func TestRegistrationPolicy(t *testing.T) {
	dir := t.TempDir()
	srv := servertest.StartIn(t, dir, func(c *server.Config) { c.Registration = "invite" })
	refused := func(name, invite, code string) {
		t.Helper()
		c := dial(t, srv, name)
		m := c.registerMsg(c.hello(), srv.Pin.Bytes())
		if invite != "" {
			m["invite"] = invite
		}
		c.send(m)
		c.expectErrorThenClose(code, websocket.ClosePolicyViolation)
	}
	refused("bob", "", "invite_required")                    // INV-2
	refused("bob", "AAAAAAAAAAAAAAAAAAAAAAAA", "bad_invite") // INV-3
	code := adminCall(t, srv, admin.Request{Command: admin.InvitesCreate, Uses: 1, TTL: time.Hour}).Code
	bob := dial(t, srv, "bob")
	m := bob.registerMsg(bob.hello(), srv.Pin.Bytes())
	m["invite"] = code
	bob.send(m)
	bob.expect("register_ack")
	refused("carol", code, "bad_invite") // INV-4: used once
	again := dial(t, srv, "bob")         // a bound name registers without invite
	again.key = bob.key
	again.register()
	srv.Close()

	closed := servertest.StartIn(t, dir, func(c *server.Config) { c.Registration = "closed" })
	srv = closed
	refused("dave", "", "server_full") // INV-1
	bob2 := dial(t, srv, "bob")
	bob2.key = bob.key
	bob2.register()
}

// TestBadInviteOnOpenRelay checks INV-3 on an open relay: an invite that is presented is
// checked, whatever the policy.
func TestBadInviteOnOpenRelay(t *testing.T) {
	srv := servertest.Start(t)
	c := dial(t, srv, "mallory")
	m := c.registerMsg(c.hello(), srv.Pin.Bytes())
	m["invite"] = "not-an-invite-of-this-relay"
	c.send(m)
	c.expectErrorThenClose("bad_invite", websocket.ClosePolicyViolation)
}

// TestRegistrationRate checks INV-5: new names beyond one address's burst are refused with
// rate_limited and 1008; a bound name still registers; the relay-wide bucket holds too.
func TestRegistrationRate(t *testing.T) {
	for _, tc := range []struct {
		name string
		opt  servertest.Option
	}{
		{"per address", func(c *server.Config) { c.RegisterRate, c.RegisterBurst = 0.001, 3 }},
		{"global", func(c *server.Config) { c.RegisterRateGlobal, c.RegisterBurstGlobal = 0.001, 3 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := servertest.Start(t, tc.opt)
			first := connect(t, srv, "u0")
			connect(t, srv, "u1")
			connect(t, srv, "u2")
			c := dial(t, srv, "u3")
			c.send(c.registerMsg(c.hello(), srv.Pin.Bytes()))
			c.expectErrorThenClose("rate_limited", websocket.ClosePolicyViolation)
			again := dial(t, srv, "u0")
			again.key = first.key
			again.register()
		})
	}
}

// TestAdminSocket checks the administration socket of a running relay: mode 0600, users
// list/show/remove/prune, invites create/list/revoke and status, while the relay serves.
func TestAdminSocket(t *testing.T) {
	srv := servertest.Start(t)
	path := server.AdminSocketPath(srv.Config)
	fi, err := os.Stat(path)
	if err != nil || fi.Mode()&os.ModeSocket == 0 || fi.Mode().Perm() != 0o600 {
		t.Fatalf("admin socket %s: %v, %v; want a socket with mode 0600", path, fi, err)
	}
	alice := connect(t, srv, "alice")
	connect(t, srv, "bob")
	bob := adminCall(t, srv, admin.Request{Command: admin.UsersShow, Names: []string{"bob"}}).Users
	if len(bob) != 1 || !bob[0].Online || len(bob[0].IdentityKey) != 32 {
		t.Fatalf("users show bob = %+v", bob)
	}
	list := adminCall(t, srv, admin.Request{Command: admin.UsersList}).Users
	if len(list) != 2 || list[0].User != "alice" || !list[0].Online {
		t.Fatalf("users list = %+v", list)
	}
	st := adminCall(t, srv, admin.Request{Command: admin.Status}).Status
	if st == nil || !st.Running || st.Connections != 2 || st.Online != 2 || st.Bound != 2 || st.NewNamesThisMinute+st.NewNamesLastMinute != 2 {
		t.Fatalf("status = %+v", st)
	}
	resp := adminCall(t, srv, admin.Request{Command: admin.UsersRemove, Names: []string{"bob", "nobody"}})
	if len(resp.Removed) != 1 || len(resp.Missing) != 1 {
		t.Fatalf("users remove = %+v", resp)
	}
	inv := adminCall(t, srv, admin.Request{Command: admin.InvitesCreate, Uses: 2})
	if inv.Code == "" || len(inv.Invites) != 1 {
		t.Fatalf("invites create = %+v", inv)
	}
	if l := adminCall(t, srv, admin.Request{Command: admin.InvitesList}).Invites; len(l) != 1 || l[0].Uses != 2 {
		t.Fatalf("invites list = %+v", l)
	}
	adminCall(t, srv, admin.Request{Command: admin.InvitesRevoke, Names: []string{inv.Invites[0].ID}})
	if l := adminCall(t, srv, admin.Request{Command: admin.InvitesList}).Invites; len(l) != 0 {
		t.Fatalf("invites list after revoke = %+v", l)
	}
	// A freed name takes a new key while the relay keeps serving alice.
	mallory := connect(t, srv, "bob")
	alice.send(msg{"type": "get_pubkey", "id": "k", "user": "bob"})
	if pk := alice.expect("pubkey"); pk["identity_key"] != b64(mallory.key.Public()) {
		t.Fatalf("after users remove, bob is %s", compact(pk))
	}
	if r, err := admin.Call(t.Context(), path, admin.Request{Command: admin.UsersPrune}); err != nil || r.Error == "" {
		t.Fatalf("users prune without --unused-since = %+v, %v; want an error", r, err)
	}
	srv.Close()
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("the socket outlives the relay: %v", err)
	}
}
