package sample

import (
	"bytes"
	"encoding/xml"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/knooppunt/knooppunt/bericht"
)

// parsedHeader reads a header back by local names, whatever the namespace.
type parsedHeader struct {
	BerichtCode, BerichtVersie, BerichtSubversie string
	Afzender, Ontvanger                          string
	Identificatie                                string   `xml:"BerichtIdentificatie>Identificatie"`
	Dagtekening                                  string   `xml:"BerichtIdentificatie>Dagtekening"`
	BasisschemaXsdVersie                         string   `xml:"XsdVersie>BasisschemaXsdVersie"`
	BerichtXsdVersie                             string   `xml:"XsdVersie>BerichtXsdVersie"`
	IdentificatieRetour, DagtekeningRetour       string   //
	DeclaratieIdentificatie                      string   `xml:"DeclaratieIdentificatie>Identificatie"`
	DeclaratieDagtekening                        string   `xml:"DeclaratieIdentificatie>Dagtekening"`
	RetourCodes                                  []string `xml:"RetourCodes>RetourCode"`
}

func parseHeader(t *testing.T, msg []byte) parsedHeader {
	t.Helper()
	var d struct {
		Header parsedHeader `xml:"Header"`
	}
	require.NoError(t, xml.Unmarshal(msg, &d))
	return d.Header
}

// leaves returns every simple element as local name → texts, in order.
func leaves(t *testing.T, msg []byte) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	dec := xml.NewDecoder(bytes.NewReader(msg))
	var name string
	var text []byte
	for {
		tok, err := dec.Token()
		if err != nil {
			break
		}
		switch tk := tok.(type) {
		case xml.StartElement:
			name, text = tk.Name.Local, nil
		case xml.CharData:
			text = append(text, tk...)
		case xml.EndElement:
			if name == tk.Name.Local {
				out[name] = append(out[name], string(text))
			}
			name = ""
		}
	}
	return out
}

func TestHeaderMatchesXML(t *testing.T) {
	g := New(7)
	for _, s := range bericht.All() {
		m, err := g.Generate(s, Options{})
		require.NoError(t, err, s.Name)
		p := parseHeader(t, m.XML)
		h := m.Header
		assert.Equal(t, s.Code, p.BerichtCode, s.Name)
		assert.Equal(t, "3", p.BerichtVersie, s.Name)
		assert.Equal(t, "2", p.BerichtSubversie, s.Name)
		assert.Equal(t, h.Afzender, p.Afzender, s.Name)
		assert.Equal(t, h.Ontvanger, p.Ontvanger, s.Name)
		assert.Equal(t, h.Identificatie, p.Identificatie, s.Name)
		assert.Equal(t, h.Dagtekening, p.Dagtekening, s.Name)
		assert.Equal(t, h.IdentificatieRetour, p.IdentificatieRetour, s.Name)
		assert.Equal(t, h.DagtekeningRetour, p.DagtekeningRetour, s.Name)
		assert.Equal(t, h.DeclaratieIdentificatie, p.DeclaratieIdentificatie, s.Name)
		assert.Equal(t, h.DeclaratieDagtekening, p.DeclaratieDagtekening, s.Name)
		want := "1.0.0"
		if s.Standard == bericht.IJw {
			want = "0.1.0"
		}
		assert.Equal(t, want, p.BerichtXsdVersie, s.Name)
		assert.Equal(t, want, p.BasisschemaXsdVersie, s.Name)
		// The header names parties of the right kind: 4-digit gemeente,
		// 8-digit AGB, in the direction the berichtsoort has.
		wantLen := map[bericht.Role]int{bericht.Gemeente: 4, bericht.Aanbieder: 8}
		assert.Len(t, h.Afzender, wantLen[s.HeaderAfzender()], s.Name)
		assert.Len(t, h.Sender(), wantLen[s.Sender], s.Name)
		assert.Len(t, h.Recipient(), wantLen[s.Receiver], s.Name)
	}
}

