package gen

import (
	"math"
	"strconv"

	"github.com/blindpost/blindpost/vectors"
)

// appendixB is the label table of spec Appendix B, transcribed from the
// spec: the full label, the short label Expand takes (for an Expand label)
// and its one use.
var appendixB = []vectors.Label{
	{Label: "blindpost/1", Use: "the initial transcript hash h0 (6.2)"},
	{Label: "blindpost/1 group key", Use: "the group key signature (3.2)"},
	{Label: "blindpost/1 group private key", Expand: "group private key", Use: "Expand label of the reference group key derivation (3.2)"},
	{Label: "blindpost/1 register", Use: "the registration proof (5.2)"},
	{Label: "blindpost/1 responder", Use: "the responder's handshake signature (6.3)"},
	{Label: "blindpost/1 initiator", Use: "the initiator's handshake signature (6.3)"},
	{Label: "blindpost/1 i2r key", Expand: "i2r key", Use: "Expand label of the initiator-to-responder record key (6.3)"},
	{Label: "blindpost/1 i2r iv", Expand: "i2r iv", Use: "Expand label of the initiator-to-responder record IV (6.3)"},
	{Label: "blindpost/1 r2i key", Expand: "r2i key", Use: "Expand label of the responder-to-initiator record key (6.3)"},
	{Label: "blindpost/1 r2i iv", Expand: "r2i iv", Use: "Expand label of the responder-to-initiator record IV (6.3)"},
	{Label: "blindpost/1 initiator finished", Expand: "initiator finished", Use: "Expand label of the initiator's Finished MAC key (6.3)"},
	{Label: "blindpost/1 responder finished", Expand: "responder finished", Use: "Expand label of the responder's Finished MAC key (6.3)"},
	{Label: "blindpost/1 msg", Use: "the associated data of msg records (6.4)"},
	{Label: "blindpost/1 close", Use: "the associated data of close records (6.4)"},
	{Label: "blindpost/1 group wrap", Use: "the HPKE info of a commit wrap (7.1)"},
	{Label: "blindpost/1 commit", Use: "the commit hash (7.1)"},
	{Label: "blindpost/1 commit sig", Use: "the committer's signature (7.1)"},
	{Label: "blindpost/1 confirm", Expand: "confirm", Use: "Expand label of the confirmation key (7.1)"},
	{Label: "blindpost/1 group sender key", Expand: "group sender key", Use: "Expand label of the per-sender group key (7.2)"},
	{Label: "blindpost/1 group sender iv", Expand: "group sender iv", Use: "Expand label of the per-sender group IV (7.2)"},
	{Label: "blindpost/1 group msg", Use: "the associated data of group messages, also signed (7.2)"},
}

