package vectors

import (
	"encoding/hex"
	"errors"
	"strconv"
)

// Hex is a byte string written in JSON as lowercase hexadecimal: every raw
// byte value in a vector file is Hex. Base64 appears only inside embedded
// wire JSON.
type Hex []byte

// MarshalJSON writes h as a JSON string of lowercase hex digits.
func (h Hex) MarshalJSON() ([]byte, error) {
	return strconv.AppendQuote(nil, hex.EncodeToString(h)), nil
}

// UnmarshalJSON reads a JSON string of lowercase hex digits; upper case,
// an odd length or any other character is an error.
func (h *Hex) UnmarshalJSON(data []byte) error {
	if len(data) < 2 || data[0] != '"' || data[len(data)-1] != '"' {
		return errors.New("vectors: hex value is not a JSON string")
	}
	s := data[1 : len(data)-1]
	for _, c := range s {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return errors.New("vectors: hex value holds a character other than 0-9 a-f")
		}
	}
	b := make([]byte, hex.DecodedLen(len(s)))
	if _, err := hex.Decode(b, s); err != nil {
		return errors.New("vectors: hex value has an odd length")
	}
	*h = b
	return nil
}

// Meta is the header of every vector file.
type Meta struct {
	Family      string `json:"family" v:"const=$family" doc:"The family of this file: its name without .json."`
	Protocol    string `json:"protocol" v:"const=blindpost/1" doc:"The protocol version the vectors are for."`
	Description string `json:"description" doc:"What the file holds, in one paragraph; vectors/README.md has the details."`
	Notice      string `json:"notice" v:"const=$notice" doc:"Every key and secret in the file is a test value."`
	// Rules names what the file as a whole is there for: VEC-1 (spec §8), which every vector
	// file serves, then every other rule its vectors name, in spec order.
	Rules []string `json:"rules" v:"ref=rule;items=1" doc:"The rules this file checks: VEC-1 first (an implementation reproduces every positive vector and rejects every negative one with its outcome), then every rule a vector of the file names, in the order of spec/protocol.md."`
}

// Party is a user with an identity: its username, its identity seed and the
// identity key derived from it.
type Party struct {
	User        string `json:"user" v:"ref=username" doc:"The username (spec §5.1)."`
	Seed        Hex    `json:"seed" v:"len=32" doc:"The 32-byte Ed25519 identity seed (RFC 8032 §5.1.5). A TEST KEY."`
	IdentityKey Hex    `json:"identity_key" v:"len=32" doc:"IK_public, the Ed25519 public key of the seed."`
}

// KeyPair is an X25519 key pair.
type KeyPair struct {
	Private Hex `json:"private" v:"len=32" doc:"The 32 random bytes used as the X25519 scalar (RFC 7748 §5 clamps them when used). A TEST KEY."`
	Public  Hex `json:"public" v:"len=32" doc:"X25519(private, 9): the public value sent in hs1 or hs2."`
}

// Malformed is an end-to-end object that breaks its schema or the JSON
// rules: a receiver rejects it as malformed before any cryptography.
type Malformed struct {
	ID      string `json:"id" v:"ref=id" doc:"Unique id of the vector within the file."`
	Comment string `json:"comment" doc:"What is wrong with the text."`
	Schema  string `json:"schema" v:"enum=e2e/payload.json|e2e/commit.json|e2e/group_msg.json" doc:"The schema, under schemas/, that the text must satisfy."`
	JSON    string `json:"json" doc:"The offending text, exactly as it arrives (the payload of a relay, a commit or a group message)."`
	Pointer string `json:"pointer" doc:"The JSON pointer (RFC 6901) of the first violation, as schemas.Check and impl/wire report it; empty for the whole text."`
	Keyword string `json:"keyword" doc:"The schema keyword that fails there, or one of utf8, syntax, duplicateKey, trailingData, depth for a text that is not well formed (schemas/README.md)."`
	Expect  string `json:"expect" v:"const=malformed" doc:"Always malformed."`
	Rule    string `json:"rule" v:"ref=rule" doc:"The rule that requires the rejection (MSG-1 to MSG-4, ENC-5 to ENC-10)."`
}

// Header returns the header of any family's root value: Load checks its family, and the
// generator fills in its rules.
func (m *Meta) Header() *Meta { return m }
