// Package canonical implements spec §2.1 and §2.2: the field encoding enc used for
// everything that is hashed, signed, MACed or authenticated, the single key
// derivation helper Expand, and every label of spec Appendix B as a named
// constant.
//
// The encoders are append-style, like strconv.AppendInt, so that hot paths
// (record associated data) can build into fixed buffers without allocating.
package canonical

import (
	"encoding/binary"
	"math"
)

// AppendBytes appends a byte-string field: its length as a 4-byte big-endian
// integer followed by its bytes. spec §2.1 [ENC-1]
func AppendBytes(dst, b []byte) []byte {
	dst = appendLen(dst, len(b))
	return append(dst, b...)
}

// AppendText appends a text field, encoded like a byte string of its UTF-8
// bytes. spec §2.1 [ENC-1]
func AppendText(dst []byte, s string) []byte {
	dst = appendLen(dst, len(s))
	return append(dst, s...)
}

// AppendUint64 appends an integer field: 8 bytes big-endian with no length
// prefix. spec §2.1 [ENC-1]
func AppendUint64(dst []byte, v uint64) []byte {
	return binary.BigEndian.AppendUint64(dst, v)
}

// BeginList starts a list field. A list is the byte string of the enc of its
// elements, so it is length-prefixed once as a whole (spec §2.1 [ENC-1]):
// BeginList reserves the 4-byte length, the caller appends the elements, and
// [EndList] with the returned mark writes the length.
func BeginList(dst []byte) (out []byte, mark int) {
	return append(dst, 0, 0, 0, 0), len(dst)
}

// EndList completes the list begun at mark by writing its length.
func EndList(dst []byte, mark int) []byte {
	n := len(dst) - mark - 4
	checkLen(n)
	binary.BigEndian.PutUint32(dst[mark:], uint32(n))
	return dst
}

// AppendTextList appends a list field whose elements are text fields.
func AppendTextList(dst []byte, items []string) []byte {
	dst, mark := BeginList(dst)
	for _, s := range items {
		dst = AppendText(dst, s)
	}
	return EndList(dst, mark)
}

// AppendBytesList appends a list field whose elements are byte-string fields.
func AppendBytesList(dst []byte, items [][]byte) []byte {
	dst, mark := BeginList(dst)
	for _, b := range items {
		dst = AppendBytes(dst, b)
	}
	return EndList(dst, mark)
}

func appendLen(dst []byte, n int) []byte {
	checkLen(n)
	return binary.BigEndian.AppendUint32(dst, uint32(n))
}

// checkLen guards the 4-byte length prefix. No protocol input comes near 4
// GiB (messages are at most 64 KiB, WS-5), so a longer field is a bug in the
// caller, never hostile input.
func checkLen(n int) {
	if uint64(n) > math.MaxUint32 {
		panic("enc: field longer than 2^32-1 bytes")
	}
}
