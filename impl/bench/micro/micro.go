// Package micro runs the micro-benchmarks of impl/wire and impl/e2ee as go test subprocesses
// and turns their output into report figures: each benchmark of the protocol code next to the
// baseline it measures itself against in the same run (the generated codec against
// encoding/json and the schema oracle, the crypto against the raw standard-library calls it
// makes), with the goals of issues 2 and 3.
package micro

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/blindpost/blindpost/impl/bench"
)

// Result is one benchmark line.
type Result struct {
	Package  string  `json:"package"`
	Name     string  `json:"name"` // without the Benchmark prefix and the -GOMAXPROCS suffix
	N        int64   `json:"n"`
	NsPerOp  float64 `json:"ns_per_op"`
	BPerOp   float64 `json:"bytes_per_op"`
	Allocs   float64 `json:"allocs_per_op"`
	HasAlloc bool    `json:"-"`
	// Metrics are the other units the benchmark reported (b.ReportMetric), such as allocs/msg.
	Metrics map[string]float64 `json:"metrics,omitempty"`
}

// Parse reads go test -bench output.
func Parse(r io.Reader) ([]Result, error) {
	var out []Result
	pkg := ""
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		if p, ok := strings.CutPrefix(line, "pkg: "); ok {
			pkg = strings.TrimSpace(p)
			continue
		}
		if !strings.HasPrefix(line, "Benchmark") {
			continue
		}
		f := strings.Fields(line)
		if len(f) < 4 || f[3] != "ns/op" {
			continue
		}
		name := strings.TrimPrefix(f[0], "Benchmark")
		if i := strings.LastIndexByte(name, '-'); i > 0 {
			if _, err := strconv.Atoi(name[i+1:]); err == nil {
				name = name[:i]
			}
		}
		res := Result{Package: pkg, Name: name}
		var err error
		if res.N, err = strconv.ParseInt(f[1], 10, 64); err != nil {
			continue
		}
		if res.NsPerOp, err = strconv.ParseFloat(f[2], 64); err != nil {
			continue
		}
		for i := 4; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				continue
			}
			switch f[i+1] {
			case "B/op":
				res.BPerOp = v
			case "allocs/op":
				res.Allocs, res.HasAlloc = v, true
			default:
				if res.Metrics == nil {
					res.Metrics = map[string]float64{}
				}
				res.Metrics[f[i+1]] = v
			}
		}
		out = append(out, res)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("micro: %w", err)
	}
	return out, nil
}

// Options say what to run.
type Options struct {
	Dir       string   // the module root; "" finds it from the working directory
	Packages  []string // default: ./impl/wire ./impl/e2ee/...
	Bench     string   // -bench pattern; default "."
	BenchTime string   // -benchtime; default "50ms"
	Count     int      // runs of the whole set; default 3 (Run keeps the median of each benchmark)
	Stderr    io.Writer
}

// Run runs the benchmarks with go test and parses them.
func Run(ctx context.Context, o Options) ([]Result, error) {
	dir := o.Dir
	if dir == "" {
		var err error
		if dir, err = ModuleRoot(); err != nil {
			return nil, err
		}
	}
	pkgs := o.Packages
	if len(pkgs) == 0 {
		pkgs = []string{"./impl/wire", "./impl/e2ee/..."}
	}
	pattern, bt := o.Bench, o.BenchTime
	if pattern == "" {
		pattern = "."
	}
	if bt == "" {
		bt = "50ms"
	}
	count := o.Count
	if count <= 0 {
		count = 3
	}
	// count runs of the whole set rather than go test -count, which repeats each benchmark in
	// place: that way every run measures a benchmark and its baseline moments apart, and a slow
	// stretch of a shared machine falls on both in one run instead of on all the runs of one.
	args := append([]string{"test", "-run", "^$", "-bench", pattern, "-benchtime", bt, "-benchmem", "-count", "1"}, pkgs...)
	var all []Result
	for range count {
		rs, err := goTest(ctx, dir, args, o.Stderr)
		if err != nil {
			return nil, err
		}
		all = append(all, rs...)
	}
	return Medians(all), nil
}

// goTest runs go with args in dir and parses the benchmarks it prints.
func goTest(ctx context.Context, dir string, args []string, stderr io.Writer) ([]Result, error) {
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("micro: go %s: %w\n%s", strings.Join(args, " "), err, tail(out.String(), 20))
	}
	return Parse(&out)
}

// Medians keeps, of the runs of each benchmark, the one with the median time
// (the lower of the two middle ones for an even count), in the order the benchmarks first
// appear. A short run on a shared machine now and then catches a slow moment; the median is
// what the benchmark costs.
func Medians(rs []Result) []Result {
	type key struct{ pkg, name string }
	runs := map[key][]Result{}
	var order []key
	for _, r := range rs {
		k := key{r.Package, r.Name}
		if _, seen := runs[k]; !seen {
			order = append(order, k)
		}
		runs[k] = append(runs[k], r)
	}
	out := make([]Result, 0, len(order))
	for _, k := range order {
		rr := runs[k]
		sort.SliceStable(rr, func(i, j int) bool { return rr[i].NsPerOp < rr[j].NsPerOp })
		out = append(out, rr[(len(rr)-1)/2])
	}
	return out
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// ModuleRoot finds the directory of the blindpost go.mod from the working directory up.
func ModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("micro: %w", err)
	}
	for {
		if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && bytes.Contains(b, []byte("module github.com/blindpost/blindpost")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("micro: run this from the Blindpost repository (no go.mod of github.com/blindpost/blindpost above the working directory)")
		}
		dir = parent
	}
}

