package xsd

import (
	"bytes"
	"encoding/xml"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/knooppunt/knooppunt/bericht"
	"github.com/knooppunt/knooppunt/sample"
)

// oracleElem is an element as encoding/xml sees it.
type oracleElem struct {
	name   string
	parent int
	text   string // character data directly inside, for leaves
	leaf   bool
	line   int
}

// oracleTree reads msg with encoding/xml, independent of libxml2.
func oracleTree(t testing.TB, msg []byte) []oracleElem {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(msg))
	var out []oracleElem
	var stack []int
	var text strings.Builder
	line, at := 1, int64(0)
	for {
		off := d.InputOffset()
		tok, err := d.Token()
		if err != nil {
			break
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			parent := -1
			if len(stack) > 0 {
				parent = stack[len(stack)-1]
				out[parent].leaf = false
			}
			line += bytes.Count(msg[at:off], []byte{'\n'})
			at = off
			out = append(out, oracleElem{name: tok.Name.Local, parent: parent, leaf: true, line: line})
			stack = append(stack, len(out)-1)
			text.Reset()
		case xml.CharData:
			text.Write(tok)
		case xml.EndElement:
			i := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if out[i].leaf {
				out[i].text = text.String()
			}
			text.Reset()
		}
	}
	return out
}

func requireSameTree(t *testing.T, msg []byte, tree *bericht.Tree) {
	t.Helper()
	want := oracleTree(t, msg)
	require.Equal(t, len(want), tree.Len())
	// All, through the name index, finds what a scan of the subtree finds.
	for i := range want {
		if i%7 != 0 && i != 0 {
			continue
		}
		for _, name := range []string{"Client", "Bsn", "Datum", "Code", want[i].name} {
			var scan, got []int
			for c := i; c < tree.End(i); c++ {
				if want[c].name == name {
					scan = append(scan, c)
				}
			}
			for c := range tree.All(i, name) {
				got = append(got, c)
			}
			require.Equal(t, scan, got, "All(%d, %s)", i, name)
		}
	}
	got := make([]oracleElem, tree.Len())
	for i := range got {
		got[i] = oracleElem{name: tree.Name(i), parent: tree.Parent(i), text: tree.Text(i), leaf: tree.End(i) == i+1, line: tree.Line(i)}
		for c := range tree.Children(i) {
			if tree.Parent(c) != i {
				require.Failf(t, "child with another parent", "element %d lists child %d whose parent is %d", i, c, tree.Parent(c))
			}
		}
	}
	require.Equal(t, want, got)
}

func TestValidateTreeMatchesOracle(t *testing.T) {
	s := embeddedSet(t)
	g := sample.New(7)
	for _, soort := range bericht.All() {
		t.Run(soort.Name, func(t *testing.T) {
			m, err := g.Generate(soort, sample.Options{Clients: 2, Products: 3})
			require.NoError(t, err)
			h, tree, err := s.ValidateTree(m.XML)
			require.NoError(t, err)
			want, err := s.Validate(m.XML)
			require.NoError(t, err)
			assert.Equal(t, want, h)
			requireSameTree(t, m.XML, tree)
			assert.Equal(t, "Bericht", tree.Name(0))
			assert.Equal(t, tree.Len(), tree.End(0))
		})
	}
}

func TestValidateTreeTextForms(t *testing.T) {
	s := embeddedSet(t)
	msg := generated(t, "WMO301")
	// CDATA splits the text, and a character reference encodes it.
	msg = bytes.Replace(msg, []byte("<iwmo:Identificatie>"), []byte("<iwmo:Identificatie><![CDATA[]]>"), 1)
	msg = bytes.Replace(msg, []byte("<wmo301:Ontvanger>"), []byte("<wmo301:Ontvanger><![CDATA[]]>"), 1)
	require.Contains(t, string(msg), "CDATA")
	_, tree, err := s.ValidateTree(msg)
	require.NoError(t, err)
	requireSameTree(t, msg, tree)

	id := tree.Child(0, "Header", "BerichtIdentificatie", "Identificatie")
	require.GreaterOrEqual(t, id, 0)
	v, ok := tree.Value(0, "Header", "BerichtIdentificatie", "Identificatie")
	assert.True(t, ok)
	assert.Equal(t, strings.TrimSpace(tree.Text(id)), v)
	assert.Equal(t, "/Bericht/Header/BerichtIdentificatie/Identificatie", tree.Path(id))
	_, ok = tree.Value(0, "Header", "NoSuchElement")
	assert.False(t, ok)
}

func TestValidateTreePathPositions(t *testing.T) {
	s := embeddedSet(t)
	m, err := sample.New(3).Generate(mustSoort(t, "JW323"), sample.Options{Clients: 3, Products: 2})
	require.NoError(t, err)
	_, tree, err := s.ValidateTree(m.XML)
	require.NoError(t, err)
	var paths []string
	for c := range tree.All(0, "Client") {
		paths = append(paths, tree.Path(c))
	}
	assert.Equal(t, []string{"/Bericht/Declaratie/Clienten/Client[1]", "/Bericht/Declaratie/Clienten/Client[2]", "/Bericht/Declaratie/Clienten/Client[3]"}, paths)
}

func TestValidateTreeRefusesLikeValidate(t *testing.T) {
	s := embeddedSet(t)
	msg := generated(t, "WMO301")
	for name, bad := range map[string][]byte{
		"empty":        nil,
		"not-xml":      []byte("<Bericht"),
		"xsd-invalid":  bytes.Replace(msg, []byte("<wmo301:BerichtCode>414</wmo301:BerichtCode>"), []byte("<wmo301:BerichtCode>414</wmo301:BerichtCode><wmo301:Oops/>"), 1),
		"wrong-code":   bytes.Replace(msg, []byte("<wmo301:BerichtCode>414<"), []byte("<wmo301:BerichtCode>436<"), 1),
		"unknown-root": []byte(`<x xmlns="urn:x"/>`),
	} {
		t.Run(name, func(t *testing.T) {
			wantH, wantErr := s.Validate(bad)
			require.Error(t, wantErr)
			h, tree, err := s.ValidateTree(bad)
			assert.Nil(t, tree)
			assert.Equal(t, wantH, h)
			assert.Equal(t, wantErr, err)
		})
	}
}

func mustSoort(t testing.TB, name string) bericht.Soort {
	t.Helper()
	s, ok := bericht.Lookup(name)
	require.True(t, ok, name)
	return s
}

// TestValidateTreeLarge: a document with more elements than any buffer held
// so far (the walk grows its buffer and walks again, and a buffer beyond
// maxPooledNodes is released), and a CDATA section full of '<', give the
// same view as the oracle.
func TestValidateTreeLarge(t *testing.T) {
	if testing.Short() {
		t.Skip("skipped in -short: a 4 MB declaratie")
	}
	s := embeddedSet(t)
	m, err := sample.New(2).Generate(mustSoort(t, "JW323"), sample.Options{Clients: 600, Products: 10})
	require.NoError(t, err)
	_, tree, err := s.ValidateTree(m.XML)
	require.NoError(t, err)
	require.Greater(t, tree.Len(), maxPooledNodes)
	requireSameTree(t, m.XML, tree)

	msg := generated(t, "WMO301")
	msg = bytes.Replace(msg, []byte("<iwmo:Achternaam>"), []byte("<iwmo:Achternaam><![CDATA["+strings.Repeat("<", 100)+"]]>"), 1)
	_, tree, err = s.ValidateTree(msg)
	require.NoError(t, err)
	requireSameTree(t, msg, tree)
}
