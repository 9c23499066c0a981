package servercmd

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/blindpost/blindpost/impl/server"
	"github.com/blindpost/blindpost/impl/server/admin"
	"github.com/blindpost/blindpost/impl/server/directory"
)

// adminWait bounds one command sent to a running relay.
const adminWait = 30 * time.Second

// adminFlags are the flags of every administration command: where the running relay's socket
// is (with --data, where a stopped relay's directory is).
func (o *options) adminFlags(cmd *cobra.Command) *cobra.Command {
	cmd.PersistentFlags().StringVar(&o.cfg.AdminSocket, "admin-socket", o.cfg.AdminSocket,
		"the running relay's administration socket, relative to --data unless absolute")
	return cmd
}

// usersCommand groups the operator commands on the directory (spec §5.2, §5.2.1).
func (o *options) usersCommand() *cobra.Command {
	users := &cobra.Command{
		Use:   "users",
		Short: "List, show, remove and prune username bindings (the relay may keep running)",
		Long: `users works on the directory of identity keys. Usernames are bound to the first identity key that
registered them (spec REG-5); removing a binding is how a user who lost their key gets the name
back, and pruning releases the names nobody has used for a while (spec INV-7).

While the relay runs, the commands go through its administration socket (admin.sock in the data
directory, mode 0600: the relay's user only) and the relay keeps serving. When it is stopped,
they open the directory file directly. With --cluster nats://… they work on the cluster's
directory in NATS, whichever relays run.`,
		Example: `  blindpost-server users list --data /var/lib/blindpost
  blindpost-server users show alice
  blindpost-server users remove alice bob
  blindpost-server users prune --unused-since 720h`,
	}
	var unused time.Duration
	prune := &cobra.Command{
		Use: "prune", Short: "Release every name that has not registered within --unused-since (names online are kept)",
		Args: configArgs(cobra.NoArgs),
		RunE: func(*cobra.Command, []string) error {
			if unused < time.Hour {
				return configError{errors.New("--unused-since must be at least 1h (such as 720h for 30 days)")}
			}
			return o.usersPrune(unused)
		},
	}
	prune.Flags().DurationVar(&unused, "unused-since", 0, "release the names not registered for this long (such as 2160h for 90 days)")
	users.AddCommand(
		&cobra.Command{
			Use: "list", Short: "List every bound username with its fingerprint and when it last registered", Args: configArgs(cobra.NoArgs),
			RunE: func(*cobra.Command, []string) error { return o.usersList() },
		},
		&cobra.Command{
			Use: "show NAME", Short: "Show the keys bound to a username", Args: configArgs(cobra.ExactArgs(1)),
			RunE: func(_ *cobra.Command, args []string) error { return o.usersShow(args[0]) },
		},
		&cobra.Command{
			Use: "remove NAME...", Short: "Free usernames, so that new identity keys can register them", Args: configArgs(cobra.MinimumNArgs(1)),
			RunE: func(_ *cobra.Command, args []string) error { return o.usersRemove(args) },
		},
		prune,
	)
	return o.adminFlags(users)
}

// invitesCommand groups the invite commands (spec §5.2.1).
func (o *options) invitesCommand() *cobra.Command {
	invites := &cobra.Command{
		Use:   "invites",
		Short: "Create, list and revoke invite codes for --registration invite",
		Long: `invites manages the codes that let new users bind a name on a relay started with
--registration invite (spec INV-2 to INV-4). A code is shown once, when it is created: the
relay keeps only its hash. Give it to the new user, whose client sends it with register.`,
		Example: `  blindpost-server invites create                   # one use, valid for 7 days
  blindpost-server invites create --uses 10 --ttl 24h
  blindpost-server invites list
  blindpost-server invites revoke 3f2a9c01`,
	}
	var (
		uses int
		ttl  time.Duration
	)
	create := &cobra.Command{
		Use: "create", Short: "Create an invite code", Args: configArgs(cobra.NoArgs),
		RunE: func(*cobra.Command, []string) error {
			if uses < 1 || ttl < 0 {
				return configError{errors.New("--uses must be at least 1 and --ttl not negative")}
			}
			return o.invitesCreate(uses, ttl)
		},
	}
	create.Flags().IntVar(&uses, "uses", 1, "how many new names the code may bind")
	create.Flags().DurationVar(&ttl, "ttl", 7*24*time.Hour, "how long the code is valid (0: until used up)")
	invites.AddCommand(create,
		&cobra.Command{
			Use: "list", Short: "List the invites that can still be used", Args: configArgs(cobra.NoArgs),
			RunE: func(*cobra.Command, []string) error { return o.invitesList() },
		},
		&cobra.Command{
			Use: "revoke ID...", Short: "Revoke invites by id (or code)", Args: configArgs(cobra.MinimumNArgs(1)),
			RunE: func(_ *cobra.Command, args []string) error { return o.invitesRevoke(args) },
		},
	)
	return o.adminFlags(invites)
}

