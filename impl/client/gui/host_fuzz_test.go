package gui

import (
	"net/netip"
	"testing"
)

// FuzzValidHost: on a loopback bind only the listener's own address and port pass the Host
// check; on an explicit wildcard bind only IP literals with its port do, never a name that DNS
// could rebind. Rules: GUI-4.
func FuzzValidHost(f *testing.F) {
	for _, s := range []string{"127.0.0.1:8080", "localhost:8080", "127.0.0.1:8081", "[::1]:8080", "evil.example:8080",
		"127.0.0.1:8080.", "127.0.0.1", "0x7f.1:8080", "127.1:8080", "127.0.0.1:08080", "", ":8080", "10.0.0.1:8080"} {
		f.Add(s)
	}
	loop := &Page{host: "127.0.0.1:8080", port: "8080"}
	wild := &Page{host: "127.0.0.1:8080", port: "8080", anyIP: true}
	f.Fuzz(func(t *testing.T, host string) {
		if loop.validHost(host) && host != "127.0.0.1:8080" {
			t.Fatalf("loopback page accepted Host %q [GUI-4]", host)
		}
		if wild.validHost(host) {
			ap, err := netip.ParseAddrPort(host)
			if err != nil || ap.Port() != 8080 {
				t.Fatalf("wildcard page accepted Host %q, not an IP literal with its port [GUI-4]", host)
			}
		}
	})
}
