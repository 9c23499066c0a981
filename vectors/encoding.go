package vectors

// Encoding is encoding.json: the labels of Appendix B, the field encoding
// enc of spec §2.1 and the Expand helper of spec §2.2.
type Encoding struct {
	Meta
	Labels []Label      `json:"labels" v:"items=1" doc:"Every label of spec Appendix B, with its bytes."`
	Enc    []EncVector  `json:"enc" v:"items=1" doc:"enc of lists of typed fields (spec §2.1)."`
	Expand []ExpandCase `json:"expand" v:"items=1" doc:"Expand(secret, label, ctx, n) for every Expand label of Appendix B (spec §2.2)."`
}

// Label is one label of spec Appendix B.
type Label struct {
	Label  string   `json:"label" v:"pattern=^blindpost/1( [a-z0-9 ]+)?$" doc:"The full label text."`
	Rules  []string `json:"rules" v:"ref=rule" doc:"The rules the vector checks: ENC-4, one label for one use, and only the labels Appendix B lists."`
	Expand string   `json:"expand,omitempty" doc:"For an Expand label, the short label passed to Expand, which adds the prefix \"blindpost/1 \"; absent otherwise."`
	Use    string   `json:"use" doc:"What the label is reserved for (Appendix B)."`
	Hex    Hex      `json:"hex" doc:"The UTF-8 bytes of label."`
}

// EncVector is enc of a list of fields.
type EncVector struct {
	ID      string     `json:"id" v:"ref=id" doc:"Unique id of the vector within the file."`
	Comment string     `json:"comment" doc:"What the vector shows."`
	Rules   []string   `json:"rules" v:"ref=rule" doc:"The rules the vector checks."`
	Fields  []EncField `json:"fields" doc:"The fields, in order: enc(a, b, c) = enc(a) || enc(b) || enc(c)."`
	Encoded Hex        `json:"encoded" doc:"The concatenated encoding."`
}

// EncField is one typed field of enc. Exactly the member its type names is
// present: hex for bytes, text for text, uint64 for uint64, items for list.
type EncField struct {
	Type   string      `json:"type" v:"enum=bytes|text|uint64|list" doc:"The field type of spec §2.1."`
	Hex    *Hex        `json:"hex,omitempty" doc:"bytes: the byte string."`
	Text   *string     `json:"text,omitempty" doc:"text: the text (encoded as its UTF-8 bytes)."`
	Uint64 *string     `json:"uint64,omitempty" v:"pattern=^(0|[1-9][0-9]{0,19})$" doc:"uint64: the value in decimal, as a string because JSON numbers above 2^53 are not portable."`
	Items  *[]EncField `json:"items,omitempty" doc:"list: the elements, each a field."`
}

// ExpandCase is one call of Expand.
type ExpandCase struct {
	ID      string   `json:"id" v:"ref=id" doc:"Unique id of the vector within the file."`
	Comment string   `json:"comment" doc:"What the secret and ctx stand for."`
	Rules   []string `json:"rules" v:"ref=rule" doc:"The rules the vector checks."`
	Label   string   `json:"label" doc:"The short Expand label of Appendix B; Expand prefixes it with \"blindpost/1 \"."`
	Secret  Hex      `json:"secret" v:"min=32" doc:"The pseudorandom key, at least 32 bytes."`
	Ctx     Hex      `json:"ctx" doc:"The context: the enc of the fields the spec's formula gives, or the raw bytes it names (h, IK_public)."`
	N       int      `json:"n" v:"min=1;max=8160" doc:"The output length in bytes."`
	Info    Hex      `json:"info" doc:"The HKDF info: enc(uint64 n, text \"blindpost/1 \" || label, bytes ctx)."`
	Output  Hex      `json:"output" doc:"HKDF-Expand(secret, info, n) with SHA-256 (RFC 5869)."`
}
