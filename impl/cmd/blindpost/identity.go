package main

import (
	"errors"
	"fmt"
	"os"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/blindpost/blindpost/impl/client/profile"
	"github.com/blindpost/blindpost/impl/e2ee/identity"
)

// envUser names the environment variable that is the default for --user.
const envUser = "BLINDPOST_USER"

// root returns the configuration root from --config-dir or the environment.
func (a *app) configRoot() (string, error) {
	return profile.Root(a.flags.configDir)
}

// profile returns the profile of --user, $BLINDPOST_USER, or the only user under the root.
func (a *app) profile() (profile.Profile, error) {
	root, err := a.configRoot()
	if err != nil {
		return profile.Profile{}, err
	}
	user := a.flags.user
	if user == "" {
		user = os.Getenv(envUser)
	}
	if user == "" {
		users, err := profile.Users(root)
		if err != nil {
			return profile.Profile{}, err
		}
		switch len(users) {
		case 0:
			return profile.Profile{}, usageError("no identity in %s; run: blindpost init --user NAME", root)
		case 1:
			user = users[0]
		default:
			return profile.Profile{}, usageError("several identities in %s (%v); choose one with --user", root, users)
		}
	}
	p, err := profile.Open(root, user)
	if err != nil {
		return profile.Profile{}, withCode(exitUsage, err)
	}
	return p, nil
}

// loadIdentity reads the identity of the profile, asking for the passphrase when it is
// encrypted.
func (a *app) loadIdentity(p profile.Profile) (*identity.PrivateKey, error) {
	key, err := p.LoadIdentity(func() (string, error) {
		if a.flags.passFile != "" {
			return readPassphraseFile(a.flags.passFile)
		}
		if a.readSecret == nil {
			return "", errors.New("the identity is encrypted and stdin is not a terminal; pass --passphrase-file FILE")
		}
		return a.readSecret(fmt.Sprintf("Passphrase for %s: ", p.User))
	})
	if errors.Is(err, profile.ErrNoIdentity) {
		return nil, withCode(exitUsage, err)
	}
	return key, err
}

// openIdentity finds the profile and loads its identity; the caller erases the key.
func (a *app) openIdentity() (profile.Profile, *identity.PrivateKey, error) {
	p, err := a.profile()
	if err != nil {
		return p, nil, err
	}
	key, err := a.loadIdentity(p)
	return p, key, err
}

func (a *app) initCmd() *cobra.Command {
	var noPassphrase bool
	cmd := &cobra.Command{
		Use:   "init --user NAME",
		Short: "Create your identity key",
		Long: `init creates your long-term identity: an Ed25519 key whose seed is stored encrypted with a
passphrase (an age file, mode 0600) in $XDG_CONFIG_HOME/blindpost/NAME/. Your group key is
derived from it. init never overwrites an existing identity.`,
		Example: `  # Interactive: asks for the passphrase twice.
  blindpost init --user alice

  # Scripted: the passphrase is the first line of a file.
  blindpost init --user alice --passphrase-file ~/.alice-pass

  # A bot that must start unattended: the seed is stored unencrypted (mode 0600).
  blindpost init --user echobot --no-passphrase`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.runInit(noPassphrase)
		},
	}
	cmd.Flags().BoolVar(&noPassphrase, "no-passphrase", false, "store the seed unencrypted (bots and tests only)")
	return cmd
}

func (a *app) runInit(noPassphrase bool) error {
	if a.flags.user == "" && os.Getenv(envUser) == "" {
		return usageError("init needs --user NAME")
	}
	if noPassphrase && a.flags.passFile != "" {
		return usageError("--no-passphrase and --passphrase-file exclude each other")
	}
	p, err := a.profile()
	if err != nil {
		return err
	}
	if p.HasIdentity() {
		return fmt.Errorf("%s already has an identity in %s; init never overwrites it (remove the directory to start over)", p.User, p.Dir)
	}
	opts := profile.CreateOptions{NoPassphrase: noPassphrase, Keyfile: a.keyfileOpts}
	if !noPassphrase {
		if opts.Passphrase, err = a.newPassphrase(); err != nil {
			return err
		}
	}
	key, err := p.CreateIdentity(opts)
	if err != nil {
		return err
	}
	defer key.Erase()
	file, how := profile.IdentityAge, "encrypted with your passphrase"
	if noPassphrase {
		file, how = profile.IdentityKey, "UNENCRYPTED, readable by you only"
	}
	fmt.Fprintf(a.stdout, "Created the identity of %s in %s (%s, %s).\n", p.User, p.Dir, file, how)
	fmt.Fprintf(a.stdout, "fingerprint: %s\n", identity.Fingerprint(key.Public()))
	fmt.Fprintf(a.stdout, "Next, chat through your relay (its operator gives you HOST:PORT and its pin):\n")
	fmt.Fprintf(a.stdout, "  blindpost chat --user %s --server HOST:PORT\n", p.User)
	fmt.Fprintf(a.stdout, "or, in your browser: blindpost gui --user %s --server HOST:PORT\n", p.User)
	return nil
}

