package bericht_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/knooppunt/knooppunt/bericht"
	"github.com/knooppunt/knooppunt/xsd"
)

// BenchmarkValidateOfficialVsGenerated parses and validates the published
// examples of WMO301 and JW323 against the official schema and against the
// project's generated one, side by side: the generated schemas must cost
// no more than the official ones.
func BenchmarkValidateOfficialVsGenerated(b *testing.B) {
	if _, err := os.Stat(official); err != nil {
		b.Skipf("skipped: %s not present: the benchmark needs the official XSDs and examples", official)
	}
	dir := b.TempDir()
	for name, data := range bericht.SchemaFiles() {
		path := filepath.Join(dir, filepath.FromSlash(name))
		require.NoError(b, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(b, os.WriteFile(path, data, 0o644))
	}
	for _, name := range []string{"WMO301", "JW323"} {
		s, _ := bericht.Lookup(name)
		sub := fmt.Sprintf("%s-%s", s.Standard, s.Release)
		doc, err := os.ReadFile(filepath.Join(official, sub, "examples", name+".xml"))
		require.NoError(b, err)
		for _, set := range []struct{ name, file string }{
			{"official", filepath.Join(official, sub, "xsd", name+".xsd")},
			{"generated", filepath.Join(dir, sub, name+".xsd")},
		} {
			schema, err := xsd.CompileFile(set.file)
			require.NoError(b, err)
			b.Run(name+"/"+set.name, func(b *testing.B) {
				b.ReportAllocs()
				b.SetBytes(int64(len(doc)))
				for b.Loop() {
					if err := schema.Validate(doc); err != nil {
						b.Fatal(err)
					}
				}
			})
			schema.Close()
		}
	}
}
