package embedded

import (
	"strings"
	"testing"

	"github.com/nats-io/nats-server/v2/server"
)

// FuzzServerOptions: whatever addresses an operator types, translating them gives either an
// error that says it is the embedded server's, or options nats-server can listen with: ports
// in range (or "pick one"), and routes with a host and a port. It never panics.
func FuzzServerOptions(f *testing.F) {
	for _, seed := range [][3]string{
		{"127.0.0.1:0", "", ""},
		{"127.0.0.1:4222", "10.0.0.1:6222", "nats-route://10.0.0.1:6222"},
		{"[::1]:4222", "[::]:6222", "[fe80::1]:6222"},
		{":4222", ":6222", "h:1"},
		{"127.0.0.1", "h", "http://h:1"},
		{"127.0.0.1:99999", "h:-1", "nats://h"},
		{"", "", "nats-route://"},
	} {
		f.Add(seed[0], seed[1], seed[2])
	}
	f.Fuzz(func(t *testing.T, listen, routeListen, route string) {
		o := Options{Name: "n", StoreDir: "x", Listen: listen, RouteListen: routeListen}
		if route != "" {
			o.Routes = []string{route}
		}
		opts, err := o.serverOptions()
		if err != nil {
			if !strings.HasPrefix(err.Error(), "embedded: ") {
				t.Fatalf("error %q lacks the package prefix", err)
			}
			return
		}
		for _, p := range []int{opts.Port, opts.Cluster.Port} {
			if p != server.RANDOM_PORT && (p < 0 || p > 65535) {
				t.Fatalf("port %d out of range from %q %q", p, listen, routeListen)
			}
		}
		for _, u := range opts.Routes {
			if u.Scheme != "nats-route" || u.Hostname() == "" && u.Port() == "" {
				t.Fatalf("route %v from %q", u, route)
			}
		}
	})
}
