package vectors

// Handshake is handshake.json: complete 1:1 handshakes with every
// intermediate value (spec §6.2, §6.3), handshakes that must fail, and
// handshake payloads that break their schema.
type Handshake struct {
	Meta
	Handshakes []HandshakeVector   `json:"handshakes" v:"items=1" doc:"Complete handshakes."`
	Negative   []HandshakeNegative `json:"negative" v:"items=1" doc:"Handshakes one side must abort, step by step."`
	Malformed  []Malformed         `json:"malformed" v:"items=1" doc:"hs1, hs2 and hs3 payloads that break schemas/e2e/payload.json."`
}

// HandshakeInputs is everything both sides start a handshake from.
type HandshakeInputs struct {
	SessionID          Hex      `json:"session_id" v:"len=16" doc:"The 16-byte session id the initiator chose (HS-1)."`
	Initiator          Party    `json:"initiator" doc:"The initiator I."`
	Responder          Party    `json:"responder" doc:"The responder R."`
	SuitesOffered      []string `json:"suites_offered" v:"items=1" doc:"The suites I offers in hs1, most preferred first (transcript step 6)."`
	SuitesSupported    []string `json:"suites_supported" v:"items=1" doc:"The suites R supports; R picks the first offered suite among them (HS-7)."`
	InitiatorEphemeral KeyPair  `json:"initiator_ephemeral" doc:"I's ephemeral X25519 key pair (HS-5)."`
	ResponderEphemeral KeyPair  `json:"responder_ephemeral" doc:"R's ephemeral X25519 key pair (HS-5)."`
}

// HandshakeVector is one complete handshake.
type HandshakeVector struct {
	ID      string   `json:"id" v:"ref=id" doc:"Unique id of the vector within the file."`
	Comment string   `json:"comment" doc:"What is special about this handshake."`
	Rules   []string `json:"rules" v:"ref=rule" doc:"The rules the vector checks."`
	HandshakeInputs
	Suite      string           `json:"suite" doc:"The suite R chose (transcript step 7)."`
	H0         Hex              `json:"h0" v:"len=32" doc:"SHA-256(\"blindpost/1\")."`
	Transcript []TranscriptStep `json:"transcript" doc:"The nine steps of spec §6.2, in order."`
	H          Hex              `json:"h" v:"len=32" doc:"The final transcript hash (after step 9)."`
	DH         Hex              `json:"dh" v:"len=32" doc:"X25519 of either ephemeral private key with the other public key."`
	PRK        Hex              `json:"prk" v:"len=32" doc:"HKDF-Extract(salt = h, ikm = dh)."`
	Keys       HandshakeKeys    `json:"keys" doc:"The six Expand outputs of spec §6.3."`
	SigRInput  Hex              `json:"sig_r_input" doc:"\"blindpost/1 responder\" || h, the message R signs."`
	SigR       Hex              `json:"sig_r" v:"len=64" doc:"Sign(IK_R, sig_r_input) (Ed25519, deterministic)."`
	FinR       Hex              `json:"fin_r" v:"len=32" doc:"HMAC-SHA256(responder_finished_key, h)."`
	SigIInput  Hex              `json:"sig_i_input" doc:"\"blindpost/1 initiator\" || h, the message I signs."`
	SigI       Hex              `json:"sig_i" v:"len=64" doc:"Sign(IK_I, sig_i_input)."`
	FinI       Hex              `json:"fin_i" v:"len=32" doc:"HMAC-SHA256(initiator_finished_key, h)."`
	HS1        WireForms        `json:"hs1" doc:"hs1 on the wire."`
	HS2        WireForms        `json:"hs2" doc:"hs2 on the wire."`
	HS3        WireForms        `json:"hs3" doc:"hs3 on the wire."`
}

// TranscriptStep is one step of the transcript hash.
type TranscriptStep struct {
	Step    int    `json:"step" v:"min=1;max=9" doc:"The step number of the table of spec §6.2."`
	Field   string `json:"field" doc:"The field absorbed, as the table names it."`
	Encoded Hex    `json:"encoded" doc:"enc(field), the bytes absorbed."`
	H       Hex    `json:"h" v:"len=32" doc:"SHA-256(previous h || encoded): h1 … h9."`
}

