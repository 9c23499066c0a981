package wire

// The relay forwards a relay request spliced from the bytes it came in (spec §5.5 [SRV-6]: the
// payload is forwarded as the same JSON value): it needs to know that the text is a valid relay
// and where its members lie, not their values. ScanRelay answers both in one pass that keeps no
// value, so it does not allocate: the scanners wiregen generates for the messages of its
// scanRoots check the text exactly as the decoders do (relayview_test.go proves the same
// accept/reject set and the same errors against Decode on the schema corpus, the vectors and
// fuzzed input).

// RelayView is a relay request located in the text it came in: what a relay needs to forward
// it. Its slices point into that text unless an escape made ScanRelay unescape a string.
type RelayView struct {
	ID      []byte   // the id, unescaped; nil when absent
	To      []byte   // the recipient's username, unescaped
	Session [16]byte // the session id, decoded (spec §6.1: 16 bytes)
	// SessionJSON and PayloadJSON are the values of the members session and payload exactly as
	// they are written in the text.
	SessionJSON, PayloadJSON []byte
	// Plain reports that no string of the text is written with an escape and every number in it
	// is a plain decimal integer (the form a sender must write, spec §2.4 [ENC-7]): splicing
	// its values then writes what the codec would encode, but for whitespace and member order.
	Plain bool
}

// The indexes of the members of a relay request in membersOfRelay (relayview_test.go checks
// them against the schema).
const (
	relayID      = 1
	relayTo      = 2
	relaySession = 3
	relayPayload = 4
	relayMembers = 5
)

// ScanRelay checks data as Decode(FromClient, data) does when data's type member selects a
// relay request, and locates its members, without allocating (unless a member it returns is
// written with escapes). isRelay is false, and nothing else is set, when data is anything else
// (not an object, without a string type member, or of another type): Decode tells what it is.
// Otherwise err is exactly the error Decode returns for data, and v is set when err is nil.
func ScanRelay(data []byte) (v RelayView, isRelay bool, err error) {
	d := decoder{data: data}
	typ, verr := d.discriminator("type")
	if verr != nil || string(typ) != "relay" {
		return RelayView{}, false, nil
	}
	d.escaped, d.inexact = false, false // scanRelay reads again what discriminator read
	var at [relayMembers]span
	if verr = scanRelay(&d, at[:]); verr == nil {
		verr = d.end()
	}
	if verr != nil {
		return RelayView{}, true, d.fail(verr)
	}
	v.Plain = !d.escaped && !d.inexact
	v.ID = d.stringAt(at[relayID])
	v.To = d.stringAt(at[relayTo])
	session := d.stringAt(at[relaySession])
	_, pad, _ := b64Size(session)
	b64Decode(v.Session[:], session, pad) // scanRelay checked it: 16 bytes of canonical base64
	v.SessionJSON = data[at[relaySession].start:at[relaySession].end]
	v.PayloadJSON = data[at[relayPayload].start:at[relayPayload].end]
	return v, true, nil
}

// span is where a value lies in the text: data[start:end]; the zero span is no value.
type span struct{ start, end int }

// valueStart skips the whitespace before a value and returns where the value starts.
func (d *decoder) valueStart() int {
	d.peek()
	return d.pos
}

// mark records in at[i], when at is not nil, the span of the value that started at start and
// that the cursor has just passed.
func (d *decoder) mark(at []span, i, start int) {
	if at != nil {
		at[i] = span{start, d.pos}
	}
}

// stringAt returns the unescaped bytes of the string the checked text holds at sp, nil for the
// zero span. Without escapes they are part of the text; with, a copy.
func (d *decoder) stringAt(sp span) []byte {
	if sp.end == 0 {
		return nil
	}
	if !d.escaped {
		return d.data[sp.start+1 : sp.end-1]
	}
	e := decoder{data: d.data, pos: sp.start}
	s, _ := e.readString() // checked already
	return s
}

// scanB64Fixed checks what decodeB64Fixed decodes: canonical base64 of exactly size bytes. s
// is a string b64str read; alphabet is what it reported.
func scanB64Fixed(s []byte, alphabet bool, size int, pattern string) *ValidationError {
	if n, pad, ok := b64Size(s); ok && n == size && b64Checked(s, alphabet, pad) {
		return nil
	}
	return errPattern(pattern)
}

// scanB64FixedOrEmpty checks what decodeB64FixedOrEmpty decodes.
func scanB64FixedOrEmpty(s []byte, alphabet bool, size int, pattern string) *ValidationError {
	if len(s) == 0 {
		return nil
	}
	return scanB64Fixed(s, alphabet, size, pattern)
}

// scanB64Var checks what decodeB64Var decodes.
func scanB64Var(s []byte, alphabet bool, minLen, maxLen int, pattern string) *ValidationError {
	if err := checkLength(s, minLen, maxLen); err != nil {
		return err
	}
	if _, pad, ok := b64Size(s); ok && b64Checked(s, alphabet, pad) {
		return nil
	}
	return errPattern(pattern)
}

// b64Checked reports whether s, whose padding b64Size gave and whose length is a multiple of 4,
// is canonical padded base64 (spec ENC-5). With alphabet (b64str saw only the alphabet followed
// by at most two '='), only the unused bits of the last character are left to check.
func b64Checked(s []byte, alphabet bool, pad int) bool {
	return (alphabet || inB64Alphabet(s[:len(s)-pad])) && b64ZeroTail(s, pad)
}

// b64Canonical reports what b64Decode reports for s, whose padding b64Size gave, without
// decoding it: whether s is canonical padded base64 (spec ENC-5).
func b64Canonical(s []byte, pad int) bool { return b64Checked(s, false, pad) }

// inB64Alphabet reports whether every character of s is of the standard base64 alphabet.
func inB64Alphabet(s []byte) bool {
	var bad uint8
	i := 0
	for ; i+4 <= len(s); i += 4 {
		bad |= b64Value[s[i]] | b64Value[s[i+1]] | b64Value[s[i+2]] | b64Value[s[i+3]]
	}
	for ; i < len(s); i++ {
		bad |= b64Value[s[i]]
	}
	return bad&0xC0 == 0
}

// b64ZeroTail reports whether the unused bits of the last character before the pad padding
// characters of s are zero (a multiple of 4 long, so at least 4 when padded).
func b64ZeroTail(s []byte, pad int) bool {
	switch n := len(s); pad {
	case 1:
		return b64Value[s[n-2]]&0x03 == 0
	case 2:
		return b64Value[s[n-3]]&0x0F == 0
	}
	return true
}

// keep returns s, the bytes of the string just read, as bytes that reading more strings does
// not change: s itself unless it is the decoder's scratch (the string had an escape).
func (d *decoder) keep(s []byte) []byte {
	if len(s) > 0 && len(d.scratch) > 0 && &s[0] == &d.scratch[0] {
		return append([]byte(nil), s...)
	}
	return s
}

// uniqueBytes is uniqueStrings for at most 16 items (maxScanUnique in wiregen), as bytes: the
// first pair i < j of equal items, in the order of j then i, or -1, -1.
func uniqueBytes(items [][]byte) (int, int) {
	for j := 1; j < len(items); j++ {
		for i := 0; i < j; i++ {
			if string(items[i]) == string(items[j]) {
				return i, j
			}
		}
	}
	return -1, -1
}
