// Package group implements the group protocol of spec §7 at a client: epoch
// commits (§7.1), their creation by a committer and their verification by a
// member with the outcomes of GRP-2 to GRP-10, and signed group messages
// (§7.2) with per-sender counters (GRP-13 to GRP-17).
//
// A [State] follows one group for one client. It starts from the
// group_members announcement received on joining ([Join], GRP-11), accepts
// commits ([State.ReceiveCommit]) or creates them ([State.CreateCommit],
// then [State.Apply] once the server acknowledged), and seals and opens
// group messages for the current epoch.
//
// Commits and messages are plain structs; mapping them to and from the wire
// JSON is the client's job, so this package does not import the codec.
package group
