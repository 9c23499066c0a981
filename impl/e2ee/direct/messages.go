package direct

// HS1 is the initiator's first handshake payload: the suites it offers, most
// preferred first, and its ephemeral X25519 public key. spec §6.3 step 1
type HS1 struct {
	Suites []string
	E      []byte
}

// HS2 is the responder's answer: the chosen suite, its ephemeral public key,
// its signature over the transcript and its Finished MAC. spec §6.3 step 2
type HS2 struct {
	Suite string
	E     []byte
	Sig   []byte
	Fin   []byte
}

// HS3 is the initiator's signature over the transcript and its Finished MAC.
// spec §6.3 step 3
type HS3 struct {
	Sig []byte
	Fin []byte
}

// Trace holds every intermediate value of one side's handshake, for test
// vectors (spec §8). It holds secrets: set Config.Trace only in tests and
// vector generation.
type Trace struct {
	H0         []byte   // SHA-256("blindpost/1")
	Transcript [][]byte // the transcript hash after each of the nine steps of §6.2
	H          []byte   // the final transcript hash h (step 9)

	EphemeralPrivate []byte // this side's ephemeral X25519 scalar
	EphemeralPublic  []byte // this side's ephemeral public key
	PeerEphemeral    []byte // the peer's ephemeral public key
	Suite            string // the chosen suite

	DH           []byte // X25519 output
	PRK          []byte // HKDF-Extract(salt = h, ikm = dh)
	KeyI2R       []byte
	IVI2R        []byte
	KeyR2I       []byte
	IVR2I        []byte
	FinishedKeyI []byte // kf_I
	FinishedKeyR []byte // kf_R

	SigR, FinR []byte // the responder's signature and Finished MAC
	SigI, FinI []byte // the initiator's signature and Finished MAC
}

func clone(b []byte) []byte { return append([]byte(nil), b...) }
