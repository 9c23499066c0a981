package wire

import (
	"encoding/binary"
	"math/bits"
	"unicode/utf16"
	"unicode/utf8"
)

// decoder is the cursor of the generated decoders over one JSON text. Its methods consume one
// token or value each and report a *ValidationError without a pointer; the generated code adds
// the pointer as the error returns. Any error that can come from malformed text is re-examined by
// wellFormed before it reaches the caller (see fail), so these methods only need to detect
// malformed text, not to classify it.
type decoder struct {
	data    []byte
	pos     int
	scratch []byte // the unescaped text of the last string that had escapes
	arena   []byte // room for decoded base64, allocated once per decode (see bytes)
	escaped bool   // some string read had an escape (for RelayView.Plain)
	inexact bool   // some number read was not a plain decimal integer (for RelayView.Plain)
}

// bytes returns n bytes for a decoded base64 value. All the values of one decode share one
// allocation, made at the first of them and sized for every value the rest of the text can
// hold (base64 is 4 characters for 3 bytes), so a message costs one allocation for all its
// binary members; each value is a full slice expression, so appending to one cannot overwrite
// another.
func (d *decoder) bytes(n int) []byte {
	if cap(d.arena)-len(d.arena) < n {
		d.arena = make([]byte, 0, max(n, (len(d.data)-d.pos)*3/4))
	}
	l := len(d.arena)
	d.arena = d.arena[:l+n]
	return d.arena[l : l+n : l+n]
}

// isSpace: JSON whitespace (RFC 8259 §2).
var isSpace = [256]bool{' ': true, '\t': true, '\n': true, '\r': true}