// encodingVectors generates encoding.json.
func encodingVectors() *vectors.Encoding {
	out := &vectors.Encoding{Meta: meta("encoding",
		"The labels of spec Appendix B with their bytes; enc (spec §2.1) of byte strings, texts, integers and lists, "+
			"nested lists included; and Expand (spec §2.2) once or more for every Expand label, with the contexts the protocol gives it.")}
	for _, l := range appendixB {
		l.Hex = []byte(l.Label)
		l.Rules = []string{"ENC-4"}
		out.Labels = append(out.Labels, l)
	}
	h := randBytes("encoding h", 32)
	for _, c := range []struct {
		id, comment string
		fields      []field
	}{
		{"bytes-empty", "An empty byte string is its length 0 alone.", []field{fBytes(nil)}},
		{"bytes-short", "Three bytes.", []field{fBytes([]byte{0x00, 0x01, 0xff})}},
		{"bytes-32", "A 32-byte value, as keys and hashes are encoded.", []field{fBytes(h)}},
		{"text-ascii", "A username.", []field{fText("alice")}},
		{"text-empty", "The empty text.", []field{fText("")}},
		{"text-utf8", "Text is its UTF-8 bytes: the length counts bytes, not characters.", []field{fText("héllo ✓ 😀")}},
		{"uint64-values", "Integers are 8 bytes big-endian with no length: 0, 1, 2^24-1, 2^32 and 2^64-1.",
			[]field{fUint(0), fUint(1), fUint(1<<24 - 1), fUint(1 << 32), fUint(math.MaxUint64)}},
		{"list-empty", "An empty list is an empty byte string.", []field{fList()}},
		{"list-one-suite", "The offered suites of transcript step 6: a list of one text.", []field{fList(fText("x25519-hkdf-sha256-aes256gcm"))}},
		{"list-two-texts", "A list of two texts is length-prefixed once as a whole, each element with its own length.",
			[]field{fList(fText("x448-hkdf-sha512-chacha20poly1305"), fText("x25519-hkdf-sha256-aes256gcm"))}},
		{"list-of-bytes", "A list of byte strings, as the members of a commit.", []field{fList(fBytes([]byte("member one")), fBytes(nil), fBytes(h[:5]))}},
		{"list-nested", "Lists nest: a list holding a list, an empty list and a byte string.",
			[]field{fList(fList(fText("a"), fBytes([]byte{1})), fList(), fBytes([]byte{2, 3}))}},
		{"record-ad", "The associated data of msg record 7 from alice to bob (spec §6.4): a structured value authenticated through enc.",
			[]field{fText("blindpost/1 msg"), fBytes(h), fText("alice"), fText("bob"), fUint(7)}},
		{"group-ad", "The associated data of group message 3 of alice in epoch 2 of broadcast (spec §7.2): authenticated and signed through enc.",
			[]field{fText("blindpost/1 group msg"), fText("broadcast"), fUint(2), fText("alice"), fUint(3)}},
		{"wrap-info", "The HPKE info of bob's wrap in epoch 2 of broadcast (spec §7.1): bound through enc.",
			[]field{fText("blindpost/1 group wrap"), fText("broadcast"), fUint(2), fText("bob")}},
	} {
		out.Enc = append(out.Enc, vectors.EncVector{
			ID: c.id, Comment: c.comment, Rules: encRules(c.id),
			Fields: encFields(c.fields), Encoded: encode(c.fields...),
		})
	}

	alice := idOf("alice")
	prk, secret := randBytes("encoding prk", 32), randBytes("encoding epoch secret", 32)
	for _, c := range []struct {
		id, label, comment string
		secret, ctx        []byte
		n                  int
	}{
		{"group-private-key", "group private key", "gk_private of alice: the secret is her identity seed, the ctx her IK_public (spec §3.2).", seedOf("alice"), alice.Public(), 32},
		{"i2r-key", "i2r key", "k_i2r: the secret is prk, the ctx the transcript hash h (spec §6.3).", prk, h, 32},
		{"i2r-iv", "i2r iv", "iv_i2r from prk and h.", prk, h, 12},
		{"r2i-key", "r2i key", "k_r2i from prk and h.", prk, h, 32},
		{"r2i-iv", "r2i iv", "iv_r2i from prk and h.", prk, h, 12},
		{"initiator-finished", "initiator finished", "kf_I from prk and h.", prk, h, 32},
		{"responder-finished", "responder finished", "kf_R from prk and h.", prk, h, 32},
		{"confirm", "confirm", "The confirmation key of broadcast epoch 1: the secret is the epoch secret, the ctx enc(text group, uint64 epoch) (spec §7.1).",
			secret, encode(fText("broadcast"), fUint(1)), 32},
		{"group-sender-key", "group sender key", "k_s of alice in broadcast epoch 1: ctx enc(text group, uint64 epoch, text sender) (spec §7.2).",
			secret, encode(fText("broadcast"), fUint(1), fText("alice")), 32},
		{"group-sender-iv", "group sender iv", "iv_s of alice in broadcast epoch 1.", secret, encode(fText("broadcast"), fUint(1), fText("alice")), 12},
		{"long-secret-empty-ctx", "confirm", "The helper itself: a 64-byte secret, an empty ctx and a 100-byte output (two and more HMAC blocks); the info is never empty.",
			randBytes("encoding long secret", 64), nil, 100},
	} {
		out.Expand = append(out.Expand, vectors.ExpandCase{
			ID: c.id, Comment: c.comment, Rules: []string{"ENC-1", "ENC-3"},
			Label: c.label, Secret: c.secret, Ctx: vectors.Hex(c.ctx), N: c.n,
			Info: expandInfo(c.label, c.ctx, c.n), Output: expand(c.secret, c.label, c.ctx, c.n),
		})
	}
	return out
}

// structured names the enc vectors that are values the protocol hashes, signs, MACs or
// authenticates (ENC-2), as opposed to the cases of the encoding itself.
var structured = map[string]bool{"record-ad": true, "group-ad": true, "wrap-info": true}

// encRules returns the rules of the enc vector id: ENC-1, and ENC-2 for a structured value.
func encRules(id string) []string {
	if structured[id] {
		return []string{"ENC-1", "ENC-2"}
	}
	return []string{"ENC-1"}
}

// encFields converts the generator's fields to their vector form.
func encFields(fs []field) []vectors.EncField {
	out := make([]vectors.EncField, 0, len(fs))
	for _, f := range fs {
		v := vectors.EncField{Type: f.kind}
		switch f.kind {
		case "bytes":
			h := vectors.Hex(append([]byte{}, f.b...))
			v.Hex = &h
		case "text":
			s := f.s
			v.Text = &s
		case "uint64":
			s := strconv.FormatUint(f.u, 10)
			v.Uint64 = &s
		case "list":
			items := encFields(f.items)
			v.Items = &items
		}
		out = append(out, v)
	}
	return out
}