func TestElfproef(t *testing.T) {
	for _, tc := range []struct {
		bsn  string
		want bool
	}{
		{"111222333", true},
		{"123456782", true},
		{"123456789", false},
		{"000000000", false},
		{"12345678", false},
		{"1234567820", false},
		{"12345678a", false},
	} {
		assert.Equal(t, tc.want, Elfproef(tc.bsn), tc.bsn)
	}
	g := New(3)
	for range 10000 {
		bsn := g.BSN()
		require.True(t, Elfproef(bsn), bsn)
	}
}

func TestEveryBSNPassesElfproef(t *testing.T) {
	for seed := range 20 {
		g := New(int64(seed))
		for _, s := range bericht.All() {
			m, err := g.Generate(s, Options{Clients: 3, Products: 3})
			require.NoError(t, err)
			for _, bsn := range leaves(t, m.XML)["Bsn"] {
				require.True(t, Elfproef(bsn), "%s seed %d: %s", s.Name, seed, bsn)
			}
		}
	}
}

// body is what follows the header, with the message prefix made neutral
// and the retour's RetourCodes taken out.
var retourCodesRE = regexp.MustCompile(`(?s)\s*<[a-z0-9]+:RetourCodes>.*?</[a-z0-9]+:RetourCodes>`)

func body(msg []byte, prefix string) string {
	s := string(msg)
	s = s[strings.Index(s, "</"+prefix+":Header>"):]
	s = retourCodesRE.ReplaceAllString(s, "")
	return strings.ReplaceAll(s, prefix+":", "msg:")
}

func TestRetourCopiesHeen(t *testing.T) {
	day := time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC)
	for _, s := range heenSoorten() {
		if s.Number == 323 {
			continue
		}
		g := New(11)
		heen, err := g.Heen(s, Options{Dagtekening: day, Products: 3})
		require.NoError(t, err)
		hp := parseHeader(t, heen.XML)
		for _, ao := range []AnswerOptions{{}, {RetourCodes: []string{"0001"}}, {Reject: "9074"}} {
			r, err := g.Answer(heen, ao)
			require.NoError(t, err)
			require.True(t, r.Soort.Retour)
			rp := parseHeader(t, r.XML)
			// The header is the heen's, but for BerichtCode and the retour fields.
			want := hp
			want.BerichtCode = r.Soort.Code
			want.IdentificatieRetour, want.DagtekeningRetour = rp.IdentificatieRetour, rp.DagtekeningRetour
			want.RetourCodes = rp.RetourCodes
			assert.Equal(t, want, rp, s.Name)
			assert.NotEqual(t, hp.Identificatie, rp.IdentificatieRetour)
			assert.GreaterOrEqual(t, rp.DagtekeningRetour, hp.Dagtekening)
			assert.Equal(t, heen.Header.Sender(), r.Header.Recipient(), s.Name)
			assert.Equal(t, heen.Header.Recipient(), r.Header.Sender(), s.Name)

			hprefix, rprefix := strings.ToLower(s.Name), strings.ToLower(r.Soort.Name)
			switch {
			case ao.RetourCodes != nil:
				assert.Equal(t, ao.RetourCodes, rp.RetourCodes)
				assert.NotContains(t, string(r.XML), "<"+rprefix+":Client>")
			case ao.Reject != "":
				assert.Equal(t, []string{"0200"}, rp.RetourCodes)
				assert.Equal(t, body(heen.XML, hprefix), body(r.XML, rprefix), s.Name)
				codes := leaves(t, r.XML)["RetourCode"]
				assert.Contains(t, codes, "9074")
				assert.Equal(t, 1, strings.Count(string(r.XML), ">9074<"), s.Name)
			default: // approved: the header alone, no RetourCodes
				assert.Empty(t, rp.RetourCodes)
				assert.Equal(t, "\n</"+rprefix+":Bericht>\n", string(r.XML[strings.Index(string(r.XML), "</"+rprefix+":Header>")+len("</"+rprefix+":Header>"):]))
			}
		}
	}
}

func atoi(t *testing.T, s string) int64 {
	t.Helper()
	n, err := strconv.ParseInt(s, 10, 64)
	require.NoError(t, err)
	return n
}

