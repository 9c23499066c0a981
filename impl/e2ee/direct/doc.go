// Package direct implements the 1:1 end-to-end protocol of spec §6: the
// signed ephemeral handshake (§6.1–§6.3) as an initiator and a responder
// state machine, and the record layer with its end-of-session record
// (§6.4–§6.5).
//
// The types follow the protocol's steps so that they cannot be misused:
//
//	i, hs1, err := direct.NewInitiator(cfg)      // step 1
//	r, hs2, err := direct.NewResponder(cfg, hs1) // step 2
//	si, hs3, err := i.ReadHS2(hs2)               // step 3: the initiator's Session
//	sr, err := r.ReadHS3(hs3)                    // step 4: the responder's Session
//
// A [*Session], the only type that can seal and open records, exists only
// once the peer's signature and Finished MAC have been verified (HS-10).
// Every rejection is an [*e2ee.Error] naming its outcome and rule.
//
// The handshake messages are plain structs; mapping them to and from the
// wire JSON is the client's job, so this package does not import the codec.
package direct
