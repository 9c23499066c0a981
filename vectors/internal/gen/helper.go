// Package gen generates Blindpost's test vectors (vectors/*.json) and their
// schemas from a fixed seed. Each family has one file here; this file holds
// what they share: the deterministic randomness, an encoder of enc written
// from spec §2.1 independently of impl/e2ee/canonical, and stable JSON writing.
//
// The generator runs as a Go test (gen_test.go) because crypto/hpke draws
// its ephemerals from crypto/rand, which only testing/cryptotest can make
// deterministic: `make vectors` writes the files, and the same test without
// -update fails when a checked-in file differs from what it generates.
package gen

import (
	"bytes"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"

	"github.com/blindpost/blindpost/impl/e2ee/identity"
	"github.com/blindpost/blindpost/impl/wire"
	"github.com/blindpost/blindpost/vectors"
)

// Seed is the fixed seed of every random value in the vectors. Changing it
// changes every file.
const Seed = "blindpost/1 test vectors, fixed seed 1"

// stream returns the deterministic random stream named label: ChaCha8 keyed
// with SHA-256(Seed || 0x00 || label). Every value has its own label, so
// adding a vector never changes the others.
func stream(label string) *rand.ChaCha8 {
	return rand.NewChaCha8(sha256.Sum256([]byte(Seed + "\x00" + label)))
}

// randBytes returns n bytes of the stream named label.
func randBytes(label string, n int) []byte {
	b := make([]byte, n)
	_, _ = stream(label).Read(b) // ChaCha8.Read never fails
	return b
}

// goSeed returns the testing/cryptotest seed named label, below 2^31 so that
// it is a portable JSON number.
func goSeed(label string) uint64 {
	h := sha256.Sum256([]byte(Seed + "\x00go seed\x00" + label))
	return uint64(binary.BigEndian.Uint32(h[:4]) >> 1)
}

// fail panics with a gen: error; Generate turns the panic into an error.
func fail(format string, args ...any) {
	panic(fmt.Errorf("gen: "+format, args...))
}

// must returns v, or fails with err.
func must[T any](v T, err error) T {
	if err != nil {
		fail("%w", err)
	}
	return v
}

// check fails unless ok: the generator verifies what it writes against an
// independent computation wherever it can.
func check(ok bool, format string, args ...any) {
	if !ok {
		fail("self-check: "+format, args...)
	}
}

// seedOf returns the identity seed of the user called name.
func seedOf(name string) []byte { return randBytes("identity seed "+name, identity.SeedSize) }

// idOf returns the identity of the user called name.
func idOf(name string) *identity.PrivateKey { return must(identity.FromSeed(seedOf(name))) }

// party returns the user called name as a vector party.
func party(name string) vectors.Party {
	return vectors.Party{User: name, Seed: seedOf(name), IdentityKey: vectors.Hex(idOf(name).Public())}
}

// name32 returns a 32-character username that starts with prefix.
func name32(prefix string) string {
	const fill = "-max.length_name-0123456789abcdefghijklmnopqrstuvwxyz"
	return (prefix + fill)[:32]
}

// field is one typed field of enc, for the generator's own encoder.
type field struct {
	kind  string // bytes, text, uint64, list
	b     []byte
	s     string
	u     uint64
	items []field
}

func fBytes(b []byte) field      { return field{kind: "bytes", b: b} }
func fText(s string) field       { return field{kind: "text", s: s} }
func fUint(u uint64) field       { return field{kind: "uint64", u: u} }
func fList(items ...field) field { return field{kind: "list", items: items} }

// encode is enc of spec §2.1, written from the spec: a byte string or text
// is its 4-byte big-endian length and its bytes, an integer its 8 bytes
// big-endian, a list the byte string of the enc of its elements.
func encode(fields ...field) []byte {
	var out []byte
	for _, f := range fields {
		switch f.kind {
		case "bytes":
			out = binary.BigEndian.AppendUint32(out, uint32(len(f.b)))
			out = append(out, f.b...)
		case "text":
			out = binary.BigEndian.AppendUint32(out, uint32(len(f.s)))
			out = append(out, f.s...)
		case "uint64":
			out = binary.BigEndian.AppendUint64(out, f.u)
		case "list":
			inner := encode(f.items...)
			out = binary.BigEndian.AppendUint32(out, uint32(len(inner)))
			out = append(out, inner...)
		default:
			fail("unknown field kind %q", f.kind)
		}
	}
	return out
}

