package cli

import (
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/blindpost/blindpost/impl/e2ee/identity"
	"github.com/blindpost/blindpost/impl/server/certs"
	"github.com/blindpost/blindpost/impl/server/directory"
)

// pinCommand prints the pin clients must pin (spec §4.1 [TLS-5] [TLS-6]).
func (o *options) pinCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "pin",
		Short: "Print the server pin clients should trust",
		Long: `pin prints the sha256: pin of the server certificate: --public-pin when given, otherwise the
pin of --tls-cert, otherwise the pin of the certificate generated in the data directory.`,
		Example: "  blindpost-server pin --data /var/lib/blindpost",
		Args:    cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			pin, err := o.pin()
			if err != nil {
				return err
			}
			fmt.Fprintln(o.stdout, pin)
			return nil
		},
	}
}

func (o *options) pin() (certs.Pin, error) {
	switch {
	case o.cfg.PublicPin != "":
		p, err := certs.ParsePin(o.cfg.PublicPin)
		if err != nil {
			return p, configError{err}
		}
		return p, nil
	case o.cfg.TLSCert != "":
		return certs.PinOfFile(o.cfg.TLSCert)
	}
	return certs.ReadPin(o.cfg.DataDir)
}

// usersCommand groups the operator commands on the directory (spec §5.2).
func (o *options) usersCommand() *cobra.Command {
	users := &cobra.Command{
		Use:   "users",
		Short: "List, show and remove username bindings (with the server stopped)",
		Long: `users works on the directory of identity keys in the data directory. Usernames are bound
forever to the first identity key that registered them (spec REG-5); removing a binding is how
a user who lost their key gets the name back. The server holds the directory locked while it
runs: stop it first.`,
		Example: `  blindpost-server users list --data /var/lib/blindpost
  blindpost-server users show alice
  blindpost-server users remove alice`,
	}
	users.AddCommand(
		&cobra.Command{
			Use: "list", Short: "List every bound username with its fingerprint", Args: configArgs(cobra.NoArgs),
			RunE: func(*cobra.Command, []string) error { return o.usersList() },
		},
		&cobra.Command{
			Use: "show NAME", Short: "Show the keys bound to a username", Args: configArgs(cobra.ExactArgs(1)),
			RunE: func(_ *cobra.Command, args []string) error { return o.usersShow(args[0]) },
		},
		&cobra.Command{
			Use: "remove NAME", Short: "Free a username, so that a new identity key can register it", Args: configArgs(cobra.ExactArgs(1)),
			RunE: func(_ *cobra.Command, args []string) error { return o.usersRemove(args[0]) },
		},
	)
	return users
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
		return nil, fmt.Errorf("the directory %s is in use by a running blindpost-server: stop the server, then run this command again", path)
	}
	return d, err
}

func (o *options) usersList() error {
	d, err := o.openDirectory(true)
	if err != nil {
		return err
	}
	defer d.Close()
	entries, err := d.List()
	if err != nil {
		return err
	}
	if len(entries) == 0 {
		fmt.Fprintln(o.stdout, "no usernames are bound")
		return nil
	}
	w := tabwriter.NewWriter(o.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "USER\tFINGERPRINT\tBOUND")
	for _, e := range entries {
		fmt.Fprintf(w, "%s\t%s\t%s\n", e.User, identity.Fingerprint(e.IdentityKey), e.BoundAt.UTC().Format(time.RFC3339))
	}
	return w.Flush()
}

func (o *options) usersShow(name string) error {
	d, err := o.openDirectory(true)
	if err != nil {
		return err
	}
	defer d.Close()
	e, err := d.Lookup(name)
	if errors.Is(err, directory.ErrNotFound) {
		return fmt.Errorf("%q is not bound; `blindpost-server users list` shows the bound names", name)
	}
	if err != nil {
		return err
	}
	b64 := base64.StdEncoding.EncodeToString
	w := tabwriter.NewWriter(o.stdout, 0, 4, 1, ' ', 0)
	fmt.Fprintf(w, "user:\t%s\n", e.User)
	fmt.Fprintf(w, "fingerprint:\t%s\n", identity.Fingerprint(e.IdentityKey))
	fmt.Fprintf(w, "identity key:\t%s\n", b64(e.IdentityKey))
	fmt.Fprintf(w, "group key:\t%s\n", b64(e.GroupKey))
	fmt.Fprintf(w, "group key sig:\t%s\n", b64(e.GroupKeySig))
	fmt.Fprintf(w, "bound:\t%s\n", e.BoundAt.UTC().Format(time.RFC3339))
	fmt.Fprintf(w, "updated:\t%s\n", e.UpdatedAt.UTC().Format(time.RFC3339))
	return w.Flush()
}

func (o *options) usersRemove(name string) error {
	d, err := o.openDirectory(false)
	if err != nil {
		return err
	}
	defer d.Close()
	e, err := d.Lookup(name)
	if errors.Is(err, directory.ErrNotFound) {
		return fmt.Errorf("%q is not bound; nothing to remove", name)
	}
	if err != nil {
		return err
	}
	if err := d.Remove(name); err != nil {
		return err
	}
	fmt.Fprintf(o.stdout, "removed %s (%s): the next identity key to register %s will hold it\n", name, identity.Fingerprint(e.IdentityKey), name)
	return nil
}