// plain: bytes that stand for themselves inside a JSON string (printable ASCII but '"' and '\').
var plain = func() (t [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// peek skips whitespace and returns the next byte, or 0 at the end of the text.
func (d *decoder) peek() byte {
	for d.pos < len(d.data) {
		c := d.data[d.pos]
		if !isSpace[c] {
			return c
		}
		d.pos++
	}
	return 0
}

func (d *decoder) syntax() *ValidationError {
	if d.pos >= len(d.data) {
		return newError(KeywordSyntax, "unexpected end of JSON input")
	}
	return newError(KeywordSyntax, "unexpected character at offset %d", d.pos)
}

// jsonType names the JSON type of the value starting with c, as JSON Schema does.
func jsonType(c byte) string {
	switch {
	case c == '{':
		return "object"
	case c == '[':
		return "array"
	case c == '"':
		return "string"
	case c == 't' || c == 'f':
		return "boolean"
	case c == 'n':
		return "null"
	case c == '-' || c >= '0' && c <= '9':
		return "number"
	}
	return "invalid JSON"
}

// typeError reports that the value at the cursor is not of type want.
func (d *decoder) typeError(want string) *ValidationError {
	c := d.peek()
	if jsonType(c) == "invalid JSON" {
		return d.syntax()
	}
	return newError("type", "got %s, want %s", jsonType(c), want)
}

// end checks that only whitespace follows the value (spec MSG-3).
func (d *decoder) end() *ValidationError {
	if d.peek() != 0 || d.pos < len(d.data) {
		return newError(KeywordTrailingData, "data after the JSON value at offset %d", d.pos)
	}
	return nil
}

// openObject consumes '{'.
func (d *decoder) openObject() *ValidationError {
	if d.peek() != '{' {
		return d.typeError("object")
	}
	d.pos++
	return nil
}

// member reads the next member name of an object and the colon after it. It returns false when
// the object ends (and consumes its '}'); first says whether this is the first member.
func (d *decoder) member(first bool) ([]byte, bool, *ValidationError) {
	c := d.peek()
	if !first {
		switch c {
		case ',':
			d.pos++
			c = d.peek()
		case '}':
			d.pos++
			return nil, false, nil
		default:
			return nil, false, d.syntax()
		}
	} else if c == '}' {
		d.pos++
		return nil, false, nil
	}
	if c != '"' {
		return nil, false, d.syntax()
	}
	key, err := d.readString()
	if err != nil {
		return nil, false, err
	}
	if d.peek() != ':' {
		return nil, false, d.syntax()
	}
	d.pos++
	return key, true, nil
}

// duplicate reports a member name seen twice in one object (spec MSG-2).
func duplicate(key []byte) *ValidationError {
	return newError(KeywordDuplicateKey, "member %s appears twice", quoteName(key))
}

// openArray consumes '['.
func (d *decoder) openArray() *ValidationError {
	if d.peek() != '[' {
		return d.typeError("array")
	}
	d.pos++
	return nil
}

// element moves to the next element of an array. It returns false when the array ends (and
// consumes its ']').
func (d *decoder) element(first bool) (bool, *ValidationError) {
	c := d.peek()
	if first {
		if c == ']' {
			d.pos++
			return false, nil
		}
		return true, nil
	}
	switch c {
	case ',':
		d.pos++
		return true, nil
	case ']':
		d.pos++
		return false, nil
	}
	return false, d.syntax()
}

// str reads a string value and returns its unescaped UTF-8 bytes, which stay valid until the
// next string is read.
func (d *decoder) str() ([]byte, *ValidationError) {
	if d.peek() != '"' {
		return nil, d.typeError("string")
	}
	return d.readString()
}

// b64str reads a string value as str does, for a member whose schema makes it base64: most such
// strings are the alphabet, up to two '=' and the closing quote, which one pass over a table
// finds; alphabet then reports it, so that the base64 check need not look at every character
// again. Anything else (an escape, say) is read by readString, and alphabet is false.
func (d *decoder) b64str() (s []byte, alphabet bool, err *ValidationError) {
	if d.peek() != '"' {
		return nil, false, d.typeError("string")
	}
	data := d.data
	start := d.pos + 1
	i := start
	for i+8 <= len(data) {
		w := data[i : i+8 : i+8]
		if (b64Value[w[0]]|b64Value[w[1]]|b64Value[w[2]]|b64Value[w[3]]|
			b64Value[w[4]]|b64Value[w[5]]|b64Value[w[6]]|b64Value[w[7]])&0xC0 != 0 {
			break
		}
		i += 8
	}
	for i < len(data) && b64Value[data[i]] < 64 {
		i++
	}
	for n := 0; n < 2 && i < len(data) && data[i] == '='; n++ {
		i++
	}
	if i < len(data) && data[i] == '"' {
		d.pos = i + 1
		return data[start:i], true, nil
	}
	s, err = d.readString()
	return s, false, err
}

// readString reads the string that starts at the cursor.
func (d *decoder) readString() ([]byte, *ValidationError) {
	data := d.data
	start := d.pos + 1
	i := start
	// Eight bytes at a time while none of them needs a look: a quote, a backslash, a control
	// character or a non-ASCII byte. The lowest byte the mask marks is the first that does (a
	// borrow can mark bytes above it too, never one below), so the loop below starts there.
	for i+8 <= len(data) {
		w := binary.LittleEndian.Uint64(data[i:])
		if m := (w - 0x2020202020202020 | hasZero(w^0x2222222222222222) | hasZero(w^0x5c5c5c5c5c5c5c5c) | w) & 0x8080808080808080; m != 0 {
			i += bits.TrailingZeros64(m) >> 3
			break
		}
		i += 8
	}
	for i < len(data) {
		c := data[i]
		if plain[c] {
			i++
			continue
		}
		switch {
		case c == '"':
			d.pos = i + 1
			return data[start:i], nil
		case c == '\\':
			return d.readEscaped(start, i)
		case c < 0x20:
			d.pos = i
			return nil, d.syntax()
		}
		r, size := utf8.DecodeRune(data[i:])
		if r == utf8.RuneError && size <= 1 {
			return nil, errUTF8()
		}
		i += size
	}
	d.pos = i
	return nil, d.syntax()
}

// hasZero has the high bit of some byte set if, and only if, some byte of w is zero.
func hasZero(w uint64) uint64 {
	return (w - 0x0101010101010101) &^ w & 0x8080808080808080
}

// readEscaped finishes reading a string whose first escape is at i, unescaping into d.scratch.
// An escaped surrogate that is not part of a high-low pair is an error (spec ENC-10).
func (d *decoder) readEscaped(start, i int) ([]byte, *ValidationError) {
	data := d.data
	d.escaped = true
	b := append(d.scratch[:0], data[start:i]...)
	for i < len(data) {
		c := data[i]
		switch {
		case plain[c]:
			b = append(b, c)
			i++
			continue
		case c == '"':
			d.pos = i + 1
			d.scratch = b
			return b, nil
		case c < 0x20:
			d.pos = i
			return nil, d.syntax()
		case c >= utf8.RuneSelf:
			r, size := utf8.DecodeRune(data[i:])
			if r == utf8.RuneError && size <= 1 {
				return nil, errUTF8()
			}
			b = append(b, data[i:i+size]...)
			i += size
			continue
		}
		// A backslash.
		if i+1 >= len(data) {
			d.pos = len(data)
			return nil, d.syntax()
		}
		switch data[i+1] {
		case '"', '\\', '/':
			b = append(b, data[i+1])
		case 'b':
			b = append(b, '\b')
		case 'f':
			b = append(b, '\f')
		case 'n':
			b = append(b, '\n')
		case 'r':
			b = append(b, '\r')
		case 't':
			b = append(b, '\t')
		case 'u':
			r := hex4(data[i+2:])
			if r < 0 {
				d.pos = i
				return nil, d.syntax()
			}
			i += 6
			if utf16.IsSurrogate(r) {
				// spec ENC-10: only a high-low pair of surrogates denotes a character.
				if len(data) >= i+6 && data[i] == '\\' && data[i+1] == 'u' {
					if r2 := hex4(data[i+2:]); r2 >= 0 {
						if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
							b = utf8.AppendRune(b, dec)
							i += 6
							continue
						}
					}
				}
				return nil, errSurrogate()
			}
			b = utf8.AppendRune(b, r)
			continue
		default:
			d.pos = i
			return nil, d.syntax()
		}
		i += 2
	}
	d.pos = i
	return nil, d.syntax()
}

// hex4 decodes the four hex digits at the start of b, or returns -1.
func hex4(b []byte) rune {
	if len(b) < 4 {
		return -1
	}
	var r rune
	for _, c := range b[:4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			c = c - 'A' + 10
		default:
			return -1
		}
		r = r<<4 | rune(c)
	}
	return r
}

