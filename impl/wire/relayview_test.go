package wire

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"testing"

	"pgregory.net/rapid"
)

// checkScan compares ScanRelay with Decode(FromClient, …) on data: ScanRelay leaves alone what
// is not a relay, reports exactly Decode's error for what is, and for a valid relay returns its
// members as Decode decodes them, with Plain true exactly when no string is escaped and every
// number is a plain integer.
func checkScan(t tb, data []byte) {
	t.Helper()
	v, isRelay, err := ScanRelay(data)
	m, derr := Decode(FromClient, data)
	relay, decodedRelay := m.(*Relay)
	if !isRelay {
		if v.To != nil || v.PayloadJSON != nil || err != nil {
			t.Fatalf("ScanRelay sets a view or an error for what it calls no relay: %s", quoteInput(data))
		}
		if decodedRelay {
			t.Fatalf("ScanRelay calls a valid relay no relay: %s", quoteInput(data))
		}
		return
	}
	if !reflect.DeepEqual(err, derr) {
		t.Fatalf("ScanRelay and Decode disagree on %s\n  ScanRelay: %v\n  Decode:    %v", quoteInput(data), err, derr)
	}
	if derr != nil {
		return
	}
	if !decodedRelay {
		t.Fatalf("ScanRelay calls a %T a relay: %s", m, quoteInput(data))
	}
	if string(v.ID) != relay.ID || string(v.To) != relay.To || !bytes.Equal(v.Session[:], relay.Session) {
		t.Fatalf("ScanRelay located id %q, to %q, session %x; Decode gives %q, %q, %x: %s", v.ID, v.To, v.Session, relay.ID, relay.To, relay.Session, quoteInput(data))
	}
	if (v.ID == nil) != (relay.ID == "") {
		t.Fatalf("ScanRelay's id is nil %v, Decode's id is %q: %s", v.ID == nil, relay.ID, quoteInput(data))
	}
	payload, err := DecodePayload(v.PayloadJSON)
	if err != nil || !reflect.DeepEqual(payload, relay.Payload) {
		t.Fatalf("the located payload %s is not the decoded one (%v): %s", quoteInput(v.PayloadJSON), err, quoteInput(data))
	}
	var session []byte
	if err := json.Unmarshal(v.SessionJSON, &session); err != nil || !bytes.Equal(session, relay.Session) {
		t.Fatalf("the located session %s is not the decoded one (%v): %s", v.SessionJSON, err, quoteInput(data))
	}
	if want := !bytes.ContainsRune(data, '\\') && !nonPlainNumbers(data); v.Plain != want {
		t.Fatalf("Plain is %v, want %v: %s", v.Plain, want, quoteInput(data))
	}
}

// nonPlainNumbers reports whether the JSON text data holds a number that is not a plain
// decimal integer (spec §2.4 [ENC-7]; -0 is not).
func nonPlainNumbers(data []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if dec.Decode(&v) != nil {
		return false
	}
	var walk func(any) bool
	walk = func(v any) bool {
		switch v := v.(type) {
		case json.Number:
			s := string(v)
			return bytes.ContainsAny([]byte(s), ".eE") || s == "-0" || len(s) > 1 && s[0] == '-' && s[1] == '0'
		case map[string]any:
			return slices.ContainsFunc(slices.Collect(mapValues(v)), walk)
		case []any:
			return slices.ContainsFunc(v, walk)
		}
		return false
	}
	return walk(v)
}

func mapValues(m map[string]any) func(func(any) bool) {
	return func(yield func(any) bool) {
		for _, v := range m {
			if !yield(v) {
				return
			}
		}
	}
}

// scanSeeds are the texts the scanner tests start from: the schema corpus (valid and invalid,
// every schema: what is not a relay must be left alone), the spec's examples, and the wire JSON
// of the vectors, each payload also inside a relay. It fails when a source is empty.
func scanSeeds(t tb) [][]byte {
	t.Helper()
	var out [][]byte
	for _, file := range corpusFiles(t, "valid") {
		var instances []json.RawMessage
		readJSON(t, file, &instances)
		for _, inst := range instances {
			out = append(out, inst)
		}
	}
	for _, file := range corpusFiles(t, "invalid") {
		var cases []invalidCase
		readJSON(t, file, &cases)
		for _, c := range cases {
			out = append(out, c.data(t))
		}
	}
	for _, ex := range specExamples(t) {
		out = append(out, ex.data)
	}
	corpus := len(out)
	vectors := vectorJSON(t)
	for _, s := range vectors {
		out = append(out, s)
		if bytes.HasPrefix(s, []byte("{")) {
			out = append(out, relayAround(s))
		}
	}
	if corpus == 0 || len(vectors) == 0 {
		t.Fatalf("no seeds: %d from the corpus and the spec, %d from the vectors", corpus, len(vectors))
	}
	return out
}

