package vectors

// Group is group.json: chains of group commits with every intermediate value
// (spec §7.1), signed group messages (spec §7.2), commits and messages a
// member must reject, and commits and messages that break their schema.
type Group struct {
	Meta
	Users     []GroupUser          `json:"users" v:"items=1" doc:"Every user of the vectors, with the keys it publishes; the other members name users by username."`
	Commits   []CommitVector       `json:"commits" v:"items=1" doc:"Commits, each chained to the one its previous member names."`
	Messages  []GroupMessageVector `json:"messages" v:"items=1" doc:"Signed group messages."`
	Negative  []GroupNegative      `json:"negative" v:"items=1" doc:"Commits and messages a member must reject, step by step."`
	Malformed []Malformed          `json:"malformed" v:"items=1" doc:"Commits and group messages that break schemas/e2e/commit.json or schemas/e2e/group_msg.json."`
}

// GroupUser is a user and the keys it published at registration.
type GroupUser struct {
	User        string `json:"user" v:"ref=username" doc:"The username."`
	Seed        Hex    `json:"seed" v:"len=32" doc:"The identity seed. A TEST KEY."`
	IdentityKey Hex    `json:"identity_key" v:"len=32" doc:"IK_public."`
	GroupKey    Hex    `json:"group_key" v:"len=32" doc:"GK_public, derived from the seed (spec §3.2)."`
	GroupKeySig Hex    `json:"group_key_sig" v:"len=64" doc:"The group key signature for this username."`
}

// CommitObject is a commit (schemas/e2e/commit.json) with its values in hex.
type CommitObject struct {
	Group     string        `json:"group" v:"ref=group" doc:"The group."`
	Epoch     int64         `json:"epoch" v:"min=0;max=4294967295" doc:"The epoch the commit publishes."`
	Committer string        `json:"committer" v:"ref=username" doc:"The committer."`
	Prev      Hex           `json:"prev" doc:"Empty in a group's first commit, otherwise the commit_hash of the previous commit (32 bytes)."`
	Members   []MemberEntry `json:"members" doc:"The members, sorted by username."`
	Wraps     []WrapEntry   `json:"wraps" doc:"The wraps, in the order of members."`
	Confirm   Hex           `json:"confirm" doc:"The confirmation tag."`
	Sig       Hex           `json:"sig" doc:"The committer's signature."`
}

// MemberEntry is one member of a commit.
type MemberEntry struct {
	User        string `json:"user" v:"ref=username" doc:"The member."`
	IdentityKey Hex    `json:"identity_key" doc:"Its identity key."`
	GroupKey    Hex    `json:"group_key" doc:"Its group key."`
	GroupKeySig Hex    `json:"group_key_sig" doc:"Its group key signature."`
}

// WrapEntry is one wrap of a commit.
type WrapEntry struct {
	User string `json:"user" v:"ref=username" doc:"The member the wrap is for."`
	Wrap Hex    `json:"wrap" doc:"HPKE enc || ct (80 bytes)."`
}

// CommitVector is one commit with every value that goes into it.
type CommitVector struct {
	ID              string       `json:"id" v:"ref=id" doc:"Unique id of the commit within the file."`
	Comment         string       `json:"comment" doc:"What the commit does."`
	Rules           []string     `json:"rules" v:"ref=rule" doc:"The rules the vector checks."`
	Previous        string       `json:"previous" doc:"The id of the previous commit of the group in this file, or empty for the group's first commit. A member accepts the previous commit first, or joins at its epoch with it as last_commit (GRP-11)."`
	EpochSecret     Hex          `json:"epoch_secret" v:"len=32" doc:"The fresh epoch secret (GRP-1). A TEST KEY."`
	GoRandomSeed    int64        `json:"go_random_seed" v:"min=0;max=2147483647" doc:"Go only: the seed the generator gave testing/cryptotest.SetGlobalRandom just before creating the commit, so that crypto/hpke draws the ephemeral_private values of wraps in order. Other implementations use ephemeral_private directly."`
	Commit          CommitObject `json:"commit" doc:"The commit."`
	MemberEncodings []Hex        `json:"member_encodings" doc:"member_i = enc(text user, bytes identity_key, bytes group_key, bytes group_key_sig), in the order of members."`
	Wraps           []WrapDetail `json:"wraps" doc:"How each wrap is made, in the order of members."`
	Content         Hex          `json:"content" doc:"enc(text group, uint64 epoch, text committer, bytes prev, list(bytes member_i …), list(bytes wrapentry_i …))."`
	CommitHash      Hex          `json:"commit_hash" v:"len=32" doc:"SHA-256(\"blindpost/1 commit\" || content)."`
	ConfirmContext  Hex          `json:"confirm_context" doc:"enc(text group, uint64 epoch), the ctx of the confirmation key."`
	ConfirmKey      Hex          `json:"confirm_key" v:"len=32" doc:"Expand(epoch_secret, \"confirm\", confirm_context, 32). A TEST KEY."`
	SigInput        Hex          `json:"sig_input" doc:"\"blindpost/1 commit sig\" || commit_hash || confirm, the message the committer signs."`
	JSON            string       `json:"json" doc:"The commit as JSON (schemas/e2e/commit.json), as impl/wire encodes it."`
	GroupCommit     string       `json:"group_commit" doc:"The group_commit message the committer writes (schemas/c2s/group_commit.json), without an id."`
	Forwarded       string       `json:"forwarded" doc:"The group_commit message the server forwards (schemas/s2c/group_commit.json), with from."`
}

