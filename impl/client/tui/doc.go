// Package tui is the full-screen terminal chat of the reference client, `blindpost chat`,
// built with Bubble Tea, Lip Gloss and Bubbles on the client library impl/client.
//
// It carries out the client's duties towards a person (spec §9): the status line always says
// whether the current conversation is end-to-end secured and with which identity [CLI-1];
// every rejection the library reports (client.SecurityEvent, the outcome codes of spec A.4)
// becomes a visible notice with its rule id and an explanation [CLI-2]; reconnections are
// shown with their attempt and delay [CLI-3]; nothing is logged [CLI-4]; what peers and the
// relay send is shown through impl/client/display, defanged, with each line after a message's
// first marked as a continuation [CLI-30]. It shows safety numbers and lets the user mark them
// verified (spec §6.6 [TRUST-4]), and re-trusts a changed key only on the user's explicit
// command [TRUST-2]. Each message the user sends shows how far it got: sending, relayed, and
// delivered only once the peer's receipt covers it (spec §6.7 [RCP-3]; a group message stays
// relayed); when a session ends the status line leaves secured and says why in words [CLI-20],
// and what did not arrive is marked not delivered and offered to /resend [CLI-21]. A group is
// shown secured only with the members that confirmed its current epoch, "secured with N of M"
// naming the others until all have (spec §7.3 [CLI-31]).
//
// The Model is testable without a network or a terminal: it calls the library through the
// Client interface and receives the library's events as Bubble Tea messages, read one at a time
// from Client.Events by a command. Run starts it on the terminal.
package tui
