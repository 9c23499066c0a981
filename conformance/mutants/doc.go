// Package mutants proves the conformance runner (conformance/README.md, "Mutants: the runner
// proves itself"): it holds curated mutants of the reference server and client, each a
// plausible implementation bug tied to one rule of spec/protocol.md, and checks that
// blindpost-conform kills every one of them.
//
// # Mutants
//
// A mutant is a file NN-name.txtar in this directory; its name without the extension is its id.
// Its header gives the role (server or client), the rule the bug breaks, a one-line description
// of the bug and the file it changes; its two sections give a snippet of that file and its
// replacement:
//
//	role: server
//	rule: REG-3
//	bug: a register whose proof does not verify is accepted
//	file: impl/server/register.go
//	-- find --
//			c.registrationFailed(m.ID, errBadProof, "the registration proof does not verify")
//			return
//	-- replace --
//			_ = err // mutant: the proof is not checked
//
// The snippet must occur exactly once in the file, so that a refactoring that moves or
// duplicates the code makes the mutant fail loudly (Apply, and TestMutantsApply under go test)
// instead of silently testing something else. A server mutant changes a file under impl/server/;
// a client mutant one under impl/client/ or impl/e2ee/. An optional "run:" line narrows the
// cases run against the mutant (blindpost-conform --run patterns, comma-separated); the default
// is the area of the rule ("REG-" for REG-3). The mutants of pending/ are bugs the suites do not
// catch yet, each a documented gap (conformance/README.md); Pending loads them, and they move up
// once the missing case exists.
//
// A "cluster: N" line runs a server mutant of the cluster code (spec §5.11) as N relay
// processes that form one cluster, each with an embedded NATS server on free loopback ports,
// all serving one certificate, and gives the server suite all their URLs (conformance/README.md,
// "A relay system at several URLs").
//
// # Mechanism
//
// Production code carries no build tag or hook. Run builds each mutant with `go build -overlay`:
// the overlay replaces the one mutated file by a rewritten copy, so nothing of the tree is copied
// and only the mutated package and those above it recompile (the build cache is shared). It then
// runs the suite of the mutant's role with blindpost-conform, itself built from the unmutated
// tree: a server mutant is started as blindpost-server on 127.0.0.1:0 with short timers, a client
// mutant is the driver of the client suite. A mutant is killed when at least one case fails and
// at least one failing case checks the mutant's rule (claims it, or names it in a failure); the
// report names those cases. A mutant that survives, is killed only by cases that do not check
// its rule, or does not apply or build, fails the run.
package mutants
