package wire

import (
	"encoding/base64"
	"encoding/json"
	"math/rand/v2"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/blindpost/blindpost/schemas"
)

// bounds are the numbers the schemas use, collected from the schema files themselves so that
// the mutants probe every boundary ±1: string lengths (minLength, maxLength and the repetition
// counts of patterns), item counts and integer bounds.
type bounds struct {
	lengths []int
	items   []int
	ints    []string
}

var (
	boundsOnce  sync.Once
	schemaBound bounds
	repetition  = regexp.MustCompile(`\{([0-9]+)(?:,([0-9]+))?\}`)
)

func schemaBounds() bounds {
	boundsOnce.Do(func() {
		lengths := map[int]bool{0: true, 1: true, 2: true}
		items := map[int]bool{0: true, 1: true, 2: true}
		ints := map[string]bool{"0": true, "-1": true, "1": true}
		var walk func(v any)
		walk = func(v any) {
			switch v := v.(type) {
			case map[string]any:
				for k, e := range v {
					switch k {
					case "minLength", "maxLength":
						n := int(e.(float64))
						for d := -1; d <= 1; d++ {
							lengths[n+d] = true
						}
					case "minItems", "maxItems":
						n := int(e.(float64))
						for d := -1; d <= 1; d++ {
							items[n+d] = true
						}
					case "minimum", "maximum":
						n := int64(e.(float64))
						for d := int64(-1); d <= 1; d++ {
							ints[strconv.FormatInt(n+d, 10)] = true
						}
					case "pattern":
						for _, m := range repetition.FindAllStringSubmatch(e.(string), -1) {
							for _, g := range m[1:] {
								if n, err := strconv.Atoi(g); err == nil {
									for d := -1; d <= 3; d++ {
										lengths[n+d] = true
									}
								}
							}
						}
					}
					walk(e)
				}
			case []any:
				for _, e := range v {
					walk(e)
				}
			}
		}
		paths, _ := schemas.Paths()
		for _, p := range paths {
			data, _ := schemas.FS.ReadFile(p)
			var v any
			if err := json.Unmarshal(data, &v); err == nil {
				walk(v)
			}
		}
		for k := range lengths {
			if k >= 0 {
				schemaBound.lengths = append(schemaBound.lengths, k)
			}
		}
		for k := range items {
			if k >= 0 {
				schemaBound.items = append(schemaBound.items, k)
			}
		}
		for k := range ints {
			schemaBound.ints = append(schemaBound.ints, k)
		}
		sort.Ints(schemaBound.lengths)
		sort.Ints(schemaBound.items)
		sort.Strings(schemaBound.ints)
	})
	return schemaBound
}

// A mutation changes a tree in place; it may leave it valid.
type mutation func(r *rand.Rand, root *jv)

// pick returns a random node of root for which ok holds, or nil.
func pick(r *rand.Rand, root *jv, ok func(*jv) bool) *jv {
	var c []*jv
	for _, n := range root.nodes(nil) {
		if ok(n) {
			c = append(c, n)
		}
	}
	if len(c) == 0 {
		return nil
	}
	return c[r.IntN(len(c))]
}

func isKind(k byte) func(*jv) bool { return func(n *jv) bool { return n.kind == k } }

func any_(*jv) bool { return true }

// memberNames are names of members of every schema, and some near misses.
var memberNames = []string{"type", "kind", "id", "from", "to", "user", "session", "payload", "n", "ct", "e", "sig", "fin",
	"suites", "suite", "group", "epoch", "members", "commit", "message", "for", "code", "x", "", "Type", "type ", "é",
	"identity_key", "last_commit", "limits", "max_message", "prev", "wraps", "text", "sent_at", "a/b", "t~0"}

// typeNames are the values of every discriminator, from the generated codec, and some near misses.
var typeNames = slices.Concat(valuesOfClientMessage, valuesOfServerMessage, valuesOfPayload,
	[]string{"HELLO", "", "nope", "relay "})