// relayAround returns a relay request with payload p.
func relayAround(p []byte) []byte {
	return append(append([]byte(`{"type":"relay","id":"7","to":"bob","session":"2ssslZEny/S/y5gWIrZ4Tg==","payload":`), p...), '}')
}

// vectorJSON returns the wire JSON embedded in the vectors (vectors/README.md: the members
// payload, relay, forwarded and json hold wire messages as text).
func vectorJSON(t tb) [][]byte {
	t.Helper()
	files, err := filepath.Glob("../../vectors/*.json")
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	var walk func(any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, e := range v {
				if s, ok := e.(string); ok && slices.Contains([]string{"payload", "relay", "forwarded", "json"}, k) {
					out = append(out, []byte(s))
					continue
				}
				walk(e)
			}
		case []any:
			for _, e := range v {
				walk(e)
			}
		}
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var v any
		if err := json.Unmarshal(data, &v); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		walk(v)
	}
	return out
}

// TestScanRelayMembers checks the indexes ScanRelay uses against the schema's members.
func TestScanRelayMembers(t *testing.T) {
	for name, i := range map[string]int{"id": relayID, "to": relayTo, "session": relaySession, "payload": relayPayload} {
		if membersOfRelay[i] != name {
			t.Errorf("membersOfRelay[%d] = %q, want %q", i, membersOfRelay[i], name)
		}
	}
	if len(membersOfRelay) != relayMembers {
		t.Errorf("relay has %d members, ScanRelay expects %d", len(membersOfRelay), relayMembers)
	}
}

// TestScanRelaySeeds compares ScanRelay with Decode on the corpus, the spec's examples and the
// vectors, and checks that it saw valid relays, invalid ones and other messages.
func TestScanRelaySeeds(t *testing.T) {
	var valid, invalid, other int
	for _, data := range scanSeeds(t) {
		checkScan(t, data)
		switch _, isRelay, err := ScanRelay(data); {
		case !isRelay:
			other++
		case err != nil:
			invalid++
		default:
			valid++
		}
	}
	t.Logf("%d valid relays, %d invalid ones, %d other texts", valid, invalid, other)
	if valid == 0 || invalid == 0 || other == 0 {
		t.Fatalf("the seeds hold %d valid relays, %d invalid ones, %d other texts: each must be there", valid, invalid, other)
	}
}

// TestScanRelayDifferential compares ScanRelay with Decode on generated relays: their canonical
// encodings, variants (whitespace, member order, escapes, integers written as 3.0) and mutants
// (the mutations of TestDifferential).
func TestScanRelayDifferential(t *testing.T) {
	i := slices.IndexFunc(kinds, func(k kind) bool { return k.name == "c2s/relay.json" })
	if i < 0 {
		t.Fatal("no generator for c2s/relay.json")
	}
	gen := kinds[i].gen
	n := 0
	for n < volume(20_000) {
		rapid.Check(t, func(rt *rapid.T) {
			v := gen.Draw(rt, "relay")
			enc := encodeAny(rt, v)
			checkScan(rt, enc)
			tree := parseJV(enc)
			rnd := rand.New(rand.NewPCG(rapid.Uint64().Draw(rt, "seed"), 0x7363))
			checkScan(rt, variantStyle(rnd).write(nil, tree))
			n += 2
			for range mutantsPerValue {
				m := tree.clone()
				for k := 1 + rnd.IntN(3); k > 0; k-- {
					mutations[rnd.IntN(len(mutations))](rnd, m)
				}
				var st *style
				if rnd.IntN(3) == 0 {
					st = variantStyle(rnd)
				}
				data := st.write(nil, m)
				if rnd.IntN(8) == 0 && len(data) > 0 {
					data = byteMutations[rnd.IntN(len(byteMutations))](rnd, data)
				}
				checkScan(rt, data)
				n++
			}
		})
	}
	t.Logf("compared %d inputs", n)
}

// TestScanRelayAllocs checks that scanning a valid relay in the form senders write allocates
// nothing.
func TestScanRelayAllocs(t *testing.T) {
	data := []byte(`{"type":"relay","id":"42","to":"bob","session":"2ssslZEny/S/y5gWIrZ4Tg==","payload":{"kind":"msg","n":7,"ct":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}}`)
	hs1 := []byte(`{"type":"relay","to":"bob","session":"2ssslZEny/S/y5gWIrZ4Tg==","payload":{"kind":"hs1","suites":["a","b"],"e":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="}}`)
	for _, in := range [][]byte{data, hs1} {
		if v, ok, err := ScanRelay(in); !ok || err != nil || !v.Plain {
			t.Fatalf("ScanRelay(%s) = %v, %v, plain %v", in, ok, err, v.Plain)
		}
		if n := testing.AllocsPerRun(100, func() { _, _, _ = ScanRelay(in) }); n != 0 {
			t.Errorf("ScanRelay(%s) allocates %v times, want 0", in, n)
		}
	}
}

