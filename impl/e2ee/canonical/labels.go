package canonical

// The labels of spec Appendix B, spelled exactly as the spec spells them.
// Each is used for the single purpose the comment names. spec §2.2 [ENC-4]
const (
	// Protocol is hashed alone to form the initial transcript hash h0 (§6.2).
	Protocol = "blindpost/1"
	// Prefix begins every other label; Expand adds it to its short label.
	Prefix = "blindpost/1 "

	// LabelGroupKey prefixes the group key signature (§3.2).
	LabelGroupKey = "blindpost/1 group key"
	// LabelRegister prefixes the registration proof (§5.2).
	LabelRegister = "blindpost/1 register"
	// LabelResponder prefixes the responder's handshake signature (§6.3).
	LabelResponder = "blindpost/1 responder"
	// LabelInitiator prefixes the initiator's handshake signature (§6.3).
	LabelInitiator = "blindpost/1 initiator"
	// LabelMsg is the first field of the associated data of a msg record (§6.4).
	LabelMsg = "blindpost/1 msg"
	// LabelClose is the first field of the associated data of a close record (§6.4).
	LabelClose = "blindpost/1 close"
	// LabelGroupWrap is the first field of the HPKE info of a commit wrap (§7.1).
	LabelGroupWrap = "blindpost/1 group wrap"
	// LabelCommit prefixes the commit hash input (§7.1).
	LabelCommit = "blindpost/1 commit"
	// LabelCommitSig prefixes the committer's signature (§7.1).
	LabelCommitSig = "blindpost/1 commit sig"
	// LabelGroupMsg is the first field of the associated data of a group message (§7.2).
	LabelGroupMsg = "blindpost/1 group msg"
)

// ExpandLabel is the short label of an [Expand] derivation; Expand prefixes it
// with [Prefix]. The type keeps arbitrary strings out of Expand: only the
// constants below are labels reserved for a derivation. spec §2.2 [ENC-3]
type ExpandLabel string

// The Expand labels of spec Appendix B, each reserved for one derived value.
const (
	ExpandGroupKey          ExpandLabel = "group private key"  // gk_private (§3.2)
	ExpandI2RKey            ExpandLabel = "i2r key"            // k_i2r (§6.3)
	ExpandI2RIV             ExpandLabel = "i2r iv"             // iv_i2r (§6.3)
	ExpandR2IKey            ExpandLabel = "r2i key"            // k_r2i (§6.3)
	ExpandR2IIV             ExpandLabel = "r2i iv"             // iv_r2i (§6.3)
	ExpandInitiatorFinished ExpandLabel = "initiator finished" // kf_I (§6.3)
	ExpandResponderFinished ExpandLabel = "responder finished" // kf_R (§6.3)
	ExpandConfirm           ExpandLabel = "confirm"            // the confirmation key (§7.1)
	ExpandGroupSenderKey    ExpandLabel = "group sender key"   // k_s (§7.2)
	ExpandGroupSenderIV     ExpandLabel = "group sender iv"    // iv_s (§7.2)
)

// Labels returns every full label of Appendix B: the fixed labels and the
// Expand labels with their prefix. Tests compare it with the spec's table.
func Labels() []string {
	out := []string{
		Protocol, LabelGroupKey, LabelRegister, LabelResponder, LabelInitiator,
		LabelMsg, LabelClose, LabelGroupWrap, LabelCommit, LabelCommitSig, LabelGroupMsg,
	}
	for _, l := range ExpandLabels() {
		out = append(out, Prefix+string(l))
	}
	return out
}

// ExpandLabels returns every Expand label.
func ExpandLabels() []ExpandLabel {
	return []ExpandLabel{
		ExpandGroupKey, ExpandI2RKey, ExpandI2RIV, ExpandR2IKey, ExpandR2IIV,
		ExpandInitiatorFinished, ExpandResponderFinished, ExpandConfirm,
		ExpandGroupSenderKey, ExpandGroupSenderIV,
	}
}
