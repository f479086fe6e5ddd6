package benchkit

import (
	"math"
	"strings"
	"testing"
)

func TestMedian(t *testing.T) {
	for _, c := range []struct {
		in   []float64
		want float64
	}{
		{[]float64{3}, 3},
		{[]float64{3, 1, 2}, 2},
		{[]float64{4, 1, 3, 2}, 2.5},
	} {
		if got := Median(c.in); got != c.want {
			t.Errorf("Median(%v) = %v, want %v", c.in, got, c.want)
		}
	}
	if !math.IsNaN(Median(nil)) {
		t.Error("Median(nil) should be NaN")
	}
	in := []float64{3, 1, 2}
	Median(in)
	if in[0] != 3 {
		t.Error("Median sorted its argument in place")
	}
}

func TestQuantileMax(t *testing.T) {
	xs := []float64{10, 1, 9, 2, 8, 3, 7, 4, 6, 5}
	if got := Quantile(xs, 0.9); got != 9 {
		t.Errorf("p90 = %v, want 9", got)
	}
	if got := Quantile(xs, 0); got != 1 {
		t.Errorf("p0 = %v, want 1", got)
	}
	if got := Max(xs); got != 10 {
		t.Errorf("Max = %v, want 10", got)
	}
	if !math.IsNaN(Max(nil)) || !math.IsNaN(Quantile(nil, 0.5)) {
		t.Error("empty input should give NaN")
	}
}

func TestPairedRatio(t *testing.T) {
	// The pairs' ratios are 0.5, 0.5, 2 (the zero divisor is skipped).
	a := []float64{1, 2, 8, 5}
	b := []float64{2, 4, 4, 0}
	if got := PairedRatio(a, b); got != 0.5 {
		t.Errorf("PairedRatio = %v, want 0.5", got)
	}
}

func TestReport(t *testing.T) {
	var r Report
	r.AtMost("wall", 0.7, 0.8, "x", 2)
	if r.Missed() {
		t.Fatal("0.7 <= 0.8 reported as missed")
	}
	r.AtMost("rss", math.NaN(), 5120, " KiB", 0)
	if !r.Missed() {
		t.Fatal("an unmeasured value must be a miss")
	}
	r.Zero("leaks", 2, "mounts 2")
	var b strings.Builder
	r.Write(&b)
	want := []string{
		"PASS wall: 0.70x (target <= 0.80x)",
		"MISS rss: - KiB (target <= 5120 KiB)",
		"MISS leaks: 2 (mounts 2) (target 0)",
	}
	for _, w := range want {
		if !strings.Contains(b.String(), w+"\n") {
			t.Errorf("report lacks %q:\n%s", w, b.String())
		}
	}
}

func TestTable(t *testing.T) {
	tb := &Table{Title: "T", Head: []string{"name", "ms"}}
	tb.Add("brig-runtime", "1.00")
	tb.Add("runc", "22.50")
	tb.Note("n=%d", 3)
	var b strings.Builder
	tb.Write(&b)
	lines := strings.Split(strings.TrimRight(b.String(), "\n"), "\n")
	if len(lines) != 6 || lines[1] != "== T" || lines[5] != "  n=3" {
		t.Fatalf("unexpected table:\n%s", b.String())
	}
	// Right-aligned columns end at the same place.
	if len(strings.TrimRight(lines[3], " ")) != len(strings.TrimRight(lines[4], " ")) {
		t.Errorf("columns not aligned:\n%s", b.String())
	}
}
