package main

import (
	"regexp"
	"strconv"
)

// b64Mode is one of the three forms of canonical base64 patterns the schemas use (spec §2.3).
type b64Mode int

const (
	b64Fixed        b64Mode = iota // exactly size bytes
	b64FixedOrEmpty                // the empty string, or exactly size bytes
	b64Any                         // any number of bytes (bounded by minLength and maxLength)
)

// b64Format is a base64 string: the Go type is []byte with the decoded bytes, and the generated
// code checks canonical base64 and the length directly instead of running the pattern.
type b64Format struct {
	mode    b64Mode
	size    int
	minLen  int // characters of the text, -1 when absent
	maxLen  int
	pattern string
}

const b64Class = `[A-Za-z0-9+/]`

var (
	// ^[A-Za-z0-9+/]{N}$, ^[A-Za-z0-9+/]{N}[AQgw]==$ or ^[A-Za-z0-9+/]{N}[AEIMQUYcgkosw048]=$,
	// bare or as ^(X)?$ / ^(?:X)?$.
	b64FixedRE = regexp.MustCompile(`^\^(\(|\(\?:)?\[A-Za-z0-9\+/\]\{([0-9]+)\}(\[AQgw\]==|\[AEIMQUYcgkosw048\]=)?(\)\?)?\$$`)
	// The pattern of any canonical base64 text.
	b64AnyPattern = `^(?:` + b64Class + `{4})*(?:` + b64Class + `[AQgw]==|` + b64Class + `{2}[AEIMQUYcgkosw048]=)?$`
)

// recognizeBase64 reports whether pattern is exactly one of the canonical base64 patterns, and
// which. The generated check is then "canonical padded base64 of that many bytes", which is
// what the pattern means: A-Za-z0-9+/ characters, the padding that the length implies, and a last
// character whose unused bits are zero ([AQgw] before "==", [AEIMQUYcgkosw048] before "=").
func recognizeBase64(pattern string) (*b64Format, bool) {
	if pattern == b64AnyPattern {
		return &b64Format{mode: b64Any, pattern: pattern}, true
	}
	m := b64FixedRE.FindStringSubmatch(pattern)
	if m == nil || (m[1] == "") != (m[4] == "") {
		return nil, false
	}
	n, err := strconv.Atoi(m[2])
	if err != nil || n == 0 || n > 1<<20 {
		return nil, false
	}
	var size int
	switch m[3] {
	case "":
		if n%4 != 0 {
			return nil, false
		}
		size = n / 4 * 3
	case "[AQgw]==":
		if n%4 != 1 {
			return nil, false
		}
		size = (n+3)/4*3 - 2
	default:
		if n%4 != 2 {
			return nil, false
		}
		size = (n+2)/4*3 - 1
	}
	f := &b64Format{mode: b64Fixed, size: size, pattern: pattern}
	if m[1] != "" {
		f.mode = b64FixedOrEmpty
	}
	return f, true
}
