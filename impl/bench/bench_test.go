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
