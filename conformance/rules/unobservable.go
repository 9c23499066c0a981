package rules

// Unobservable is a rule that no black-box conformance case or vector can check: what it
// requires happens inside the implementation (its files, logs, user interface, restarts) or
// needs more than a run can do. The reference implementation's unit tests check it; the matrix
// prints it apart, and --require-musts accepts a MUST listed here as long as a unit test names
// it (issue 6).
type Unobservable struct {
	ID     string `json:"id"`
	Reason string `json:"reason"` // why no case or vector can check it, for the matrix
}

// NotObservable lists the rules no conformance case or vector can check, with the reason for
// each, in spec order. TestNotObservable keeps it honest: every entry is a rule of the spec,
// has a reason and a unit test, and no case or vector checks it (else it does not belong here).
var NotObservable = []Unobservable{
	{"KEY-3", "the seed's storage (encrypted under a passphrase, readable by its owner only) is a file on the client's " +
		"machine: no protocol message and no driver command shows it"},
	{"KEY-6", "what else a client signs or opens with its private keys happens outside the protocol; the runner sees " +
		"only the signatures the client sends, which every case verifies over the labelled inputs of the spec"},
	{"TLS-3", "whether a client offers a switch that turns certificate verification off is a property of its user " +
		"interface and options; a runner can only show that a certificate the pin rejects is refused " +
		"(client/tls/wrong-pin, TLS-2)"},
	{"TLS-4", "the trust-on-first-use prompt and the pin file are the client's user interface and local files; the " +
		"driver's connect always names the pin to trust"},
	{"TLS-5", "keeping the certificate across restarts needs the server restarted, which a runner that reaches the " +
		"server over the network cannot do"},
	{"INV-7", "releasing a name takes the configured period without a registration (90 days by default, at least " +
		"an hour) and keeping the last-seen times takes a restart; neither fits a conformance run"},
	{"SRV-5", "the refresh follows the user list shown to the user, which the driver protocol has no notion of"},
	{"SRV-12", "what a server writes to its logs and its disk cannot be seen over the network; the cases check only " +
		"that nothing reaches another client or an error (SRV-10, ERR-4)"},
	{"GRP-18", "the limit is 2^24 group messages from one sender in one epoch: reaching it through the driver takes " +
		"16,777,216 group_send commands, far beyond the time of a conformance run"},
}