// boolean reads true or false.
func (d *decoder) boolean() (bool, *ValidationError) {
	switch d.peek() {
	case 't':
		if d.literal("true") {
			return true, nil
		}
	case 'f':
		if d.literal("false") {
			return false, nil
		}
	default:
		return false, d.typeError("boolean")
	}
	return false, d.syntax()
}

func (d *decoder) literal(lit string) bool {
	if len(d.data)-d.pos < len(lit) || string(d.data[d.pos:d.pos+len(lit)]) != lit {
		return false
	}
	d.pos += len(lit)
	return true
}

// constString reads a value that must be the string want (JSON Schema const: any other value,
// of any type, fails).
func (d *decoder) constString(want string) *ValidationError {
	if d.peek() == '"' {
		s, err := d.readString()
		if err != nil {
			return err
		}
		if string(s) == want {
			return nil
		}
	}
	return errConst(want)
}

// enumString reads a value that must be one of a set of strings. It returns the unescaped bytes
// and true for a string, and false, without consuming it, for a value of any other type (an enum
// failure, whatever the type).
func (d *decoder) enumString() ([]byte, bool, *ValidationError) {
	if d.peek() != '"' {
		return nil, false, nil
	}
	s, err := d.readString()
	return s, err == nil, err
}

// integer reads a number that must be an integer between minimum and maximum. As JSON Schema
// (and spec ENC-8) says, any number whose value is an integer is one, so 3.0, 3e0 and 0.3e1 are
// all 3, while 3.5 is not an integer at all.
func (d *decoder) integer(minimum, maximum int64) (int64, *ValidationError) {
	c := d.peek()
	if c != '-' && (c < '0' || c > '9') {
		return 0, d.typeError("integer")
	}
	data := d.data
	i := d.pos
	// The common case: a short plain decimal.
	if c != '-' {
		var v int64
		j := i
		for j < len(data) && j-i < 18 && data[j] >= '0' && data[j] <= '9' {
			v = v*10 + int64(data[j]-'0')
			j++
		}
		if j < len(data) && !(data[j] >= '0' && data[j] <= '9') && data[j] != '.' && data[j] != 'e' && data[j] != 'E' && (c != '0' || j == i+1) {
			d.pos = j
			return v, checkInt(v, minimum, maximum)
		}
	}
	return d.number(minimum, maximum)
}

