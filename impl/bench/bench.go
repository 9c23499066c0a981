// Package bench is the performance harness of Blindpost (make bench, blindpost-bench): every
// figure is measured twice in the same run on the same machine, once on the relay under test
// and once on a baseline, the minimal gorilla/websocket + crypto/tls forwarder of package
// forwarder, and reported as ours, baseline and their ratio next to the goal of issue 7.
//
// The subpackages: hist (latency histograms), sysstat (CPU and memory from /proc), load (the
// load generator's connections), target (the systems under test, started as child processes),
// forwarder (the baseline), scenario (relay, latency, idle, connect, fanout, e2e), micro (the
// go test benchmarks of impl/wire and impl/e2ee) and cli (the command line).
package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"strings"
	"text/tabwriter"
	"time"
)

// Direction says which way a ratio is good.
type Direction string

// The directions of a goal.
const (
	AtLeast Direction = ">=" // ours/baseline must be at least the goal (throughputs, rates)
	AtMost  Direction = "<=" // ours/baseline must be at most the goal (costs, latencies)
)

// Goal is a bound on the ratio ours/baseline, or, when Absolute, on ours itself.
type Goal struct {
	Dir      Direction `json:"dir"`
	Ratio    float64   `json:"ratio"`
	Absolute bool      `json:"absolute,omitempty"`
}

// String returns "≥ 0.85×", "≤ 1.2×", or "≤ 2" for an absolute goal.
func (g Goal) String() string {
	sym := "≥"
	if g.Dir == AtMost {
		sym = "≤"
	}
	if g.Absolute {
		return fmt.Sprintf("%s %s", sym, trimFloat(g.Ratio))
	}
	return fmt.Sprintf("%s %s×", sym, trimFloat(g.Ratio))
}

// Met reports whether v (the ratio, or ours for an absolute goal) satisfies the goal.
func (g Goal) Met(v float64) bool {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return false
	}
	if g.Dir == AtLeast {
		return v >= g.Ratio
	}
	return v <= g.Ratio
}

// Figure is one row of the report.
type Figure struct {
	Scenario string  `json:"scenario"`
	Name     string  `json:"name"`
	Unit     string  `json:"unit"`
	Ours     float64 `json:"ours"`
	Baseline float64 `json:"baseline"`
	Ratio    float64 `json:"ratio"` // Ours / Baseline; NaN when the baseline is 0
	Goal     *Goal   `json:"goal,omitempty"`
	Met      *bool   `json:"met,omitempty"`
	Note     string  `json:"note,omitempty"`
}

// NewFigure computes the ratio and whether the goal (nil: none) is met.
func NewFigure(scenario, name, unit string, ours, baseline float64, goal *Goal) Figure {
	f := Figure{Scenario: scenario, Name: name, Unit: unit, Ours: ours, Baseline: baseline, Ratio: math.NaN(), Goal: goal}
	if baseline != 0 {
		f.Ratio = ours / baseline
	}
	if goal != nil {
		v := f.Ratio
		if goal.Absolute {
			v = ours
		}
		met := goal.Met(v)
		f.Met = &met
	}
	return f
}

// GoalAtLeast and GoalAtMost build goals.
func GoalAtLeast(r float64) *Goal { return &Goal{Dir: AtLeast, Ratio: r} }

// GoalAtMost is the goal ratio ≤ r.
func GoalAtMost(r float64) *Goal { return &Goal{Dir: AtMost, Ratio: r} }

// AbsoluteAtMost is the goal ours ≤ v.
func AbsoluteAtMost(v float64) *Goal { return &Goal{Dir: AtMost, Ratio: v, Absolute: true} }

// MarshalJSON writes a NaN ratio as null.
func (f Figure) MarshalJSON() ([]byte, error) {
	type plain Figure
	out := struct {
		plain
		Ratio *float64 `json:"ratio"`
	}{plain: plain(f)}
	if !math.IsNaN(f.Ratio) && !math.IsInf(f.Ratio, 0) {
		r := f.Ratio
		out.Ratio = &r
	}
	return json.Marshal(out)
}

// Machine describes where a run happened.
type Machine struct {
	CPUs      int    `json:"cpus"`
	CPUModel  string `json:"cpu_model"`
	GoVersion string `json:"go_version"`
	OS        string `json:"os"`
	MemTotal  string `json:"mem_total,omitempty"`
}

// ThisMachine describes this machine: runtime.NumCPU (nproc), the CPU model and memory from
// /proc, and the Go version.
func ThisMachine() Machine {
	m := Machine{CPUs: runtime.NumCPU(), GoVersion: runtime.Version(), OS: runtime.GOOS + "/" + runtime.GOARCH}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.Lines(string(b)) {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPUModel = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for line := range strings.Lines(string(b)) {
			if k, v, ok := strings.Cut(line, ":"); ok && k == "MemTotal" {
				m.MemTotal = strings.TrimSpace(v)
				break
			}
		}
	}
	return m
}

// String returns "2 CPUs (AMD EPYC), go1.26.8 linux/amd64, 24 GiB".
func (m Machine) String() string {
	s := fmt.Sprintf("%d CPUs (%s), %s %s", m.CPUs, m.CPUModel, m.GoVersion, m.OS)
	if m.MemTotal != "" {
		s += ", MemTotal " + m.MemTotal
	}
	return s
}

// Report is the outcome of a run: the figures, and each scenario's details.
type Report struct {
	Command  string         `json:"command"`
	Machine  Machine        `json:"machine"`
	Started  time.Time      `json:"started"`
	Elapsed  float64        `json:"elapsed_s"`
	Figures  []Figure       `json:"figures"`
	Details  map[string]any `json:"details,omitempty"`
	Problems []string       `json:"problems,omitempty"`
}

// WriteJSON writes r as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	return nil
}

// WriteTable writes the figures as a Markdown table: figure, ours, baseline, ratio, goal, met?
func (r *Report) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 1, ' ', tabwriter.Debug)
	fmt.Fprintln(tw, "| figure\t ours\t baseline\t ratio\t goal\t met?\t")
	fmt.Fprintln(tw, "|---\t---:\t---:\t---:\t---\t---\t")
	for _, f := range r.Figures {
		goal, met := "—", "—"
		if f.Goal != nil {
			goal = f.Goal.String()
			met = "no"
			if f.Met != nil && *f.Met {
				met = "yes"
			}
		}
		ratio := "—"
		if !math.IsNaN(f.Ratio) && !math.IsInf(f.Ratio, 0) {
			ratio = fmt.Sprintf("%.2f×", f.Ratio)
		}
		name := f.Scenario + ": " + f.Name
		if f.Unit != "" {
			name += " (" + f.Unit + ")"
		}
		fmt.Fprintf(tw, "| %s\t %s\t %s\t %s\t %s\t %s\t\n", name, Format(f.Ours), Format(f.Baseline), ratio, goal, met)
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	return nil
}

// Format prints a figure with three significant digits and thousands separators.
func Format(v float64) string {
	switch {
	case math.IsNaN(v):
		return "—"
	case v == 0:
		return "0"
	case math.Abs(v) >= 1000:
		return group(fmt.Sprintf("%.0f", v))
	case math.Abs(v) >= 100:
		return fmt.Sprintf("%.0f", v)
	case math.Abs(v) >= 10:
		return fmt.Sprintf("%.1f", v)
	case math.Abs(v) >= 1:
		return fmt.Sprintf("%.2f", v)
	}
	return trimFloat(float64(float32(v)))
}

func group(s string) string {
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

func trimFloat(v float64) string {
	s := fmt.Sprintf("%.3g", v)
	return s
}
