// Package admin is the administration interface of the relay: the operator commands on the
// directory (users, invites) and the relay's status. A running relay serves it on a unix socket
// in its data directory (mode 0600: its owner only), one JSON request and one JSON response per
// line; against a stopped relay the command line runs the same commands on the directory file
// itself (Execute). Nothing here is part of the protocol between clients and relays (spec §5.2.1
// describes the policy the commands administer).
package admin

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/blindpost/blindpost/impl/e2ee/identity"
	"github.com/blindpost/blindpost/impl/server/directory"
)

// The commands, as Request.Command.
const (
	UsersList     = "users list"
	UsersShow     = "users show"
	UsersRemove   = "users remove"
	UsersPrune    = "users prune"
	InvitesCreate = "invites create"
	InvitesList   = "invites list"
	InvitesRevoke = "invites revoke"
	Status        = "status"
)

// Request is one command.
type Request struct {
	Command     string        `json:"command"`
	Names       []string      `json:"names,omitempty"`        // users show/remove; invites revoke (id or code)
	Uses        int           `json:"uses,omitempty"`         // invites create
	TTL         time.Duration `json:"ttl,omitempty"`          // invites create; 0: no expiry
	UnusedSince time.Duration `json:"unused_since,omitempty"` // users prune
}

// User is one binding as the commands show it.
type User struct {
	User        string    `json:"user"`
	Fingerprint string    `json:"fingerprint"`
	IdentityKey []byte    `json:"identity_key,omitempty"`
	GroupKey    []byte    `json:"group_key,omitempty"`
	GroupKeySig []byte    `json:"group_key_sig,omitempty"`
	BoundAt     time.Time `json:"bound_at"`
	UpdatedAt   time.Time `json:"updated_at"`
	LastSeen    time.Time `json:"last_seen"`
	Online      bool      `json:"online"`
}

// RelayStatus is what `status` reports of a running relay.
type RelayStatus struct {
	Running            bool      `json:"running"`
	Started            time.Time `json:"started,omitzero"`
	Connections        int64     `json:"connections"`
	Online             int       `json:"online"`
	Bound              int       `json:"bound"`
	MaxUsers           int       `json:"max_users"`
	Registration       string    `json:"registration"`
	NewNamesLastMinute int64     `json:"new_names_last_minute"`
	NewNamesThisMinute int64     `json:"new_names_this_minute"`
	Groups             int       `json:"groups"`
	GroupsWithEpoch    int       `json:"groups_with_epoch"`
	NameTTL            string    `json:"name_ttl"`
	InvitesOutstanding int       `json:"invites_outstanding"`
	// In a cluster (spec §5.11): this relay's node id, and the users online on every node
	// (Online counts this node's).
	Node          string `json:"node,omitempty"`
	ClusterOnline int    `json:"cluster_online,omitempty"`
}

// Response is the answer to a Request: Error, or the fields of its command.
type Response struct {
	Error   string             `json:"error,omitempty"`
	Users   []User             `json:"users,omitempty"`
	Removed []string           `json:"removed,omitempty"`
	Missing []string           `json:"missing,omitempty"`
	Code    string             `json:"code,omitempty"` // invites create: shown once, never stored
	Invites []directory.Invite `json:"invites,omitempty"`
	Status  *RelayStatus       `json:"status,omitempty"`
}

// Relay is what a running relay adds to the directory: who is online, and its status. A stopped
// relay has none (nil).
type Relay interface {
	Online(user string) bool
	// OnlineNow returns the users online now. Execute takes it before a write to the directory
	// begins: the relay may not be asked anything while the directory is locked for writing, as
	// it may itself be waiting to write.
	OnlineNow() map[string]bool
	Status() RelayStatus
}

// Execute runs req on d, with relay the running relay or nil. Errors are reported in the
// Response, for the socket to carry them.
func Execute(d directory.Store, relay Relay, now time.Time, req Request) Response {
	resp, err := execute(d, relay, now, req)
	if err != nil {
		return Response{Error: err.Error()}
	}
	return resp
}

func execute(d directory.Store, relay Relay, now time.Time, req Request) (Response, error) {
	online := func(u string) bool { return relay != nil && relay.Online(u) }
	switch req.Command {
	case UsersList:
		entries, err := d.List()
		if err != nil {
			return Response{}, err
		}
		var out []User
		for _, e := range entries {
			out = append(out, user(e, false, online(e.User)))
		}
		return Response{Users: out}, nil
	case UsersShow:
		if len(req.Names) != 1 {
			return Response{}, errors.New("users show takes one name")
		}
		e, err := d.Lookup(req.Names[0])
		if errors.Is(err, directory.ErrNotFound) {
			return Response{}, fmt.Errorf("%q is not bound; `blindpost-server users list` shows the bound names", req.Names[0])
		}
		if err != nil {
			return Response{}, err
		}
		return Response{Users: []User{user(e, true, online(e.User))}}, nil
	case UsersRemove:
		if len(req.Names) == 0 {
			return Response{}, errors.New("users remove takes one or more names")
		}
		removed, missing, err := d.RemoveAll(req.Names)
		return Response{Removed: removed, Missing: missing}, err
	case UsersPrune:
		if req.UnusedSince < time.Hour {
			return Response{}, errors.New("users prune needs --unused-since of at least 1h")
		}
		// The names online now are in use, however long ago they registered.
		var keep map[string]bool
		if relay != nil {
			keep = relay.OnlineNow()
		}
		removed, err := d.Prune(now.Add(-req.UnusedSince), func(u string) bool { return keep[u] })
		return Response{Removed: removed}, err
	case InvitesCreate:
		code, inv, err := d.CreateInvite(max(req.Uses, 1), req.TTL)
		return Response{Code: code, Invites: []directory.Invite{inv}}, err
	case InvitesList:
		invites, err := d.Invites()
		return Response{Invites: invites}, err
	case InvitesRevoke:
		if len(req.Names) == 0 {
			return Response{}, errors.New("invites revoke takes one or more invite ids or codes")
		}
		var resp Response
		for _, n := range req.Names {
			err := d.RevokeInvite(n)
			switch {
			case errors.Is(err, directory.ErrNotFound):
				resp.Missing = append(resp.Missing, n)
			case err != nil:
				return resp, err
			default:
				resp.Removed = append(resp.Removed, n)
			}
		}
		return resp, nil
	case Status:
		st := RelayStatus{}
		if relay != nil {
			st = relay.Status()
		}
		n, err := d.Count()
		if err != nil {
			return Response{}, err
		}
		st.Bound = n
		if st.GroupsWithEpoch, err = d.GroupCount(); err != nil {
			return Response{}, err
		}
		invites, err := d.Invites()
		if err != nil {
			return Response{}, err
		}
		st.InvitesOutstanding = len(invites)
		return Response{Status: &st}, nil
	}
	return Response{}, fmt.Errorf("unknown command %q (want one of %v)", req.Command, Commands())
}

// Commands returns the command names, sorted.
func Commands() []string {
	return slices.Sorted(slices.Values([]string{UsersList, UsersShow, UsersRemove, UsersPrune, InvitesCreate, InvitesList, InvitesRevoke, Status}))
}

func user(e directory.Entry, keys, online bool) User {
	u := User{User: e.User, Fingerprint: identity.Fingerprint(e.IdentityKey), BoundAt: e.BoundAt, UpdatedAt: e.UpdatedAt,
		LastSeen: e.LastSeen, Online: online}
	if keys {
		u.IdentityKey, u.GroupKey, u.GroupKeySig = e.IdentityKey, e.GroupKey, e.GroupKeySig
	}
	return u
}
