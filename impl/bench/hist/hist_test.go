package hist

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestResolution checks the precision the package promises over the whole range: a value below
// 256 comes back exact, a larger one at most 1/128 of itself above, never below.
func TestResolution(t *testing.T) {
	values := []int64{0, 1, 2, 255, 256, 257, 511, 512, 1000, 1 << 20, 123456789, 1 << 40, math.MaxInt64 - 1}
	r := rand.New(rand.NewPCG(1, 2))
	for range 1000 {
		values = append(values, r.Int64N(1<<uint(r.IntN(62)+1)))
	}
	for _, v := range values {
		h := New()
		h.Record(v)
		h.Record(math.MaxInt64) // so that the cap at Max does not hide the bucket's bound
		got := h.Quantile(0.5)
		if got < v || (v < 256 && got != v) || float64(got-v) > float64(v)/128 {
			t.Fatalf("value %d comes back as %d", v, got)
		}
	}
	h := New()
	h.Record(math.MaxInt64)
	if h.Quantile(1) != math.MaxInt64 || h.Max() != math.MaxInt64 {
		t.Fatalf("the largest int64 comes back as %d", h.Quantile(1))
	}
}

// TestQuantiles compares quantiles with the exact ones of a sorted sample.
func TestQuantiles(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	h := New()
	var all []int64
	for range 100000 {
		v := int64(r.ExpFloat64() * 1e6) // exponential, mean 1 ms
		all = append(all, v)
		h.Record(v)
	}
	slices.Sort(all)
	for _, q := range []float64{0, 0.5, 0.9, 0.99, 0.999, 1} {
		exact := all[max(0, int(math.Ceil(q*float64(len(all))))-1)]
		got := h.Quantile(q)
		if got < exact || float64(got-exact) > float64(exact)/100+1 {
			t.Errorf("q%.3f = %d, exact %d", q, got, exact)
		}
	}
	if h.Count() != uint64(len(all)) || h.Min() != all[0] || h.Max() != all[len(all)-1] {
		t.Errorf("count %d min %d max %d", h.Count(), h.Min(), h.Max())
	}
}

// TestMerge checks that merging two histograms equals recording everything in one.
func TestMerge(t *testing.T) {
	a, b, all := New(), New(), New()
	for v := range int64(5000) {
		all.Record(v * 37)
		if v%3 == 0 {
			a.Record(v * 37)
		} else {
			b.Record(v * 37)
		}
	}
	a.Merge(b)
	a.Merge(New())
	if a.Summary() != all.Summary() {
		t.Fatalf("merged %+v, want %+v", a.Summary(), all.Summary())
	}
	e := New()
	if s := e.Summary(); s != (Summary{}) {
		t.Fatalf("empty summary %+v", s)
	}
	e.Record(-5)
	if e.Max() != 0 || e.Count() != 1 {
		t.Fatal("a negative value is not counted as 0")
	}
}

func BenchmarkRecord(b *testing.B) {
	h := New()
	var v int64 = 12345
	for b.Loop() {
		h.Record(v)
		v = v*31 + 7&(1<<30-1)
	}
}

func BenchmarkSummary(b *testing.B) {
	h := New()
	for v := range int64(100000) {
		h.Record(v * 997)
	}
	for b.Loop() {
		_ = h.Summary()
	}
}
