package kvstore

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// TestUntilTaken: a request JetStream did not take (no leader: 503; nobody answering) is sent
// again until it is taken or the time is up; any other outcome is final at once.
func TestUntilTaken(t *testing.T) {
	unavailable := &jetstream.APIError{Code: 503, ErrorCode: 10008, Description: "JetStream system temporarily unavailable"}
	cases := []struct {
		name      string
		errs      []error // what the tries return, the last one repeated
		timeout   time.Duration
		wantTries int
		wantErr   error
	}{
		{"taken at once", []error{nil}, time.Minute, 1, nil},
		{"after an election", []error{unavailable, fmt.Errorf("wrapped: %w", unavailable), nil}, time.Minute, 3, nil},
		{"nobody answered", []error{nats.ErrNoResponders, jetstream.ErrNoStreamResponse, nil}, time.Minute, 3, nil},
		{"a lost compare-and-set is final", []error{jetstream.ErrKeyExists}, time.Minute, 1, jetstream.ErrKeyExists},
		{"not found is final", []error{jetstream.ErrKeyNotFound}, time.Minute, 1, jetstream.ErrKeyNotFound},
		{"never taken", []error{unavailable}, 50 * time.Millisecond, -1, unavailable},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), tc.timeout)
			defer cancel()
			tries := 0
			err := untilTaken(ctx, func() error {
				err := tc.errs[min(tries, len(tc.errs)-1)]
				tries++
				return err
			})
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil && err != nil) {
				t.Fatalf("untilTaken = %v, want %v", err, tc.wantErr)
			}
			if tc.wantTries >= 0 && tries != tc.wantTries {
				t.Fatalf("%d tries, want %d", tries, tc.wantTries)
			}
			if tc.wantTries < 0 && tries < 2 {
				t.Fatalf("%d tries before the time was up, want several", tries)
			}
		})
	}
}
