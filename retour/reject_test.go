package retour_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/knooppunt/knooppunt/bericht"
	"github.com/knooppunt/knooppunt/retour"
	"github.com/knooppunt/knooppunt/rules"
	"github.com/knooppunt/knooppunt/sample"
)

// TestRejectAllSoorten answers a message of each of the 28 berichtsoorten:
// every heenbericht gets the answer of its release, valid against the
// answer's schema (embedded, and official when present), with the header
// the standard prescribes; a retourbericht or 325 is refused.
func TestRejectAllSoorten(t *testing.T) {
	sets := schemaSets(t)
	g := sample.New(5)
	day := time.Date(2026, 11, 28, 15, 4, 5, 0, time.UTC)
	for _, s := range bericht.All() {
		t.Run(s.Name, func(t *testing.T) {
			m, err := g.Generate(s, sample.Options{})
			require.NoError(t, err)
			heen, err := embedded(t).Validate(m.XML)
			require.NoError(t, err)

			r, err := retour.Reject(heen, retour.Options{Date: day})
			if s.Answers() {
				var re *retour.Error
				require.ErrorAs(t, err, &re)
				assert.Equal(t, retour.CodeNoAnswer, re.Code)
				return
			}
			require.NoError(t, err)
			want, ok := bericht.Lookup(s.Pair)
			require.True(t, ok)

			for name, set := range sets {
				got, err := set.Validate(r.XML)
				require.NoError(t, err, "%s schema refuses the answer to %s:\n%s", name, s.Name, r.XML)
				assert.Equal(t, want, got.Soort, name)
				assert.Equal(t, r.Header, got, "%s: the returned header is what the XML says", name)
			}
			h := r.Header
			assert.Equal(t, want.Code, h.BerichtCode)
			assert.LessOrEqual(t, len(r.Codes), 1)
			assert.Equal(t, []string{retour.CodeTechnisch}, r.Codes)
			assert.Contains(t, string(r.XML), "<"+strings.ToLower(want.Name)+":RetourCode>0001<")
			assert.NotContains(t, string(r.XML), "Client>", "a level-2 rejection is the header alone")
			if want.Retour {
				// IV028: everything but BerichtCode copied from the heenbericht.
				copied := heen
				copied.Soort, copied.BerichtCode = want, want.Code
				copied.IdentificatieRetour, copied.DagtekeningRetour = h.IdentificatieRetour, h.DagtekeningRetour
				assert.Equal(t, copied, h)
				assert.Equal(t, "2026-11-28", h.DagtekeningRetour)
				assert.Len(t, h.IdentificatieRetour, 12)
				assert.Equal(t, heen.Sender(), h.Recipient(), "the retour goes back to the heenbericht's sender")
			} else {
				// IV087: the 325 has its own header, parties swapped.
				assert.Equal(t, heen.Ontvanger, h.Afzender)
				assert.Equal(t, heen.Afzender, h.Ontvanger)
				assert.Equal(t, heen.Identificatie, h.DeclaratieIdentificatie)
				assert.Equal(t, heen.Dagtekening, h.DeclaratieDagtekening)
				assert.Equal(t, "2026-11-28", h.Dagtekening)
				assert.NotContains(t, string(r.XML), "DeclaratieAntwoord>", "a rejected declaratie counts as not sent")
				assert.Contains(t, string(r.XML), "<"+strings.ToLower(want.Name)+":XsdVersieDeclaratie>")
			}
			basis, versie := bericht.XsdVersie(want)
			assert.Contains(t, string(r.XML), "<"+string(want.Standard)+":BasisschemaXsdVersie>"+basis+"<")
			assert.Contains(t, string(r.XML), "<"+string(want.Standard)+":BerichtXsdVersie>"+versie+"<")
		})
	}
}

