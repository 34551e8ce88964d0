package stuurinfo

import (
	"bytes"
	"encoding/xml"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/knooppunt/knooppunt/sample"
)

// heenSoorten are the heenberichten of both standards, whose answers make
// up the other fourteen berichtsoorten.
var heenSoorten = []string{"WMO301", "WMO305", "WMO307", "WMO315", "WMO317", "WMO319", "WMO323",
	"JW301", "JW305", "JW307", "JW315", "JW317", "JW319", "JW323"}

// answerOptions are the answers each heenbericht gets in the extraction
// tests: approved, rejected in a class (level 3/4), rejected whole on the
// header (level 2).
var answerOptions = []sample.AnswerOptions{{}, {Reject: "9063"}, {RetourCodes: []string{"0001"}}}

// TestExtractAgreesWithEncodingXML holds the tag scanner to what a real XML
// parser reads from generated messages of all 28 berichtsoorten, answered
// every way, and from declaratie-antwoorden that reject a client or the
// whole declaratie.
func TestExtractAgreesWithEncodingXML(t *testing.T) {
	g := sample.New(31)
	var bodies [][]byte
	for _, name := range heenSoorten {
		for _, opt := range answerOptions {
			m := heen(t, g, name, sample.Options{Products: 2, Clients: 2})
			bodies = append(bodies, m.XML, answer(t, g, m, opt).XML)
		}
	}
	bodies = append(bodies, []byte(antwoordClientRejected), []byte(antwoordRejected))
	for _, body := range bodies {
		got, err := extract(body)
		require.NoError(t, err)
		assert.Equal(t, referenceFacts(t, body), got, "%.200s", body)
	}
}

// TestExtractReadsTheFigures checks the facts of known messages by value:
// parties and dates from the header, starts and stops of first
// aanleveringen only, the 325's rejected lines and amounts.
func TestExtractReadsTheFigures(t *testing.T) {
	g := sample.New(5)
	start := heen(t, g, "WMO305", sample.Options{Afzender: "42420001", Ontvanger: "0606", Products: 3, Dagtekening: date("2026-04-30")})
	f, err := extract(start.XML)
	require.NoError(t, err)
	assert.Equal(t, "42420001", f.afzender)
	assert.Equal(t, "0606", f.ontvanger)
	assert.Equal(t, "2026-04-30", f.dagtekening)
	assert.Equal(t, 3, f.starts)
	assert.Equal(t, int64(3), startsPerCategorie(f), "every start under its ProductCategorie")
	corrected := bytes.Replace(start.XML, []byte("StatusAanlevering>1</"), []byte("StatusAanlevering>3</"), 1)
	f, err = extract(corrected)
	require.NoError(t, err)
	assert.Equal(t, 2, f.starts, "a withdrawal is no start")
	assert.Equal(t, int64(2), startsPerCategorie(f))

	r := answer(t, g, start, sample.AnswerOptions{Reject: "9063", Dagtekening: date("2026-05-06")})
	f, err = extract(r.XML)
	require.NoError(t, err)
	assert.Equal(t, "2026-04-30", f.dagtekening, "the heenbericht's date, copied into the retour's header")
	assert.Equal(t, "2026-05-06", f.dagtekeningRetour)
	assert.True(t, f.afkeur)

	f, err = extract([]byte(antwoordClientRejected))
	require.NoError(t, err)
	assert.Equal(t, 3, f.prestatiesAfgekeurd, "both lines of the rejected client, one of the other")
	assert.Equal(t, int64(10000), f.ingediend)
	assert.Equal(t, int64(-2500), f.toegekend)
	assert.Equal(t, "2026-03-30", f.declaratieDagtekening)
	assert.Equal(t, "2026-04-14", f.dagtekening)
	f, err = extract([]byte(antwoordRejected))
	require.NoError(t, err)
	assert.Equal(t, 2, f.prestatiesAfgekeurd, "the DeclaratieAntwoord's code rejects every line listed")
}

func startsPerCategorie(f facts) int64 {
	var n int64
	for _, c := range f.categories {
		n += c.Starts
	}
	return n
}

