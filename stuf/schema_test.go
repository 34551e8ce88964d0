package stuf_test

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/lestrrat-go/libxml2"
	"github.com/lestrrat-go/libxml2/parser"
	libxsd "github.com/lestrrat-go/libxml2/xsd"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/knooppunt/knooppunt/sample"
	"github.com/knooppunt/knooppunt/stuf"
)

const officialGGK = "../../shared/istandaarden/stuf-ggk-2.1"

// official loads the published StUF-GGk schema (Di01, Du01) and StUF 03.01
// (Fo01) from ../shared, or skips.
func official(t *testing.T) (ggk, stuf0301 *libxsd.Schema) {
	t.Helper()
	schemas(t) // libxml2's first use, sequentially
	path := filepath.Join(officialGGK, "schemas/ggk0310_21/ggkberichten/ggk0310_msg.xsd")
	if _, err := os.Stat(path); err != nil {
		t.Skipf("skipping the differential test against the official StUF-GGk schemas: %s not found", path)
	}
	ggk, err := libxsd.ParseFromFile(path)
	require.NoError(t, err)
	t.Cleanup(ggk.Free)
	stuf0301, err = libxsd.ParseFromFile(filepath.Join(officialGGK, "schemas/0301/stuf0301.xsd"))
	require.NoError(t, err)
	t.Cleanup(stuf0301.Free)
	return ggk, stuf0301
}

func officialValid(t *testing.T, s *libxsd.Schema, el []byte) bool {
	t.Helper()
	doc, err := libxml2.Parse(el, parser.XMLParseNoNet|parser.XMLParseNoError|parser.XMLParseNoWarning)
	if err != nil {
		return false
	}
	defer doc.Free()
	return s.Validate(doc) == nil
}

// TestSchemaDifferential holds the project's envelope schema to the
// official one: the published examples and the switch's own envelopes are
// valid under both, and each mutation is refused by both.
func TestSchemaDifferential(t *testing.T) {
	ggk, stuf0301 := official(t)
	_, own := schemas(t)
	m, err := sample.New(4).Heen(soort(t, "JW301"), sample.Options{Afzender: "0363"})
	require.NoError(t, err)
	di01, err := envelopeFor(m, "0363", m.Header.Ontvanger, "").Marshal()
	require.NoError(t, err)
	du01, err := envelopeFor(m, "0363", m.Header.Ontvanger, stuf.NewUUID()).Marshal()
	require.NoError(t, err)
	fo01 := (&stuf.Fo01{
		Zender: stuf.Party{Organisatie: "KNOOPPUNT", Applicatie: "Knooppunt"}, Ontvanger: stuf.Party{Organisatie: "0363", Applicatie: "Wmo app"},
		Referentienummer: stuf.NewUUID(), TijdstipBericht: stuf.Tijdstip(time.Now()), CrossRefnummer: stuf.NewUUID(),
		Fault: stuf.Fault{Code: "IB210", Place: "client", Description: "Ontvangende organisatie onbekend", Details: "WMO301-00010000"},
	}).Marshal()
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join(officialGGK, name))
		require.NoError(t, err)
		return b
	}
	mut := func(src []byte, re, repl string) []byte {
		out := regexp.MustCompile(re).ReplaceAll(src, []byte(repl))
		require.NotEqual(t, src, out, re)
		return out
	}
	cases := []struct {
		name  string
		el    []byte
		fo    bool // a StUF 03.01 message, checked against stuf0301.xsd
		valid bool
	}{
		{"published Di01", read("ggk_Di01.xml"), false, true},
		{"published Du01", read("ggk_Du01.xml"), false, true},
		{"published Fo01", read("Fo01_ggk0210.xml"), true, true},
		{"own Di01", di01, false, true},
		{"own Du01", du01, false, true},
		{"own Fo01", fo01, true, true},
		{"Di01 without functie", mut(di01, `<StUF:functie>[^<]*</StUF:functie>`, ``), false, false},
		{"Di01 with berichtcode Du01", mut(di01, `>Di01<`, `>Du01<`), false, false},
		{"Di01 with crossRefnummer", mut(di01, `<StUF:functie>`, `<StUF:crossRefnummer>x</StUF:crossRefnummer><StUF:functie>`), false, false},
		{"Du01 without crossRefnummer", mut(du01, `<StUF:crossRefnummer>[^<]*</StUF:crossRefnummer>`, ``), false, false},
		{"versie of 3 digits", mut(di01, `<GGK:functieVersie>0001<`, `<GGK:functieVersie>001<`), false, false},
		{"versie not digits", mut(di01, `<GGK:functieVersie>0001<`, `<GGK:functieVersie>00a1<`), false, false},
		{"tijdstip not digits", mut(di01, `<StUF:tijdstipBericht>[^<]*<`, `<StUF:tijdstipBericht>2016-04-21<`), false, false},
		{"tijdstip too short", mut(di01, `<StUF:tijdstipBericht>[^<]*<`, `<StUF:tijdstipBericht>2016042<`), false, false},
		{"no contentType", mut(di01, ` xmime:contentType="application/xml"`, ``), false, false},
		// libxml2 accepts this base64Binary under both schemas; the
		// handler's decoder refuses it (TestEnvelopeErrors).
		{"bericht not base64", mut(di01, `(<GGK:bericht[^>]*>)`, `${1}!!`), false, true},
		{"zender without organisatie", mut(di01, `<StUF:zender><StUF:organisatie>0363</StUF:organisatie>`, `<StUF:zender>`), false, false},
		{"applicatie of 2 characters", mut(di01, `<StUF:applicatie>GGk<`, `<StUF:applicatie>GG<`), false, false},
		{"referentienummer of 41 characters", mut(di01, `<StUF:referentienummer>[^<]*<`, `<StUF:referentienummer>`+string(bytes.Repeat([]byte("a"), 41))+`<`), false, false},
		{"unknown element", mut(di01, `<GGK:applicatieVersie>`, `<GGK:extra/><GGK:applicatieVersie>`), false, false},
		{"wrong namespace", mut(di01, `sectormodel/ggk/0210`, `sectormodel/ggk/0211`), false, false},
		{"Fo01 with plek elders", mut(fo01, `<StUF:plek>client<`, `<StUF:plek>elders<`), true, false},
		{"Fo01 code of 8 characters", mut(fo01, `<StUF:code>IB210<`, `<StUF:code>IB210000<`), true, false},
		{"Fo01 without crossRefnummer", mut(fo01, `<StUF:crossRefnummer>[^<]*</StUF:crossRefnummer>`, ``), true, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ref := ggk
			if c.fo {
				ref = stuf0301
			}
			assert.Equal(t, c.valid, officialValid(t, ref, c.el), "official schema")
			err := own.ValidateEnvelope(c.el)
			if c.valid {
				assert.NoError(t, err, "own schema")
			} else {
				var f *stuf.Fault
				require.ErrorAs(t, err, &f, "own schema")
				assert.Equal(t, stuf.CodeEnvelope, f.Code)
			}
		})
	}
}
