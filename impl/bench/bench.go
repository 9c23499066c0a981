// Package bench is the performance harness of Blindpost (make bench, blindpost-bench): every
// figure is measured in the same run on the same machine on the relay under test and on a
// baseline, the strongest bare forwarder we could write (package coalesce), and reported as
// ours, baseline and their ratio next to its goal (README "Performance"); the relay, latency
// and idle figures are also measured on the typical gorilla forwarder (package forwarder) and
// the relay and latency ones on NATS over wss (package natsbase), each with ours' ratio to it.
//
// The subpackages: hist (latency histograms), sysstat (CPU and memory from /proc), load (the
// load generator's connections), target (the systems under test, started as child processes),
// coalesce, forwarder and natsbase (the systems compared with), scenario (relay, latency, idle,
// connect, fanout, e2e), micro (the go test benchmarks) and cli (the command line).
package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"slices"
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
	Others   []Other `json:"others,omitempty"` // the same figure on the other systems
	Run      int     `json:"run,omitempty"`    // which of repeated runs; 0: not repeated
}

// Other is a figure measured on a system besides ours and the baseline, with ours' ratio to it.
type Other struct {
	System string
	Value  float64
	Ratio  float64 // ours / Value; NaN when Value is 0 or not measured
}

// MarshalJSON writes NaN values as null.
func (o Other) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		System string   `json:"system"`
		Value  *float64 `json:"value"`
		Ratio  *float64 `json:"ratio"`
	}{o.System, finite(o.Value), finite(o.Ratio)})
}

// finite returns &v, or nil for NaN and infinities (JSON has neither).
func finite(v float64) *float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return &v
}

