package cluster

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// TestTransient: Join waits out what a cluster that is still forming answers (no servers to
// place a bucket on, no JetStream answer yet), and gives up at once on anything else.
func TestTransient(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"no suitable peers", fmt.Errorf("kvstore: %w", &jetstream.APIError{Code: 400, ErrorCode: jsErrNoSuitablePeers}), true},
		{"unavailable", &jetstream.APIError{Code: 503, ErrorCode: 10008}, true},
		{"attempt timed out", fmt.Errorf("open: %w", context.DeadlineExceeded), true},
		{"no responders", nats.ErrNoResponders, true},
		{"being created elsewhere", fmt.Errorf("members bucket: %w", &jetstream.APIError{Code: 404, ErrorCode: jetstream.JSErrCodeStreamNotFound}), true},
		{"bad request", &jetstream.APIError{Code: 400, ErrorCode: jetstream.JSErrCodeBadRequest}, false},
		{"cancelled", context.Canceled, false},
		{"other", errors.New("invalid bucket name"), false},
	} {
		if got := transient(tc.err); got != tc.want {
			t.Errorf("%s: transient(%v) = %v, want %v", tc.name, tc.err, got, tc.want)
		}
	}
}
