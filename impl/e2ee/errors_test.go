package e2ee

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/blindpost/blindpost/spec"
)

// TestOutcomesMatchAppendixA4 checks that the outcome constants are exactly
// the closed set of spec Appendix A.4, in its order.
func TestOutcomesMatchAppendixA4(t *testing.T) {
	text := spec.Protocol
	start := strings.Index(text, "### A.4 Outcome codes")
	end := start + strings.Index(text[start+1:], "\n### ") + 1 // A.4 ends where the next section starts
	if start < 0 || end <= start {
		t.Fatal("spec has no Appendix A.4")
	}
	re := regexp.MustCompile("(?m)^\\| `([a-z_]+)` \\|")
	var want []Outcome
	for _, m := range re.FindAllStringSubmatch(text[start:end], -1) {
		want = append(want, Outcome(m[1]))
	}
	if !slices.Equal(Outcomes(), want) {
		t.Fatalf("outcomes differ from A.4:\nspec: %q\nours: %q", names(want), names(Outcomes()))
	}
	for _, o := range want {
		if !o.Valid() {
			t.Errorf("%s not valid", o)
		}
	}
	if Outcome("bad_proof").Valid() {
		t.Error("a server error code is an outcome")
	}
}

// TestError checks the error type: the message names the outcome and the
// rule, errors.Is matches the outcome through wrapping, errors.As finds it.
func TestError(t *testing.T) {
	cause := errors.New("crypto/ecdh: low order point")
	err := fmt.Errorf("handshake with bob: %w", Wrap(LowOrderPoint, "HS-6", cause, "X25519 output is %s", "all zero"))
	if got := err.Error(); !strings.Contains(got, "e2ee: low_order_point [HS-6]: X25519 output is all zero") {
		t.Fatalf("message %q", got)
	}
	if !errors.Is(err, LowOrderPoint) || errors.Is(err, BadTag) {
		t.Fatal("errors.Is by outcome")
	}
	if !errors.Is(err, cause) {
		t.Fatal("cause not unwrapped")
	}
	var e *Error
	if !errors.As(err, &e) || e.Rule != "HS-6" {
		t.Fatal("errors.As")
	}
	if o, ok := OutcomeOf(err); !ok || o != LowOrderPoint {
		t.Fatal("OutcomeOf")
	}
	if _, ok := OutcomeOf(cause); ok {
		t.Fatal("OutcomeOf of a plain error")
	}
	if got := Reject(BadTag, "REC-5", "").Error(); got != "e2ee: bad_tag [REC-5]" {
		t.Fatalf("message without detail: %q", got)
	}
	if BadTag.Error() != "e2ee: bad_tag" {
		t.Fatal("Outcome.Error")
	}
}

func names(os []Outcome) []string {
	var out []string
	for _, o := range os {
		out = append(out, string(o))
	}
	return out
}
