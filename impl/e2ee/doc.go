// Package e2ee is the root of Blindpost's end-to-end cryptography. It holds
// what every part of it shares: the closed set of outcome codes of spec
// Appendix A.4 and the one error type, [*Error], that every rejection in
// e2ee and its subpackages returns.
//
// The subpackages implement the protocol itself:
//
//   - enc: the field encoding, the Expand helper and the labels (spec §2.1, §2.2, Appendix B);
//   - identity: identity keys, group keys, group key signatures, registration
//     proofs and fingerprints (spec §3, §5.2);
//   - keyfile: the identity seed at rest (spec §3.1 KEY-3, Appendix C);
//   - direct: the 1:1 handshake and record layer (spec §6.1–§6.5);
//   - trust: pinning and safety numbers (spec §6.6);
//   - group: group commits and messages (spec §7).
//
// Subpackages import this package; this package imports none of them.
package e2ee
