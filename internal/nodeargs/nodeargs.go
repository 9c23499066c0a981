// Package nodeargs gives the command line of a reference relay that is one node of a cluster
// on one machine, with NATS inside each relay and one certificate for all (README "Running a
// cluster"), as make cluster (localcluster), the mutants of the cluster code and
// blindpost-bench --cluster start them, and starts the nodes of such a cluster on route ports
// picked free (Routed; the tests' clusters too). It imports no relay package, so that the tools
// that start relays as processes need not link one.
package nodeargs

import (
	"fmt"
	"net"
	"strings"
)

// Args are the blindpost-server flags that make a relay node name of a cluster on one
// certificate (cert, key): NATS inside the relay (--cluster-embedded), listening for clients on
// natsListen and for routes on routes[i], routed to every address of routes.
func Args(name string, i int, natsListen string, routes []string, cert, key string) []string {
	return []string{"--tls-cert", cert, "--tls-key", key,
		"--cluster-embedded", "--node-name", name, "--cluster-listen", natsListen,
		"--cluster-route-listen", routes[i], "--cluster-routes", strings.Join(routes, ",")}
}

// FreeAddrs returns n distinct loopback addresses (host:port) whose ports were free a moment
// ago, for route listeners that every node must be told before any starts: it holds them all
// open at once, so that none is returned twice, then releases them.
func FreeAddrs(n int) ([]string, error) {
	var addrs []string
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("nodeargs: reserve a port: %w", err)
		}
		defer ln.Close()
		addrs = append(addrs, ln.Addr().String())
	}
	return addrs, nil
}