func TestRejectOptions(t *testing.T) {
	set := embedded(t)
	s, _ := bericht.Lookup("JW305")
	m, err := sample.New(1).Heen(s, sample.Options{})
	require.NoError(t, err)
	heen, err := set.Validate(m.XML)
	require.NoError(t, err)

	r, err := retour.Reject(heen, retour.Options{Identificatie: "R-1", Codes: []string{"8848", "9056"}, XsltVersie: "1.2.3"})
	require.NoError(t, err)
	_, err = set.Validate(r.XML)
	require.NoError(t, err, "%s", r.XML)
	assert.Equal(t, "R-1", r.Header.IdentificatieRetour)
	assert.Contains(t, string(r.XML), "<jw306:RetourCode>8848</jw306:RetourCode>")
	assert.Contains(t, string(r.XML), "<jw306:RetourCode>9056</jw306:RetourCode>")
	assert.Contains(t, string(r.XML), "<jw306:XsltVersie>1.2.3</jw306:XsltVersie>")

	for _, tc := range []struct {
		name string
		h    func(bericht.Header) bericht.Header
		opt  retour.Options
		code string
	}{
		{"unknown retourcode", nil, retour.Options{Codes: []string{"1234"}}, retour.CodeBadRetourCode},
		{"identificatie too long", nil, retour.Options{Identificatie: "1234567890123"}, retour.CodeBadOption},
		{"identificatie blank", nil, retour.Options{Identificatie: "  "}, retour.CodeBadOption},
		{"xslt versie", nil, retour.Options{XsltVersie: "1.02.3"}, retour.CodeBadOption},
		{"no berichtsoort", func(h bericht.Header) bericht.Header { h.Soort = bericht.Soort{}; return h }, retour.Options{}, retour.CodeBadHeader},
		{"no afzender", func(h bericht.Header) bericht.Header { h.Afzender = ""; return h }, retour.Options{}, retour.CodeBadHeader},
		{"no xsd versie", func(h bericht.Header) bericht.Header { h.BerichtXsdVersie = ""; return h }, retour.Options{}, retour.CodeBadHeader},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := heen
			if tc.h != nil {
				h = tc.h(h)
			}
			_, err := retour.Reject(h, tc.opt)
			var re *retour.Error
			require.True(t, errors.As(err, &re), "%v", err)
			assert.Equal(t, tc.code, re.Code)
		})
	}
}

// TestRejectEscapes shows that values are written as character data even
// when they did not come through the XSD.
func TestRejectEscapes(t *testing.T) {
	s, _ := bericht.Lookup("WMO301")
	h := bericht.Header{Soort: s, BerichtCode: s.Code, Afzender: "0384", Ontvanger: "42420001",
		Identificatie: "a<b&c>", Dagtekening: "2026-01-01", BasisschemaXsdVersie: "1.0.0", BerichtXsdVersie: "1.0.0"}
	r, err := retour.Reject(h, retour.Options{})
	require.NoError(t, err)
	got, err := embedded(t).Validate(r.XML)
	require.NoError(t, err, "%s", r.XML)
	assert.Equal(t, "a<b&c>", got.Identificatie)
}

func TestNewIdentificatie(t *testing.T) {
	seen := map[string]bool{}
	prev := ""
	for range 50000 {
		id := retour.NewIdentificatie()
		require.Len(t, id, 12)
		require.Equal(t, byte('K'), id[0])
		require.False(t, seen[id], "repeated %s", id)
		require.Greater(t, id, prev, "identifications increase")
		seen[id], prev = true, id
	}
}

func BenchmarkReject(b *testing.B) {
	s, _ := bericht.Lookup("WMO301")
	m, err := sample.New(1).Heen(s, sample.Options{})
	require.NoError(b, err)
	heen := m.Header
	b.ReportAllocs()
	for b.Loop() {
		if _, err := retour.Reject(heen, retour.Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkIngestChecks compares what the switch does per message before
// and after it answers level-2 breaches: Validate alone, ValidateTree with
// the rules (what the gateway then runs), and Reject on top for a breach.
func BenchmarkIngestChecks(b *testing.B) {
	set := embedded(b)
	for _, tc := range []struct {
		name string
		opt  sample.Options
	}{{"WMO301", sample.Options{Products: 3}}, {"WMO323", sample.Options{Clients: 50, Products: 4}}} {
		s, _ := bericht.Lookup(tc.name)
		m, err := sample.New(1).Heen(s, tc.opt)
		require.NoError(b, err)
		b.Run(tc.name+"/validate", func(b *testing.B) {
			for b.Loop() {
				if _, err := set.Validate(m.XML); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(tc.name+"/validate+rules", func(b *testing.B) {
			for b.Loop() {
				h, tree, err := set.ValidateTree(m.XML)
				if err != nil {
					b.Fatal(err)
				}
				_ = rules.Check(h, tree)
			}
		})
		b.Run(tc.name+"/validate+rules+reject", func(b *testing.B) {
			for b.Loop() {
				h, tree, err := set.ValidateTree(m.XML)
				if err != nil {
					b.Fatal(err)
				}
				_ = rules.Check(h, tree)
				if _, err := retour.Reject(h, retour.Options{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