// statusCommand prints the running relay's status.
func (o *options) statusCommand() *cobra.Command {
	return o.adminFlags(&cobra.Command{
		Use:   "status",
		Short: "Show connections, users, registrations per minute and groups of the relay",
		Long: `status asks the running relay over its administration socket; against a stopped relay it
reports what the directory holds.`,
		Example: "  blindpost-server status --data /var/lib/blindpost",
		Args:    configArgs(cobra.NoArgs),
		RunE:    func(*cobra.Command, []string) error { return o.status() },
	})
}

// do runs req on the running relay's socket, or, when no relay serves it, on the directory file.
func (o *options) do(ctx context.Context, req admin.Request, readOnly bool) (admin.Response, error) {
	if o.cluster.urls != "" {
		return o.doCluster(ctx, req)
	}
	if path := server.AdminSocketPath(o.cfg); path != "" {
		ctx, cancel := context.WithTimeout(ctx, adminWait)
		defer cancel()
		resp, err := admin.Call(ctx, path, req)
		if err == nil {
			return resp, respErr(resp)
		}
		if !errors.Is(err, admin.ErrNotRunning) {
			return resp, err
		}
	}
	d, err := o.openDirectory(readOnly)
	if err != nil {
		return admin.Response{}, err
	}
	defer d.Close()
	resp := admin.Execute(d, nil, time.Now(), req)
	return resp, respErr(resp)
}

func respErr(r admin.Response) error {
	if r.Error != "" {
		return errors.New(r.Error)
	}
	return nil
}

// openDirectory opens the directory of the data directory, refusing clearly when it does not
// exist or a running server holds it.
func (o *options) openDirectory(readOnly bool) (*directory.Directory, error) {
	path := filepath.Join(o.cfg.DataDir, directory.FileName)
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("no directory at %s: start the server once with --data %s, or pass the --data of your server", path, o.cfg.DataDir)
	}
	d, err := directory.Open(path, directory.Options{ReadOnly: readOnly, LockTimeout: 200 * time.Millisecond})
	if errors.Is(err, directory.ErrLocked) {
		return nil, fmt.Errorf("the directory %s is in use by a running blindpost-server that serves no administration socket at --admin-socket: give its --admin-socket, or stop the server, then run this command again", path)
	}
	return d, err
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

func (o *options) usersList() error {
	resp, err := o.do(context.Background(), admin.Request{Command: admin.UsersList}, true)
	if err != nil {
		return err
	}
	if len(resp.Users) == 0 {
		fmt.Fprintln(o.stdout, "no usernames are bound")
		return nil
	}
	w := tabwriter.NewWriter(o.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "USER\tFINGERPRINT\tBOUND\tLAST SEEN\tONLINE")
	for _, u := range resp.Users {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", u.User, u.Fingerprint, stamp(u.BoundAt), stamp(u.LastSeen), o.online(u.Online))
	}
	return w.Flush()
}

// online shows whether a user is online: unknown ("?") when the command read the cluster's
// bucket, which records no connection.
func (o *options) online(on bool) string {
	if o.cluster.urls != "" {
		return "?"
	}
	return fmt.Sprint(on)
}

func (o *options) usersShow(name string) error {
	resp, err := o.do(context.Background(), admin.Request{Command: admin.UsersShow, Names: []string{name}}, true)
	if err != nil {
		return err
	}
	u := resp.Users[0]
	b64 := base64.StdEncoding.EncodeToString
	w := tabwriter.NewWriter(o.stdout, 0, 4, 1, ' ', 0)
	fmt.Fprintf(w, "user:\t%s\n", u.User)
	fmt.Fprintf(w, "fingerprint:\t%s\n", u.Fingerprint)
	fmt.Fprintf(w, "identity key:\t%s\n", b64(u.IdentityKey))
	fmt.Fprintf(w, "group key:\t%s\n", b64(u.GroupKey))
	fmt.Fprintf(w, "group key sig:\t%s\n", b64(u.GroupKeySig))
	fmt.Fprintf(w, "bound:\t%s\n", stamp(u.BoundAt))
	fmt.Fprintf(w, "updated:\t%s\n", stamp(u.UpdatedAt))
	fmt.Fprintf(w, "last seen:\t%s\n", stamp(u.LastSeen))
	fmt.Fprintf(w, "online:\t%s\n", o.online(u.Online))
	return w.Flush()
}

