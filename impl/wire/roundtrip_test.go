package wire

import (
	"bytes"
	"encoding/json"
	"reflect"
	"regexp"
	"testing"

	"github.com/blindpost/blindpost/spec"
)

// encodeAny encodes a decoded value with the API that fits it: Encode for messages, MarshalJSON
// for the others.
func encodeAny(t tb, v any) []byte {
	t.Helper()
	if m, ok := v.(Message); ok {
		b, err := Encode(m)
		if err != nil {
			t.Fatalf("Encode(%T): %v", v, err)
		}
		return b
	}
	b, err := v.(json.Marshaler).MarshalJSON()
	if err != nil {
		t.Fatalf("MarshalJSON(%T): %v", v, err)
	}
	return b
}

// checkCanonical checks that a decoded valid value encodes to bytes that the oracle accepts,
// that decode to the same value, and that encode again to the same bytes. It returns them.
func checkCanonical(t tb, tg target, v any) []byte {
	t.Helper()
	enc := encodeAny(t, v)
	v2, valid := agree(t, tg, enc)
	if !valid {
		t.Fatalf("canonical encoding %s of a valid %T is invalid", quoteInput(enc), v)
	}
	if !reflect.DeepEqual(v, v2) {
		t.Fatalf("decoding the canonical encoding %s gives %#v, want %#v", quoteInput(enc), v2, v)
	}
	if enc2 := encodeAny(t, v2); !bytes.Equal(enc, enc2) {
		t.Fatalf("encoding is not stable:\n  %s\n  %s", quoteInput(enc), quoteInput(enc2))
	}
	return enc
}

// specExample is one ```json block of spec/protocol.md tagged with what it holds.
type specExample struct {
	tag  string // c2s, s2c, payload or content
	line int
	data []byte
}

var specBlock = regexp.MustCompile("(?ms)^```json (c2s|s2c|payload|content)\n(.*?)\n```")

// specExamples extracts the examples of the wire formats from the spec.
func specExamples(t tb) []specExample {
	t.Helper()
	var out []specExample
	for _, m := range specBlock.FindAllStringSubmatchIndex(spec.Protocol, -1) {
		out = append(out, specExample{
			tag:  spec.Protocol[m[2]:m[3]],
			line: bytes.Count([]byte(spec.Protocol[:m[0]]), []byte("\n")) + 1,
			data: []byte(spec.Protocol[m[4]:m[5]]),
		})
	}
	if len(out) == 0 {
		t.Fatal("no examples found in spec/protocol.md")
	}
	return out
}

var specTargets = map[string]string{"c2s": "client", "s2c": "server", "payload": "payload", "content": "content"}

// TestSpecExamples decodes every example of the spec, which must be valid, and checks that each is
// already in canonical form: the spec writes messages as Encode does.
func TestSpecExamples(t *testing.T) {
	for _, ex := range specExamples(t) {
		tg := topTargets[specTargets[ex.tag]]
		v, valid := agree(t, tg, ex.data)
		if !valid {
			t.Errorf("spec/protocol.md:%d: the %s example is invalid", ex.line, ex.tag)
			continue
		}
		if enc := checkCanonical(t, tg, v); !bytes.Equal(enc, ex.data) {
			t.Errorf("spec/protocol.md:%d: the example is not canonical:\n  spec:   %s\n  Encode: %s", ex.line, ex.data, enc)
		}
	}
}
