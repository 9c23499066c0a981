package server

import "github.com/blindpost/blindpost/impl/wire"

// The forwarded form of a relay is the request with `from` for `to` and without `id` (spec §5.5
// [SRV-1] [SRV-6]): {"type":"relay","from":FROM,"session":SESSION,"payload":PAYLOAD}. Once
// wire.ScanRelay has validated and located the request, spliceView writes it from its own bytes, the
// session and the payload copied as they came, instead of encoding the decoded values again:
// the payload is the same JSON value by construction (SRV-6), and it costs a copy. When the
// request is in the codec's canonical form (members in schema order, no whitespace, no escape
// that is not needed), the result is byte for byte the codec's encoding of the forwarded form;
// otherwise it is the same JSON value (splice_test.go checks both on the schema corpus and on
// fuzzed input).

// spliceRelay appends the forwarded form of the relay request data, which the codec accepted,
// from registered user from, to dst. It reports false, and the caller encodes instead, for a
// request it cannot splice exactly (a string written with escapes), or whose values a sender
// may not write as they are: an integer written with a fraction, an exponent or as -0, which a
// receiver accepts (spec §2.4 [ENC-8]) and a sender must not write (ENC-7).
func spliceRelay(dst, data []byte, from string) ([]byte, bool) {
	v, isRelay, err := wire.ScanRelay(data)
	if !isRelay || err != nil || !v.Plain {
		return dst, false
	}
	return spliceView(dst, &v, from), true
}