// antwoordClientRejected is a 325 (its shape, not a valid message) whose
// first client is rejected (its prestaties 0233) and whose second client
// has one rejected prestatie and one with no remark.
const antwoordClientRejected = `<Bericht xmlns="urn:x"><Header><Afzender>0363</Afzender><Ontvanger>12345678</Ontvanger>
<BerichtIdentificatie><Identificatie>a</Identificatie><Dagtekening>2026-04-14</Dagtekening></BerichtIdentificatie>
<DeclaratieIdentificatie><Identificatie>d</Identificatie><Dagtekening>2026-03-30</Dagtekening></DeclaratieIdentificatie>
<RetourCodes><RetourCode>0200</RetourCode></RetourCodes></Header>
<DeclaratieAntwoord><TotaalIngediendBedrag><TotaalBedrag>10000</TotaalBedrag><DebetCredit>D</DebetCredit></TotaalIngediendBedrag>
<TotaalToegekendBedrag><TotaalBedrag>2500</TotaalBedrag><DebetCredit>C</DebetCredit></TotaalToegekendBedrag>
<Clienten><Client><Bsn>1</Bsn><Prestaties>
<Prestatie><RetourCodes><RetourCode>0233</RetourCode></RetourCodes></Prestatie>
<Prestatie><RetourCodes><RetourCode>0233</RetourCode></RetourCodes></Prestatie>
</Prestaties><RetourCodes><RetourCode>8187</RetourCode></RetourCodes></Client>
<Client><Bsn>2</Bsn><Prestaties>
<Prestatie><RetourCodes><RetourCode>9307</RetourCode></RetourCodes></Prestatie>
<Prestatie><RetourCodes><RetourCode>0200</RetourCode></RetourCodes></Prestatie>
</Prestaties><RetourCodes><RetourCode>0200</RetourCode></RetourCodes></Client></Clienten>
<RetourCodes><RetourCode>0200</RetourCode></RetourCodes></DeclaratieAntwoord></Bericht>`

// antwoordRejected is a 325 whose DeclaratieAntwoord is rejected whole.
const antwoordRejected = `<Bericht><Header><RetourCodes><RetourCode>0200</RetourCode></RetourCodes></Header>
<DeclaratieAntwoord><Clienten><Client><Prestaties>
<Prestatie><RetourCodes><RetourCode>0233</RetourCode></RetourCodes></Prestatie>
<Prestatie><RetourCodes><RetourCode>0233</RetourCode></RetourCodes></Prestatie>
</Prestaties><RetourCodes><RetourCode>0233</RetourCode></RetourCodes></Client></Clienten>
<RetourCodes><RetourCode>9333</RetourCode></RetourCodes></DeclaratieAntwoord></Bericht>`

// refCodes are the RetourCodes of a berichtklasse, as encoding/xml reads
// them.
type refCodes struct {
	Code []string `xml:"RetourCode"`
}

func (c refCodes) rejects() bool {
	for _, v := range c.Code {
		if v = strings.TrimSpace(v); v != "0200" && v != "0233" && v != "8001" {
			return true
		}
	}
	return false
}

type refTotaal struct {
	Bedrag      string `xml:"TotaalBedrag"`
	DebetCredit string `xml:"DebetCredit"`
}

// signed is the amount in cents, credit negative, and whether there was
// one.
func (tb *refTotaal) signed(t *testing.T) (int64, bool) {
	if tb == nil {
		return 0, false
	}
	n, err := strconv.ParseInt(strings.TrimSpace(tb.Bedrag), 10, 64)
	require.NoError(t, err)
	if strings.TrimSpace(tb.DebetCredit) == "C" {
		n = -n
	}
	return n, true
}

// refBericht is what referenceFacts decodes with encoding/xml, by local
// names along fixed paths.
type refBericht struct {
	Header struct {
		Afzender             string `xml:"Afzender"`
		Ontvanger            string `xml:"Ontvanger"`
		BerichtIdentificatie struct {
			Dagtekening string `xml:"Dagtekening"`
		} `xml:"BerichtIdentificatie"`
		DeclaratieIdentificatie struct {
			Dagtekening string `xml:"Dagtekening"`
		} `xml:"DeclaratieIdentificatie"`
		DagtekeningRetour string `xml:"DagtekeningRetour"`
	} `xml:"Header"`
	Declaratie struct {
		Totaal *refTotaal `xml:"TotaalIngediendBedrag"`
	} `xml:"Declaratie"`
	Antwoord *struct {
		Ingediend *refTotaal `xml:"TotaalIngediendBedrag"`
		Toegekend *refTotaal `xml:"TotaalToegekendBedrag"`
		Clienten  []struct {
			Prestaties []struct {
				Codes refCodes `xml:"RetourCodes"`
			} `xml:"Prestaties>Prestatie"`
			Codes refCodes `xml:"RetourCodes"`
		} `xml:"Clienten>Client"`
		Codes refCodes `xml:"RetourCodes"`
	} `xml:"DeclaratieAntwoord"`
}