// HandshakeKeys are the values derived from prk and h (spec §6.3).
type HandshakeKeys struct {
	I2RKey               Hex `json:"i2r_key" v:"len=32" doc:"k_i2r = Expand(prk, \"i2r key\", h, 32)."`
	I2RIV                Hex `json:"i2r_iv" v:"len=12" doc:"iv_i2r = Expand(prk, \"i2r iv\", h, 12)."`
	R2IKey               Hex `json:"r2i_key" v:"len=32" doc:"k_r2i = Expand(prk, \"r2i key\", h, 32)."`
	R2IIV                Hex `json:"r2i_iv" v:"len=12" doc:"iv_r2i = Expand(prk, \"r2i iv\", h, 12)."`
	InitiatorFinishedKey Hex `json:"initiator_finished_key" v:"len=32" doc:"kf_I = Expand(prk, \"initiator finished\", h, 32)."`
	ResponderFinishedKey Hex `json:"responder_finished_key" v:"len=32" doc:"kf_R = Expand(prk, \"responder finished\", h, 32)."`
}

// WireForms is one handshake message as it travels: the payload alone, the
// relay message its sender writes, and the relay message the server
// forwards.
type WireForms struct {
	Payload   string `json:"payload" doc:"The relay payload (schemas/e2e/payload.json), byte for byte as impl/wire encodes it."`
	Relay     string `json:"relay" doc:"The relay message the sender writes (schemas/c2s/relay.json), without an id."`
	Forwarded string `json:"forwarded" doc:"The relay message the server forwards (schemas/s2c/relay.json), with from."`
}

// HandshakeNegative is a handshake that the side under test must abort: the
// inputs of that side and the messages it receives, each with the outcome
// it must produce.
type HandshakeNegative struct {
	ID      string `json:"id" v:"ref=id" doc:"Unique id of the vector within the file."`
	Comment string `json:"comment" doc:"What is wrong and why it must be rejected."`
	Expect  string `json:"expect" v:"ref=outcome" doc:"The outcome of the first step that is not ok."`
	Rule    string `json:"rule" v:"ref=rule" doc:"The rule that requires that rejection."`
	Role    string `json:"role" v:"enum=initiator|responder" doc:"The side under test."`
	HandshakeInputs
	PinnedPeerKey Hex             `json:"pinned_peer_key" v:"len=32" doc:"The identity key the side under test has pinned for its peer: every peer signature is verified with it (TRUST-3)."`
	Steps         []HandshakeStep `json:"steps" v:"items=1" doc:"What the side under test receives, in order."`
}

// HandshakeStep is one input to the side under test. The initiator has sent
// hs1 from its inputs before its first step; the responder starts with
// read_hs1.
type HandshakeStep struct {
	Action  string `json:"action" v:"enum=read_hs1|read_hs2|read_hs3|terminate" doc:"read_hs1 (responder), read_hs2 (initiator), read_hs3 (responder), or terminate: the peer's chat_terminate arrives."`
	HS1     *HS1   `json:"hs1,omitempty" doc:"The hs1 of read_hs1."`
	HS2     *HS2   `json:"hs2,omitempty" doc:"The hs2 of read_hs2."`
	HS3     *HS3   `json:"hs3,omitempty" doc:"The hs3 of read_hs3."`
	Payload string `json:"payload,omitempty" doc:"The same message as relay payload JSON, when it is schema-valid."`
	Expect  string `json:"expect" v:"ref=outcome" doc:"ok, or the outcome the step must produce."`
	Rule    string `json:"rule,omitempty" v:"ref=rule" doc:"The rule that requires the rejection; present exactly when expect is not ok."`
}

// HS1 is the content of an hs1 payload.
type HS1 struct {
	Suites []string `json:"suites" doc:"The offered suites."`
	E      Hex      `json:"e" doc:"The initiator's ephemeral public key."`
}

// HS2 is the content of an hs2 payload.
type HS2 struct {
	Suite string `json:"suite" doc:"The chosen suite."`
	E     Hex    `json:"e" doc:"The responder's ephemeral public key."`
	Sig   Hex    `json:"sig" doc:"sig_R."`
	Fin   Hex    `json:"fin" doc:"fin_R."`
}

// HS3 is the content of an hs3 payload.
type HS3 struct {
	Sig Hex `json:"sig" doc:"sig_I."`
	Fin Hex `json:"fin" doc:"fin_I."`
}
