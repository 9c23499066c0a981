package load

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"strconv"
)

// StampSize is the size of the stamp at the start of a benchmark ciphertext: the time the
// message was scheduled (nanoseconds on the scenario's clock), its sequence number and its
// sender. A relay cannot tell it from AES-GCM output, and forwards it unchanged (spec §5.5
// [SRV-6]).
const StampSize = 24

// Stamp is what a benchmark message carries in its first StampSize ciphertext bytes.
type Stamp struct {
	Sched  int64  // when the message was scheduled to be sent, ns
	Seq    uint64 // the sender's sequence number
	Sender uint64 // the sending connection's index
}

// RelayBuilder builds the relay messages of one sender to one recipient (spec §5.5): a fixed
// session, and a ciphertext of a fixed size whose first bytes are the stamp.
type RelayBuilder struct {
	prefix []byte // {"type":"relay","to":…,"session":…,"payload":{"kind":"msg","n":
	tail   []byte // the base64 of the ciphertext after the stamp, and the closing quotes
}

// NewRelayBuilder returns a builder of relay messages to user to with ciphertexts of size
// bytes (at least StampSize; the schema's minimum is 16).
func NewRelayBuilder(to string, session []byte, size int) (*RelayBuilder, error) {
	if size < StampSize {
		return nil, errors.New("load: the ciphertext must hold at least 24 bytes")
	}
	if len(session) != 16 {
		return nil, errors.New("load: a session id is 16 bytes")
	}
	rest := make([]byte, size-StampSize)
	for i := range rest {
		rest[i] = byte(i*131 + 17) // arbitrary; a relay sees opaque bytes either way
	}
	p := []byte(`{"type":"relay","to":`)
	p = strconv.AppendQuote(p, to)
	p = append(p, `,"session":"`...)
	p = base64.StdEncoding.AppendEncode(p, session)
	p = append(p, `","payload":{"kind":"msg","n":`...)
	t := base64.StdEncoding.AppendEncode(nil, rest) // StampSize is a multiple of 3
	t = append(t, `"}}`...)
	return &RelayBuilder{prefix: p, tail: t}, nil
}

// Append appends the relay message with counter n and stamp s to dst.
func (b *RelayBuilder) Append(dst []byte, n uint64, s Stamp) []byte {
	var raw [StampSize]byte
	binary.BigEndian.PutUint64(raw[0:], uint64(s.Sched))
	binary.BigEndian.PutUint64(raw[8:], s.Seq)
	binary.BigEndian.PutUint64(raw[16:], s.Sender)
	dst = append(dst, b.prefix...)
	dst = strconv.AppendUint(dst, n, 10)
	dst = append(dst, `,"ct":"`...)
	dst = base64.StdEncoding.AppendEncode(dst, raw[:])
	return append(dst, b.tail...)
}

// ReadStamp finds the stamp in a relay message (as the client sent it, or forwarded with from
// in place of to).
func ReadStamp(frame []byte) (Stamp, bool) {
	v := stringValue(frame, `"ct"`)
	if len(v) < StampSize/3*4 {
		return Stamp{}, false
	}
	var raw [StampSize]byte
	if _, err := base64.StdEncoding.Decode(raw[:], v[:StampSize/3*4]); err != nil {
		return Stamp{}, false
	}
	return Stamp{
		Sched:  int64(binary.BigEndian.Uint64(raw[0:])),
		Seq:    binary.BigEndian.Uint64(raw[8:]),
		Sender: binary.BigEndian.Uint64(raw[16:]),
	}, true
}

// Type returns the type member of a message: at once when the message starts with it, as the
// canonical encoding does (spec ENC-5), by scanning otherwise.
func Type(frame []byte) string {
	const canonical = `{"type":"`
	if bytes.HasPrefix(frame, []byte(canonical)) {
		rest := frame[len(canonical):]
		if i := bytes.IndexByte(rest, '"'); i >= 0 {
			return string(rest[:i]) // the compiler does not allocate for short switch operands
		}
	}
	return string(stringValue(frame, `"type"`))
}

// IsType reports whether frame's type member is typ, without allocating.
func IsType(frame []byte, typ string) bool {
	const canonical = `{"type":"`
	if bytes.HasPrefix(frame, []byte(canonical)) {
		rest := frame[len(canonical):]
		return len(rest) > len(typ) && string(rest[:len(typ)]) == typ && rest[len(typ)] == '"'
	}
	return string(stringValue(frame, `"type"`)) == typ
}

// Counter returns the first n member of a message: the counter of a group message or record.
func Counter(frame []byte) (uint64, bool) {
	i := bytes.Index(frame, []byte(`"n"`))
	if i < 0 {
		return 0, false
	}
	rest := skipColon(frame[i+3:])
	j := 0
	for j < len(rest) && rest[j] >= '0' && rest[j] <= '9' {
		j++
	}
	n, err := strconv.ParseUint(string(rest[:j]), 10, 64)
	return n, err == nil
}

// stringValue returns the raw text of the first string member named key (with its quotes), or
// nil. It is a scan, not a parser: benchmark messages have no such key inside strings.
func stringValue(frame []byte, key string) []byte {
	i := bytes.Index(frame, []byte(key))
	if i < 0 {
		return nil
	}
	rest := skipColon(frame[i+len(key):])
	if len(rest) == 0 || rest[0] != '"' {
		return nil
	}
	rest = rest[1:]
	if j := bytes.IndexByte(rest, '"'); j >= 0 {
		return rest[:j]
	}
	return nil
}

func skipColon(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t' || b[0] == '\n' || b[0] == '\r' || b[0] == ':') {
		b = b[1:]
	}
	return b
}
