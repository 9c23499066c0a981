package wire

import (
	"encoding/base64"
	"hash/maphash"
	"math/bits"
)

// text is what the generated checks accept: a Go string of a message value, or the unescaped
// bytes of a JSON string being decoded.
type text interface{ ~string | ~[]byte }

// runeCount counts the code points of s, which must be valid UTF-8 (JSON Schema minLength and
// maxLength count code points).
func runeCount[T text](s T) int {
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i]&0xC0 != 0x80 {
			n++
		}
	}
	return n
}

// checkLength checks minLength and maxLength (negative: absent) in code points.
func checkLength[T text](s T, minLen, maxLen int) *ValidationError {
	// A code point is 1 to 4 bytes: bounds that the byte length satisfies either way need no count.
	if (maxLen < 0 || len(s) <= maxLen) && (minLen < 0 || len(s) >= 4*minLen) {
		return nil
	}
	n := runeCount(s)
	if minLen >= 0 && n < minLen {
		return errMinLength(n, minLen)
	}
	if maxLen >= 0 && n > maxLen {
		return errMaxLength(n, maxLen)
	}
	return nil
}

// dfa is a deterministic automaton over bytes that accepts exactly the strings a schema pattern
// matches as a whole. wiregen compiles each pattern into one at generation time, so matching
// costs one table lookup per byte and never allocates.
type dfa struct {
	class  [256]uint8 // byte to class; class 0 never leads anywhere
	nclass int
	next   []uint8 // next[state*nclass+class]; state 0 is the dead state
	accept []bool  // by state
	start  uint8
}

func matchDFA[T text](p *dfa, s T) bool {
	st := int(p.start)
	for i := 0; i < len(s); i++ {
		st = int(p.next[st*p.nclass+int(p.class[s[i]])])
		if st == 0 {
			return false
		}
	}
	return p.accept[st]
}

// b64Value maps a byte to its value in the standard base64 alphabet, and every other byte to
// 0xFF.
var b64Value = func() (t [256]uint8) {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	for i := range t {
		t[i] = 0xFF
	}
	for i := 0; i < len(alphabet); i++ {
		t[alphabet[i]] = uint8(i)
	}
	return t
}()

// b64Size returns the number of bytes s decodes to and its number of padding characters, from
// its length and its last two characters alone; ok is false when the length is not a multiple
// of 4.
func b64Size[T text](s T) (size, pad int, ok bool) {
	n := len(s)
	if n%4 != 0 {
		return 0, 0, false
	}
	if n > 0 && s[n-1] == '=' {
		pad = 1
		if s[n-2] == '=' {
			pad = 2
		}
	}
	return n/4*3 - pad, pad, true
}

// b64Decode decodes s, whose size and padding b64Size gave, into dst, which has room for exactly
// the decoded bytes, and reports whether s was canonical padded base64 (spec ENC-5): only the
// standard alphabet, '=' only as the padding, and zero unused bits in the last character. It
// checks while it decodes, in one pass.
func b64Decode[T text](dst []byte, s T, pad int) bool {
	n := len(s)
	full := n / 4
	if pad > 0 {
		full--
	}
	var bad uint8
	j := 0
	for i := 0; i < full*4; i += 4 {
		a, b, c, e := b64Value[s[i]], b64Value[s[i+1]], b64Value[s[i+2]], b64Value[s[i+3]]
		bad |= a | b | c | e
		v := uint32(a)<<18 | uint32(b)<<12 | uint32(c)<<6 | uint32(e)
		dst[j], dst[j+1], dst[j+2] = byte(v>>16), byte(v>>8), byte(v)
		j += 3
	}
	if pad > 0 {
		i := full * 4
		a, b := b64Value[s[i]], b64Value[s[i+1]]
		bad |= a | b
		v := uint32(a)<<18 | uint32(b)<<12
		if pad == 1 {
			c := b64Value[s[i+2]]
			bad |= c
			if c&0x03 != 0 { // unused bits must be zero
				bad |= 0x80
			}
			v |= uint32(c) << 6
			dst[j+1] = byte(v >> 8)
		} else if b&0x0F != 0 {
			bad |= 0x80
		}
		dst[j] = byte(v >> 16)
	}
	return bad&0xC0 == 0
}