// expandInfo is the HKDF info of Expand (spec §2.2), from the spec.
func expandInfo(label string, ctx []byte, n int) []byte {
	return encode(fUint(uint64(n)), fText("blindpost/1 "+label), fBytes(ctx))
}

// expand is Expand (spec §2.2) on crypto/hkdf directly.
func expand(secret []byte, label string, ctx []byte, n int) []byte {
	return must(hkdf.Expand(sha256.New, secret, string(expandInfo(label, ctx, n)), n))
}

// indexOnce returns the index of the only occurrence of sub in s.
func indexOnce(s, sub string) int {
	i := strings.Index(s, sub)
	check(i >= 0 && strings.Count(s, sub) == 1, "%q occurs %d times", sub, strings.Count(s, sub))
	return i
}

// cat concatenates byte strings.
func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

// flip returns a copy of b with bit 0 of byte i (counted from the end when
// negative) inverted.
func flip(b []byte, i int) []byte {
	c := bytes.Clone(b)
	if i < 0 {
		i += len(c)
	}
	c[i] ^= 0x01
	return c
}

// encodeMessage is the wire encoding of a top-level message.
func encodeMessage(m wire.Message) string { return string(must(wire.Encode(m))) }

// encodeJSON is the wire encoding of an end-to-end object (a payload, a
// commit, a group message or content), whose MarshalJSON validates it.
func encodeJSON(v json.Marshaler) string { return string(must(v.MarshalJSON())) }

// encodePayload is the wire encoding of a relay payload.
func encodePayload(p wire.Payload) string {
	m, ok := p.(json.Marshaler)
	if !ok {
		fail("payload %T has no JSON encoding", p)
	}
	return encodeJSON(m)
}

// meta returns the header of family name.
func meta(name, description string) vectors.Meta {
	return vectors.Meta{Family: name, Protocol: vectors.Protocol, Description: description, Notice: vectors.Notice}
}

// marshal writes v as the vector files are written: two-space indentation,
// members in the order of the Go types, no HTML escaping, a final newline.
func marshal(v any) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		fail("marshal: %w", err)
	}
	return buf.Bytes()
}

// content returns a content object (schemas/e2e/content.json) of exactly
// size bytes: text filled from the stream named label with printable ASCII.
func content(label string, size int) string {
	const sentAt = 1795651200000
	const frame = len(`{"text":"","sent_at":1795651200000}`)
	n := size - frame
	if n < 1 {
		fail("content of %d bytes is too small", size)
	}
	const alphabet = "abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ 0123456789 .,;:!?-"
	r := stream(label)
	var b strings.Builder
	for b.Len() < n {
		b.WriteByte(alphabet[r.Uint64()%uint64(len(alphabet))])
	}
	text := b.String()
	out := encodeJSON(wire.Content{Text: text, SentAt: sentAt})
	check(len(out) == size, "content is %d bytes, want %d", len(out), size)
	return out
}

// maxContent returns the largest plaintext a record or group message
// carries, 32750 bytes, as a valid content object: its text stays within
// 4096 characters by mixing surrogate-pair escapes (12 bytes, one character)
// with raw 4-byte UTF-8 characters.
func maxContent() string {
	const escaped, raw = `\ud83d\ude00`, "\U0001F600"
	var b strings.Builder
	b.WriteString(`{"text":"abc`)
	for range 2043 {
		b.WriteString(escaped)
	}
	for range 2049 {
		b.WriteString(raw)
	}
	b.WriteString(`","sent_at":1795651200000}`)
	out := b.String()
	c := must(wire.DecodeContent([]byte(out)))
	check(len(out) == 32750 && len([]rune(c.Text)) <= 4096, "max content is %d bytes, %d characters", len(out), len([]rune(c.Text)))
	return out
}