// WrapDetail is how one member's wrap is made: HPKE base mode (RFC 9180)
// with DHKEM(X25519, HKDF-SHA256), HKDF-SHA256 and AES-256-GCM, single-shot,
// empty aad.
type WrapDetail struct {
	User             string `json:"user" v:"ref=username" doc:"The member."`
	Info             Hex    `json:"info" doc:"wrap_info = enc(text \"blindpost/1 group wrap\", text group, uint64 epoch, text user), the HPKE info."`
	EphemeralPrivate Hex    `json:"ephemeral_private" v:"len=32" doc:"skE, the HPKE ephemeral X25519 private key. A TEST KEY."`
	SharedSecret     Hex    `json:"shared_secret" v:"len=32" doc:"The DHKEM shared_secret (RFC 9180 §4.1). A TEST KEY."`
	Key              Hex    `json:"key" v:"len=32" doc:"The HPKE key of the key schedule (RFC 9180 §5.1). A TEST KEY."`
	BaseNonce        Hex    `json:"base_nonce" v:"len=12" doc:"The HPKE base_nonce; the single-shot seal uses it as is."`
	Wrap             Hex    `json:"wrap" v:"len=80" doc:"enc (X25519(skE, 9), 32 bytes) || AES-256-GCM(key, base_nonce, epoch_secret, empty aad)."`
	Entry            Hex    `json:"entry" doc:"wrapentry_i = enc(text user, bytes wrap)."`
}

// GroupMessageObject is a group message (schemas/e2e/group_msg.json) with
// its values in hex.
type GroupMessageObject struct {
	Group string `json:"group" v:"ref=group" doc:"The group."`
	Epoch int64  `json:"epoch" v:"min=0;max=4294967295" doc:"The epoch."`
	N     int64  `json:"n" v:"min=0;max=16777215" doc:"The sender's counter."`
	CT    Hex    `json:"ct" doc:"The ciphertext with its tag."`
	Sig   Hex    `json:"sig" doc:"The sender's signature of ad || ct."`
}

// GroupMessageVector is one signed group message.
type GroupMessageVector struct {
	ID           string             `json:"id" v:"ref=id" doc:"Unique id of the message within the file."`
	Comment      string             `json:"comment" doc:"What is special about this message."`
	Rules        []string           `json:"rules" v:"ref=rule" doc:"The rules the vector checks."`
	Commit       string             `json:"commit" v:"ref=id" doc:"The id of the commit that published the message's epoch; sender and receiver are among its members."`
	Sender       string             `json:"sender" v:"ref=username" doc:"The sender: the from the server stamps."`
	Receiver     string             `json:"receiver" v:"ref=username" doc:"A member that opens the message."`
	EpochSecret  Hex                `json:"epoch_secret" v:"len=32" doc:"The epoch secret. A TEST KEY."`
	KeyContext   Hex                `json:"key_context" doc:"enc(text group, uint64 epoch, text sender), the ctx of the sender key and IV."`
	SenderKey    Hex                `json:"sender_key" v:"len=32" doc:"k_s = Expand(epoch_secret, \"group sender key\", key_context, 32). A TEST KEY."`
	SenderIV     Hex                `json:"sender_iv" v:"len=12" doc:"iv_s = Expand(epoch_secret, \"group sender iv\", key_context, 12)."`
	Nonce        Hex                `json:"nonce" v:"len=12" doc:"iv_s XOR (0x00000000 || uint64_be(n))."`
	AD           Hex                `json:"ad" doc:"enc(text \"blindpost/1 group msg\", text group, uint64 epoch, text sender, uint64 n)."`
	Size         int                `json:"size" v:"min=0;max=32750" doc:"The plaintext length in bytes."`
	Plaintext    string             `json:"plaintext" doc:"The content object, or the epoch acknowledgement (schemas/e2e/epoch_ack.json, spec §7.3), as UTF-8 JSON text."`
	Message      GroupMessageObject `json:"message" doc:"The message: ct = AES-256-GCM-Seal(k_s, nonce, plaintext, ad), sig = Sign(IK_sender, ad || ct)."`
	JSON         string             `json:"json" doc:"The message as JSON (schemas/e2e/group_msg.json)."`
	GroupMessage string             `json:"group_message" doc:"The group_message message the sender writes (schemas/c2s/group_message.json), without an id."`
	Forwarded    string             `json:"forwarded" doc:"The group_message message the server forwards (schemas/s2c/group_message.json), with from."`
}

