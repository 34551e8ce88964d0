package bericht

import (
	"encoding/xml"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestWriter(t *testing.T) {
	s, ok := Lookup("JW305")
	require.True(t, ok)
	w := NewWriter(s, 0)
	w.Open("Header")
	w.Leaf("Afzender", "a&b")
	w.Open("BerichtIdentificatie")
	w.BasisLeaf("Identificatie", "<x>")
	w.BasisDate("Dagtekening", time.Date(2026, 3, 4, 15, 0, 0, 0, time.UTC))
	w.Close("BerichtIdentificatie")
	w.Int("Bedrag", -42)
	w.Date("Datum", time.Date(2025, 12, 31, 0, 0, 0, 0, time.UTC))
	w.BasisOpen("Periode")
	w.BasisInt("Aantal", 7)
	w.BasisClose("Periode")
	w.Close("Header")
	require.True(t, strings.HasSuffix(string(w.Bytes()), "\t</jw305:Header>"), "Bytes is the document so far")

	want := `<?xml version="1.0" encoding="UTF-8"?>
<jw305:Bericht xmlns:jw305="` + s.Namespace + `" xmlns:ijw="` + BasisNamespace(IJw, s.Release) + `">
	<jw305:Header>
		<jw305:Afzender>a&amp;b</jw305:Afzender>
		<jw305:BerichtIdentificatie>
			<ijw:Identificatie>&lt;x&gt;</ijw:Identificatie>
			<ijw:Dagtekening>2026-03-04</ijw:Dagtekening>
		</jw305:BerichtIdentificatie>
		<jw305:Bedrag>-42</jw305:Bedrag>
		<jw305:Datum>2025-12-31</jw305:Datum>
		<ijw:Periode>
			<ijw:Aantal>7</ijw:Aantal>
		</ijw:Periode>
	</jw305:Header>
</jw305:Bericht>
`
	assert.Equal(t, want, string(w.Finish()))
}

// TestWriterNamespaces: for every berichtsoort the root and both prefixes
// resolve to the namespaces a parser expects.
func TestWriterNamespaces(t *testing.T) {
	for _, s := range All() {
		t.Run(s.Name, func(t *testing.T) {
			w := NewWriter(s, 64)
			w.Open("Header")
			w.BasisLeaf("Identificatie", "1")
			w.Close("Header")
			var doc struct {
				XMLName xml.Name
				Header  struct {
					XMLName xml.Name
					ID      struct{ XMLName xml.Name } `xml:"Identificatie"`
				} `xml:"Header"`
			}
			require.NoError(t, xml.Unmarshal(w.Finish(), &doc))
			assert.Equal(t, xml.Name{Space: s.Namespace, Local: "Bericht"}, doc.XMLName)
			assert.Equal(t, s.Namespace, doc.Header.XMLName.Space)
			assert.Equal(t, BasisNamespace(s.Standard, s.Release), doc.Header.ID.XMLName.Space)
		})
	}
}

func TestAppendEscaped(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"gewoon", "gewoon"},
		{`a & b < c > d "e" 'f'`, "a &amp; b &lt; c &gt; d &quot;e&quot; &apos;f&apos;"},
		{"Çelik Nguyễn", "Çelik Nguyễn"},
		{"bel\x00l\x1f", "bel\uFFFDl\uFFFD"},
		{"tab\there\nnl", "tab\there\nnl"},
		{"bad\xffutf8", "bad\uFFFDutf8"},
		{"\uFFFE\uFFFF", "\uFFFD\uFFFD"},
		{"\xed\xa0\x80", "\uFFFD\uFFFD\uFFFD"}, // an encoded surrogate half
		{"]]>", "]]&gt;"},
	} {
		assert.Equal(t, tc.want, string(appendEscaped(nil, tc.in)), "%q", tc.in)
	}
}

// FuzzAppendEscaped: whatever a caller puts in a text field, the element
// stays well-formed XML and reads back as the input with only characters
// XML cannot carry replaced.
func FuzzAppendEscaped(f *testing.F) {
	for _, s := range []string{"", "a&b", "<x>", "\x00", "\xff", "Zoë", "]]>", "\r\n", "d'Ancona", "\xed\xa0\x80"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		doc := append([]byte("<a>"), appendEscaped(nil, s)...)
		doc = append(doc, "</a>"...)
		var v struct {
			Text string `xml:",chardata"`
		}
		require.NoError(t, xml.Unmarshal(doc, &v), "%q", s)
		want := strings.ReplaceAll(string(appendEscaped(nil, s)), "\r\n", "\n")
		want = strings.NewReplacer("&amp;", "&", "&lt;", "<", "&gt;", ">", "&quot;", `"`, "&apos;", "'", "\r", "\n").Replace(want)
		require.Equal(t, want, v.Text)
		require.Equal(t, len([]rune(s)), len([]rune(v.Text))+strings.Count(s, "\r\n"), "%q", s)
	})
}