// number parses any JSON number exactly and classifies it against an integer range.
func (d *decoder) number(minimum, maximum int64) (int64, *ValidationError) {
	data := d.data
	i := d.pos
	neg := false
	if i < len(data) && data[i] == '-' {
		neg = true
		i++
	}
	// Integer part.
	intStart := i
	if i < len(data) && data[i] == '0' {
		i++
	} else {
		for i < len(data) && data[i] >= '0' && data[i] <= '9' {
			i++
		}
	}
	if i == intStart {
		d.pos = i
		return 0, d.syntax()
	}
	intEnd := i
	// Fraction.
	fracStart, fracEnd := i, i
	if i < len(data) && data[i] == '.' {
		i++
		fracStart = i
		for i < len(data) && data[i] >= '0' && data[i] <= '9' {
			i++
		}
		if i == fracStart {
			d.pos = i
			return 0, d.syntax()
		}
		fracEnd = i
	}
	// Exponent.
	var expMag uint64
	expNeg, expOverflow := false, false
	if i < len(data) && (data[i] == 'e' || data[i] == 'E') {
		i++
		if i < len(data) && (data[i] == '+' || data[i] == '-') {
			expNeg = data[i] == '-'
			i++
		}
		expStart := i
		for i < len(data) && data[i] >= '0' && data[i] <= '9' {
			if expMag > (1<<63)/10 {
				expOverflow = true
			} else {
				expMag = expMag*10 + uint64(data[i]-'0')
			}
			i++
		}
		if i == expStart {
			d.pos = i
			return 0, d.syntax()
		}
		if expMag > 1<<63-1 && !(expNeg && expMag == 1<<63) {
			expOverflow = true
		}
	}
	d.pos = i
	// Written otherwise than as a sender must (spec §2.4 [ENC-7]): a fraction, an exponent, -0.
	d.inexact = d.inexact || i != intEnd || neg && data[intStart] == '0'

	// The reference validator computes with math/big.Rat, which gives up (and so calls the
	// number "not an integer") when the exponent does not fit in 64 bits, or when, for a
	// non-zero value, the power of ten left after the fraction digits exceeds 10^6 either way.
	// These numbers are all far out of every schema's bounds; the decoder reports them the same
	// way so that its errors are the oracle's.
	notInteger := newError("type", "got number, want integer")
	if expOverflow {
		return 0, notInteger
	}
	exp := int64(expMag)
	if expNeg {
		exp = -exp
	}
	allZero := true
	for _, c := range data[intStart:fracEnd] {
		if c >= '1' && c <= '9' {
			allZero = false
			break
		}
	}
	if allZero {
		return 0, checkInt(0, minimum, maximum)
	}
	fracLen := int64(fracEnd - fracStart)
	if exp < -2e6 || exp-fracLen < -1e6 || exp-fracLen > 1e6 {
		return 0, notInteger
	}

	// The value is ±D × 10^(exp-len(frac)) where D is the digits of both parts.
	digits := make([]byte, 0, 24)
	digits = append(digits, data[intStart:intEnd]...)
	digits = append(digits, data[fracStart:fracEnd]...)
	k := exp - fracLen
	for len(digits) > 0 && digits[0] == '0' {
		digits = digits[1:]
	}
	for len(digits) > 0 && digits[len(digits)-1] == '0' {
		digits = digits[:len(digits)-1]
		k++
	}
	if k < 0 {
		// D has no factor 10, so D × 10^k is not an integer.
		return 0, notInteger
	}
	outOfRange := func() (int64, *ValidationError) {
		if neg {
			return 0, newError("minimum", "less than %d", minimum)
		}
		return 0, newError("maximum", "greater than %d", maximum)
	}
	if int64(len(digits))+k > 18 {
		return outOfRange() // at least 10^18, beyond every bound of the schemas
	}
	var v int64
	for _, c := range digits {
		v = v*10 + int64(c-'0')
	}
	for ; k > 0; k-- {
		v *= 10
	}
	if neg {
		v = -v
	}
	return v, checkInt(v, minimum, maximum)
}

