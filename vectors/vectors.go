// Package vectors holds the types of Blindpost's published test vectors
// (spec §8, VEC-1) and the strict reader that tests use to load them.
//
// The vector files themselves are data: one JSON file per family in this
// directory, each described by a JSON Schema (draft 2020-12) next to it,
// and documented for implementers in other languages in README.md. The
// generator in internal/gen writes them from a fixed seed (`make
// vectors`), and fails when a checked-in file is stale.
//
// The Go types here are the exact shape of the files: [Load] decodes a file
// into them with unknown members refused, after checking the text against
// the family's schema, so that a vector a consumer does not understand can
// never be skipped silently.
package vectors

// Protocol is the protocol every vector file is for. This package imports no
// package of impl/e2ee, so that their tests can import it.
const Protocol = "blindpost/1"

// Notice is the warning every vector file carries.
const Notice = "TEST VECTORS: every seed, private key and secret in this file is a test value derived from a fixed public seed; never use any of them outside tests."

// Family names one vector file and its schema.
type Family struct {
	Name   string // the family, also the file name without .json
	Title  string // one line, for the schema
	Schema string // the schema file next to it
	root   func() any
}

// File returns the vector file name of the family.
func (f Family) File() string { return f.Name + ".json" }

// New returns a pointer to a zero value of the family's root type.
func (f Family) New() any { return f.root() }

// The families, in the order the README describes them.
var families = []Family{
	{Name: "encoding", Title: "enc, the labels and Expand (spec §2, Appendix B)", root: func() any { return new(Encoding) }},
	{Name: "handshake", Title: "complete 1:1 handshakes (spec §6.2, §6.3)", root: func() any { return new(Handshake) }},
	{Name: "records", Title: "1:1 records and the close record (spec §6.4, §6.5)", root: func() any { return new(Records) }},
	{Name: "registration", Title: "identity keys, group keys and registration proofs (spec §3, §5.2)", root: func() any { return new(Registration) }},
	{Name: "safety_numbers", Title: "safety numbers (spec §6.6)", root: func() any { return new(SafetyNumbers) }},
	{Name: "group", Title: "group commits, wraps and signed group messages (spec §7)", root: func() any { return new(Group) }},
}

func init() {
	for i := range families {
		families[i].Schema = families[i].Name + ".schema.json"
	}
}

// Families returns every vector family.
func Families() []Family { return append([]Family(nil), families...) }

// Lookup returns the family called name.
func Lookup(name string) (Family, bool) {
	for _, f := range families {
		if f.Name == name {
			return f, true
		}
	}
	return Family{}, false
}

// Outcomes is the closed set of values of an expect member: "ok" and the
// outcome codes of spec Appendix A.4, in the order of its table.
var Outcomes = []string{
	"ok",
	"bad_signature", "bad_finished", "low_order_point", "bad_suite", "unexpected_message",
	"malformed", "replayed_counter", "reflected_record", "bad_tag", "bad_content",
	"unverified_end", "key_changed", "key_not_pinned", "stale_epoch", "bad_prev",
	"not_listed", "bad_members", "bad_wrap", "bad_confirmation_tag", "counter_jump",
	"forged_sender", "bad_receipt", "bad_epoch_ack",
}
