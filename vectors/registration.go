package vectors

// Registration is registration.json: identity keys with their derived
// group keys, group key signatures and fingerprints (spec §3), registration
// proofs with the register message (spec §5.2), and signatures a verifier
// must reject.
type Registration struct {
	Meta
	Identities []IdentityVector       `json:"identities" v:"items=1" doc:"Identity seeds and everything derived from them."`
	Proofs     []ProofVector          `json:"proofs" v:"items=1" doc:"Registration proofs."`
	Negative   []RegistrationNegative `json:"negative" v:"items=1" doc:"Group key signatures and proofs that must not verify."`
}

// IdentityVector is one identity and its derived values.
type IdentityVector struct {
	ID               string   `json:"id" v:"ref=id" doc:"Unique id of the vector within the file."`
	Comment          string   `json:"comment" doc:"What is special about this identity."`
	Rules            []string `json:"rules" v:"ref=rule" doc:"The rules the vector checks."`
	User             string   `json:"user" v:"ref=username" doc:"The username the group key is signed for."`
	Seed             Hex      `json:"seed" v:"len=32" doc:"The identity seed. A TEST KEY."`
	IdentityKey      Hex      `json:"identity_key" v:"len=32" doc:"IK_public (RFC 8032 §5.1.5)."`
	GroupKeyInfo     Hex      `json:"group_key_info" doc:"The HKDF info of the group key derivation: enc(uint64 32, text \"blindpost/1 group private key\", bytes IK_public)."`
	GroupPrivate     Hex      `json:"group_private" v:"len=32" doc:"gk_private = Expand(seed, \"group private key\", IK_public, 32), used as an X25519 scalar (clamped when used, RFC 7748 §5). A TEST KEY."`
	GroupKey         Hex      `json:"group_key" v:"len=32" doc:"GK_public = X25519(gk_private, 9)."`
	GroupKeySigInput Hex      `json:"group_key_sig_input" doc:"\"blindpost/1 group key\" || enc(text user, bytes GK_public)."`
	GroupKeySig      Hex      `json:"group_key_sig" v:"len=64" doc:"Sign(IK, group_key_sig_input)."`
	Fingerprint      string   `json:"fingerprint" v:"pattern=^sha256:[0-9a-f]{64}$" doc:"\"sha256:\" and the lowercase hex of SHA-256(IK_public) (spec §3.3)."`
}

// ProofVector is one registration proof.
type ProofVector struct {
	ID            string   `json:"id" v:"ref=id" doc:"Unique id of the vector within the file."`
	Comment       string   `json:"comment" doc:"What is special about this proof."`
	Rules         []string `json:"rules" v:"ref=rule" doc:"The rules the vector checks."`
	User          string   `json:"user" v:"ref=username" doc:"The user named in hello."`
	Seed          Hex      `json:"seed" v:"len=32" doc:"The identity seed. A TEST KEY."`
	IdentityKey   Hex      `json:"identity_key" v:"len=32" doc:"IK_public."`
	GroupKey      Hex      `json:"group_key" v:"len=32" doc:"GK_public, derived from the seed as in identities."`
	GroupKeySig   Hex      `json:"group_key_sig" v:"len=64" doc:"The group key signature for user."`
	Challenge     Hex      `json:"challenge" v:"len=32" doc:"The challenge of hello_ack."`
	ServerPin     Hex      `json:"server_pin" v:"len=32" doc:"The 32-byte server pin: SHA-256 of the DER SubjectPublicKeyInfo of the certificate the client verified (spec §4.1)."`
	ServerPinText string   `json:"server_pin_text" v:"pattern=^sha256:[0-9a-f]{64}$" doc:"The pin as it is written: \"sha256:\" and its lowercase hex."`
	ProofInput    Hex      `json:"proof_input" doc:"\"blindpost/1 register\" || enc(bytes challenge, bytes server_pin, text user, bytes IK_public, bytes GK_public)."`
	Proof         Hex      `json:"proof" v:"len=64" doc:"Sign(IK, proof_input)."`
	Register      string   `json:"register" doc:"The register message (schemas/c2s/register.json), without an id, as impl/wire encodes it."`
}

// RegistrationNegative is a signature a verifier must reject.
type RegistrationNegative struct {
	ID          string `json:"id" v:"ref=id" doc:"Unique id of the vector within the file."`
	Comment     string `json:"comment" doc:"What is wrong."`
	Expect      string `json:"expect" v:"const=bad_signature" doc:"Always bad_signature."`
	Rule        string `json:"rule" v:"ref=rule" doc:"KEY-5 for a group key signature, REG-3 for a proof; KEY-7 for a canonically encoded identity key of small or mixed order, with a signature crypto/ed25519 accepts; VEC-3 for a signature over the right message whose S is not below the group order or whose R is not a canonical encoding (RFC 8032 §5.1.7), which the check that verifies it (KEY-5, REG-3) rejects."`
	Check       string `json:"check" v:"enum=group_key_sig|register_proof" doc:"group_key_sig: verify sig as the group key signature of user's group_key with identity_key (KEY-5); register_proof: verify sig as the proof of user over challenge, server_pin, identity_key and group_key (REG-3)."`
	User        string `json:"user" v:"ref=username" doc:"The user the signature is checked for."`
	IdentityKey Hex    `json:"identity_key" v:"len=32" doc:"The identity key the signature is checked with."`
	GroupKey    Hex    `json:"group_key" v:"len=32" doc:"The group key."`
	Challenge   Hex    `json:"challenge,omitempty" v:"len=32" doc:"register_proof: the challenge the server issued."`
	ServerPin   Hex    `json:"server_pin,omitempty" v:"len=32" doc:"register_proof: the verifying server's own pin."`
	Sig         Hex    `json:"sig" v:"len=64" doc:"The signature or proof that must not verify."`
}
