package wire

import (
	"encoding/base64"
	"sync"
)

// hexDigits for \u00XX escapes.
const hexDigits = "0123456789abcdef"

// appendString appends s as canonical JSON text: only '"', '\' and the control characters
// U+0000 to U+001F are escaped (the short forms where JSON has one), nothing for HTML, and s is
// valid UTF-8 because every generated Validate checks it first.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		case '\b':
			b = append(b, '\\', 'b')
		case '\f':
			b = append(b, '\\', 'f')
		default:
			b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
		}
		start = i + 1
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// appendBase64 appends the canonical padded base64 of v as a JSON string (spec ENC-5).
func appendBase64(b, v []byte) []byte {
	b = append(b, '"')
	b = base64.StdEncoding.AppendEncode(b, v)
	return append(b, '"')
}

// encodeBuffers recycles the scratch buffers of Encode and MarshalJSON, which return an exact-size
// copy: one allocation per encoding once the pool is warm.
var encodeBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// getBuffer returns an empty scratch buffer from the pool.
func getBuffer() *[]byte {
	bp := encodeBuffers.Get().(*[]byte)
	*bp = (*bp)[:0]
	return bp
}

// putBuffer returns a copy of b, which was appended to the buffer of bp, and gives the buffer
// back to the pool unless it grew too large to keep.
func putBuffer(bp *[]byte, b []byte) []byte {
	out := make([]byte, len(b))
	copy(out, b)
	if cap(b) <= 64<<10 {
		*bp = b[:0]
		encodeBuffers.Put(bp)
	}
	return out
}
