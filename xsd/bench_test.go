package xsd

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/knooppunt/knooppunt/bericht"
	"github.com/knooppunt/knooppunt/sample"
	"github.com/stretchr/testify/require"
)

// benchMessage is one message the benchmarks run on.
type benchMessage struct {
	name  string // "sample/WMO301", "example/WMO301"
	soort bericht.Soort
	data  []byte
}

// benchMessages returns a generated message of every berichtsoort (two
// product lines, two clients for a declaratie) and, when ../shared is
// present, every published example.
func benchMessages(b *testing.B) []benchMessage {
	b.Helper()
	g := sample.New(1)
	var out []benchMessage
	for _, s := range bericht.All() {
		m, err := g.Generate(s, sample.Options{Products: 2, Clients: 2})
		require.NoError(b, err)
		out = append(out, benchMessage{"sample/" + s.Name, s, m.XML})
	}
	if _, err := os.Stat(shared); err == nil {
		for _, ex := range examples(b, "examples") {
			s, _ := bericht.Lookup(ex.name)
			out = append(out, benchMessage{"example/" + ex.name, s, ex.data})
		}
	}
	return out
}

// BenchmarkValidate measures Set.Validate on the embedded schema set: parse,
// header view, XSD validation and free. Run with -cpu 1,2: RunParallel uses
// GOMAXPROCS goroutines.
func BenchmarkValidate(b *testing.B) {
	s := embeddedSet(b)
	for _, m := range benchMessages(b) {
		b.Run(m.name, func(b *testing.B) {
			_, err := s.Validate(m.data)
			require.NoError(b, err)
			b.ReportAllocs()
			b.SetBytes(int64(len(m.data)))
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := s.Validate(m.data); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// BenchmarkValidateTree measures Set.ValidateTree: Validate plus the copy
// of the document into a bericht.Tree the rules and products read.
func BenchmarkValidateTree(b *testing.B) {
	s := embeddedSet(b)
	for _, m := range benchMessages(b) {
		b.Run(m.name, func(b *testing.B) {
			_, _, err := s.ValidateTree(m.data)
			require.NoError(b, err)
			b.ReportAllocs()
			b.SetBytes(int64(len(m.data)))
			for b.Loop() {
				if _, _, err := s.ValidateTree(m.data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkRawLibxml2 is the floor Validate is measured against: a plain
// parse, XSD validation and free of the same message against the same
// (embedded) schema through a Schema from CompileFile, without the
// namespace dispatch, header view or pre-checks of a Set.
func BenchmarkRawLibxml2(b *testing.B) {
	dir := b.TempDir()
	for name, data := range bericht.SchemaFiles() {
		p := filepath.Join(dir, filepath.FromSlash(name))
		require.NoError(b, os.MkdirAll(filepath.Dir(p), 0o700))
		require.NoError(b, os.WriteFile(p, data, 0o600))
	}
	schemas := map[string]*Schema{}
	b.Cleanup(func() {
		for _, sch := range schemas {
			sch.Close()
		}
	})
	for _, s := range bericht.All() {
		sch, err := CompileFile(filepath.Join(dir, string(s.Standard)+"-"+s.Release, s.Name+".xsd"))
		require.NoError(b, err)
		schemas[s.Name] = sch
	}
	for _, m := range benchMessages(b) {
		sch := schemas[m.soort.Name]
		b.Run(m.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(m.data)))
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := sch.Validate(m.data); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// BenchmarkValidateInvalid measures a refusal with one XSD violation, the
// path that copies messages and computes positions.
func BenchmarkValidateInvalid(b *testing.B) {
	s := embeddedSet(b)
	g := sample.New(2)
	soort, _ := bericht.Lookup("WMO301")
	m, err := g.Generate(soort, sample.Options{Products: 2, Afzender: "384"})
	require.NoError(b, err)
	_, err = s.Validate(m.XML)
	require.Error(b, err)
	b.ReportAllocs()
	b.SetBytes(int64(len(m.XML)))
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			s.Validate(m.XML)
		}
	})
}
