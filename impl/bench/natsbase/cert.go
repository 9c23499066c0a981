package natsbase

import (
	"crypto/tls"

	"github.com/blindpost/blindpost/impl/server/certs"
)

// loadCertificate loads or generates the self-signed certificate in dir, the same kind the
// reference relay serves, and returns it with its pin. It is the package's only use of the
// relay's code.
func loadCertificate(dir string) (tls.Certificate, string, error) {
	id, err := certs.LoadOrCreate(dir)
	if err != nil {
		return tls.Certificate{}, "", err
	}
	return id.Cert, id.Pin.String(), nil
}
