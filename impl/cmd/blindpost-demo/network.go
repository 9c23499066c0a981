package main

import (
	"log/slog"
	"sync"

	"github.com/blindpost/blindpost/impl/client/wiretap"
	"github.com/blindpost/blindpost/impl/server"
)

// network is the relay and the tap in front of it. The tap terminates TLS, so the relay is
// configured with the tap's pin (spec §4.1 [TLS-6]); it records every message that crosses.
type network struct {
	tap   *wiretap.Proxy
	relay *server.Server

	mu  sync.Mutex
	all []wiretap.Frame
}

func startNetwork(dataDir string) (*network, error) {
	n := &network{}
	tap, err := wiretap.Listen(wiretap.Options{Observe: func(f wiretap.Frame) {
		n.mu.Lock()
		n.all = append(n.all, f)
		n.mu.Unlock()
	}})
	if err != nil {
		return nil, err
	}
	cfg := server.DefaultConfig()
	cfg.Listen = "127.0.0.1:0"
	cfg.DataDir = dataDir
	cfg.PublicPin = tap.Pin().String()
	cfg.Logger = slog.New(slog.DiscardHandler)
	relay, err := server.New(cfg)
	if err == nil {
		err = relay.Start()
	}
	if err != nil {
		tap.Close()
		return nil, err
	}
	tap.SetUpstream(relay.URL(), relay.CertificatePin())
	n.tap, n.relay = tap, relay
	return n, nil
}

// frames returns what crossed the relay so far.
func (n *network) frames() []wiretap.Frame {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]wiretap.Frame(nil), n.all...)
}

func (n *network) close() {
	n.tap.Close()
	n.relay.Close()
}
