package serversuite

import (
	"math/rand/v2"
	"slices"

	"github.com/blindpost/blindpost/conformance/harness"
	"github.com/blindpost/blindpost/conformance/hostile"
)

// sampleFrames returns the frames a hostile case sends: all of them, or at most
// Config.HostileFrames of them, drawn with the case's seed so that a replay sends the same ones.
// The order of the frames is kept.
func sampleFrames(t *harness.T, frames []hostile.Frame) []hostile.Frame {
	n := envOf(t).cfg.HostileFrames
	if n <= 0 || len(frames) <= n {
		return frames
	}
	r := rand.New(rand.NewChaCha8([32]byte(Random(t, 32))))
	keep := r.Perm(len(frames))[:n]
	slices.Sort(keep)
	out := make([]hostile.Frame, len(keep))
	for i, k := range keep {
		out[i] = frames[k]
	}
	return out
}
