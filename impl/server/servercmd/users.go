package servercmd

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/blindpost/blindpost/internal/tlspin"
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

func (o *options) pin() (tlspin.Pin, error) {
	switch {
	case o.cfg.PublicPin != "":
		p, err := tlspin.Parse(o.cfg.PublicPin)
		if err != nil {
			return p, configError{err}
		}
		return p, nil
	case o.cfg.TLSCert != "":
		return tlspin.PinOfFile(o.cfg.TLSCert)
	}
	return tlspin.ReadPin(o.cfg.DataDir)
}
