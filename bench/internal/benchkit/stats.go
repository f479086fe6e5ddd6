// Package benchkit is the shared machinery of brig's benchmarks (bench/runtime,
// bench/brig): running a command and reading its wait4 rusage, medians and
// ratios, the result tables, target verdicts, and leak checks.
//
// The benchmarks are programs, not timed tests: they print figures and a
// PASS or MISS line per target, and never retry or drop a slow sample.
package benchkit

import (
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
	"text/tabwriter"
	"time"
)

// Median returns the median of xs (NaN for none).
func Median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// Quantile returns the q-quantile (0..1) of xs by nearest rank (NaN for none).
func Quantile(xs []float64, q float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	i := int(math.Ceil(q*float64(len(s)))) - 1
	if i < 0 {
		i = 0
	}
	if i >= len(s) {
		i = len(s) - 1
	}
	return s[i]
}

// Max returns the largest of xs (NaN for none).
func Max(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	m := xs[0]
	for _, x := range xs[1:] {
		m = math.Max(m, x)
	}
	return m
}

// PairedRatio is the median of a[i]/b[i] over the samples both have: with
// interleaved runs, neighbours share the machine's load, so this drifts less
// than the ratio of two medians.
func PairedRatio(a, b []float64) float64 {
	n := min(len(a), len(b))
	r := make([]float64, 0, n)
	for i := 0; i < n; i++ {
		if b[i] > 0 {
			r = append(r, a[i]/b[i])
		}
	}
	return Median(r)
}

// Ms is a duration in milliseconds, as a float for the statistics.
func Ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// Series is a named set of samples: one slice per measured quantity.
type Series map[string][]float64

// Add appends x to the samples of key.
func (s Series) Add(key string, x float64) { s[key] = append(s[key], x) }

// Median of key's samples.
func (s Series) Median(key string) float64 { return Median(s[key]) }

// Table is a titled, column-aligned text table.
type Table struct {
	Title string
	Head  []string
	Rows  [][]string
	Notes []string
}

// Add appends a row.
func (t *Table) Add(cells ...string) { t.Rows = append(t.Rows, cells) }

// Note appends a line printed under the table.
func (t *Table) Note(format string, a ...any) { t.Notes = append(t.Notes, fmt.Sprintf(format, a...)) }

// Write prints the table.
func (t *Table) Write(w io.Writer) {
	if t.Title != "" {
		fmt.Fprintf(w, "\n== %s\n", t.Title)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	line := func(cells []string) {
		// A trailing tab makes AlignRight apply to the last column too.
		fmt.Fprintln(tw, strings.Join(cells, "\t")+"\t")
	}
	if len(t.Head) > 0 {
		line(t.Head)
	}
	for _, r := range t.Rows {
		line(r)
	}
	tw.Flush()
	for _, n := range t.Notes {
		fmt.Fprintln(w, "  "+n)
	}
}

// F formats x with the given decimals, or "-" when it is not a number.
func F(x float64, decimals int) string {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return "-"
	}
	return fmt.Sprintf("%.*f", decimals, x)
}

// Verdict is one target's outcome.
type Verdict struct {
	Name   string // e.g. "runtime: run wall vs crun"
	Got    string
	Target string
	Pass   bool
}

func (v Verdict) String() string {
	word := "MISS"
	if v.Pass {
		word = "PASS"
	}
	return fmt.Sprintf("%s %s: %s (target %s)", word, v.Name, v.Got, v.Target)
}

// Report collects verdicts.
type Report struct{ Verdicts []Verdict }

// AtMost records a verdict that got must not exceed limit. A value that
// could not be measured (NaN) is a miss.
func (r *Report) AtMost(name string, got, limit float64, unit string, decimals int) {
	r.Verdicts = append(r.Verdicts, Verdict{
		Name:   name,
		Got:    F(got, decimals) + unit,
		Target: "<= " + F(limit, decimals) + unit,
		Pass:   !math.IsNaN(got) && got <= limit,
	})
}

// Zero records a verdict that a count must be zero; detail explains it.
func (r *Report) Zero(name string, got int, detail string) {
	g := fmt.Sprint(got)
	if detail != "" {
		g += " (" + detail + ")"
	}
	r.Verdicts = append(r.Verdicts, Verdict{Name: name, Got: g, Target: "0", Pass: got == 0})
}

// Missed reports whether any target was missed.
func (r *Report) Missed() bool {
	for _, v := range r.Verdicts {
		if !v.Pass {
			return true
		}
	}
	return false
}

// Write prints one line per verdict, each starting with PASS or MISS so
// bench/run.sh can gather them into its summary.
func (r *Report) Write(w io.Writer) {
	fmt.Fprintln(w)
	for _, v := range r.Verdicts {
		fmt.Fprintln(w, v)
	}
}
