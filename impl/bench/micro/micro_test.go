package micro

import (
	"reflect"
	"strings"
	"testing"
)

const sample = `goos: linux
goarch: amd64
pkg: github.com/blindpost/blindpost/impl/wire
cpu: AMD EPYC
BenchmarkDecode/c2s/relay/wire-2         	   50000	      1000 ns/op	 300.00 MB/s	     832 B/op	       5 allocs/op
BenchmarkDecode/c2s/relay/oracle-2       	    1000	     50000 ns/op	   6.00 MB/s	   40000 B/op	     500 allocs/op
BenchmarkDecode/c2s/relay/json-2         	   10000	      4000 ns/op	  75.00 MB/s	    1000 B/op	      10 allocs/op
BenchmarkDecode/s2c/ack/wire-2           	  500000	       120 ns/op
BenchmarkDecode/s2c/ack/json-2           	  100000	       400 ns/op
BenchmarkEncode/s2c/ack/wire-2           	  500000	        50 ns/op	      64 B/op	       1 allocs/op
BenchmarkEncode/s2c/ack/json-2           	  100000	       200 ns/op	      64 B/op	       1 allocs/op
PASS
ok  	github.com/blindpost/blindpost/impl/wire	1.000s
pkg: github.com/blindpost/blindpost/impl/e2ee/direct
BenchmarkSeal/200B/protocol-2            	 1000000	       250 ns/op	       0 B/op	       0 allocs/op
BenchmarkSeal/200B/baseline-2            	 1000000	       230 ns/op	       0 B/op	       0 allocs/op
BenchmarkHandshake/protocol-2            	    1000	   1000000 ns/op
BenchmarkHandshake/baseline-2            	    1000	    500000 ns/op
ok  	github.com/blindpost/blindpost/impl/e2ee/direct	1.000s
`

func TestParse(t *testing.T) {
	rs, err := Parse(strings.NewReader(sample))
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 11 {
		t.Fatalf("%d results", len(rs))
	}
	r := rs[0]
	if r.Name != "Decode/c2s/relay/wire" || r.Package != "github.com/blindpost/blindpost/impl/wire" || r.NsPerOp != 1000 ||
		r.Allocs != 5 || !r.HasAlloc || r.BPerOp != 832 || r.N != 50000 {
		t.Fatalf("first result %+v", r)
	}
	if r.Metrics["MB/s"] != 300 || len(r.Metrics) != 1 {
		t.Fatalf("first result's other metrics: %v", r.Metrics)
	}
	if rs[3].HasAlloc || rs[7].Package != "github.com/blindpost/blindpost/impl/e2ee/direct" {
		t.Fatalf("%+v %+v", rs[3], rs[7])
	}
}

func TestFigures(t *testing.T) {
	rs, _ := Parse(strings.NewReader(sample))
	figs := Figures(rs)
	byName := map[string]float64{}
	for _, f := range figs {
		byName[f.Scenario+": "+f.Name] = f.Ratio
		if (f.Goal == nil) != strings.HasPrefix(f.Name, "encode") {
			t.Errorf("%s: goal %v", f.Name, f.Goal)
		}
	}
	want := map[string]float64{
		"wire: decode+validate vs encoding/json, geomean of 2 kinds":     0.27386,
		"wire: decode+validate vs encoding/json, worst kind: s2c/ack":    0.3,
		"wire: decode+validate vs schema oracle, geomean of 1 kinds":     0.02,
		"wire: decode c2s/relay (the relay's hot path) vs encoding/json": 0.25,
		"e2ee: Handshake vs raw primitives":                              2,
		"e2ee: Seal/200B vs raw primitives":                              250.0 / 230,
	}
	for name, ratio := range want {
		got, ok := byName[name]
		if !ok || got < ratio*0.9999 || got > ratio*1.0001 {
			t.Errorf("%s: ratio %v (present %v), want %v", name, got, ok, ratio)
		}
	}
	if _, ok := byName["e2ee: Seal/200B allocations per record"]; !ok {
		t.Error("no allocation figure")
	}
}

// TestMedians checks that of several runs of a benchmark the median one is kept, whole (its
// allocations with its time), and that benchmarks keep the order they first appeared in.
func TestMedians(t *testing.T) {
	r := func(name string, ns, allocs float64) Result {
		return Result{Package: "p", Name: name, NsPerOp: ns, Allocs: allocs, HasAlloc: true}
	}
	in := []Result{
		r("Seal", 300, 1), r("Seal", 100, 2), r("Seal", 200, 3),
		r("Open", 50, 0),
		r("Even", 40, 0), r("Even", 10, 1), r("Even", 30, 2), r("Even", 20, 3),
	}
	want := []Result{r("Seal", 200, 3), r("Open", 50, 0), r("Even", 20, 3)}
	got := Medians(in)
	if len(got) != len(want) {
		t.Fatalf("got %d results, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Errorf("result %d: got %+v, want %+v", i, got[i], want[i])
		}
	}
}