type bedrag struct {
	Bedrag, TotaalBedrag int64
	DebetCredit          string
}

func (b bedrag) signed(total bool) int64 {
	v := b.Bedrag
	if total {
		v = b.TotaalBedrag
	}
	if b.DebetCredit == "C" {
		return -v
	}
	return v
}

type decl struct {
	Nummer     string `xml:"DeclaratieNummer"`
	Begin      string `xml:"DeclaratiePeriode>Begindatum"`
	Eind       string `xml:"DeclaratiePeriode>Einddatum"`
	Totaal     bedrag `xml:"TotaalIngediendBedrag"`
	Toegekend  bedrag `xml:"TotaalToegekendBedrag"`
	Prestaties []struct {
		Referentie string `xml:"ProductReferentie>ReferentieNummer"`
		Vorig      string `xml:"ProductReferentie>VorigReferentieNummer"`
		Begin      string `xml:"ProductPeriode>Begindatum"`
		Eind       string `xml:"ProductPeriode>Einddatum"`
		Volume     int64  `xml:"GeleverdVolume"`
		Eenheid    string
		Tarief     int64  `xml:"ProductTarief"`
		Bedrag     bedrag `xml:"IngediendBedrag"`
		RetourCode string `xml:"RetourCodes>RetourCode"`
	} `xml:"Clienten>Client>Prestaties>Prestatie"`
	RetourCode string `xml:"RetourCodes>RetourCode"`
}

func TestDeclaratieSumsAndAnswer(t *testing.T) {
	for seed := range 50 {
		g := New(int64(seed))
		for _, name := range []string{"WMO323", "JW323"} {
			s, _ := bericht.Lookup(name)
			heen, err := g.Heen(s, Options{Clients: 1 + seed%4, Products: 1 + seed%5})
			require.NoError(t, err)
			var d struct {
				D decl `xml:"Declaratie"`
			}
			require.NoError(t, xml.Unmarshal(heen.XML, &d))
			dc := d.D
			var sum int64
			refs := map[string]bool{}
			for _, p := range dc.Prestaties {
				sum += p.Bedrag.signed(false)
				require.False(t, refs[p.Referentie], "duplicate ReferentieNummer")
				refs[p.Referentie] = true
				assert.Equal(t, p.Bedrag.DebetCredit == "C", p.Vorig != "", "CD060")
				if p.Eenheid == "83" {
					assert.Equal(t, p.Volume, p.Bedrag.Bedrag, "CS339")
					assert.Zero(t, p.Tarief, "CD087")
				} else {
					assert.Equal(t, p.Volume*p.Tarief, p.Bedrag.Bedrag, "TR346")
				}
				if p.Bedrag.DebetCredit == "D" {
					assert.Equal(t, dc.Begin, p.Begin)
					assert.Equal(t, dc.Eind, p.Eind)
				}
				pb, _ := time.Parse(dateLayout, p.Begin)
				pe, _ := time.Parse(dateLayout, p.Eind)
				assert.Equal(t, 1, pb.Day(), "TR387")
				assert.Equal(t, pb.AddDate(0, 1, -1), pe, "TR388/CS337")
			}
			require.Equal(t, sum, dc.Totaal.signed(true), "TR358")
			if dc.Totaal.TotaalBedrag == 0 {
				assert.Equal(t, "D", dc.Totaal.DebetCredit, "CS325")
			}
			assert.LessOrEqual(t, dc.Eind, heen.Header.Dagtekening, "TR137")
			assert.Equal(t, len(dc.Prestaties), (1+seed%4)*(1+seed%5))

			// Fully approved 325: 8001, toegekend = ingediend, no prestaties.
			a, err := g.Answer(heen, AnswerOptions{})
			require.NoError(t, err)
			require.Equal(t, 325, a.Soort.Number)
			ap := parseHeader(t, a.XML)
			assert.Equal(t, heen.Header.Afzender, ap.Ontvanger)
			assert.Equal(t, heen.Header.Ontvanger, ap.Afzender)
			assert.Equal(t, heen.Header.Identificatie, ap.DeclaratieIdentificatie)
			assert.Equal(t, heen.Header.Dagtekening, ap.DeclaratieDagtekening)
			assert.NotEqual(t, heen.Header.Identificatie, ap.Identificatie)
			assert.Equal(t, []string{"0200"}, ap.RetourCodes)
			var ad struct {
				D decl `xml:"DeclaratieAntwoord"`
			}
			require.NoError(t, xml.Unmarshal(a.XML, &ad))
			assert.Equal(t, dc.Nummer, ad.D.Nummer)
			assert.Equal(t, dc.Totaal, ad.D.Totaal)
			assert.Equal(t, dc.Totaal.signed(true), ad.D.Toegekend.signed(true))
			assert.Equal(t, "8001", ad.D.RetourCode)
			assert.Empty(t, ad.D.Prestaties)

			// One rejected prestatie: listed with its code, subtracted.
			a, err = g.Answer(heen, AnswerOptions{Reject: "9307"})
			require.NoError(t, err)
			require.NoError(t, xml.Unmarshal(a.XML, &ad))
			require.Len(t, ad.D.Prestaties, 1)
			rejected := ad.D.Prestaties[0]
			assert.Equal(t, "9307", rejected.RetourCode)
			assert.Equal(t, dc.Prestaties[0].Referentie, rejected.Referentie)
			assert.Equal(t, dc.Totaal.signed(true)-rejected.Bedrag.signed(false), ad.D.Toegekend.signed(true))
		}
	}
}

