package serversuite

import (
	"fmt"

	"github.com/gorilla/websocket"

	"github.com/blindpost/blindpost/conformance/harness"
	"github.com/blindpost/blindpost/impl/wire"
)

func init() {
	add(harness.Case{ID: "registration/bad-invite", Rules: []string{"INV-3", "INV-6", "ERR-2"},
		Description: "register of a new name with an invite the server never issued gets error bad_invite then close 1008, whatever the policy, and the name stays unbound",
		Run:         badInvite})
	add(harness.Case{ID: "groups/empty-group-keeps-epoch", Rules: []string{"GSV-20", "GSV-2"},
		Description: "a group whose last member left keeps its epoch and last commit: the next joiner gets both in group_members",
		Run:         emptyGroupKeepsEpoch})
}

// badInvite registers a fresh name with a well-formed invite no operator issued (INV-3); the
// name is not bound by the refused registration (INV-6).
func badInvite(t *harness.T) {
	name := Name(t, "invited")
	c := Dial(t, "invited")
	c.Hello(name)
	id := c.ID()
	m := RegisterMsg(id, Key(t, name, 0), name, c.Challenge, c.Pin)
	m.Invite = "never-issued-by-any-relay-0123"
	c.Send(m)
	c.ExpectErrorThenClose("INV-3", id, "bad_invite", websocket.ClosePolicyViolation)
	viewer := Register(t, "viewer")
	id = viewer.ID()
	viewer.Send(&wire.GetPubkey{ID: id, User: name})
	viewer.ExpectError("INV-6", id, "unknown_user", "get_pubkey")
}

// emptyGroupKeepsEpoch empties a group after a commit and joins it again (GSV-20).
func emptyGroupKeepsEpoch(t *harness.T) {
	alice, bob := Register(t, "alice"), Register(t, "bob")
	g := NewGroup(t, "g")
	g.Join("GSV-1", alice)
	g.Commit("GSV-5", alice)
	g.Leave("GSV-3", alice)
	g.Join("GSV-20", bob) // epoch 1 and alice's commit as last_commit
}

func init() {
	add(harness.Case{ID: "registration/policy", Rules: []string{"INV-1", "INV-2", "INV-4", "INV-6"},
		Description: "with --registration closed a new name gets server_full, with --registration invite it gets invite_required without an invite; " +
			"with --invite CODE it registers once with the code and the next new name with it gets bad_invite; each refusal closes 1008",
		Run: registrationPolicy})
	add(harness.Case{ID: "registration/rate", Rules: []string{"INV-5", "CLU-7"}, Final: true,
		Description: "with --register-burst N, new names from one address are refused with rate_limited and close 1008 by the N+1-th, " +
			"and a name already bound still registers; it runs last, because the names stay bound",
		Run: registrationRate})
}

// freshRegister dials and sends a register of a new name with invite (none when empty).
func freshRegister(t *harness.T, role, invite string) (*Client, string) {
	name := Name(t, role)
	c := Dial(t, role)
	c.Hello(name)
	c.Key = Key(t, name, 0)
	id := c.ID()
	m := RegisterMsg(id, c.Key, name, c.Challenge, c.Pin)
	m.Invite = invite
	c.Send(m)
	return c, id
}

func registrationPolicy(t *harness.T) {
	cfg := envOf(t).cfg
	switch cfg.Registration {
	case "closed":
		c, id := freshRegister(t, "closed", "")
		c.ExpectErrorThenClose("INV-1", id, "server_full", websocket.ClosePolicyViolation)
	case "invite":
		c, id := freshRegister(t, "uninvited", "")
		c.ExpectErrorThenClose("INV-2", id, "invite_required", websocket.ClosePolicyViolation)
		if cfg.Invite == "" {
			t.Logf("no --invite given: the use of an invite (INV-4) is not checked")
			return
		}
		c, id = freshRegister(t, "invited", cfg.Invite)
		c.ExpectResponse("INV-4", id, "register_ack")
		c, id = freshRegister(t, "reinvited", cfg.Invite)
		c.ExpectErrorThenClose("INV-4", id, "bad_invite", websocket.ClosePolicyViolation)
	default:
		t.Skipf("the server's registration policy is not known: give --registration closed or invite (INV-1, INV-2)")
	}
}

func registrationRate(t *harness.T) {
	burst := envOf(t).cfg.RegisterBurst
	if burst == 0 {
		t.Skipf("the server's registration burst is not known: give --register-burst N for a relay with a slow refill (INV-5)")
	}
	var first *Client
	for i := 0; ; i++ {
		if i > burst {
			t.FatalMismatch("INV-5", fmt.Sprintf("error rate_limited for new name number %d at the latest", burst+1), fmt.Sprintf("%d new names registered", i))
		}
		c, id := freshRegister(t, fmt.Sprintf("rate%d", i), "")
		f := c.Response("register_ack or error rate_limited")
		if f.Type == "error" && f.Str("code") == "rate_limited" {
			c.checkID(id, f)
			c.ExpectClose("INV-5", websocket.ClosePolicyViolation)
			break
		}
		if f.Type != "register_ack" {
			t.FatalMismatch("INV-5", describe("register_ack or error rate_limited", id), f.Short())
		}
		if first == nil {
			first = c
		} else {
			c.Close()
		}
	}
	if first == nil {
		t.Logf("the burst was used up before the case: the registration of a bound name is not checked")
		return
	}
	first.Close()
	again := RegisterAs(t, "again", first.Name, first.Key) // a bound name is not rate limited
	again.Alive("INV-5")
}
