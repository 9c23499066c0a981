package harness

import (
	"encoding/json"
	"io"
	"time"

	"github.com/blindpost/blindpost/spec"
)

// Result is the outcome of one case, with everything needed to understand and replay a failure.
type Result struct {
	ID          string        `json:"id"`
	Rules       []string      `json:"rules"`
	Level       spec.Level    `json:"level"`
	Description string        `json:"description"`
	Verdict     Verdict       `json:"verdict"`
	Was         Verdict       `json:"was,omitempty"`    // for an expected failure: the verdict it had
	Reason      string        `json:"reason,omitempty"` // why it was unimplemented or skipped
	Failures    []Failure     `json:"failures,omitempty"`
	Log         []string      `json:"log,omitempty"`
	Duration    time.Duration `json:"duration_ns"`
	Seed        uint64        `json:"seed"`
	Repro       string        `json:"repro,omitempty"` // the command that replays only this case
	Transcript  []Entry       `json:"transcript,omitempty"`
	Omitted     int           `json:"transcript_omitted,omitempty"` // entries left out of a long transcript
	// ExpectedFailure is the reason of the expected-failures line that lists the case.
	ExpectedFailure string `json:"expected_failure,omitempty"`
}

// Report is the outcome of a run.
type Report struct {
	Seed     uint64        `json:"seed"`
	Strict   bool          `json:"strict"`
	Command  string        `json:"command,omitempty"` // the command line of the run, for people
	Started  time.Time     `json:"started"`
	Duration time.Duration `json:"duration_ns"`
	Results  []Result      `json:"results"`
	// Targets are the URLs of the system under test, when the suite says (a relay system may
	// answer at several, such as the nodes of a cluster).
	Targets []Target `json:"targets,omitempty"`
}

// Target is one URL of the system under test, with the connections the run opened to it.
type Target struct {
	URL         string `json:"url"`
	Connections int64  `json:"connections"`
}

// Counts is how many results have each verdict.
type Counts map[Verdict]int

// Counts returns how many results have each verdict.
func (r *Report) Counts() Counts {
	c := Counts{}
	for _, res := range r.Results {
		c[res.Verdict]++
	}
	return c
}

// Failed reports whether the run must exit with a non-zero status: a case failed (a MUST, a
// panic, a timeout, an expected failure that passed, or a SHOULD under --strict).
func (r *Report) Failed() bool { return r.Counts()[Fail] > 0 }

// WriteJSON writes the report as one JSON document.
func (r *Report) WriteJSON(w io.Writer) error {
	type summary struct {
		Total  int            `json:"total"`
		Counts map[string]int `json:"counts"`
		Failed bool           `json:"failed"`
	}
	counts := map[string]int{}
	for v, n := range r.Counts() {
		counts[string(v)] = n
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(struct {
		*Report
		Summary summary `json:"summary"`
	}{r, summary{Total: len(r.Results), Counts: counts, Failed: r.Failed()}})
}