// newPassphrase reads a new passphrase from --passphrase-file or twice from the terminal.
func (a *app) newPassphrase() (string, error) {
	if a.flags.passFile != "" {
		pass, err := readPassphraseFile(a.flags.passFile)
		if err != nil {
			return "", err
		}
		return pass, a.confirmShort(pass)
	}
	if a.readSecret == nil {
		return "", usageError("stdin is not a terminal: pass --passphrase-file FILE, or --no-passphrase for a bot")
	}
	first, err := a.readSecret("New passphrase: ")
	if err != nil {
		return "", err
	}
	if first == "" {
		return "", errors.New("empty passphrase; use --no-passphrase if you really want no encryption")
	}
	if err := a.confirmShort(first); err != nil {
		return "", err
	}
	second, err := a.readSecret("Repeat the passphrase: ")
	if err != nil {
		return "", err
	}
	if first != second {
		return "", errors.New("the two passphrases differ; nothing was written")
	}
	return first, nil
}

// minPassphrase is the length below which a new passphrase gets a warning: the identity file
// resists guessing only as well as its passphrase does (age's scrypt slows each guess).
const minPassphrase = 10

// confirmShort warns about a passphrase shorter than minPassphrase characters and, on a
// terminal, asks whether to keep it; a passphrase file, chosen ahead, only gets the warning.
func (a *app) confirmShort(pass string) error {
	n := utf8.RuneCountInString(pass)
	if n >= minPassphrase {
		return nil
	}
	fmt.Fprintf(a.stderr, "Warning: this passphrase has %d characters. Anyone who copies your identity file can try guesses\n"+
		"offline; a passphrase of %d characters or more, such as four random words, resists far longer.\n", n, minPassphrase)
	if a.confirm == nil {
		return nil
	}
	keep, err := a.confirm("Keep this short passphrase?")
	if err != nil {
		return err
	}
	if !keep {
		return errors.New("choose a longer passphrase; nothing was written")
	}
	return nil
}

func (a *app) whoamiCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "whoami",
		Short: "Print your username and identity fingerprint",
		Long: `whoami prints your username and the fingerprint of your identity key (spec §3.3). Read it to
your peers over another channel, or compare safety numbers, to rule out a substituted key.

It reads the public key from identity.pub, beside the key file, without the passphrase. An
identity created before identity.pub existed asks for the passphrase once, and gets the file.`,
		Example: `  blindpost whoami --user alice
  blindpost whoami --user echobot --passphrase-file ./pass`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return a.runWhoami() },
	}
}

// runWhoami prints the identity from identity.pub, or unlocks the key (which writes the file)
// when there is none or it does not parse.
func (a *app) runWhoami() error {
	p, err := a.profile()
	if err != nil {
		return err
	}
	var pub []byte
	if _, err := p.Encrypted(); err == nil {
		pub, err = p.LoadPublic()
		if err != nil && !errors.Is(err, profile.ErrNoPublic) {
			fmt.Fprintf(a.stderr, "%v; unlocking the key to rewrite it\n", err)
		}
	}
	if pub == nil {
		key, err := a.loadIdentity(p)
		if err != nil {
			return err
		}
		pub = key.Public()
		key.Erase()
	}
	fmt.Fprintf(a.stdout, "user:        %s\n", p.User)
	fmt.Fprintf(a.stdout, "fingerprint: %s\n", identity.Fingerprint(pub))
	fmt.Fprintf(a.stdout, "directory:   %s\n", p.Dir)
	return nil
}
