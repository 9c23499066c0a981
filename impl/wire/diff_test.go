package wire

import (
	"bytes"
	"math/rand/v2"
	"reflect"
	"sync/atomic"
	"testing"

	"pgregory.net/rapid"
)

// differentialInputs is how many generated inputs TestDifferential checks against the oracle in
// a full run (make test-full, CI), whatever -rapid.checks says; -short (make test) checks a
// tenth, see volume.
const differentialInputs = 100_000

// volume scales a test's input count: full in a full run, a tenth of it with -short. The
// differential tests are about volume; the short run still covers every type.
func volume(full int) int {
	if testing.Short() {
		return full / 10
	}
	return full
}

// TestDifferential is the proof that the generated codec is the schemas: for valid values of
// every generated type, their canonical encodings, variants of those (whitespace, member order,
// escapes, integers written as 3.0 or 3e0) and mutants of them (dropped, unknown and repeated
// members, wrong types, boundary lengths and counts, non-canonical base64, numbers out of range
// or not integers, deep nesting, broken escapes, invalid UTF-8, truncation, trailing data), the
// generated decoder and the oracle must agree on valid or invalid, and on the pointer and keyword
// whenever the oracle names a single cause; valid inputs must decode to values whose canonical
// encoding is stable, and every generated value m must satisfy Decode(Encode(m)) == m.
func TestDifferential(t *testing.T) {
	want := volume(differentialInputs)
	quota := (want + len(kinds) - 1) / len(kinds)
	var total atomic.Int64
	t.Run("types", func(t *testing.T) {
		for _, k := range kinds {
			t.Run(k.name, func(t *testing.T) {
				t.Parallel()
				n := 0
				for n < quota {
					rapid.Check(t, func(rt *rapid.T) { n += differentialCase(rt, k) })
				}
				total.Add(int64(n))
			})
		}
	})
	t.Logf("checked %d generated inputs against the oracle (%d types)", total.Load(), len(kinds))
	if !t.Failed() && total.Load() < int64(want) {
		t.Fatalf("only %d generated inputs, want %d", total.Load(), want)
	}
}

// mutantsPerValue is how many mutants each generated value gives.
const mutantsPerValue = 8

// differentialCase checks one generated value, its variants and its mutants, and returns the
// number of inputs it compared with the oracle.
func differentialCase(t *rapid.T, k kind) int {
	tg := k.target()
	v := k.gen.Draw(t, "value")
	count := 0
	check := func(tg target, data []byte) (any, bool) {
		count++
		return agree(t, tg, data)
	}

	// The canonical encoding: valid, and it decodes to the value (Decode(Encode(m)) == m).
	enc := encodeAny(t, v)
	got, valid := check(tg, enc)
	if !valid {
		t.Fatalf("the encoding of a generated valid %T is rejected: %s", v, quoteInput(enc))
	}
	if !reflect.DeepEqual(got, v) {
		t.Fatalf("Decode(Encode(m)) != m:\n  m:      %#v\n  decode: %#v\n  bytes:  %s", v, got, quoteInput(enc))
	}
	if enc2 := encodeAny(t, got); !bytes.Equal(enc, enc2) {
		t.Fatalf("encoding is not stable: %s then %s", quoteInput(enc), quoteInput(enc2))
	}

	tree := parseJV(enc)
	rnd := rand.New(rand.NewPCG(rapid.Uint64().Draw(t, "seed"), 0x6272))

	// A variant: the same value written differently decodes to the same value, and encodes
	// to the same canonical bytes.
	data := variantStyle(rnd).write(nil, tree)
	got, valid = check(tg, data)
	if !valid {
		t.Fatalf("a variant of a valid %T is rejected: %s", v, quoteInput(data))
	}
	if !reflect.DeepEqual(got, v) {
		t.Fatalf("a variant decodes to another value:\n  m:      %#v\n  decode: %#v\n  bytes:  %s", v, got, quoteInput(data))
	}
	if enc2 := encodeAny(t, got); !bytes.Equal(enc, enc2) {
		t.Fatalf("a variant re-encodes to %s, want %s", quoteInput(enc2), quoteInput(enc))
	}

	// Mutants.
	for range mutantsPerValue {
		m := tree.clone()
		for n := 1 + rnd.IntN(3); n > 0; n-- {
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
		if got, valid := check(tg, data); valid {
			checkCanonical(t, tg, got)
		}
		// The same input through another entry point: the other stream, the payload, or the
		// schema of the type alone.
		if rnd.IntN(4) == 0 {
			others := []string{"client", "server", "payload", "content", "commit", "group_msg"}
			other := topTargets[others[rnd.IntN(len(others))]]
			if got, valid := check(other, data); valid {
				checkCanonical(t, other, got)
			}
		}
	}
	return count
}
