package nodeargs

import (
	"errors"
	"net"
	"testing"
)

// TestPortTaken: the error of a second listener on a bound port counts as taken, as does
// nats-server's text for it; other errors do not.
func TestPortTaken(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, err = net.Listen("tcp", l.Addr().String())
	tests := []struct {
		err  error
		want bool
	}{
		{err, true},
		{errors.New("embedded: nats-server: Error listening on router port: 127.0.0.1:4248 - listen tcp 127.0.0.1:4248: bind: address already in use"), true},
		{errors.New("embedded: n1: no JetStream meta leader"), false},
		{nil, false},
	}
	for _, tt := range tests {
		if got := PortTaken(tt.err); got != tt.want {
			t.Errorf("PortTaken(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}