func randomValue(r *rand.Rand) *jv {
	switch r.IntN(12) {
	case 0:
		return &jv{kind: 'l', text: "null"}
	case 1:
		return &jv{kind: 'l', text: "true"}
	case 2:
		return &jv{kind: 'l', text: "false"}
	case 3:
		return &jv{kind: 'n', text: schemaBounds().ints[r.IntN(len(schemaBounds().ints))]}
	case 4:
		return &jv{kind: 'n', text: []string{"1.5", "-0", "1e400", "0.1"}[r.IntN(4)]}
	case 5:
		return &jv{kind: 's', text: typeNames[r.IntN(len(typeNames))]}
	case 6:
		return &jv{kind: 's', text: ""}
	case 7:
		return &jv{kind: 'a'}
	case 8:
		return &jv{kind: 'o'}
	case 9:
		return &jv{kind: 'a', elems: []*jv{{kind: 's', text: "alice"}}}
	case 10:
		return &jv{kind: 'o', keys: []string{"a"}, vals: []*jv{{kind: 'n', text: "1"}}}
	}
	return &jv{kind: 's', text: "AAAAAAAAAAAAAAAAAAAAAA=="}
}

var mutations = []mutation{
	// Drop a member (required or not).
	func(r *rand.Rand, root *jv) {
		n := pick(r, root, func(n *jv) bool { return n.kind == 'o' && len(n.keys) > 0 })
		if n == nil {
			return
		}
		i := r.IntN(len(n.keys))
		n.keys = slices.Delete(n.keys, i, i+1)
		n.vals = slices.Delete(n.vals, i, i+1)
	},
	// Add a member, often unknown.
	func(r *rand.Rand, root *jv) {
		n := pick(r, root, isKind('o'))
		if n == nil {
			return
		}
		i := r.IntN(len(n.keys) + 1)
		n.keys = slices.Insert(n.keys, i, memberNames[r.IntN(len(memberNames))])
		n.vals = slices.Insert(n.vals, i, randomValue(r))
	},
	// Repeat a member, with the same or another value.
	func(r *rand.Rand, root *jv) {
		n := pick(r, root, func(n *jv) bool { return n.kind == 'o' && len(n.keys) > 0 })
		if n == nil {
			return
		}
		i := r.IntN(len(n.keys))
		v := n.vals[i].clone()
		if r.IntN(2) == 0 {
			v = randomValue(r)
		}
		j := r.IntN(len(n.keys) + 1)
		n.keys = slices.Insert(n.keys, j, n.keys[i])
		n.vals = slices.Insert(n.vals, j, v)
	},
	// Replace a value with one of another type.
	func(r *rand.Rand, root *jv) {
		if n := pick(r, root, any_); n != nil {
			*n = *randomValue(r)
		}
	},
	// A string of a boundary length, from various alphabets.
	func(r *rand.Rand, root *jv) {
		n := pick(r, root, isKind('s'))
		if n == nil {
			return
		}
		lengths := schemaBounds().lengths
		l := lengths[r.IntN(len(lengths))]
		alphabets := []string{n.text, "a", "A", "0", "z9_.-", "é", "😀", " ", "\n", "=", "+/", "sha256:", "x-y", "\u2028", "\x00", "!~"}
		a := []rune(alphabets[r.IntN(len(alphabets))])
		if len(a) == 0 {
			a = []rune("a")
		}
		var b strings.Builder
		start := r.IntN(len(a))
		for i := 0; i < l; i++ {
			b.WriteRune(a[(start+i)%len(a)])
		}
		n.text = b.String()
	},
	// Non-canonical or wrong-length base64.
	func(r *rand.Rand, root *jv) {
		n := pick(r, root, func(n *jv) bool { return n.kind == 's' && isCanonicalB64(n.text) })
		if n == nil {
			return
		}
		n.text = mutateB64(r, n.text)
	},
	// A number at a bound, out of range, not an integer, or an integer written another way.
	func(r *rand.Rand, root *jv) {
		n := pick(r, root, isKind('n'))
		if n == nil {
			return
		}
		ints := schemaBounds().ints
		switch r.IntN(4) {
		case 0, 1:
			n.text = ints[r.IntN(len(ints))]
		case 2:
			n.text = []string{"3.5", "1e400", "-1e400", "1e-400", "1E2", "1.0", "-0", "0.5e1", "123456789012345678901234567890",
				"9007199254740992", "16777216.0", "4294967296", "1.00000000000000000001", "0.0000001e7", "2e-1",
				"100e-2", "1e18", "-9223372036854775809", "18446744073709551616", "1e99999999999", "1e-99999999999"}[r.IntN(21)]
		default:
			// Not JSON numbers.
			n.kind = 'r'
			n.text = []string{"01", "+1", "1.", ".5", "-", "1e", "0x10", "NaN", "Infinity", "- 1", "1_000"}[r.IntN(11)]
		}
	},
	// Arrays: empty, shorter, with a repeated item, or at a boundary count.
	func(r *rand.Rand, root *jv) {
		n := pick(r, root, isKind('a'))
		if n == nil {
			return
		}
		switch r.IntN(4) {
		case 0:
			n.elems = nil
		case 1:
			if len(n.elems) > 0 {
				i := r.IntN(len(n.elems))
				n.elems = slices.Delete(n.elems, i, i+1)
			}
		case 2:
			if len(n.elems) > 0 {
				n.elems = slices.Insert(n.elems, r.IntN(len(n.elems)+1), n.elems[r.IntN(len(n.elems))].clone())
			}
		default:
			items := schemaBounds().items
			want := items[r.IntN(len(items))]
			if len(n.elems) == 0 {
				n.elems = []*jv{{kind: 's', text: "a"}}
			}
			distinct := r.IntN(2) == 0
			for i := 0; len(n.elems) < want; i++ {
				e := n.elems[i%len(n.elems)].clone()
				if distinct && e.kind == 's' {
					e.text = "u" + strconv.Itoa(i)
				}
				n.elems = append(n.elems, e)
			}
			n.elems = n.elems[:want]
		}
	},
	// Deep nesting around a value.
	func(r *rand.Rand, root *jv) {
		n := pick(r, root, any_)
		if n == nil {
			return
		}
		d := []int{1, 28, 29, 30, 31, 32, 33, 40, 200}[r.IntN(9)]
		inner := n.clone()
		for i := 0; i < d; i++ {
			if r.IntN(3) == 0 {
				inner = &jv{kind: 'o', keys: []string{"a"}, vals: []*jv{inner}}
			} else {
				inner = &jv{kind: 'a', elems: []*jv{inner}}
			}
		}
		*n = *inner
	},
	// Another discriminator value.
	func(r *rand.Rand, root *jv) {
		n := pick(r, root, func(n *jv) bool {
			return n.kind == 'o' && (slices.Contains(n.keys, "type") || slices.Contains(n.keys, "kind"))
		})
		if n == nil {
			return
		}
		for i, k := range n.keys {
			if k == "type" || k == "kind" {
				n.vals[i] = &jv{kind: 's', text: typeNames[r.IntN(len(typeNames))]}
			}
		}
	},
	// Escapes: an unpaired surrogate, an escaped member name, an invalid escape.
	func(r *rand.Rand, root *jv) {
		n := pick(r, root, isKind('s'))
		if n == nil {
			return
		}
		var b []byte
		b = (&style{}).str(b, n.text)
		body := string(b[1 : len(b)-1])
		i := r.IntN(len(body) + 1)
		for i > 0 && i < len(body) && (body[i]&0xC0 == 0x80 || body[i-1] == '\\') {
			i--
		}
		ins := []string{`\ud800`, `\udc00`, `\ud83d\ude00`, `\ud83d`, `\u0061`, `\x`, `\u12`, `\/`, "\t", `\U0041`}[r.IntN(10)]
		n.kind = 'r'
		n.text = `"` + body[:i] + ins + body[i:] + `"`
	},
	// A member name written with escapes: the same name.
	func(r *rand.Rand, root *jv) {
		n := pick(r, root, func(n *jv) bool { return n.kind == 'o' && len(n.keys) > 0 })
		if n == nil {
			return
		}
		i := r.IntN(len(n.keys))
		k := n.keys[i]
		var raw strings.Builder
		for _, c := range k {
			if r.IntN(2) == 0 && c < 0x80 {
				raw.WriteString(`\u00` + strconv.FormatInt(int64(c), 16))
			} else {
				raw.WriteRune(c)
			}
		}
		// Keep the member, under a raw name; style.write cannot write raw names, so the whole
		// object becomes raw.
		var b []byte
		b = append(b, '{')
		for j := range n.keys {
			if j > 0 {
				b = append(b, ',')
			}
			if j == i {
				b = append(b, '"')
				b = append(b, raw.String()...)
				b = append(b, '"')
			} else {
				b = (&style{}).str(b, n.keys[j])
			}
			b = append(b, ':')
			b = (*style)(nil).write(b, n.vals[j])
		}
		b = append(b, '}')
		*n = jv{kind: 'r', text: string(b)}
	},
}

