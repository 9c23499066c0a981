package vectors

// Records is records.json: message and close records of several sessions
// in both directions (spec §6.4, §6.5), record sequences a receiver must
// reject, and record payloads that break their schema.
type Records struct {
	Meta
	Sessions  []RecordSession  `json:"sessions" v:"items=1" doc:"Sessions, each with its handshake inputs, its keys and records."`
	Negative  []RecordNegative `json:"negative" v:"items=1" doc:"Records a receiver must reject, step by step."`
	Malformed []Malformed      `json:"malformed" v:"items=1" doc:"msg and close payloads that break schemas/e2e/payload.json."`
}

// RecordSession is a session: the handshake that created it and its records.
type RecordSession struct {
	ID        string          `json:"id" v:"ref=id" doc:"Unique id of the session within the file; negative vectors name it."`
	Comment   string          `json:"comment" doc:"What is special about this session."`
	Handshake HandshakeInputs `json:"handshake" doc:"The handshake inputs; running the handshake of spec §6.3 on them gives h and the keys."`
	H         Hex             `json:"h" v:"len=32" doc:"The transcript hash of the session."`
	Keys      RecordKeys      `json:"keys" doc:"The record keys and IVs of both directions."`
	Records   []RecordVector  `json:"records" v:"items=1" doc:"Records of this session. Each stands alone: its counter is what a sender that already sent n records in that direction uses."`
}

// RecordKeys are the directional keys and IVs of a session.
type RecordKeys struct {
	I2RKey Hex `json:"i2r_key" v:"len=32" doc:"k_i2r."`
	I2RIV  Hex `json:"i2r_iv" v:"len=12" doc:"iv_i2r."`
	R2IKey Hex `json:"r2i_key" v:"len=32" doc:"k_r2i."`
	R2IIV  Hex `json:"r2i_iv" v:"len=12" doc:"iv_r2i."`
}

// RecordVector is one record.
type RecordVector struct {
	ID        string   `json:"id" v:"ref=id" doc:"Unique id of the record within the file."`
	Comment   string   `json:"comment" doc:"What is special about this record."`
	Rules     []string `json:"rules" v:"ref=rule" doc:"The rules the vector checks."`
	Direction string   `json:"direction" v:"enum=i2r|r2i" doc:"i2r: the initiator sends with k_i2r, iv_i2r; r2i: the responder sends with k_r2i, iv_r2i."`
	Sender    string   `json:"sender" v:"ref=username" doc:"The sender's username (the ad's sender)."`
	Recipient string   `json:"recipient" v:"ref=username" doc:"The recipient's username (the ad's recipient)."`
	Kind      string   `json:"kind" v:"enum=msg|close" doc:"The record kind."`
	N         int      `json:"n" v:"min=0;max=16777215" doc:"The record counter."`
	Key       Hex      `json:"key" v:"len=32" doc:"The AES-256-GCM key of the direction."`
	IV        Hex      `json:"iv" v:"len=12" doc:"The IV of the direction."`
	Nonce     Hex      `json:"nonce" v:"len=12" doc:"iv XOR (0x00000000 || uint64_be(n))."`
	AD        Hex      `json:"ad" doc:"enc(text \"blindpost/1 \" || kind, bytes h, text sender, text recipient, uint64 n)."`
	Size      int      `json:"size" v:"min=0;max=32750" doc:"The plaintext length in bytes."`
	Plaintext string   `json:"plaintext" doc:"The plaintext: a content object (schemas/e2e/content.json) or a receipt object (schemas/e2e/receipt.json) as UTF-8 JSON text for msg, empty for close."`
	CT        Hex      `json:"ct" v:"min=16;max=32766" doc:"AES-256-GCM-Seal(key, nonce, plaintext, ad): ciphertext || 16-byte tag."`
	Payload   string   `json:"payload" doc:"The record as relay payload JSON."`
}

// RecordNegative is a sequence of records arriving at one side of a
// session, at least one of which it must reject.
type RecordNegative struct {
	ID      string       `json:"id" v:"ref=id" doc:"Unique id of the vector within the file."`
	Comment string       `json:"comment" doc:"What is wrong and why it must be rejected."`
	Expect  string       `json:"expect" v:"ref=outcome" doc:"The outcome of the first step that is not ok."`
	Rule    string       `json:"rule" v:"ref=rule" doc:"The rule that requires that rejection."`
	Session string       `json:"session" v:"ref=id" doc:"The id of the session in sessions: run its handshake to get both sides' confirmed sessions, with no record sent or received yet."`
	Role    string       `json:"role" v:"enum=initiator|responder" doc:"The side under test, which receives the records."`
	Steps   []RecordStep `json:"steps" v:"items=1" doc:"What the side under test receives, in order."`
}

// RecordStep is one input to the receiving side.
type RecordStep struct {
	Action    string  `json:"action" v:"enum=open|terminate" doc:"open: a relay payload with a record arrives; terminate: the peer's chat_terminate arrives."`
	Kind      string  `json:"kind,omitempty" v:"enum=msg|close" doc:"open: the record kind."`
	N         *int    `json:"n,omitempty" v:"min=0;max=16777215" doc:"open: the record counter."`
	CT        Hex     `json:"ct,omitempty" doc:"open: the ciphertext."`
	Payload   string  `json:"payload,omitempty" doc:"open: the same record as relay payload JSON."`
	Plaintext *string `json:"plaintext,omitempty" doc:"open with expect ok: the plaintext the record yields (msg), or empty (close)."`
	Expect    string  `json:"expect" v:"ref=outcome" doc:"ok, or the outcome the step must produce. A msg plaintext that is not a content object is bad_content (REC-7)."`
	Rule      string  `json:"rule,omitempty" v:"ref=rule" doc:"The rule that requires the rejection; present exactly when expect is not ok."`
}
