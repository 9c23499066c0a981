package serversuite

import (
	"crypto/sha256"
	"encoding/binary"
	"math/rand/v2"
	"sync"

	"github.com/blindpost/blindpost/conformance/harness"
)

// byteSource is a case's seeded source of bytes: payloads, sessions, commits and canaries come
// from it, so that replaying a case with its seed sends the same bytes. It is safe for
// concurrent use (floods draw from several goroutines, in an order that may differ).
type byteSource struct {
	mu sync.Mutex
	r  *rand.ChaCha8
}

func (s *byteSource) read(b []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, _ = s.r.Read(b)
}

// sources holds the byte source of every running case.
var sources sync.Map // *harness.T → *byteSource

// source returns the byte source of the case, seeded from the run's seed and the case id.
func source(t *harness.T) *byteSource {
	if s, ok := sources.Load(t); ok {
		return s.(*byteSource)
	}
	var seed [8]byte
	binary.BigEndian.PutUint64(seed[:], t.Seed())
	key := sha256.Sum256(append(append([]byte("blindpost-conform bytes "), seed[:]...), t.Case().ID...))
	s, loaded := sources.LoadOrStore(t, &byteSource{r: rand.NewChaCha8(key)})
	if !loaded {
		t.Cleanup(func() { sources.Delete(t) })
	}
	return s.(*byteSource)
}