// TestProductRules checks the Omvang/Budget/Einddatum conditions on every
// product line of 301, 315 and 317.
func TestProductRules(t *testing.T) {
	type prod struct {
		Categorie               string `xml:"Product>Categorie"`
		Code                    string `xml:"Product>Code"`
		Ingang                  string `xml:"Ingangsdatum"`
		Eind                    string `xml:"Einddatum"`
		TIngang                 string `xml:"ToewijzingIngangsdatum"`
		TEind                   string `xml:"ToewijzingEinddatum"`
		Gewenst                 string `xml:"GewensteIngangsdatum"`
		Volume                  string `xml:"Omvang>Volume"`
		Eenheid                 string `xml:"Omvang>Eenheid"`
		Frequentie              string `xml:"Omvang>Frequentie"`
		Budget                  string `xml:"Budget"`
		BeschikkingNummer       string `xml:"BeschikkingNummer"`
		BeschikkingIngangsdatum string `xml:"BeschikkingIngangsdatum"`
		Verwijzer               struct{ Type, Naam, ZorgverlenerCode string }
	}
	for seed := range 60 {
		g := New(int64(seed))
		for _, name := range []string{"WMO301", "JW301", "WMO315", "JW315", "WMO317", "JW317"} {
			s, _ := bericht.Lookup(name)
			m, err := g.Heen(s, Options{Products: 4})
			require.NoError(t, err)
			var d struct {
				Toegewezen  []prod   `xml:"Client>ToegewezenProducten>ToegewezenProduct"`
				Aangevraagd []prod   `xml:"Client>AangevraagdeProducten>AangevraagdProduct"`
				TeWijzigen  []prod   `xml:"Client>Verzoek>TeWijzigenProducten>TeWijzigenProduct"`
				Nieuw       []prod   `xml:"Client>Verzoek>NieuweProducten>NieuwProduct"`
				Ongewijzigd []string `xml:"Client>Verzoek>OngewijzigdeProducten>OngewijzigdProduct>ToewijzingNummer"`
			}
			require.NoError(t, xml.Unmarshal(m.XML, &d))
			all := append(append(append(d.Toegewezen, d.Aangevraagd...), d.TeWijzigen...), d.Nieuw...)
			require.Equal(t, 4, len(all)+len(d.Ongewijzigd), name)
			codes := map[string]bool{}
			// TR302, TR386, TR410: a line without ProductCode stands for its
			// whole category, so no other line may share that category.
			lines := map[string]int{}
			categoryOnly := map[string]bool{}
			for _, p := range all {
				if p.Categorie != "" {
					lines[p.Categorie]++
					categoryOnly[p.Categorie] = categoryOnly[p.Categorie] || p.Code == ""
				}
			}
			for cat, only := range categoryOnly {
				if only {
					assert.Equal(t, 1, lines[cat], "%s seed %d: a category-only line of %s beside another line of it", name, seed, cat)
				}
			}
			for _, p := range all {
				begin := p.Ingang + p.TIngang + p.Gewenst
				eind := p.Eind + p.TEind
				if eind != "" {
					assert.LessOrEqual(t, begin, eind, "%s CS003", name)
				}
				assert.False(t, p.Volume != "" && p.Budget != "", "%s CD077/CD078", name)
				if p.Code != "" {
					assert.NotEmpty(t, p.Volume, "%s CD041", name)
					assert.False(t, codes[p.Code], "%s product twice", name)
					codes[p.Code] = true
				} else if s.Number != 317 {
					assert.Empty(t, p.Volume, "%s CD080", name)
				}
				if p.Budget != "" || p.Frequentie == "2" {
					assert.NotEmpty(t, eind, "%s CD075/CD076", name)
				}
				switch p.Eenheid {
				case "14", "16", "83", "84":
					assert.Contains(t, []string{"2", "4", "6"}, p.Frequentie, "%s CS338", name)
				}
				assert.Equal(t, p.BeschikkingNummer != "", p.BeschikkingIngangsdatum != "", "%s CD043", name)
				if s.Number == 317 {
					assert.Greater(t, p.Gewenst, m.Header.Dagtekening, "%s TR380", name)
				}
			}
			for _, p := range d.Aangevraagd {
				v := p.Verwijzer
				switch v.Type {
				case "02", "03", "04", "05":
					assert.True(t, (v.Naam == "") != (v.ZorgverlenerCode == ""), "%s CD066/CD067", name)
				default:
					assert.Empty(t, v.ZorgverlenerCode, "%s CD068", name)
				}
			}
		}
	}
}

