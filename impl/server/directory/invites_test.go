package directory

import (
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"pgregory.net/rapid"
)

// TestInvitesModel runs random sequences of invite creations, registrations with and without
// invites, revocations and time passing against a model of spec §5.2.1 (INV-2, INV-3, INV-4,
// INV-6): an invite binds at most its uses of new names before it expires, a refused
// registration binds nothing and uses nothing, a bound name needs no invite.
func TestInvitesModel(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		c := &clock{}
		c.t.Store(1_700_000_000)
		d, err := Open(filepath.Join(t.TempDir(), FileName), Options{Now: c.now})
		if err != nil {
			rt.Fatal(err)
		}
		defer d.Close()
		type minvite struct {
			code    string
			id      string
			uses    int
			expires time.Time // zero: never
			revoked bool
		}
		var invites []*minvite
		bound := map[string]bool{}
		live := func(i *minvite) bool {
			return !i.revoked && i.uses > 0 && (i.expires.IsZero() || c.now().Before(i.expires))
		}
		next := 0
		rt.Repeat(map[string]func(*rapid.T){
			"create": func(rt *rapid.T) {
				uses := rapid.IntRange(1, 3).Draw(rt, "uses")
				ttl := time.Duration(rapid.IntRange(0, 3).Draw(rt, "ttl hours")) * time.Hour
				code, inv, err := d.CreateInvite(uses, ttl)
				if err != nil {
					rt.Fatal(err)
				}
				m := &minvite{code: code, id: inv.ID, uses: uses}
				if ttl > 0 {
					m.expires = c.now().Add(ttl)
				}
				invites = append(invites, m)
			},
			"register": func(rt *rapid.T) {
				user := fmt.Sprintf("u%d", rapid.IntRange(0, next).Draw(rt, "user"))
				if user == fmt.Sprintf("u%d", next) {
					next++
				}
				var inv *minvite
				code := ""
				if len(invites) > 0 && rapid.Bool().Draw(rt, "with invite") {
					inv = rapid.SampledFrom(invites).Draw(rt, "invite")
					code = inv.code
				}
				policy := rapid.SampledFrom([]Policy{PolicyOpen, PolicyInvite}).Draw(rt, "policy")
				_, err := d.Bind(entry(user, 1, 1), Admission{Policy: policy, Invite: code})
				var want error
				switch {
				case bound[user]:
				case inv != nil && !live(inv):
					want = ErrBadInvite
				case inv == nil && policy == PolicyInvite:
					want = ErrInviteRequired
				}
				if !errors.Is(err, want) || (want == nil && err != nil) {
					rt.Fatalf("register %s (invite %v, %v) = %v, want %v", user, inv != nil, policy, err, want)
				}
				if err == nil && !bound[user] {
					bound[user] = true
					if inv != nil {
						inv.uses--
					}
				}
			},
			"revoke": func(rt *rapid.T) {
				if len(invites) == 0 {
					rt.Skip("no invite")
				}
				inv := rapid.SampledFrom(invites).Draw(rt, "invite")
				err := d.RevokeInvite(inv.id)
				if live(inv) != (err == nil) {
					rt.Fatalf("revoke of a live=%v invite: %v", live(inv), err)
				}
				inv.revoked = true
			},
			"wait": func(rt *rapid.T) {
				c.advance(time.Duration(rapid.IntRange(1, 90).Draw(rt, "minutes")) * time.Minute)
			},
			"": func(rt *rapid.T) {
				list, err := d.Invites()
				if err != nil {
					rt.Fatal(err)
				}
				want := 0
				for _, i := range invites {
					if live(i) {
						want++
					}
				}
				if len(list) != want {
					rt.Fatalf("%d usable invites, the model has %d", len(list), want)
				}
				if n, _ := d.Count(); n != len(bound) {
					rt.Fatalf("%d bound names, the model has %d", n, len(bound))
				}
			},
		})
	})
}
