package rules

import (
	"regexp"
	"strings"
	"testing"

	"github.com/knooppunt/knooppunt/bericht"
	"github.com/knooppunt/knooppunt/sample"
	"github.com/stretchr/testify/require"
)

// checkAny runs the document view and the rules on msg when it passes the
// XSD, and holds every finding to its contract.
func checkAny(t *testing.T, msg []byte) {
	h, doc, err := schemas(t).ValidateTree(msg)
	if err != nil {
		require.Nil(t, doc)
		return
	}
	for _, f := range Check(h, doc) {
		require.GreaterOrEqual(t, f.Element, 0)
		require.Less(t, f.Element, doc.Len())
		require.Equal(t, doc.Path(f.Element), f.Path)
		r, ok := Lookup(f.Rule)
		require.True(t, ok, f.Rule)
		require.Equal(t, r.Retourcode, f.Retourcode)
		require.True(t, r.AppliesTo(h.Soort))
		require.True(t, strings.HasPrefix(f.Text, doc.Name(f.Element)+" "), "%q names its element first", f.Text)
	}
}

// FuzzCheck feeds arbitrary bytes, seeded with generated messages of every
// berichtsoort: ValidateTree and Check never panic.
//
//	go test ./rules -run '^$' -fuzz FuzzCheck$ -fuzztime 60s
func FuzzCheck(f *testing.F) {
	g := sample.New(1)
	for _, s := range bericht.All() {
		m, err := g.Generate(s, sample.Options{Clients: 2, Products: 2})
		require.NoError(f, err)
		f.Add(m.XML)
	}
	f.Fuzz(checkAny)
}

// leafText matches the text of a leaf element.
var leafText = regexp.MustCompile(`>([^<>]*)</`)

// FuzzCheckValues keeps the structure of a generated message and replaces
// the text of one leaf: most inputs stay XSD-valid, so the rules see
// borderline dates, amounts and codes rather than parse errors.
//
//	go test ./rules -run '^$' -fuzz FuzzCheckValues -fuzztime 60s
func FuzzCheckValues(f *testing.F) {
	for _, c := range []struct {
		soort       uint8
		seed, which int64
		text        string
	}{
		{0, 1, 20, "2020-02-29"}, {6, 2, 40, "0"}, {13, 3, 30, "C"}, {20, 4, 25, "999999999"}, {5, 5, 17, "1"},
	} {
		f.Add(c.soort, c.seed, c.which, c.text)
	}
	all := bericht.All()
	f.Fuzz(func(t *testing.T, soort uint8, seed, which int64, text string) {
		s := all[int(soort)%len(all)]
		m, err := sample.New(seed).Generate(s, sample.Options{Clients: 2, Products: 2})
		require.NoError(t, err)
		leaves := leafText.FindAllSubmatchIndex(m.XML, -1)
		if len(leaves) == 0 {
			return
		}
		k := int(uint64(which) % uint64(len(leaves)))
		at := leaves[k]
		msg := append(append(append([]byte{}, m.XML[:at[2]]...), text...), m.XML[at[3]:]...)
		checkAny(t, msg)
	})
}