// byteMutations break the text itself.
var byteMutations = []func(r *rand.Rand, b []byte) []byte{
	func(r *rand.Rand, b []byte) []byte { return b[:r.IntN(len(b))] },                                    // truncated
	func(r *rand.Rand, b []byte) []byte { return insertAt(r, b, invalidUTF8[r.IntN(len(invalidUTF8))]) }, // invalid UTF-8
	func(r *rand.Rand, b []byte) []byte {
		return append(b, []string{"x", " {}", "\n\t ", "0", "\x00", "}", " ,"}[r.IntN(7)]...)
	},
	func(r *rand.Rand, b []byte) []byte { return append([]byte("\uFEFF"), b...) }, // a byte order mark
	func(r *rand.Rand, b []byte) []byte { // one byte replaced
		c := slices.Clone(b)
		c[r.IntN(len(c))] = byte(r.IntN(256))
		return c
	},
	func(r *rand.Rand, b []byte) []byte { // a control character, likely inside a string
		return insertAt(r, b, string(rune(r.IntN(0x20))))
	},
	func(r *rand.Rand, b []byte) []byte { return append(slices.Clone(b), b...) }, // two values
}

var invalidUTF8 = []string{"\xff", "\xc0\x80", "\x80", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xe2\x82", "\xc3", "\xf0\x9f\x98"}

func insertAt(r *rand.Rand, b []byte, s string) []byte {
	i := r.IntN(len(b) + 1)
	return slices.Insert(slices.Clone(b), i, []byte(s)...)
}

func isCanonicalB64(s string) bool {
	if len(s) < 4 {
		return false
	}
	b, err := base64.StdEncoding.Strict().DecodeString(s)
	return err == nil && base64.StdEncoding.EncodeToString(b) == s
}

// mutateB64 breaks canonical base64 in one of the ways spec ENC-6 rejects, or changes its length.
func mutateB64(r *rand.Rand, s string) string {
	raw, _ := base64.StdEncoding.DecodeString(s)
	pad := len(s) - len(strings.TrimRight(s, "="))
	switch r.IntN(9) {
	case 0: // unused bits set
		if pad > 0 {
			last := len(s) - pad - 1
			v := strings.IndexByte(b64Alphabet, s[last])
			mask := 0x0F
			if pad == 1 {
				mask = 0x03
			}
			v = v&^mask | (1+r.IntN(mask))&mask
			return s[:last] + string(b64Alphabet[v]) + s[last+1:]
		}
		return s + "A"
	case 1: // padding missing
		return strings.TrimRight(s, "=")
	case 2: // one '=' fewer or more
		if pad > 0 && r.IntN(2) == 0 {
			return s[:len(s)-1]
		}
		return s + "="
	case 3: // other lengths
		n := max(0, len(raw)+[]int{-3, -2, -1, 1, 2, 3}[r.IntN(6)])
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(r.IntN(256))
		}
		return base64.StdEncoding.EncodeToString(b)
	case 4: // whitespace inside
		i := r.IntN(len(s) + 1)
		return s[:i] + []string{"\n", " ", "\r\n", "\t"}[r.IntN(4)] + s[i:]
	case 5: // the URL alphabet
		if strings.ContainsAny(s, "+/") {
			return strings.NewReplacer("+", "-", "/", "_").Replace(s)
		}
		return "-" + s[1:]
	case 6: // '=' inside
		i := r.IntN(len(s) - pad)
		return s[:i] + "=" + s[i+1:]
	case 7: // a non-alphabet or non-ASCII character
		i := r.IntN(len(s) - pad)
		c := []string{"é", "!", "*", ".", "\x7f"}[r.IntN(5)]
		return s[:i] + c + s[i+1:]
	}
	// canonical base64 of other bytes, same length: still valid
	b := make([]byte, len(raw))
	for i := range b {
		b[i] = byte(r.IntN(256))
	}
	return base64.StdEncoding.EncodeToString(b)
}

const b64Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
