package samenloop

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/knooppunt/knooppunt/bericht"
	"github.com/knooppunt/knooppunt/sample"
	"github.com/knooppunt/knooppunt/xsd"
)

// TestParseTreeAgreesWithScanner holds the tree reading, which the tap
// uses, to the scanner, which the JetStream follower uses: for every
// generated 301 and 307, and for every variant that still validates
// (references, CDATA, comments, other prefixes among them), both read the
// same, or both refuse.
func TestParseTreeAgreesWithScanner(t *testing.T) {
	set, err := xsd.Load(xsd.Config{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = set.Close() })
	seeds := 40
	if testing.Short() {
		seeds = 8
	}
	corpus := oracleCorpus(t, seeds)
	g := sample.New(42)
	variants := 0
	for _, name := range []string{"WMO301", "WMO307"} {
		opt := sample.Options{Afzender: "0363", Products: 2}
		if name == "WMO307" {
			opt = sample.Options{Ontvanger: "0363", Products: 2}
		}
		m, err := g.Heen(soort(t, name), opt)
		require.NoError(t, err)
		for _, tc := range variantEdits {
			body := []byte(tc.edit(string(m.XML)))
			if _, _, err := set.ValidateTree(body); err == nil {
				corpus[name] = append(corpus[name], body)
				variants++
			}
		}
	}
	require.Greater(t, variants, 8, "too few variants validate to compare")
	n := 0
	for name, bodies := range corpus {
		for _, body := range bodies {
			_, tree, err := set.ValidateTree(body)
			if err != nil {
				continue // the corpus has 301s to a gemeente, for the scanner's sake
			}
			want, wantErr := parseMessage(name, body)
			got, gotErr := parseTree(name, tree)
			require.Equal(t, wantErr == nil, gotErr == nil, "scanner: %v, tree: %v", wantErr, gotErr)
			require.Equal(t, want, got, "%s", name)
			n++
		}
	}
	require.Greater(t, n, 4*seeds, "too few valid messages in the corpus")
}

// BenchmarkParseTree is parseTree on the trees of BenchmarkParse's
// messages, beside the scanner there.
func BenchmarkParseTree(b *testing.B) {
	set, err := xsd.Load(xsd.Config{})
	require.NoError(b, err)
	b.Cleanup(func() { _ = set.Close() })
	corpus := oracleCorpus(b, 4)
	for _, name := range []string{"WMO301", "WMO307"} {
		var trees []*bericht.Tree
		for _, body := range corpus[name] {
			if _, tree, err := set.ValidateTree(body); err == nil {
				trees = append(trees, tree)
			}
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if _, err := parseTree(name, trees[i%len(trees)]); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}