// With returns f with the same figure measured on system, and ours' ratio to it.
func (f Figure) With(system string, value float64) Figure {
	o := Other{System: system, Value: value, Ratio: math.NaN()}
	if value != 0 && !math.IsNaN(value) {
		o.Ratio = f.Ours / value
	}
	f.Others = append(append([]Other(nil), f.Others...), o)
	return f
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

// MarshalJSON writes a NaN ratio as null, and so a figure not measured on ours or the baseline.
func (f Figure) MarshalJSON() ([]byte, error) {
	type plain Figure
	out := struct {
		plain
		Ours     *float64 `json:"ours"`
		Baseline *float64 `json:"baseline"`
		Ratio    *float64 `json:"ratio"`
	}{plain: plain(f), Ours: finite(f.Ours), Baseline: finite(f.Baseline)}
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
	Goals    []GoalRow      `json:"goals,omitempty"`
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

// WriteTable writes the figures as Markdown tables, one per run of repeated figures: figure,
// ours, baseline, ratio, then each other system's figure and ours' ratio to it, goal, met?
func (r *Report) WriteTable(w io.Writer) error {
	for i := 0; i < len(r.Figures); {
		j := i + 1
		for j < len(r.Figures) && r.Figures[j].Run == r.Figures[i].Run {
			j++
		}
		if i > 0 {
			fmt.Fprintln(w)
		}
		if run := r.Figures[i].Run; run > 0 {
			fmt.Fprintf(w, "run %d:\n\n", run)
		}
		if err := writeTable(w, r.Figures[i:j]); err != nil {
			return err
		}
		i = j
	}
	return nil
}

// writeTable writes one table of figs.
func writeTable(w io.Writer, figs []Figure) error {
	var systems []string
	for _, f := range figs {
		for _, o := range f.Others {
			if !slices.Contains(systems, o.System) {
				systems = append(systems, o.System)
			}
		}
	}
	tw := tabwriter.NewWriter(w, 0, 0, 1, ' ', tabwriter.Debug)
	head, rule := "| figure\t ours\t baseline\t ratio\t", "|---\t---:\t---:\t---:\t"
	for _, s := range systems {
		head += " " + s + "\t ours/" + s + "\t"
		rule += "---:\t---:\t"
	}
	fmt.Fprintln(tw, head+" goal\t met?\t")
	fmt.Fprintln(tw, rule+"---\t---\t")
	for _, f := range figs {
		goal, met := "—", "—"
		if f.Goal != nil {
			goal = f.Goal.String()
			met = "no"
			if f.Met != nil && *f.Met {
				met = "yes"
			}
		}
		name := f.Scenario + ": " + f.Name
		if f.Unit != "" {
			name += " (" + f.Unit + ")"
		}
		row := fmt.Sprintf("| %s\t %s\t %s\t %s\t", name, Format(f.Ours), Format(f.Baseline), formatRatio(f.Ratio))
		for _, s := range systems {
			value, ratio := "—", "—"
			for _, o := range f.Others {
				if o.System == s {
					value, ratio = Format(o.Value), formatRatio(o.Ratio)
				}
			}
			row += fmt.Sprintf(" %s\t %s\t", value, ratio)
		}
		fmt.Fprintf(tw, "%s %s\t %s\t\n", row, goal, met)
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	return nil
}

// formatRatio prints 1.23×, or — when there is no ratio.
func formatRatio(r float64) string {
	if math.IsNaN(r) || math.IsInf(r, 0) {
		return "—"
	}
	return fmt.Sprintf("%.2f×", r)
}

// GoalRow is one goal over repeated runs: the value each run gave (a ratio, or for an absolute
// goal the figure itself; NaN: not measured) and their median, which the goal is judged on.
type GoalRow struct {
	Name   string    `json:"name"`
	Goal   Goal      `json:"goal"`
	Runs   []float64 `json:"-"`
	Median float64   `json:"-"`
	Met    bool      `json:"met"`
	Note   string    `json:"note,omitempty"`
}

// NewGoalRow computes the median of the measured runs and whether it meets goal.
func NewGoalRow(name string, goal Goal, runs []float64, note string) GoalRow {
	g := GoalRow{Name: name, Goal: goal, Runs: runs, Median: Median(runs), Note: note}
	g.Met = goal.Met(g.Median)
	return g
}

// MarshalJSON writes NaN values as null.
func (g GoalRow) MarshalJSON() ([]byte, error) {
	type plain GoalRow
	runs := make([]*float64, len(g.Runs))
	for i, v := range g.Runs {
		runs[i] = finite(v)
	}
	return json.Marshal(struct {
		plain
		Runs   []*float64 `json:"runs"`
		Median *float64   `json:"median"`
	}{plain(g), runs, finite(g.Median)})
}

// Median returns the median of the values that are not NaN (the mean of the middle two for an
// even count), or NaN when there is none.
func Median(vs []float64) float64 {
	var ok []float64
	for _, v := range vs {
		if !math.IsNaN(v) {
			ok = append(ok, v)
		}
	}
	if len(ok) == 0 {
		return math.NaN()
	}
	slices.Sort(ok)
	n := len(ok)
	if n%2 == 1 {
		return ok[n/2]
	}
	return (ok[n/2-1] + ok[n/2]) / 2
}

// WriteGoals writes the goals as a Markdown table: figure, each run, median, goal, met?
func (r *Report) WriteGoals(w io.Writer) error {
	if len(r.Goals) == 0 {
		return nil
	}
	runs := 0
	for _, g := range r.Goals {
		runs = max(runs, len(g.Runs))
	}
	tw := tabwriter.NewWriter(w, 0, 0, 1, ' ', tabwriter.Debug)
	head, rule := "| goal figure\t", "|---\t"
	for i := range runs {
		head += fmt.Sprintf(" run %d\t", i+1)
		rule += "---:\t"
	}
	fmt.Fprintln(tw, head+" median\t goal\t met?\t")
	fmt.Fprintln(tw, rule+"---:\t---\t---\t")
	for _, g := range r.Goals {
		row := "| " + g.Name + "\t"
		for i := range runs {
			v := math.NaN()
			if i < len(g.Runs) {
				v = g.Runs[i]
			}
			row += " " + goalValue(g.Goal, v) + "\t"
		}
		met := "no"
		if g.Met {
			met = "yes"
		}
		if math.IsNaN(g.Median) {
			met = "not measured"
		}
		fmt.Fprintf(tw, "%s %s\t %s\t %s\t\n", row, goalValue(g.Goal, g.Median), g.Goal, met)
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	for _, g := range r.Goals {
		if g.Note != "" {
			fmt.Fprintf(w, "* %s: %s\n", g.Name, g.Note)
		}
	}
	return nil
}

// goalValue prints a ratio as 1.23× and an absolute figure as itself; NaN is "not measured".
func goalValue(g Goal, v float64) string {
	switch {
	case math.IsNaN(v):
		return "not measured"
	case g.Absolute:
		return Format(v)
	}
	return formatRatio(v)
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
