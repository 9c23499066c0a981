package bench

import (
	"bytes"
	"encoding/json"
	"math"
	"strings"
	"testing"
)

func TestFigureGoals(t *testing.T) {
	f := NewFigure("relay", "throughput", "msg/s", 90, 100, GoalAtLeast(0.85))
	if f.Ratio != 0.9 || f.Met == nil || !*f.Met {
		t.Fatalf("%+v", f)
	}
	f = NewFigure("relay", "cpu", "s", 13, 10, GoalAtMost(1.2))
	if *f.Met {
		t.Fatal("1.3× met ≤ 1.2×")
	}
	f = NewFigure("e2ee", "allocs", "", 2, 0, AbsoluteAtMost(2))
	if !math.IsNaN(f.Ratio) || !*f.Met {
		t.Fatalf("absolute goal: %+v", f)
	}
	f = NewFigure("x", "y", "", math.NaN(), 1, GoalAtLeast(1))
	if *f.Met {
		t.Fatal("an unmeasured figure met its goal")
	}
	if GoalAtLeast(0.85).String() != "≥ 0.85×" || AbsoluteAtMost(2).String() != "≤ 2" {
		t.Fatal("goal strings")
	}
}

func TestReport(t *testing.T) {
	r := &Report{Command: "blindpost-bench suite", Machine: ThisMachine(), Figures: []Figure{
		NewFigure("relay", "throughput", "msg/s", 123456, 100000, GoalAtLeast(0.85)),
		NewFigure("idle", "rss", "KiB", 20, 0, nil),
	}}
	var table bytes.Buffer
	if err := r.WriteTable(&table); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(table.String()), "\n")
	if len(lines) != 4 || !strings.Contains(lines[2], "123,456") || !strings.Contains(lines[2], "1.23×") || !strings.Contains(lines[2], "yes") {
		t.Fatalf("table:\n%s", table.String())
	}
	var js bytes.Buffer
	if err := r.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	var back struct{ Figures []map[string]any }
	if err := json.Unmarshal(js.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if back.Figures[1]["ratio"] != nil || back.Figures[0]["ratio"] == nil {
		t.Fatalf("ratios in JSON: %v", back.Figures)
	}
	if r.Machine.CPUs < 1 || r.Machine.GoVersion == "" {
		t.Fatalf("machine %+v", r.Machine)
	}
}

func TestFormat(t *testing.T) {
	for v, want := range map[float64]string{0: "0", 1234567: "1,234,567", 123.4: "123", 12.34: "12.3", 1.234: "1.23", 0.01234: "0.0123"} {
		if got := Format(v); got != want {
			t.Errorf("Format(%v) = %q, want %q", v, got, want)
		}
	}
	if Format(math.NaN()) != "—" {
		t.Error("NaN")
	}
}

// TestOthersAndRuns checks the columns of the other systems (ours / each), the tables per run,
// and that unmeasured values become null in JSON.
func TestOthersAndRuns(t *testing.T) {
	f := NewFigure("relay", "throughput", "msg/s", 80, 100, GoalAtLeast(0.95)).With("typical", 40).With("nats", math.NaN())
	if len(f.Others) != 2 || f.Others[0].Ratio != 2 || !math.IsNaN(f.Others[1].Ratio) {
		t.Fatalf("others %+v", f.Others)
	}
	g := f
	g.Run = 2
	r := &Report{Figures: []Figure{f, g, NewFigure("connect", "rate", "/s", 1, 2, nil)}}
	r.Figures[0].Run = 1
	var table bytes.Buffer
	if err := r.WriteTable(&table); err != nil {
		t.Fatal(err)
	}
	text := table.String()
	for _, want := range []string{"run 1:", "run 2:", "ours/typical", "ours/nats", "2.00×"} {
		if !strings.Contains(text, want) {
			t.Errorf("no %q in\n%s", want, text)
		}
	}
	if n := strings.Count(text, "| figure"); n != 3 {
		t.Errorf("%d tables, want 3:\n%s", n, text)
	}
	var js bytes.Buffer
	if err := r.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(js.String(), `"system": "nats",`) || !strings.Contains(js.String(), `"value": null`) {
		t.Fatalf("JSON:\n%s", js.String())
	}
}

// TestGoalRows checks the medians a goal is judged on: runs not measured are left out, and a
// goal no run measured is neither met nor given a value.
func TestGoalRows(t *testing.T) {
	for _, c := range []struct {
		runs   []float64
		median float64
		met    bool
	}{
		{[]float64{0.9, 1.2, 0.97}, 0.97, true},
		{[]float64{0.9, math.NaN(), 0.94}, 0.92, false},
		{[]float64{1, 0.5, 0.96, 0.99}, 0.975, true},
	} {
		g := NewGoalRow("relay throughput / coalescing forwarder", *GoalAtLeast(0.95), c.runs, "")
		if math.Abs(g.Median-c.median) > 1e-9 || g.Met != c.met {
			t.Errorf("%v: median %v met %v, want %v %v", c.runs, g.Median, g.Met, c.median, c.met)
		}
	}
	none := NewGoalRow("allocations", *AbsoluteAtMost(0), []float64{math.NaN(), math.NaN()}, "not measured: no benchmark")
	if none.Met || !math.IsNaN(none.Median) {
		t.Fatalf("unmeasured goal %+v", none)
	}
	r := &Report{Goals: []GoalRow{none}}
	var out bytes.Buffer
	if err := r.WriteGoals(&out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "not measured") || strings.Contains(out.String(), "| yes") {
		t.Fatalf("goals table:\n%s", out.String())
	}
	var js bytes.Buffer
	if err := r.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(js.String(), `"median": null`) {
		t.Fatalf("JSON:\n%s", js.String())
	}
}
