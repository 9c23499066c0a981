package nodeargs

import (
	"net"
	"slices"
	"testing"
)

// TestFreeAddrs: the addresses are distinct loopback ones, and free again once returned.
func TestFreeAddrs(t *testing.T) {
	addrs, err := FreeAddrs(3)
	if err != nil {
		t.Fatal(err)
	}
	if len(addrs) != 3 || len(slices.Compact(slices.Sorted(slices.Values(addrs)))) != 3 {
		t.Fatalf("FreeAddrs(3) = %q, want three distinct addresses", addrs)
	}
	for _, a := range addrs {
		ln, err := net.Listen("tcp", a)
		if err != nil {
			t.Errorf("%s is not free after FreeAddrs: %v", a, err)
			continue
		}
		ln.Close()
	}
}

// TestArgs: node i routes from its own address to all of them.
func TestArgs(t *testing.T) {
	got := Args("r2", 1, "127.0.0.1:4223", []string{"h:1", "h:2"}, "c.pem", "k.pem")
	want := []string{"--tls-cert", "c.pem", "--tls-key", "k.pem", "--cluster-embedded", "--node-name", "r2",
		"--cluster-listen", "127.0.0.1:4223", "--cluster-route-listen", "h:2", "--cluster-routes", "h:1,h:2"}
	if !slices.Equal(got, want) {
		t.Errorf("Args:\n got %q\nwant %q", got, want)
	}
}