func (o *options) usersRemove(names []string) error {
	resp, err := o.do(context.Background(), admin.Request{Command: admin.UsersRemove, Names: names}, false)
	if err != nil {
		return err
	}
	for _, n := range resp.Removed {
		fmt.Fprintf(o.stdout, "removed %s: the next identity key to register %s will hold it\n", n, n)
	}
	if len(resp.Missing) > 0 {
		return fmt.Errorf("%s not bound; nothing to remove (`blindpost-server users list` shows the bound names)", strings.Join(quoted(resp.Missing), ", "))
	}
	return nil
}

func quoted(names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = fmt.Sprintf("%q", n)
	}
	return out
}

func (o *options) usersPrune(unused time.Duration) error {
	resp, err := o.do(context.Background(), admin.Request{Command: admin.UsersPrune, UnusedSince: unused}, false)
	if err != nil {
		return err
	}
	fmt.Fprintf(o.stdout, "released %d name(s) not registered for %s\n", len(resp.Removed), unused)
	for _, n := range resp.Removed {
		fmt.Fprintf(o.stdout, "  %s\n", n)
	}
	return nil
}

func (o *options) invitesCreate(uses int, ttl time.Duration) error {
	resp, err := o.do(context.Background(), admin.Request{Command: admin.InvitesCreate, Uses: uses, TTL: ttl}, false)
	if err != nil {
		return err
	}
	inv := resp.Invites[0]
	fmt.Fprintf(o.stdout, "invite %s (id %s): %d use(s), expires %s\n", resp.Code, inv.ID, inv.Uses, stamp(inv.Expires))
	fmt.Fprintln(o.stdout, "the code is shown only now: give it to the new user")
	return nil
}

func (o *options) invitesList() error {
	resp, err := o.do(context.Background(), admin.Request{Command: admin.InvitesList}, true)
	if err != nil {
		return err
	}
	if len(resp.Invites) == 0 {
		fmt.Fprintln(o.stdout, "no invite can be used")
		return nil
	}
	w := tabwriter.NewWriter(o.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "ID\tUSES LEFT\tCREATED\tEXPIRES")
	for _, i := range resp.Invites {
		fmt.Fprintf(w, "%s\t%d\t%s\t%s\n", i.ID, i.Uses, stamp(i.Created), stamp(i.Expires))
	}
	return w.Flush()
}

func (o *options) invitesRevoke(ids []string) error {
	resp, err := o.do(context.Background(), admin.Request{Command: admin.InvitesRevoke, Names: ids}, false)
	if err != nil {
		return err
	}
	for _, id := range resp.Removed {
		fmt.Fprintf(o.stdout, "revoked %s\n", id)
	}
	if len(resp.Missing) > 0 {
		return fmt.Errorf("no usable invite %s (`blindpost-server invites list` shows them)", strings.Join(quoted(resp.Missing), ", "))
	}
	return nil
}

func (o *options) status() error {
	resp, err := o.do(context.Background(), admin.Request{Command: admin.Status}, true)
	if err != nil {
		return err
	}
	st := resp.Status
	w := tabwriter.NewWriter(o.stdout, 0, 4, 1, ' ', 0)
	if st.Running {
		fmt.Fprintf(w, "relay:\trunning since %s\n", stamp(st.Started))
		fmt.Fprintf(w, "connections:\t%d\n", st.Connections)
		fmt.Fprintf(w, "online users:\t%d\n", st.Online)
		fmt.Fprintf(w, "registration:\t%s\n", st.Registration)
		fmt.Fprintf(w, "new names per minute:\t%d (this minute so far: %d)\n", st.NewNamesLastMinute, st.NewNamesThisMinute)
		fmt.Fprintf(w, "groups with members:\t%d\n", st.Groups)
		fmt.Fprintf(w, "name ttl:\t%s\n", st.NameTTL)
	} else if o.cluster.urls != "" {
		fmt.Fprintf(w, "relays:\tnot asked (read from the cluster's bucket %q)\n", o.cluster.bucket)
	} else {
		fmt.Fprintf(w, "relay:\tnot running (read from the directory file)\n")
	}
	if st.MaxUsers > 0 {
		fmt.Fprintf(w, "bound names:\t%d of %d\n", st.Bound, st.MaxUsers)
	} else {
		fmt.Fprintf(w, "bound names:\t%d\n", st.Bound)
	}
	fmt.Fprintf(w, "groups with an epoch:\t%d\n", st.GroupsWithEpoch)
	fmt.Fprintf(w, "usable invites:\t%d\n", st.InvitesOutstanding)
	return w.Flush()
}
