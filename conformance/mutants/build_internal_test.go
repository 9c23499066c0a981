package mutants

import (
	"context"
	"testing"
)

// TestBuildSlots: no more builds run at once than the builder has slots; a build waiting for a
// slot gives up when its context ends, and a slot given back serves the next build.
func TestBuildSlots(t *testing.T) {
	b := &builder{slots: make(chan struct{}, 2)}
	var releases []func()
	for range 2 {
		release, err := b.acquire(t.Context())
		if err != nil {
			t.Fatalf("a free slot: %v", err)
		}
		releases = append(releases, release)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := b.acquire(ctx); err == nil {
		t.Fatal("a third build got a slot of two")
	}
	releases[0]()
	release, err := b.acquire(t.Context())
	if err != nil {
		t.Fatalf("a slot given back: %v", err)
	}
	release()
	releases[1]()
	if len(b.slots) != 0 {
		t.Errorf("%d slots still taken after every release", len(b.slots))
	}
}
