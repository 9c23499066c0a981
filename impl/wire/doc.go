// Package wire is the Blindpost wire codec: it decodes, validates and encodes every JSON message
// of the protocol (spec §5.1 "The envelope", §2.3 "Binary values in JSON", §2.4 "Integers and text
// in JSON") exactly as the JSON Schemas of schemas/ define them.
//
// The message types and their decoders, validators and encoders are generated from the schemas
// by impl/wire/internal/wiregen (`make generate`); the files named *_gen.go must not be edited.
// The hand-written part is the API (Decode, Encode, DecodePayload, …), a small JSON scanner and
// the checks shared by the generated code. What other packages need to know about the schemas is
// generated too, so that none keeps a copy: the Request and Response interfaces, the lists of
// types (RequestTypes, ServerMessageTypes, ResponseTypes) that dispatchers' tests iterate over,
// and a matcher per string definition of defs.json (ValidUsername, ValidID, …).
//
// Decoding enforces everything the schemas say (required and unknown members, const and enum,
// types with JSON Schema integer semantics, lengths in code points, patterns, bounds, uniqueItems)
// and everything the spec adds about the JSON text itself: valid UTF-8 (ENC-9), no duplicate
// member (MSG-2), exactly one value (MSG-3) and no nesting deeper than 32 levels (MSG-4). Every
// failure is a *ValidationError naming the JSON pointer and the schema keyword, which is what a
// server puts in a bad_message error (spec §5.7).
//
// Decoding is a single pass over the text with no reflection and no intermediate tree: member
// names are matched by generated switches, patterns run as automata compiled by wiregen, and
// base64 is checked for canonical form while it is decoded. A decoded message costs one
// allocation for the message, one per string member and list, and one shared by all its binary
// members (their slices are disjoint parts of one array). Only a text that fails is read a
// second time, to report a fault of the text itself (see MaxDepth and the Keyword constants)
// before a schema fault found earlier in it, as the schema oracle does.
//
// ScanRelay is the relay's fast path (spec §5.5 [SRV-6]): for a relay request it checks the text
// exactly as Decode does, with scanners that wiregen generates next to the decoders and that keep
// no value, and returns where the members lie instead of a decoded message, without allocating.
//
// Encoding writes the canonical form: members in schema order with type or kind first, optional
// members omitted when absent, canonical padded base64 (ENC-5), plain decimal integers (ENC-7),
// and no HTML escaping. Encode validates first, so a sender cannot emit an invalid message (MSG-6).
package wire
