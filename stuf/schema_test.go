package stuf_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/knooppunt/knooppunt/sample"
	"github.com/knooppunt/knooppunt/stuf"
	"github.com/knooppunt/knooppunt/xsd"
)

const officialGGK = "../../shared/istandaarden/stuf-ggk-2.1"

// official loads the published StUF-GGk schema (Di01, Du01) and StUF 03.01
// (Fo01) from ../shared, or skips.
func official(t *testing.T) (ggk, stuf0301 *xsd.Schema) {
	t.Helper()
	path := filepath.Join(officialGGK, "schemas/ggk0310_21/ggkberichten/ggk0310_msg.xsd")
	if _, err := os.Stat(path); err != nil {
		t.Skipf("skipping the differential test against the official StUF-GGk schemas: %s not found", path)
	}
	ggk, err := xsd.CompileFile(path)
	require.NoError(t, err)
	t.Cleanup(func() { ggk.Close() })
	stuf0301, err = xsd.CompileFile(filepath.Join(officialGGK, "schemas/0301/stuf0301.xsd"))
	require.NoError(t, err)
	t.Cleanup(func() { stuf0301.Close() })
	return ggk, stuf0301
}

// officialValid is the official schema's verdict; anything but a schema
// violation (a document that does not parse) fails the test.
func officialValid(t *testing.T, s *xsd.Schema, el []byte) bool {
	t.Helper()
	err := s.Validate(el)
	if err == nil {
		return true
	}
	var e *xsd.Error
	require.ErrorAs(t, err, &e)
	require.Equal(t, xsd.CodeInvalid, e.Code, err.Error())
	return false
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
		{"versie of 3 digits", mut(di01, `<GGK:functieVersie>[0-9]{4}<`, `<GGK:functieVersie>001<`), false, false},
		{"versie not digits", mut(di01, `<GGK:functieVersie>[0-9]{4}<`, `<GGK:functieVersie>00a1<`), false, false},
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

// TestEnvelopeRefusals: a refused envelope is a RIN001 client fault; a
// schema violation's details name every violation with its line and column.
func TestEnvelopeRefusals(t *testing.T) {
	_, own := schemas(t)
	m, err := sample.New(4).Heen(soort(t, "JW301"), sample.Options{Afzender: "0363"})
	require.NoError(t, err)
	di01, err := envelopeFor(m, "0363", m.Header.Ontvanger, "").Marshal()
	require.NoError(t, err)
	di01 = bytes.Replace(di01, []byte("<StUF:zender>"), []byte("\n<StUF:zender>"), 1)
	require.NoError(t, own.ValidateEnvelope(di01))

	bad := regexp.MustCompile(`<GGK:functieVersie>[0-9]{4}<`).ReplaceAll(di01, []byte("<GGK:functieVersie>001<"))
	bad = bytes.Replace(bad, []byte("<StUF:applicatie>GGk<"), []byte("<StUF:applicatie>GG<"), 1)
	var f *stuf.Fault
	require.ErrorAs(t, own.ValidateEnvelope(bad), &f)
	assert.Equal(t, stuf.CodeEnvelope, f.Code)
	assert.Equal(t, stuf.PlaceClient, f.Place)
	found := regexp.MustCompile(`(?:^|; )regel ([0-9]+) kolom ([0-9]+): Element '\{[^}]*\}(functieVersie|applicatie)'`).FindAllStringSubmatch(f.Details, -1)
	require.Len(t, found, 2, f.Details)
	for _, v := range found {
		el := "<StUF:applicatie>GG<"
		if v[3] == "functieVersie" {
			el = "<GGK:functieVersie>001<"
		}
		off := bytes.Index(bad, []byte(el))
		line := 2 // ValidateEnvelope's SOAP wrapper starts on line 1 and adds no line
		col := len(bad[bytes.LastIndexByte(bad[:off], '\n')+1:off]) + 1
		assert.Equal(t, []string{strconv.Itoa(line), strconv.Itoa(col)}, v[1:3], v[0])
	}

	soap := append(append([]byte(`<soap:Envelope xmlns:soap="`+stuf.NSSOAP+`"><soap:Body>`), di01...), `</soap:Body></soap:Envelope>`...)
	require.NoError(t, own.Validate(soap))
	for name, doc := range map[string][]byte{
		"DOCTYPE":         append([]byte(`<!DOCTYPE x [<!ENTITY a "b">]>`), soap...),
		"not well-formed": soap[:len(soap)-10],
	} {
		f = nil
		require.ErrorAs(t, own.Validate(doc), &f, name)
		assert.Equal(t, stuf.CodeEnvelope, f.Code, name)
		assert.Empty(t, f.Details, name)
	}
}

// TestEnvelopeSchemaClosed: after Close, validation is refused, and not
// as the sender's fault.
func TestEnvelopeSchemaClosed(t *testing.T) {
	s, err := stuf.LoadSchema()
	require.NoError(t, err)
	require.NoError(t, s.Close())
	require.NoError(t, s.Close())
	err = s.Validate([]byte(`<soap:Envelope xmlns:soap="` + stuf.NSSOAP + `"><soap:Body/></soap:Envelope>`))
	require.Error(t, err)
	var f *stuf.Fault
	assert.False(t, errors.As(err, &f), "a closed schema is no fault of the sender")
}
