package main

import "testing"

// TestRelayURL: HOST:PORT stands for wss://HOST:PORT/; a URL is kept as given, so that a wrong
// scheme is still refused by the check that follows (spec §4.1).
func TestRelayURL(t *testing.T) {
	tests := []struct{ in, want string }{
		{"127.0.0.1:8443", "wss://127.0.0.1:8443/"},
		{"chat.example.org:8443/", "wss://chat.example.org:8443/"},
		{"[::1]:8443", "wss://[::1]:8443/"},
		{"chat.example.org", "wss://chat.example.org/"},
		{"wss://127.0.0.1:8443/", "wss://127.0.0.1:8443/"},
		{"ws://127.0.0.1:8443/", "ws://127.0.0.1:8443/"},
	}
	for _, tt := range tests {
		if got := relayURL(tt.in); got != tt.want {
			t.Errorf("relayURL(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
