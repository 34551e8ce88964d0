package rules

import (
	"slices"
	"testing"
	"time"

	"github.com/knooppunt/knooppunt/sample"
	"github.com/stretchr/testify/require"
)

// benchMessages are the messages of the benchmarks: a toewijzing, a start
// zorg and a large declaratie (200 clients of 10 prestaties, about 1.6 MB).
var benchMessages = []struct {
	name  string
	soort string
	opt   sample.Options
}{
	{"WMO301", "WMO301", sample.Options{Products: 3}},
	{"WMO305", "WMO305", sample.Options{Products: 3}},
	{"JW323-large", "JW323", sample.Options{Clients: 200, Products: 10}},
}

// BenchmarkCheck measures, on the same message in the same run, what the
// rules add to validation: Validate alone, ValidateTree (validation plus the
// document view) and ValidateTree plus Check.
//
//	go test ./rules -run '^$' -bench BenchmarkCheck -count 5
func BenchmarkCheck(b *testing.B) {
	for _, c := range []struct {
		name  string
		soort string
		opt   sample.Options
	}{
		{"WMO301", "WMO301", sample.Options{Products: 3}},
		{"WMO305", "WMO305", sample.Options{Products: 3}},
		{"JW323-large", "JW323", sample.Options{Clients: 200, Products: 10}},
	} {
		m, err := sample.New(1).Generate(soort(b, c.soort), c.opt)
		require.NoError(b, err)
		s := schemas(b)
		h, doc, err := s.ValidateTree(m.XML)
		require.NoError(b, err)
		require.Empty(b, Check(h, doc))
		b.Run(c.name+"/validate", func(b *testing.B) {
			b.SetBytes(int64(len(m.XML)))
			for b.Loop() {
				if _, err := s.Validate(m.XML); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(c.name+"/tree", func(b *testing.B) {
			b.SetBytes(int64(len(m.XML)))
			for b.Loop() {
				if _, _, err := s.ValidateTree(m.XML); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(c.name+"/tree+rules", func(b *testing.B) {
			b.SetBytes(int64(len(m.XML)))
			for b.Loop() {
				h, doc, err := s.ValidateTree(m.XML)
				if err != nil {
					b.Fatal(err)
				}
				Check(h, doc)
			}
		})
		b.Run(c.name+"/rules-only", func(b *testing.B) {
			for b.Loop() {
				Check(h, doc)
			}
		})
	}
}

// BenchmarkOverhead alternates, in every iteration, Validate and
// ValidateTree+Check on the same message and reports, from the medians of
// the per-iteration times, what the view and the rules add as a percentage
// of validation ("added-%"), the view alone ("tree-%") and the rules alone
// ("rules-%"). Alternating and medians cancel the drift and the spikes of a
// shared machine, which separate benchmarks cannot.
//
//	go test ./rules -run '^$' -bench BenchmarkOverhead -count 5
func BenchmarkOverhead(b *testing.B) {
	for _, c := range benchMessages {
		m, err := sample.New(1).Generate(soort(b, c.soort), c.opt)
		require.NoError(b, err)
		s := schemas(b)
		b.Run(c.name, func(b *testing.B) {
			var validate, tree, rules []time.Duration
			for b.Loop() {
				t0 := time.Now()
				if _, err := s.Validate(m.XML); err != nil {
					b.Fatal(err)
				}
				t1 := time.Now()
				h, doc, err := s.ValidateTree(m.XML)
				if err != nil {
					b.Fatal(err)
				}
				t2 := time.Now()
				Check(h, doc)
				t3 := time.Now()
				validate = append(validate, t1.Sub(t0))
				tree = append(tree, t2.Sub(t1))
				rules = append(rules, t3.Sub(t2))
			}
			v, tr, r := median(validate), median(tree), median(rules)
			b.ReportMetric(100*(tr+r-v)/v, "added-%")
			b.ReportMetric(100*(tr-v)/v, "tree-%")
			b.ReportMetric(100*r/v, "rules-%")
			b.ReportMetric(v/1e3, "validate-µs")
		})
	}
}

func median(ds []time.Duration) float64 {
	s := slices.Clone(ds)
	slices.Sort(s)
	return float64(s[len(s)/2])
}
