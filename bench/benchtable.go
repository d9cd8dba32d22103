package bench

import (
	"bufio"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// BenchRow is one benchmark's results across -count runs.
type BenchRow struct {
	Package string
	Name    string // full name without the -GOMAXPROCS suffix, e.g. "BenchmarkVerify/cached"
	NsOp    []float64
	BytesOp []float64
	Allocs  []float64
}

// MedianNs is the median ns/op over the runs.
func (r *BenchRow) MedianNs() float64 { return medianOf(r.NsOp) }

// Family is the name up to the last "/" ("BenchmarkVerify").
func (r *BenchRow) Family() string {
	if i := strings.LastIndexByte(r.Name, '/'); i >= 0 {
		return r.Name[:i]
	}
	return r.Name
}

// Sub is the name after the last "/" ("cached"), "" for a top-level benchmark.
func (r *BenchRow) Sub() string {
	if i := strings.LastIndexByte(r.Name, '/'); i >= 0 {
		return r.Name[i+1:]
	}
	return ""
}

var benchLine = regexp.MustCompile(`^(Benchmark\S+?)(?:-\d+)?\s+\d+\s+(.*)$`)

// ParseBenchOutput reads `go test -bench` output (any number of packages
// and -count runs) and returns one row per benchmark, in first-seen order.
func ParseBenchOutput(r io.Reader) ([]*BenchRow, error) {
	var rows []*BenchRow
	byKey := map[string]*BenchRow{}
	pkg := ""
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if p, ok := strings.CutPrefix(line, "pkg: "); ok {
			pkg = strings.TrimSpace(p)
			continue
		}
		m := benchLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		key := pkg + " " + m[1]
		row := byKey[key]
		if row == nil {
			row = &BenchRow{Package: pkg, Name: m[1]}
			byKey[key] = row
			rows = append(rows, row)
		}
		f := strings.Fields(m[2])
		for i := 0; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				continue
			}
			switch f[i+1] {
			case "ns/op":
				row.NsOp = append(row.NsOp, v)
			case "B/op":
				row.BytesOp = append(row.BytesOp, v)
			case "allocs/op":
				row.Allocs = append(row.Allocs, v)
			}
		}
	}
	return rows, sc.Err()
}

// Baseline returns the row r is compared with, or nil: within r's family,
// the sibling named "<r's sub>-baseline-..." if there is one; else the
// "raw-<suffix>" sibling whose suffix ends r's name ("raw-es256" for
// "uncached-es256"); else the sibling named "bare" or starting with "raw".
func Baseline(rows []*BenchRow, r *BenchRow) *BenchRow {
	var sibs []*BenchRow
	for _, o := range rows {
		if o.Package == r.Package && o.Family() == r.Family() && o.Sub() != "" {
			sibs = append(sibs, o)
		}
	}
	sub := r.Sub()
	if sub == "" {
		return nil
	}
	for _, o := range sibs {
		if strings.HasPrefix(o.Sub(), sub+"-baseline-") {
			return o
		}
	}
	if strings.Contains(sub, "-baseline-") {
		return r
	}
	if i := strings.LastIndexByte(sub, '-'); i >= 0 {
		for _, o := range sibs {
			if o.Sub() == "raw-"+sub[i+1:] {
				return o
			}
		}
	}
	for _, o := range sibs {
		if o.Sub() == "bare" || strings.HasPrefix(o.Sub(), "raw") {
			return o
		}
	}
	return nil
}

// WriteBenchTable prints rows as a Markdown table: medians over the runs,
// and the ratio of ns/op to the row's baseline.
func WriteBenchTable(w io.Writer, rows []*BenchRow) {
	fmt.Fprintln(w, "| package | benchmark | runs | ns/op (median) | B/op | allocs/op | vs baseline |")
	fmt.Fprintln(w, "| --- | --- | ---: | ---: | ---: | ---: | --- |")
	for _, r := range rows {
		ratio := "—"
		if b := Baseline(rows, r); b != nil && b.MedianNs() > 0 {
			if b == r {
				ratio = "baseline"
			} else {
				ratio = fmt.Sprintf("%.3gx %s", r.MedianNs()/b.MedianNs(), b.Sub())
			}
		}
		pkg := r.Package
		if i := strings.LastIndex(pkg, "fhirwarden/"); i >= 0 {
			pkg = pkg[i+len("fhirwarden/"):]
		}
		fmt.Fprintf(w, "| %s | %s | %d | %s | %s | %s | %s |\n", pkg, r.Name, len(r.NsOp),
			formatNs(r.MedianNs()), formatCount(medianOf(r.BytesOp)), formatCount(medianOf(r.Allocs)), ratio)
	}
}

func formatNs(v float64) string {
	switch {
	case v >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case v >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	default:
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
}

func formatCount(v float64) string {
	if v < 0 {
		return "—"
	}
	return strconv.FormatFloat(v, 'f', 0, 64)
}

func medianOf(xs []float64) float64 {
	if len(xs) == 0 {
		return -1
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if n := len(s); n%2 == 0 {
		return (s[n/2-1] + s[n/2]) / 2
	}
	return s[len(s)/2]
}
