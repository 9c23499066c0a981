package server

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"testing"

	"github.com/blindpost/blindpost/impl/wire"
)

// relayCorpus returns the relay requests of the schema corpus (schemas/testdata/valid), as they
// are written there and in the codec's canonical form.
func relayCorpus(t testing.TB) [][]byte {
	var out [][]byte
	for _, name := range []string{"c2s/relay.json", "client-message.json"} {
		raw, err := os.ReadFile(filepath.Join("..", "..", "schemas", "testdata", "valid", name))
		if err != nil {
			t.Fatal(err)
		}
		var items []json.RawMessage
		if err := json.Unmarshal(raw, &items); err != nil {
			t.Fatal(err)
		}
		for _, item := range items {
			m, err := wire.Decode(wire.FromClient, item)
			if _, ok := m.(*wire.Relay); !ok || err != nil {
				continue
			}
			canonical, err := wire.Encode(m)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, item, canonical)
		}
	}
	if len(out) == 0 {
		t.Fatal("no relay request in the corpus")
	}
	return out
}

// spliceRelay is the fast path's splice of the relay request data from registered user from
// (fastRelay, spliceView), or false where the fast path leaves it to the codec: a string written
// with escapes, or an integer written with a fraction, an exponent or as -0, which a receiver
// accepts (spec §2.4 [ENC-8]) and a sender must not write (ENC-7).
func spliceRelay(dst, data []byte, from string) ([]byte, bool) {
	v, isRelay, err := wire.ScanRelay(data)
	if !isRelay || err != nil || !v.Plain {
		return dst, false
	}
	return spliceView(dst, &v, from), true
}

// checkSplice compares spliceRelay with the codec's decode → encode path on data: the same
// JSON value always (SRV-6), the same bytes when data is in canonical form.
func checkSplice(t *testing.T, data []byte) {
	m, err := wire.Decode(wire.FromClient, data)
	relay, isRelay := m.(*wire.Relay)
	got, ok := spliceRelay(nil, data, "alice")
	if err != nil || !isRelay {
		return // not a valid relay: never spliced; spliceRelay only had not to fail
	}
	if !ok {
		if _, nonPlain := nonPlainNumber(data); !nonPlain && !bytes.Contains(data, []byte(`\`)) {
			t.Fatalf("a valid relay without an escape or a number to rewrite was not spliced: %s", data)
		}
		return
	}
	wantMsg := &wire.IncomingRelay{From: "alice", Session: relay.Session, Payload: relay.Payload}
	want, err := wire.Encode(wantMsg)
	if err != nil {
		t.Fatal(err)
	}
	back, err := wire.Decode(wire.FromServer, got)
	if err != nil {
		t.Fatalf("the spliced form does not decode: %v\n%s", err, got)
	}
	if !reflect.DeepEqual(back, wire.Message(wantMsg)) {
		t.Fatalf("the spliced form is another value:\n%s\nwant\n%s", got, want)
	}
	if n, nonPlain := nonPlainNumber(got); nonPlain {
		t.Fatalf("the spliced form writes the number %s (ENC-7): %s", n, got)
	}
	if canonical, _ := wire.Encode(relay); bytes.Equal(canonical, data) && !bytes.Equal(got, want) {
		t.Fatalf("canonical input, and the spliced form differs from the encoded one:\n%s\n%s", got, want)
	}
}

// plainInteger is an integer as a sender must write it (spec §2.4 [ENC-7]; -0 as 0).
var plainInteger = regexp.MustCompile(`^(0|-?[1-9][0-9]*)$`)

// nonPlainNumber returns a number of the JSON text data that is not a plain integer, if any.
func nonPlainNumber(data []byte) (string, bool) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return "", false
	}
	var walk func(any) (string, bool)
	walk = func(v any) (string, bool) {
		switch v := v.(type) {
		case json.Number:
			return string(v), !plainInteger.MatchString(string(v))
		case map[string]any:
			for _, e := range v {
				if n, ok := walk(e); ok {
					return n, true
				}
			}
		case []any:
			for _, e := range v {
				if n, ok := walk(e); ok {
					return n, true
				}
			}
		}
		return "", false
	}
	return walk(v)
}

// TestSpliceRelayCorpus checks the splice against decode → encode on every relay request of the
// schema corpus, as written (spaces, other member orders) and canonical.
func TestSpliceRelayCorpus(t *testing.T) {
	for _, data := range relayCorpus(t) {
		checkSplice(t, data)
	}
}

// FuzzSpliceRelay checks the splice against decode → encode on fuzzed input: any text is either
// not a valid relay (and the splice does not fail), or spliced to the same value, byte for byte
// when the input is canonical.
func FuzzSpliceRelay(f *testing.F) {
	for _, data := range relayCorpus(f) {
		f.Add(data)
	}
	f.Add([]byte(`{"type":"relay","to":"bob","session":"2ssslZEny\/S\/y5gWIrZ4Tg==","payload":{"kind":"msg","n":1,"ct":"AAAAAAAAAAAAAAAAAAAAAA=="}}`))
	f.Add([]byte(`{"payload":{"kind":"close"},"session":"2ssslZEny/S/y5gWIrZ4Tg==","to":"bob","type":"relay"}`))
	f.Add([]byte(`{"type":"relay","to":"bob","session":"2ssslZEny/S/y5gWIrZ4Tg==","payload":{"kind":"msg","n":3.0,"ct":"AAAAAAAAAAAAAAAAAAAAAA=="}}`))
	f.Add([]byte(`{"type":"relay","to":"bob","session":"2ssslZEny/S/y5gWIrZ4Tg==","payload":{"kind":"msg","n":-0,"ct":"AAAAAAAAAAAAAAAAAAAAAA=="}}`))
	f.Fuzz(checkSplice)
}