// GroupNegative is a sequence of group events at one client, at least one
// of which it must reject.
type GroupNegative struct {
	ID      string `json:"id" v:"ref=id" doc:"Unique id of the vector within the file."`
	Comment string `json:"comment" doc:"What is wrong and why it must be rejected."`
	Expect  string `json:"expect" v:"ref=outcome" doc:"The outcome of the first step that is not ok."`
	Rule    string `json:"rule" v:"ref=rule" doc:"The rule that requires that rejection."`
	Group   string `json:"group" v:"ref=group" doc:"The group."`
	Self    string `json:"self" v:"ref=username" doc:"The client under test; its seed is in users."`
	Pins    []Pin  `json:"pins" doc:"The client's pins (known_peers) before the first step."`
	// Directory overrides the keys of users: what the relay's directory serves (GRP-20).
	Directory []Pin       `json:"directory,omitempty" doc:"The identity keys the directory serves (get_pubkey) for the users it lists; every other user of users is served its own key. A key the client first sees in a commit must equal the directory's before it is pinned (GRP-20)."`
	Steps     []GroupStep `json:"steps" v:"items=1" doc:"What happens at the client, in order."`
}

// Pin is one pinned identity key.
type Pin struct {
	User        string `json:"user" v:"ref=username" doc:"The peer."`
	IdentityKey Hex    `json:"identity_key" v:"len=32" doc:"The identity key pinned for it."`
}

// GroupStep is one event at the client under test.
type GroupStep struct {
	Action        string              `json:"action" v:"enum=join|announce|receive_commit|create_commit|open_message" doc:"join: the group_members received on joining (GRP-11); announce: a later group_members, whose members a commit must then list exactly (GRP-6); receive_commit: a forwarded commit; create_commit: the client commits the next epoch for the given members; open_message: a forwarded group message. Where no announce step precedes a receive_commit, the announcement was that commit's own members."`
	Epoch         *int64              `json:"epoch,omitempty" v:"min=0;max=4294967295" doc:"join: the announced epoch."`
	LastCommitRef string              `json:"last_commit_ref,omitempty" v:"ref=id" doc:"join: the id of the commit in commits that group_members carries as last_commit; absent when it carries none."`
	CommitRef     string              `json:"commit_ref,omitempty" v:"ref=id" doc:"receive_commit: the id of a commit in commits."`
	Commit        *CommitObject       `json:"commit,omitempty" doc:"receive_commit: the commit, when it is not one of commits."`
	Members       []MemberEntry       `json:"members,omitempty" doc:"create_commit: the announced members with the keys the directory served."`
	Announced     []string            `json:"announced,omitempty" v:"ref=username" doc:"announce: the usernames the group_members lists, sorted."`
	From          string              `json:"from,omitempty" v:"ref=username" doc:"open_message: the sender the server stamped."`
	MessageRef    string              `json:"message_ref,omitempty" v:"ref=id" doc:"open_message: the id of a message in messages."`
	Message       *GroupMessageObject `json:"message,omitempty" doc:"open_message: the message, when it is not one of messages."`
	JSON          string              `json:"json,omitempty" doc:"The inline commit or message as JSON, when it is schema-valid."`
	Plaintext     *string             `json:"plaintext,omitempty" doc:"open_message with expect ok: the plaintext."`
	Expect        string              `json:"expect" v:"ref=outcome" doc:"ok, or the outcome the step must produce. A plaintext that is not a content object is bad_content (GRP-19)."`
	Rule          string              `json:"rule,omitempty" v:"ref=rule" doc:"The rule that requires the rejection; present exactly when expect is not ok."`
}