// discriminator finds the string value of the member name of the object at the cursor without
// consuming anything, for the dispatching schemas (allOf of if/then on type or kind). It reports
// the errors of the dispatching schema itself: type (not an object), required (no such member)
// and enum (the member is not a string); the caller checks the value against its enum.
func (d *decoder) discriminator(name string) ([]byte, *ValidationError) {
	// Written as the codec writes it, the member comes first: {"name":"value", which is read
	// here without the general loop. Anything else, a failure included, takes that loop,
	// which returns the same value or finds the error.
	if rest := d.data[d.pos:]; len(rest) > len(name)+5 && rest[0] == '{' && rest[1] == '"' &&
		string(rest[2:2+len(name)]) == name && rest[2+len(name)] == '"' && rest[3+len(name)] == ':' && rest[4+len(name)] == '"' {
		e := decoder{data: d.data, pos: d.pos + 4 + len(name)}
		if v, err := e.readString(); err == nil {
			return v, nil
		}
	}
	return d.findDiscriminator(name)
}

// findDiscriminator is discriminator for any text: it reads the members in turn.
func (d *decoder) findDiscriminator(name string) ([]byte, *ValidationError) {
	start := d.pos
	defer func() { d.pos = start }()
	if err := d.openObject(); err != nil {
		return nil, err
	}
	for first := true; ; first = false {
		key, more, err := d.member(first)
		if err != nil {
			return nil, err
		}
		if !more {
			return nil, errRequired(name)
		}
		if string(key) == name {
			if d.peek() != '"' {
				return nil, nil
			}
			return d.readString()
		}
		if err := d.skip(); err != nil {
			return nil, err
		}
	}
}

// skip consumes one well-formed value without recursion; it fails on malformed text and on
// nesting deeper than MaxDepth below the cursor.
func (d *decoder) skip() *ValidationError {
	var objects uint64 // bit i set: level i+1 is an object
	depth := 0
	for {
		// A value.
		switch c := d.peek(); {
		case c == '{' || c == '[':
			if depth == MaxDepth {
				return newError(KeywordDepth, "nested more than %d levels", MaxDepth)
			}
			d.pos++
			closer := byte(']')
			if c == '{' {
				closer = '}'
			}
			if d.peek() == closer {
				d.pos++
				break // an empty container is a complete value
			}
			if c == '{' {
				objects |= 1 << depth
			} else {
				objects &^= 1 << depth
			}
			depth++
			if c == '{' {
				if err := d.skipKey(); err != nil {
					return err
				}
			}
			continue
		case c == '"':
			if _, err := d.readString(); err != nil {
				return err
			}
		case c == 't':
			if !d.literal("true") {
				return d.syntax()
			}
		case c == 'f':
			if !d.literal("false") {
				return d.syntax()
			}
		case c == 'n':
			if !d.literal("null") {
				return d.syntax()
			}
		case c == '-' || c >= '0' && c <= '9':
			if _, err := d.number(0, 0); err != nil && err.Keyword == KeywordSyntax {
				return err
			}
		default:
			return d.syntax()
		}
		// After a value: close containers until one continues.
		for {
			if depth == 0 {
				return nil
			}
			obj := objects&(1<<(depth-1)) != 0
			c := d.peek()
			if c == ',' {
				d.pos++
				if obj {
					if err := d.skipKey(); err != nil {
						return err
					}
				}
				break
			}
			if obj && c == '}' || !obj && c == ']' {
				d.pos++
				depth--
				continue
			}
			return d.syntax()
		}
	}
}

// skipKey consumes a member name and its colon.
func (d *decoder) skipKey() *ValidationError {
	if d.peek() != '"' {
		return d.syntax()
	}
	if _, err := d.readString(); err != nil {
		return err
	}
	if d.peek() != ':' {
		return d.syntax()
	}
	d.pos++
	return nil
}
