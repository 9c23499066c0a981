package rules

// Unobservable is a rule that no black-box conformance case or vector can check: what it
// requires happens inside the implementation (its files, logs, user interface, restarts) or
// needs more than a run can do. The reference implementation's unit tests check it; the matrix
// prints it apart, and --require-musts accepts a MUST listed here as long as a unit test names
// it.
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
	{"CLU-4", "a node that loses its broker for good has to be made to lose it: a runner reaches the relay's URLs over " +
		"the network and cannot stop a node or its broker (impl/server/cluster_test.go stops both)"},
	{"CLU-5", "that nothing acknowledged is lost when a node or a store server fails needs the failure caused, which a " +
		"runner that reaches the relay over the network cannot do (impl/server/cluster_test.go stops both)"},
	{"GRP-18", "the limit is 2^24 group messages from one sender in one epoch: reaching it through the driver takes " +
		"16,777,216 group_send commands, far beyond the time of a conformance run"},
	{"CLI-24", "the history file is on the client's machine: no protocol message and no driver command shows how it " +
		"is stored (impl/client/history tests that it never holds plaintext)"},
	{"CLI-30", "how a client shows a peer's text on its screen is its user interface; the driver protocol reports the " +
		"text as received, not as shown"},
	{"DRV-30", "trust_server is an optional command for people (A.5) that the runner never sends: its connect names the " +
		"pin to trust; the graphical client's tests check the consent and known_servers"},
	{"DRV-31", "mark_verified is an optional command for people (A.5) that the runner never sends; verified_peers is a " +
		"local file"},
	{"DRV-32", "the runner's connect carries no passphrase, and the optional commands that do (A.5) are not sent by it; " +
		"the graphical client's tests read every line for the passphrase"},
	{"DRV-33", "create_identity is an optional command for people (A.5) that the runner never sends; the identity is a " +
		"local file"},
	{"GUI-1", "the graphical client's listener is local to the user's machine and outside the protocol"},
	{"GUI-2", "the token and the cookie belong to the graphical client's local page, which no runner reaches"},
	{"GUI-3", "the graphical client's local page is outside the protocol and the driver; its tests send the requests"},
	{"GUI-4", "the graphical client's local page is outside the protocol and the driver; its tests send the requests"},
	{"GUI-5", "the graphical client's local page is outside the protocol and the driver; its tests send the requests"},
	{"GUI-6", "the graphical client's local page is outside the protocol and the driver; its tests read every response"},
	{"GUI-7", "what the page does with text happens in the user's browser; the browser tests send hostile text through " +
		"a real Chromium"},
	{"GUI-8", "the page's assets are embedded in the client; its tests read them"},
}