func TestDeterministic(t *testing.T) {
	day := time.Date(2026, 5, 4, 0, 0, 0, 0, time.UTC)
	run := func(seed int64) [][]byte {
		g := New(seed)
		var out [][]byte
		for _, s := range bericht.All() {
			m, err := g.Generate(s, Options{Dagtekening: day})
			require.NoError(t, err)
			out = append(out, m.XML)
		}
		return out
	}
	a, b, c := run(42), run(42), run(43)
	require.Equal(t, a, b)
	for i := range a {
		assert.NotEqual(t, a[i], c[i], "seeds 42 and 43 gave the same %s", bericht.All()[i].Name)
	}
}

func TestIdentificatiesDistinct(t *testing.T) {
	g := New(5)
	seen := map[string]bool{}
	for range 100000 {
		id := g.NextID()
		require.Len(t, id, 12)
		require.False(t, seen[id], id)
		seen[id] = true
	}
	// And across messages of one generator, heen and answer alike.
	g = New(5)
	seen = map[string]bool{}
	for range 20 {
		for _, s := range bericht.All() {
			m, err := g.Generate(s, Options{})
			require.NoError(t, err)
			id := m.Header.Identificatie
			if s.Retour {
				id = m.Header.IdentificatieRetour
			}
			require.False(t, seen[id], "%s repeated %s", s.Name, id)
			seen[id] = true
		}
	}
}

func TestDatesNotInFuture(t *testing.T) {
	g := New(9)
	today := time.Now().UTC().Format(dateLayout)
	for _, s := range bericht.All() {
		m, err := g.Generate(s, Options{})
		require.NoError(t, err)
		l := leaves(t, m.XML)
		for _, name := range []string{"Dagtekening", "DagtekeningRetour", "Toewijzingsdatum", "Datum", "Begindatum", "DeclaratieDagtekening", "BeschikkingIngangsdatum"} {
			for _, v := range l[name] {
				assert.LessOrEqual(t, v, today, "%s %s", s.Name, name)
			}
		}
		if s.Number == 307 || s.Number == 308 {
			for _, v := range l["Einddatum"] {
				assert.LessOrEqual(t, v, today, "%s TR134", s.Name)
			}
		}
	}
}