// pairOf splits a name into its case and its variant (the last element): "Decode/c2s/relay/wire"
// is ("Decode/c2s/relay", "wire").
func pairOf(name string) (string, string) {
	i := strings.LastIndexByte(name, '/')
	if i < 0 {
		return name, ""
	}
	return name[:i], name[i+1:]
}

// index maps case → variant → result.
func index(rs []Result) map[string]map[string]Result {
	out := map[string]map[string]Result{}
	for _, r := range rs {
		c, v := pairOf(r.Name)
		if out[c] == nil {
			out[c] = map[string]Result{}
		}
		out[c][v] = r
	}
	return out
}

// Figures turns results into report rows:
//
//   - impl/wire (README "Codec"): decode with the generated codec against encoding/json into a plain
//     struct (goal: no slower, ratio ≤ 1) and against the schema oracle (goal: at least 10×
//     faster, ratio ≤ 0.1), as the geometric mean over the message kinds and the worst kind,
//     and the relay message the server decodes on its hot path;
//   - impl/e2ee (README "Crypto"): every protocol benchmark against its baseline of raw primitive calls
//     (goal: ≤ 1.10×), and the allocations per record of seal and open (goal: ≤ 2).
func Figures(rs []Result) []bench.Figure {
	idx := index(rs)
	var figs []bench.Figure
	figs = append(figs, wireFigures(idx)...)
	figs = append(figs, e2eeFigures(idx)...)
	return figs
}

func wireFigures(idx map[string]map[string]Result) []bench.Figure {
	type ratio struct {
		kind       string
		ours, base float64
	}
	var vsJSON, vsOracle, encJSON []ratio
	for c, vs := range idx {
		kind, isDecode := strings.CutPrefix(c, "Decode/")
		if isDecode {
			if w, ok := vs["wire"]; ok {
				if j, ok := vs["json"]; ok {
					vsJSON = append(vsJSON, ratio{kind, w.NsPerOp, j.NsPerOp})
				}
				if o, ok := vs["oracle"]; ok {
					vsOracle = append(vsOracle, ratio{kind, w.NsPerOp, o.NsPerOp})
				}
			}
		}
		if kind, ok := strings.CutPrefix(c, "Encode/"); ok {
			if w, ok := vs["wire"]; ok {
				if j, ok := vs["json"]; ok {
					encJSON = append(encJSON, ratio{kind, w.NsPerOp, j.NsPerOp})
				}
			}
		}
	}
	geo := func(rs []ratio) (ours, base float64) {
		var lo, lb float64
		for _, r := range rs {
			lo += math.Log(r.ours)
			lb += math.Log(r.base)
		}
		n := float64(len(rs))
		return math.Exp(lo / n), math.Exp(lb / n)
	}
	worst := func(rs []ratio) ratio {
		sort.Slice(rs, func(i, j int) bool {
			ri, rj := rs[i].ours/rs[i].base, rs[j].ours/rs[j].base
			if ri != rj {
				return ri > rj
			}
			return rs[i].kind < rs[j].kind
		})
		return rs[0]
	}
	var figs []bench.Figure
	if len(vsJSON) > 0 {
		o, b := geo(vsJSON)
		figs = append(figs, bench.NewFigure("wire", fmt.Sprintf("decode+validate vs encoding/json, geomean of %d kinds", len(vsJSON)), "ns/op", o, b, bench.GoalAtMost(1)))
		w := worst(vsJSON)
		figs = append(figs, bench.NewFigure("wire", "decode+validate vs encoding/json, worst kind: "+w.kind, "ns/op", w.ours, w.base, bench.GoalAtMost(1)))
	}
	if len(vsOracle) > 0 {
		o, b := geo(vsOracle)
		figs = append(figs, bench.NewFigure("wire", fmt.Sprintf("decode+validate vs schema oracle, geomean of %d kinds", len(vsOracle)), "ns/op", o, b, bench.GoalAtMost(0.1)))
		w := worst(vsOracle)
		figs = append(figs, bench.NewFigure("wire", "decode+validate vs schema oracle, worst kind: "+w.kind, "ns/op", w.ours, w.base, bench.GoalAtMost(0.1)))
	}
	for _, r := range vsJSON {
		if r.kind == "c2s/relay" {
			figs = append(figs, bench.NewFigure("wire", "decode c2s/relay (the relay's hot path) vs encoding/json", "ns/op", r.ours, r.base, bench.GoalAtMost(1)))
		}
	}
	if len(encJSON) > 0 {
		o, b := geo(encJSON)
		figs = append(figs, bench.NewFigure("wire", fmt.Sprintf("encode (validating) vs encoding/json, geomean of %d kinds", len(encJSON)), "ns/op", o, b, nil))
	}
	return figs
}

func e2eeFigures(idx map[string]map[string]Result) []bench.Figure {
	var cases []string
	for c, vs := range idx {
		if _, ok := vs["protocol"]; ok {
			if _, ok := vs["baseline"]; ok {
				cases = append(cases, c)
			}
		}
	}
	sort.Strings(cases)
	var figs []bench.Figure
	for _, c := range cases {
		p, b := idx[c]["protocol"], idx[c]["baseline"]
		figs = append(figs, bench.NewFigure("e2ee", c+" vs raw primitives", "ns/op", p.NsPerOp, b.NsPerOp, bench.GoalAtMost(1.10)))
	}
	for _, c := range cases {
		if (strings.HasPrefix(c, "Seal/") || strings.HasPrefix(c, "Open/")) && idx[c]["protocol"].HasAlloc {
			p, b := idx[c]["protocol"], idx[c]["baseline"]
			figs = append(figs, bench.NewFigure("e2ee", c+" allocations per record", "allocs", p.Allocs, b.Allocs, bench.AbsoluteAtMost(2)))
		}
	}
	return figs
}
