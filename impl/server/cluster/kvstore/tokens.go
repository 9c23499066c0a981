package kvstore

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// prefixTokens names the token buckets the relays of a cluster share (TakeToken).
const prefixTokens = "m.tokens."

// errNoToken is what the update of an empty bucket returns: nothing is written.
var errNoToken = errors.New("kvstore: no token")

// TakeToken takes one token from the token bucket name that every relay on this bucket shares:
// it holds burst tokens at most and gains perSecond tokens a second. It reports false, taking
// nothing, when the bucket has no whole token (spec §5.2.1 [INV-5]: the limit over all
// addresses is one limit however many relays admit registrations, §5.11).
//
// The bucket's state is its tokens and the time they were counted, written by compare-and-set;
// a relay whose clock is behind the time recorded adds nothing for the difference, so clocks
// that disagree never add tokens that did not accrue.
func (s *Store) TakeToken(name string, perSecond float64, burst int, now time.Time) (bool, error) {
	err := s.updateCached(prefixTokens+name, func(cur []byte, fresh bool) ([]byte, error) {
		tokens, at := float64(burst), now
		if cur != nil {
			var err error
			if tokens, at, err = parseTokens(cur); err != nil {
				return nil, fmt.Errorf("kvstore: token bucket %s: %w", name, err)
			}
		}
		if now.After(at) {
			tokens = min(float64(burst), tokens+now.Sub(at).Seconds()*perSecond)
			at = now
		}
		if tokens < 1 {
			if !fresh {
				return nil, errStale // another relay's tokens may have accrued differently
			}
			return nil, errNoToken
		}
		return []byte(strconv.FormatFloat(tokens-1, 'g', -1, 64) + " " + strconv.FormatInt(at.UnixNano(), 10)), nil
	})
	if errors.Is(err, errNoToken) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("kvstore: take a token of %s: %w", name, err)
	}
	return true, nil
}

// parseTokens reads a bucket's state: its tokens and the time, in Unix nanoseconds, they were
// counted at.
func parseTokens(b []byte) (float64, time.Time, error) {
	t, at, ok := strings.Cut(string(b), " ")
	if !ok {
		return 0, time.Time{}, fmt.Errorf("corrupt state %q", b)
	}
	tokens, err := strconv.ParseFloat(t, 64)
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("corrupt state %q: %w", b, err)
	}
	ns, err := strconv.ParseInt(at, 10, 64)
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("corrupt state %q: %w", b, err)
	}
	return tokens, time.Unix(0, ns), nil
}
