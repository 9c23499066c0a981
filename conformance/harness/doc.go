// Package harness is the framework of the Blindpost conformance runner (spec §1.1): a
// registry of cases that each name the rules of spec/protocol.md they check, a runner that gives
// every case a deadline, a seeded random source and a wire transcript, and reports in text, JSON
// and JUnit, with expected failures and a repro bundle for every failure. It follows BoGo and
// the protobuf-go conformance suite: the implementation under test is a black box, each case
// becomes a `t.Run` subtest under `go test`, expected failures live in a file with a reason per
// line, and an expected failure that passes fails the run.
//
// # Writing cases
//
// A suite registers its cases from an init function; the first segment of a case id is its
// suite ("server", "client"):
//
//	func init() {
//		harness.Register(harness.Case{
//			ID:          "server/registration/bad-proof",
//			Rules:       []string{"REG-3", "ERR-2", "WS-10"},
//			Description: "a register whose proof does not verify gets bad_proof and close 1008",
//			Run: func(t *harness.T) {
//				env := t.Env().(*myEnv) // what Options.Env holds: the target, its pin, timings
//				...
//				t.Mismatch("REG-3", "error bad_proof then close 1008", got)
//			},
//		})
//	}
//
// Inside Run:
//
//   - t.Errorf and t.Fatalf record a failure of the case's rules; t.Mismatch and t.FatalMismatch
//     record one of a named rule with the expected and the actual behaviour, which the report
//     prints next to the rule text quoted from the spec. Fatal variants stop the case, like
//     testing.T.FailNow, and must be called from the case's goroutine.
//   - The verdict follows from the failures: none is pass; one against a MUST rule is fail; only
//     failures against SHOULD rules (or t.Warnf) is warn, which --strict turns into fail.
//   - t.Unimplemented stops the case with verdict unimplemented (a driver that answered
//     "unimplemented"); t.Skipf stops it with verdict skip (the case cannot apply to this
//     target, for example a limit the target does not have). Neither passes.
//   - t.Context is cancelled at the case deadline; every wait must select on it (or use Await),
//     so that a hung implementation gives "timed out waiting for …", never a hang. A case that
//     does not return by its deadline plus a grace period is abandoned and fails.
//   - t.Rand is a random source seeded from the run's seed and the case id, so that replaying one
//     case with --seed and --run draws the same values as in the full run.
//   - t.Transcript records every frame in and out (connection, direction, kind, bytes, time
//     since the case started), bounded; it is printed with every failure.
//
// # Running
//
// Run executes a selection of cases (Select: by case-id prefix or rule-id prefix) in parallel or
// one by one, under a global deadline, and returns a Report. Exclusive cases (floods, delays) run
// alone after the others, and Final cases (which leave the implementation changed for good, such
// as a full directory) alone after those. Report.WriteText, WriteJSON and
// WriteJUnit render it; Report.Failed says whether the exit status must be non-zero. RunTests
// runs the same cases as subtests of a Go test.
package harness
