package client_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/blindpost/blindpost/impl/client"
	"github.com/blindpost/blindpost/impl/client/tlstrust"
	"github.com/blindpost/blindpost/impl/e2ee/identity"
	"github.com/blindpost/blindpost/impl/server"
)

func dialOpts(t *testing.T, url string, policy tlstrust.Policy) client.Options {
	key, err := identity.Generate(nil)
	if err != nil {
		t.Fatal(err)
	}
	return client.Options{URL: url, User: "alice", Identity: key, TLS: policy, PollUsers: -1, NoReconnect: true}
}

func dialAndClose(t *testing.T, o client.Options) error {
	c, err := client.Dial(ctx(t), o)
	if err != nil {
		return err
	}
	c.Close()
	for range c.Events() {
	}
	return nil
}

// TestServerCertificate checks the client's duties towards the relay's certificate: an unknown
// self-signed certificate is refused unless pinned, a wrong pin is refused, and trust on first
// use happens only after an explicit confirmation, then pins the certificate in known_servers.
// Rules: TLS-1, TLS-2, TLS-3, TLS-4.
func TestServerCertificate(t *testing.T) {
	srv := startServer(t)
	certPin := srv.CertificatePin()
	hostport, _ := tlstrust.HostPort(srv.URL)
	wrong := certPin
	wrong[0] ^= 1

	var unknown *tlstrust.UnknownServerError
	if err := dialAndClose(t, dialOpts(t, srv.URL, tlstrust.Policy{})); !errors.As(err, &unknown) || unknown.Pin != certPin {
		t.Fatalf("unknown certificate: %v, want *UnknownServerError with the pin [TLS-2] [TLS-3]", err)
	}
	var mismatch *tlstrust.PinMismatchError
	if err := dialAndClose(t, dialOpts(t, srv.URL, tlstrust.Policy{Pin: &wrong})); !errors.As(err, &mismatch) {
		t.Fatalf("wrong pin: %v, want *PinMismatchError [TLS-2]", err)
	}

	known := tlstrust.OpenKnownServers(filepath.Join(t.TempDir(), "known_servers"))
	asked := 0
	o := dialOpts(t, srv.URL, tlstrust.Policy{Known: known})
	o.ConfirmServer = func(_ context.Context, hp string, pin tlstrust.Pin) (bool, error) {
		asked++
		if hp != hostport || pin != certPin {
			t.Errorf("asked to confirm %s %s, want %s %s", hp, pin, hostport, certPin)
		}
		return false, nil
	}
	if err := dialAndClose(t, o); !errors.As(err, &unknown) || asked != 1 {
		t.Fatalf("declined confirmation: %v (asked %d times), want refusal [TLS-4]", err, asked)
	}
	if _, ok, _ := known.Lookup(hostport); ok {
		t.Fatal("a declined certificate was pinned [TLS-4]")
	}
	o.ConfirmServer = func(context.Context, string, tlstrust.Pin) (bool, error) { asked++; return true, nil }
	if err := dialAndClose(t, o); err != nil || asked != 2 {
		t.Fatalf("confirmed: %v (asked %d)", err, asked)
	}
	if pin, ok, _ := known.Lookup(hostport); !ok || pin != certPin {
		t.Fatalf("known_servers holds %s %v, want %s [TLS-4]", pin, ok, certPin)
	}
	o.ConfirmServer = nil
	if err := dialAndClose(t, o); err != nil {
		t.Fatalf("second connection with the stored pin: %v [TLS-4]", err)
	}
	data, _ := os.ReadFile(known.Path())
	if !strings.HasPrefix(string(data), hostport+" "+certPin.String()) {
		t.Fatalf("known_servers is %q [Appendix C]", data)
	}

	// The stored pin refuses another certificate until the user removes it (TLS-4).
	other := startServer(t)
	if err := known.Add(hostportOf(t, other.URL), wrong); err != nil {
		t.Fatal(err)
	}
	o2 := dialOpts(t, other.URL, tlstrust.Policy{Known: known})
	o2.ConfirmServer = func(context.Context, string, tlstrust.Pin) (bool, error) {
		t.Error("asked to confirm a host that is pinned")
		return true, nil
	}
	if err := dialAndClose(t, o2); !errors.As(err, &mismatch) || mismatch.Method != tlstrust.MethodKnown {
		t.Fatalf("pinned host with another certificate: %v [TLS-4]", err)
	}
}

func hostportOf(t *testing.T, url string) string {
	hp, err := tlstrust.HostPort(url)
	if err != nil {
		t.Fatal(err)
	}
	return hp
}

// TestProofBoundToVerifiedPin checks that the registration proof carries the pin of the
// certificate this connection verified: a relay that expects another pin (a proxy it does not
// know about) refuses it with bad_proof. Rules: REG-11, TLS-6.
func TestProofBoundToVerifiedPin(t *testing.T) {
	var other tlstrust.Pin
	other[0] = 1
	srv := startServer(t, func(c *server.Config) { c.PublicPin = other.String() })
	pin := srv.CertificatePin()
	err := dialAndClose(t, dialOpts(t, srv.URL, tlstrust.Policy{Pin: &pin}))
	if !client.IsServerError(err, "bad_proof") {
		t.Fatalf("registration: %v, want bad_proof [REG-11]", err)
	}
}