// decodeB64Fixed decodes canonical base64 of exactly size bytes; a failure is the schema's
// pattern keyword, which pins the length and the canonical last character (spec ENC-6).
func (d *decoder) decodeB64Fixed(s []byte, size int, pattern string) ([]byte, *ValidationError) {
	if n, pad, ok := b64Size(s); ok && n == size {
		if b := d.bytes(size); b64Decode(b, s, pad) {
			return b, nil
		}
	}
	return nil, errPattern(pattern)
}

// decodeB64FixedOrEmpty is decodeB64Fixed that also accepts the empty string, as nil.
func (d *decoder) decodeB64FixedOrEmpty(s []byte, size int, pattern string) ([]byte, *ValidationError) {
	if len(s) == 0 {
		return nil, nil
	}
	return d.decodeB64Fixed(s, size, pattern)
}

// decodeB64Var decodes canonical base64 of any length whose text has between minLen and maxLen
// characters (negative: no bound).
func (d *decoder) decodeB64Var(s []byte, minLen, maxLen int, pattern string) ([]byte, *ValidationError) {
	if err := checkLength(s, minLen, maxLen); err != nil {
		return nil, err
	}
	if n, pad, ok := b64Size(s); ok {
		if n == 0 {
			return nil, nil
		}
		if b := d.bytes(n); b64Decode(b, s, pad) {
			return b, nil
		}
	}
	return nil, errPattern(pattern)
}

// checkB64Fixed checks a Go value that must encode to base64 of exactly size bytes.
func checkB64Fixed(b []byte, size int, pattern string) *ValidationError {
	if len(b) != size {
		return errPattern(pattern)
	}
	return nil
}

// checkB64FixedOrEmpty checks a Go value that must be empty or size bytes long.
func checkB64FixedOrEmpty(b []byte, size int, pattern string) *ValidationError {
	if len(b) != 0 && len(b) != size {
		return errPattern(pattern)
	}
	return nil
}

// checkB64Var checks a Go value whose base64 text must have between minLen and maxLen
// characters.
func checkB64Var(b []byte, minLen, maxLen int) *ValidationError {
	n := base64.StdEncoding.EncodedLen(len(b))
	if minLen >= 0 && n < minLen {
		return errMinLength(n, minLen)
	}
	if maxLen >= 0 && n > maxLen {
		return errMaxLength(n, maxLen)
	}
	return nil
}

// checkInt checks minimum and maximum.
func checkInt(v, minimum, maximum int64) *ValidationError {
	if v < minimum {
		return newError("minimum", "%d is less than %d", v, minimum)
	}
	if v > maximum {
		return newError("maximum", "%d is greater than %d", v, maximum)
	}
	return nil
}

// uniqueSeed seeds the hash of uniqueStrings.
var uniqueSeed = maphash.MakeSeed()

// uniqueStrings returns the indexes of the first repeated item and of the item it repeats, or
// -1, -1 (JSON equality of strings is equality of their code points, so of their UTF-8 bytes).
// Short lists are compared pairwise; longer ones go through an open-addressing table on the
// stack, without allocating.
func uniqueStrings[S ~[]E, E ~string](items S) (int, int) {
	const tableSize = 2048 // holds up to 1024 items at a load of one half
	n := len(items)
	switch {
	case n <= 16:
		for j := 1; j < n; j++ {
			for i := 0; i < j; i++ {
				if items[i] == items[j] {
					return i, j
				}
			}
		}
		return -1, -1
	case n > tableSize/2:
		seen := make(map[E]int, n)
		for j, s := range items {
			if i, ok := seen[s]; ok {
				return i, j
			}
			seen[s] = j
		}
		return -1, -1
	}
	var table [tableSize]uint16 // item index + 1; 0 is empty
	mask := uint64(1)<<bits.Len(uint(2*n-1)) - 1
	for j, s := range items {
		for k := maphash.String(uniqueSeed, string(s)) & mask; ; k = (k + 1) & mask {
			e := table[k]
			if e == 0 {
				table[k] = uint16(j + 1)
				break
			}
			if items[e-1] == s {
				return int(e - 1), j
			}
		}
	}
	return -1, -1
}