// TestB64Canonical checks b64Canonical against b64Decode, which it mirrors, on every
// combination of the characters that decide canonical form.
func TestB64Canonical(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		s := []byte(rapid.StringMatching(`[A-Za-z0-9+/=\-_ ]{0,4}([A-Za-z0-9+/]{4}){0,3}[A-Za-z0-9+/=]{0,4}`).Draw(rt, "s"))
		n, pad, ok := b64Size(s)
		if !ok {
			return
		}
		want := b64Decode(make([]byte, n), s, pad)
		if got := b64Canonical(s, pad); got != want {
			rt.Fatalf("b64Canonical(%q) = %v, b64Decode says %v", s, got, want)
		}
	})
}

// TestB64Str checks b64str against str, which it must read exactly as: the same string, error
// and cursor, on texts made of the characters that end its one-table pass (padding, quotes,
// escapes, control and non-ASCII bytes, a missing end); and that it reports the alphabet only
// for the alphabet followed by at most two '='. Relays that carry such strings go through
// checkScan, which compares ScanRelay with Decode.
func TestB64Str(t *testing.T) {
	alphabetOnly := regexp.MustCompile(`^[A-Za-z0-9+/]*={0,2}$`)
	rapid.Check(t, func(rt *rapid.T) {
		body := rapid.StringMatching(`([A-Za-z0-9+/]{0,12}|=|\\u0041|\\/|\\"|\x01|é|\xff| ){0,6}`).Draw(rt, "body")
		text := []byte(" \"" + body + rapid.SampledFrom([]string{`"`, `",`, ``, `=="`, `==="`}).Draw(rt, "end"))
		a, b := decoder{data: text}, decoder{data: text}
		s, alphabet, err := a.b64str()
		want, werr := b.str()
		if string(s) != string(want) || (err == nil) != (werr == nil) || a.pos != b.pos {
			rt.Fatalf("b64str(%q) = %q, %v at %d; str gives %q, %v at %d", text, s, err, a.pos, want, werr, b.pos)
		}
		if err != nil && werr != nil && err.Error() != werr.Error() {
			rt.Fatalf("b64str(%q) fails with %v, str with %v", text, err, werr)
		}
		if alphabet && !alphabetOnly.Match(s) {
			rt.Fatalf("b64str(%q) reports the alphabet for %q", text, s)
		}
		checkScan(rt, fmt.Appendf(nil, `{"type":"relay","to":"bob","session":"2ssslZEny/S/y5gWIrZ4Tg==","payload":{"kind":"msg","n":7,"ct":%s}}`, text))
	})
}

// TestDiscriminator checks discriminator, which reads a first member written as the codec
// writes it without the general loop, against that loop (findDiscriminator): the same value or
// the same error, and the cursor left where it was, on texts that begin as the short way expects
// and then do not quite go on as it does.
func TestDiscriminator(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		head := rapid.SampledFrom([]string{`{"type":"`, `{"type":`, `{"type" :"`, ` {"type":"`, `{"typ":"`, `{"types":"`, `{"type!:"`, `{"kind":"`}).Draw(rt, "head")
		value := rapid.StringMatching(`([a-z_]{0,8}|\\u0072|\\"|\x01|é|\xff){0,3}`).Draw(rt, "value")
		tail := rapid.SampledFrom([]string{`"}`, `","type":"b"}`, `"`, ``, `",`, `" , "kind":"x"}`}).Draw(rt, "tail")
		text := []byte(head + value + tail)
		a, b := decoder{data: text}, decoder{data: text}
		got, err := a.discriminator("type")
		want, werr := b.findDiscriminator("type")
		if string(got) != string(want) || (err == nil) != (werr == nil) || err != nil && err.Error() != werr.Error() || a.pos != 0 || b.pos != 0 {
			rt.Fatalf("discriminator(%q) = %q, %v at %d; the loop gives %q, %v at %d", text, got, err, a.pos, want, werr, b.pos)
		}
	})
}

// FuzzScanRelay compares ScanRelay with Decode on fuzzed input, seeded by scanSeeds.
//
//	go test ./impl/wire -run '^$' -fuzz FuzzScanRelay
func FuzzScanRelay(f *testing.F) {
	for _, s := range scanSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) { checkScan(t, data) })
}

// BenchmarkScanRelay measures the relay's check of a relay request with a 200-byte ciphertext,
// in the form senders write (BenchmarkDecode measures decoding the same kind).
func BenchmarkScanRelay(b *testing.B) {
	data := fmt.Appendf(nil, `{"type":"relay","id":"42","to":"bob","session":"2ssslZEny/S/y5gWIrZ4Tg==","payload":{"kind":"msg","n":7,"ct":"%s"}}`,
		base64.StdEncoding.EncodeToString(make([]byte, 200)))
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, ok, err := ScanRelay(data); !ok || err != nil {
			b.Fatalf("ScanRelay = %v, %v", ok, err)
		}
	}
}
