// Package wsframe is the client side of RFC 6455 that the conformance runner's ws/ cases speak
// (spec §4.2): an upgrade request written by hand over a TLS connection, and frames written and
// read byte for byte, including the frames no WebSocket library would send (unmasked, with
// reserved bits or opcodes, oversize or fragmented control frames, lengths in a longer form than
// needed, headers that announce more than is sent), so that the server suite can check a
// relay's frame layer against the RFC rather than against what one library happens to do.
//
// It frames and parses only; what a server must do with a frame is the cases' business.
package wsframe

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// The opcodes of RFC 6455 §5.2; the others are reserved.
const (
	OpContinuation byte = 0x0
	OpText         byte = 0x1
	OpBinary       byte = 0x2
	OpClose        byte = 0x8
	OpPing         byte = 0x9
	OpPong         byte = 0xA
)

// The reserved bits of the first header byte (RFC 6455 §5.2), as Frame.RSV holds them.
const (
	RSV1 byte = 4
	RSV2 byte = 2
	RSV3 byte = 1
)

// MaxControlPayload is the most payload a control frame may carry (RFC 6455 §5.5).
const MaxControlPayload = 125

// The length forms of RFC 6455 §5.2, for Frame.LengthForm.
const (
	LengthMinimal = 0  // the shortest form that holds the length, as the RFC requires of a sender
	Length7       = 7  // the length in the 7 bits of the second byte (0 to 125)
	Length16      = 16 // 126, then the length in 16 bits
	Length64      = 64 // 127, then the length in 64 bits
)

// Frame is one WebSocket frame.
type Frame struct {
	Fin    bool
	RSV    byte // the three reserved bits, RSV1|RSV2|RSV3
	Opcode byte // 4 bits
	Masked bool
	Key    [4]byte // the masking key, when Masked
	// Payload is the payload unmasked: Append masks it, ReadFrame unmasks it.
	Payload []byte
	// LengthForm is how Append writes the length (LengthMinimal, Length7, Length16 or
	// Length64), and how ReadFrame found it written.
	LengthForm int
}

// IsControl reports whether op is a control opcode (RFC 6455 §5.5: the high bit set).
func IsControl(op byte) bool { return op&0x8 != 0 }

// AppendHeader appends a frame header announcing length bytes of payload, in form (which must
// hold length), to dst. The payload is the caller's to write, masked with key when masked: a
// header alone can announce more than will ever be sent.
func AppendHeader(dst []byte, fin bool, rsv, op byte, masked bool, key [4]byte, length uint64, form int) []byte {
	b0 := op&0xF | (rsv&7)<<4
	if fin {
		b0 |= 0x80
	}
	var m byte
	if masked {
		m = 0x80
	}
	if form == LengthMinimal {
		form = minimalForm(length)
	}
	switch form {
	case Length7:
		dst = append(dst, b0, m|byte(length&0x7F))
	case Length16:
		dst = append(dst, b0, m|126)
		dst = binary.BigEndian.AppendUint16(dst, uint16(length))
	default:
		dst = append(dst, b0, m|127)
		dst = binary.BigEndian.AppendUint64(dst, length)
	}
	if masked {
		dst = append(dst, key[:]...)
	}
	return dst
}

func minimalForm(n uint64) int {
	switch {
	case n <= 125:
		return Length7
	case n <= 0xFFFF:
		return Length16
	}
	return Length64
}

// Append appends f, its payload masked with f.Key when f.Masked, to dst.
func Append(dst []byte, f Frame) []byte {
	dst = AppendHeader(dst, f.Fin, f.RSV, f.Opcode, f.Masked, f.Key, uint64(len(f.Payload)), f.LengthForm)
	start := len(dst)
	dst = append(dst, f.Payload...)
	if f.Masked {
		Mask(f.Key, dst[start:])
	}
	return dst
}

// Mask masks (or unmasks) b in place with key, from the start of a payload (RFC 6455 §5.3).
func Mask(key [4]byte, b []byte) {
	for i := range b {
		b[i] ^= key[i&3]
	}
}

