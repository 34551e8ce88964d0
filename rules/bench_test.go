package rules

import (
	"testing"

	"github.com/knooppunt/knooppunt/sample"
	"github.com/stretchr/testify/require"
)

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
		require.Empty(b, withoutGeneratorGap(doc, Check(h, doc)))
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