// referenceFacts reads the facts with encoding/xml: the header, totals and
// declaratie-antwoord by structure, the rest from the token stream.
func referenceFacts(t *testing.T, body []byte) facts {
	var b refBericht
	require.NoError(t, xml.Unmarshal(body, &b))
	f := facts{afzender: strings.TrimSpace(b.Header.Afzender), ontvanger: strings.TrimSpace(b.Header.Ontvanger),
		dagtekening:           strings.TrimSpace(b.Header.BerichtIdentificatie.Dagtekening),
		declaratieDagtekening: strings.TrimSpace(b.Header.DeclaratieIdentificatie.Dagtekening),
		dagtekeningRetour:     strings.TrimSpace(b.Header.DagtekeningRetour)}
	f.ingediend, f.hasIngediend = b.Declaratie.Totaal.signed(t)
	if a := b.Antwoord; a != nil {
		f.ingediend, f.hasIngediend = a.Ingediend.signed(t)
		f.toegekend, f.hasToegekend = a.Toegekend.signed(t)
		for _, c := range a.Clienten {
			for _, p := range c.Prestaties {
				if a.Codes.rejects() || c.Codes.rejects() || p.Codes.rejects() {
					f.prestatiesAfgekeurd++
				}
			}
		}
	}

	dec := xml.NewDecoder(bytes.NewReader(body))
	var path []string
	var text []byte
	// The product line open, counted per ProductCategorie when it ends.
	var line struct {
		cat, status string
		bedrag      int64
		credit      bool
	}
	inAntwoord := false
	isLine := func(name string) bool {
		switch name {
		case "ToegewezenProduct", "StartProduct", "StopProduct":
			return true
		}
		return name == "Prestatie" && !inAntwoord
	}
	category := func(c string) *CategoryCounts {
		if f.categories == nil {
			f.categories = map[string]*CategoryCounts{}
		}
		if f.categories[c] == nil {
			f.categories[c] = &CategoryCounts{}
		}
		return f.categories[c]
	}
	for {
		tok, err := dec.Token()
		if err != nil {
			break
		}
		switch e := tok.(type) {
		case xml.StartElement:
			path = append(path, e.Name.Local)
			text = text[:0]
			if e.Name.Local == "DeclaratieAntwoord" {
				inAntwoord = true
			}
			if isLine(e.Name.Local) {
				line.cat, line.status, line.bedrag, line.credit = "", "", 0, false
			}
		case xml.CharData:
			text = append(text, e...)
		case xml.EndElement:
			v := string(bytes.TrimSpace(text))
			parent, grandparent := "", ""
			if len(path) > 1 {
				parent = path[len(path)-2]
			}
			if len(path) > 2 {
				grandparent = path[len(path)-3]
			}
			switch {
			case e.Name.Local == "Categorie" && parent == "Product" && isLine(grandparent),
				e.Name.Local == "ProductCategorie" && isLine(parent):
				line.cat = v
			case e.Name.Local == "StatusAanlevering" && isLine(parent):
				line.status = v
			case e.Name.Local == "Bedrag" && parent == "IngediendBedrag" && isLine(grandparent):
				n, err := strconv.ParseInt(v, 10, 64)
				require.NoError(t, err)
				line.bedrag = n
			case e.Name.Local == "DebetCredit" && parent == "IngediendBedrag" && isLine(grandparent):
				line.credit = v == "C"
			}
			switch name := e.Name.Local; {
			case name == "ToegewezenProduct":
				category(line.cat).Toegewezen++
			case name == "StartProduct" && line.status == "1":
				category(line.cat).Starts++
			case name == "StopProduct" && line.status == "1":
				category(line.cat).Stops++
			case name == "Prestatie" && !inAntwoord && line.credit:
				category(line.cat).Gedeclareerd -= line.bedrag
			case name == "Prestatie" && !inAntwoord:
				category(line.cat).Gedeclareerd += line.bedrag
			case name == "DeclaratieAntwoord":
				inAntwoord = false
			}
			switch {
			case e.Name.Local == "RetourCode" && v != "0200" && v != "0233" && v != "8001":
				f.afkeur = true
			case e.Name.Local == "ReferentieAanbieder":
				f.refs = append(f.refs, v)
			case e.Name.Local == "StatusAanlevering" && v == "1" && parent == "StartProduct":
				f.starts++
			case e.Name.Local == "StatusAanlevering" && v == "1" && parent == "StopProduct":
				f.stops++
			}
			path = path[:len(path)-1]
			text = text[:0]
		}
	}
	return f
}
