// Command blindpost-cluster starts a cluster of Blindpost relays with embedded NATS on this
// machine, for a person to try (make cluster; README "Running a cluster"). It parses its
// command line and calls package impl/server/cluster/localcluster.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/blindpost/blindpost/impl/server/cluster/localcluster"
)

func main() {
	self, err := os.Executable()
	if err != nil {
		fmt.Fprintf(os.Stderr, "blindpost-cluster: cannot find this program to start the relays: %v\n", err)
		os.Exit(localcluster.ExitError)
	}
	os.Exit(localcluster.Main(context.Background(), os.Args[1:], os.Stdout, os.Stderr, self))
}
