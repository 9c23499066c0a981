package vectors

// SafetyNumbers is safety_numbers.json: safety numbers of pairs of users
// (spec §6.6), and libsignal's published NumericFingerprint test case, which
// the same algorithm reproduces from libsignal's own inputs.
type SafetyNumbers struct {
	Meta
	Pairs     []SafetyPair    `json:"pairs" v:"items=1" doc:"Safety numbers of two Blindpost users."`
	Libsignal LibsignalVector `json:"libsignal" doc:"libsignal's published fingerprint test; NOT Blindpost inputs (its keys are 33 bytes with a type byte and its ids are phone numbers)."`
}

// SafetyParty is one user's half of a safety number.
type SafetyParty struct {
	User        string `json:"user" v:"ref=username" doc:"The username u."`
	IdentityKey Hex    `json:"identity_key" v:"len=32" doc:"IK_public."`
	HashInput   Hex    `json:"hash_input" doc:"The initial d = 0x00 0x00 || IK_public || u."`
	Digits      string `json:"digits" v:"ref=digits30" doc:"The party's 30 digits: d = SHA-512(d || IK_public) 5200 times, then each 5-byte chunk of d[0:30] as uint40_be mod 100000, in 5 digits."`
}

// SafetyPair is the safety number of two users.
type SafetyPair struct {
	ID      string      `json:"id" v:"ref=id" doc:"Unique id of the vector within the file."`
	Comment string      `json:"comment" doc:"What is special about this pair."`
	Rules   []string    `json:"rules" v:"ref=rule" doc:"The rules the vector checks."`
	A       SafetyParty `json:"a" doc:"One user."`
	B       SafetyParty `json:"b" doc:"The other user."`
	Digits  string      `json:"digits" v:"ref=digits60" doc:"The safety number: the smaller 30-digit string (compared as text) first."`
	Display string      `json:"display" v:"pattern=^[0-9]{5}( [0-9]{5}){11}$" doc:"The number as shown: 12 groups of 5 digits separated by one space."`
}

// LibsignalVector is libsignal's NumericFingerprint test case.
type LibsignalVector struct {
	Comment    string         `json:"comment" doc:"Where the case comes from."`
	Rules      []string       `json:"rules" v:"ref=rule" doc:"The rules the vector checks."`
	Iterations int            `json:"iterations" v:"min=1" doc:"The SHA-512 iterations: 5200."`
	A          LibsignalParty `json:"a" doc:"The local party of libsignal's test."`
	B          LibsignalParty `json:"b" doc:"The remote party of libsignal's test."`
	Digits     string         `json:"digits" v:"ref=digits60" doc:"libsignal's displayable fingerprint, the smaller half first."`
}

// LibsignalParty is one party of libsignal's test, in libsignal's terms.
type LibsignalParty struct {
	StableID string `json:"stable_id" doc:"libsignal's stable identifier (a phone number), used where Blindpost uses the username."`
	Key      Hex    `json:"key" v:"len=33" doc:"libsignal's serialized identity key: the type byte 0x05 and a 32-byte Curve25519 key, used where Blindpost uses IK_public."`
	Digits   string `json:"digits" v:"ref=digits30" doc:"The party's 30 digits."`
}