// ErrTooLong is returned by ReadFrame for a frame whose announced payload exceeds its limit.
var ErrTooLong = errors.New("wsframe: the frame announces more payload than the reader accepts")

// ReadFrame reads one frame from r, unmasking its payload when it is masked. It accepts any
// header (a server's frames are checked by the caller) but refuses to read a payload longer
// than limit. The error is io.EOF only when r ended before the frame began.
func ReadFrame(r *bufio.Reader, limit int) (Frame, error) {
	var h [2]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return Frame{}, fmt.Errorf("wsframe: a frame header cut short: %w", err)
		}
		return Frame{}, err
	}
	f := Frame{Fin: h[0]&0x80 != 0, RSV: h[0] >> 4 & 7, Opcode: h[0] & 0xF, Masked: h[1]&0x80 != 0}
	n := uint64(h[1] & 0x7F)
	f.LengthForm = Length7
	switch n {
	case 126:
		var b [2]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return f, fmt.Errorf("wsframe: a 16-bit length cut short: %w", noEOF(err))
		}
		n, f.LengthForm = uint64(binary.BigEndian.Uint16(b[:])), Length16
	case 127:
		var b [8]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return f, fmt.Errorf("wsframe: a 64-bit length cut short: %w", noEOF(err))
		}
		n, f.LengthForm = binary.BigEndian.Uint64(b[:]), Length64
	}
	if f.Masked {
		if _, err := io.ReadFull(r, f.Key[:]); err != nil {
			return f, fmt.Errorf("wsframe: a masking key cut short: %w", noEOF(err))
		}
	}
	if n > uint64(limit) {
		return f, fmt.Errorf("%w: %d bytes, limit %d", ErrTooLong, n, limit)
	}
	f.Payload = make([]byte, n)
	if _, err := io.ReadFull(r, f.Payload); err != nil {
		return f, fmt.Errorf("wsframe: a payload of %d bytes cut short: %w", n, noEOF(err))
	}
	if f.Masked {
		Mask(f.Key, f.Payload)
	}
	return f, nil
}

// noEOF turns io.EOF inside a frame into io.ErrUnexpectedEOF.
func noEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// ClosePayload returns the payload of a close frame with code and reason (RFC 6455 §5.5.1).
func ClosePayload(code uint16, reason string) []byte {
	return append(binary.BigEndian.AppendUint16(nil, code), reason...)
}

// ParseClose splits a close frame's payload into its code and reason; ok is false for a payload
// of one byte, which RFC 6455 §5.5.1 does not allow. An empty payload has no code (0).
func ParseClose(p []byte) (code uint16, reason []byte, ok bool) {
	switch len(p) {
	case 0:
		return 0, nil, true
	case 1:
		return 0, nil, false
	}
	return binary.BigEndian.Uint16(p), p[2:], true
}

// SendableCloseCode reports whether code may appear in a close frame (RFC 6455 §7.4): 1000 to
// 1003, 1007 to 1014 as registered with IANA, and 3000 to 4999; never 1004, 1005, 1006 or
// 1015, nor anything below 1000 or from 1016 to 2999 or above 4999.
func SendableCloseCode(code uint16) bool {
	switch {
	case code >= 1000 && code <= 1003, code >= 1007 && code <= 1014:
		return true
	case code >= 3000 && code <= 4999:
		return true
	}
	return false
}

// MinimalLength reports whether the frame's length was written in the shortest form that holds
// it, as RFC 6455 §5.2 requires of a sender.
func (f Frame) MinimalLength() bool { return f.LengthForm == minimalForm(uint64(len(f.Payload))) }

// OpName names an opcode for transcripts: text, binary, continuation, close, ping, pong, or
// op3 for a reserved one.
func OpName(op byte) string {
	switch op {
	case OpContinuation:
		return "continuation"
	case OpText:
		return "text"
	case OpBinary:
		return "binary"
	case OpClose:
		return "close"
	case OpPing:
		return "ping"
	case OpPong:
		return "pong"
	}
	return fmt.Sprintf("op%d", op)
}
