// Package clientsuite is the client suite of the Blindpost conformance runner (spec §1.1,
// conformance/README.md): cases that check a client under test against spec §6 (the 1:1 handshake, records and
// trust), §7 (groups), the client duties of §4, §5 and §9, and the driver protocol of
// Appendix A.
//
// The client runs as a subprocess speaking the driver protocol (spec Appendix A): the runner
// writes commands to its standard input and reads responses and events from its standard
// output, validating every line against schemas/driver/output.json (DRV-4). Each case gets its
// own subprocess and plays, around it:
//
//   - the server: an in-runner relay (TLS 1.3, WebSocket, a self-signed certificate whose pin
//     is passed in connect) that implements enough of spec §5 to be honest (hello and register
//     with the proof verified, get_pubkey, list_users, forwarding with acks, groups with their
//     announcements and commit sequencing) and that a case turns malicious: replaying,
//     reordering, dropping, substituting keys, forging from, reflecting and injecting;
//   - the peers: virtual users with identities of their own, built on impl/e2ee (identity,
//     direct handshakes and sessions, group states and commit verification) and impl/wire,
//     plus the forging helpers of this package (forge.go) where a case needs a message the
//     honest code cannot produce (a valid signature over the wrong transcript, a low-order
//     ephemeral with a matching Finished MAC, a commit signed over different secrets).
//
// A case expects either a specific security event (the outcome code of spec A.4 and the rule
// id, DRV-2) and no delivery of what was rejected, or correct behaviour (a secured session, a
// delivered message, an accepted epoch). A driver that answers "unimplemented" to a command a
// case needs gives the verdict unimplemented. Every wait has a deadline.
//
// The cases register themselves in the conform registry under "client/…". Run them with
// NewEnv and harness.Run (the blindpost-conform command does), or harness.RunTests in a Go test.
package clientsuite