func TestOptionsAreHonoured(t *testing.T) {
	day := time.Date(2025, 12, 31, 0, 0, 0, 0, time.UTC)
	s, _ := bericht.Lookup("JW305")
	m, err := New(1).Generate(s, Options{Afzender: "87654321", Ontvanger: "0599", Identificatie: "MIJN-ID", Dagtekening: day, Products: 5})
	require.NoError(t, err)
	p := parseHeader(t, m.XML)
	assert.Equal(t, "87654321", p.Afzender)
	assert.Equal(t, "0599", p.Ontvanger)
	assert.Equal(t, "MIJN-ID", p.Identificatie)
	assert.Equal(t, "2025-12-31", p.Dagtekening)
	assert.Len(t, leaves(t, m.XML)["StatusAanlevering"], 5)

	// For a retour the parties and identificatie are those of its header.
	s, _ = bericht.Lookup("WMO302")
	m, err = New(1).Generate(s, Options{Afzender: "0599", Ontvanger: "12345678", Identificatie: "HEEN1"})
	require.NoError(t, err)
	p = parseHeader(t, m.XML)
	assert.Equal(t, []string{"0599", "12345678", "HEEN1"}, []string{p.Afzender, p.Ontvanger, p.Identificatie})
	assert.Equal(t, "12345678", m.Header.Sender())

	// For a 325 they are its own.
	s, _ = bericht.Lookup("JW325")
	m, err = New(1).Generate(s, Options{Afzender: "0599", Ontvanger: "12345678", Identificatie: "ANTW1"})
	require.NoError(t, err)
	p = parseHeader(t, m.XML)
	assert.Equal(t, []string{"0599", "12345678", "ANTW1"}, []string{p.Afzender, p.Ontvanger, p.Identificatie})
}

func TestErrors(t *testing.T) {
	g := New(1)
	s, _ := bericht.Lookup("WMO302")
	_, err := g.Heen(s, Options{})
	require.ErrorContains(t, err, "not a heenbericht")
	_, err = g.Heen(bericht.Soort{Name: "X"}, Options{})
	require.ErrorContains(t, err, "unknown berichtsoort")
	_, err = g.Answer(&Message{}, AnswerOptions{})
	require.ErrorContains(t, err, "not made by Heen")
	_, err = g.Generate(bericht.Soort{Name: "Y", Retour: true, Pair: "NOPE"}, Options{})
	require.ErrorContains(t, err, "unknown berichtsoort")
}

func BenchmarkGenerate(b *testing.B) {
	for _, tc := range []struct {
		name string
		opt  Options
	}{
		{"WMO301", Options{Products: 3}},
		{"JW305", Options{Products: 3}},
		{"WMO302", Options{Products: 3}},
		{"JW323", Options{Clients: 10, Products: 3}},
		{"WMO325", Options{Clients: 10, Products: 3}},
	} {
		s, _ := bericht.Lookup(tc.name)
		b.Run(tc.name, func(b *testing.B) {
			g := New(1)
			var size int
			for b.Loop() {
				m, err := g.Generate(s, tc.opt)
				if err != nil {
					b.Fatal(err)
				}
				size = len(m.XML)
			}
			b.ReportMetric(float64(size), "bytes/msg")
		})
	}
}

func TestPermuteIsBijective(t *testing.T) {
	for _, bits := range []uint{8, 12, 29} {
		seen := map[uint64]bool{}
		limit := uint64(1) << min(bits, 16)
		for x := range limit {
			y := permute(x, 0x5eed, bits)
			require.Less(t, y, uint64(1)<<bits)
			require.False(t, seen[y], "bits %d: %d repeats", bits, y)
			seen[y] = true
		}
	}
	g := New(2)
	nummers := map[int]bool{}
	for range 50000 {
		n := g.nextToewijzingNummer()
		require.True(t, n >= 100_000_000 && n <= 999_999_999, n)
		require.False(t, nummers[n], n)
		nummers[n] = true
	}
}
