package server

// The forwarded form of a relay is the request with `from` for `to` and without `id` (spec §5.5
// [SRV-1] [SRV-6]): {"type":"relay","from":FROM,"session":SESSION,"payload":PAYLOAD}. Once the
// codec has validated the request, spliceRelay writes it from the request's own bytes, the
// session and the payload copied as they came, instead of encoding the decoded values again:
// the payload is the same JSON value by construction (SRV-6), and it costs a copy. When the
// request is in the codec's canonical form (members in schema order, no whitespace, no escape
// that is not needed), the result is byte for byte the codec's encoding of the forwarded form;
// otherwise it is the same JSON value (splice_test.go checks both on the schema corpus and on
// fuzzed input).

// spliceRelay appends the forwarded form of the relay request data, which the codec accepted,
// from registered user from, to dst. It reports false, and the caller encodes instead, for a
// request it cannot splice exactly (a member name written with escapes), or whose values a
// sender may not write as they are: an integer written with a fraction, an exponent or as -0,
// which a receiver accepts (spec §2.4 [ENC-8]) and a sender must not write (ENC-7).
func spliceRelay(dst, data []byte, from string) ([]byte, bool) {
	session, payload, ok := locateRelay(data)
	if !ok || !plainNumbers(session) || !plainNumbers(payload) {
		return dst, false
	}
	dst = append(dst, `{"type":"relay","from":"`...)
	dst = append(dst, from...) // a username needs no escape (spec §5.1)
	dst = append(dst, `","session":`...)
	dst = append(dst, session...)
	dst = append(dst, `,"payload":`...)
	dst = append(dst, payload...)
	return append(dst, '}'), true
}

// locateRelay returns the raw values of the members session and payload of the JSON object
// data, in one pass over its top-level members.
func locateRelay(data []byte) (session, payload []byte, ok bool) {
	i := skipSpace(data, 0)
	if i >= len(data) || data[i] != '{' {
		return nil, nil, false
	}
	i++
	for {
		i = skipSpace(data, i)
		if i >= len(data) {
			return nil, nil, false
		}
		switch data[i] {
		case '}':
			return session, payload, session != nil && payload != nil
		case ',':
			i = skipSpace(data, i+1)
		}
		if i >= len(data) || data[i] != '"' {
			return nil, nil, false
		}
		keyEnd := skipString(data, i)
		if keyEnd < 0 {
			return nil, nil, false
		}
		key := data[i+1 : keyEnd-1]
		for _, c := range key {
			if c == '\\' {
				return nil, nil, false // an escaped member name: the codec's encoding is exact
			}
		}
		i = skipSpace(data, keyEnd)
		if i >= len(data) || data[i] != ':' {
			return nil, nil, false
		}
		i = skipSpace(data, i+1)
		end := skipValue(data, i, 0)
		if end < 0 {
			return nil, nil, false
		}
		switch string(key) {
		case "session":
			session = data[i:end]
		case "payload":
			payload = data[i:end]
		}
		i = end
	}
}

// maxDepth bounds the nesting skipValue follows; the schemas nest far less.
const maxDepth = 64

// skipSpace returns the index of the first byte at or after i that is not JSON whitespace.
func skipSpace(data []byte, i int) int {
	for i < len(data) && (data[i] == ' ' || data[i] == '\t' || data[i] == '\n' || data[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the index after the JSON string that starts at data[i] (a '"'), or -1.
func skipString(data []byte, i int) int {
	for j := i + 1; j < len(data); j++ {
		switch data[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
	return -1
}

// skipValue returns the index after the JSON value that starts at data[i], or -1. It follows
// the structure only: the codec has validated the text.
func skipValue(data []byte, i, depth int) int {
	if i >= len(data) || depth > maxDepth {
		return -1
	}
	switch data[i] {
	case '"':
		return skipString(data, i)
	case '{', '[':
		closer := byte('}')
		if data[i] == '[' {
			closer = ']'
		}
		i = skipSpace(data, i+1)
		for i < len(data) && data[i] != closer {
			if data[i] == ',' {
				i = skipSpace(data, i+1)
			}
			if closer == '}' {
				if i >= len(data) || data[i] != '"' {
					return -1
				}
				if i = skipString(data, i); i < 0 {
					return -1
				}
				if i = skipSpace(data, i); i >= len(data) || data[i] != ':' {
					return -1
				}
				i = skipSpace(data, i+1)
			}
			if i = skipValue(data, i, depth+1); i < 0 {
				return -1
			}
			i = skipSpace(data, i)
		}
		if i >= len(data) {
			return -1
		}
		return i + 1
	default: // a number, true, false or null
		j := i
		for j < len(data) && !isDelimiter(data[j]) {
			j++
		}
		if j == i {
			return -1
		}
		return j
	}
}

// isDelimiter reports whether c ends a number or a literal.
func isDelimiter(c byte) bool {
	switch c {
	case ',', '}', ']', ' ', '\t', '\n', '\r', ':', '"', '{', '[':
		return true
	}
	return false
}

// plainNumbers reports whether every number in the JSON value v is written in plain decimal
// (spec §2.4 [ENC-7]): no fraction, no exponent, no -0. The codec has validated v.
func plainNumbers(v []byte) bool {
	for i := 0; i < len(v); i++ {
		switch v[i] {
		case '"':
			j := skipString(v, i)
			if j < 0 {
				return false
			}
			i = j - 1
		case 't', 'f', 'n': // true, false, null: their letters are not an exponent
			for i+1 < len(v) && v[i+1] >= 'a' && v[i+1] <= 'z' {
				i++
			}
		case '.', 'e', 'E':
			return false
		case '-':
			if i+1 < len(v) && v[i+1] == '0' {
				return false
			}
		}
	}
	return true
}
