package rules

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"
	"github.com/knooppunt/knooppunt/sample"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// day is the Dagtekening of the test messages.
var day = time.Date(2025, 3, 14, 0, 0, 0, 0, time.UTC)

const (
	today    = "2025-03-14"
	tomorrow = "2025-03-15"
)

// ruleCase is a message that breaks one rule and one that just keeps it,
// both made from a generated message of one berichtsoort.
type ruleCase struct {
	rule  string
	soort string
	opt   sample.Options
	// fail edits the message so that it breaks rule; pass so that it keeps
	// every rule, as close to the edge of rule as it gets.
	fail, pass func(d *draft)
	// start, when set, makes the message instead of generate.
	start func(t testing.TB) *draft
}

func (c ruleCase) draft(t testing.TB) *draft {
	if c.start != nil {
		return c.start(t)
	}
	opt := c.opt
	if opt.Dagtekening.IsZero() {
		opt.Dagtekening = day
	}
	return generate(t, c.soort, opt)
}

// answer325 is a WMO325 rejecting the first Prestatie of a generated 323.
func answer325(t testing.TB) *draft { return answerOf("WMO325")(t) }

// answerOf makes the 325 of name (WMO325, JW325) rejecting the first
// Prestatie of a generated 323.
func answerOf(name string) func(t testing.TB) *draft {
	return func(t testing.TB) *draft {
		s := soort(t, name)
		g := sample.New(5)
		heen, err := g.Heen(soort(t, s.Pair), sample.Options{Dagtekening: day, Products: 2})
		require.NoError(t, err)
		m, err := g.Answer(heen, sample.AnswerOptions{Dagtekening: day, Reject: "9307"})
		require.NoError(t, err)
		doc := etree.NewDocument()
		require.NoError(t, doc.ReadFromBytes(m.XML))
		return &draft{t: t, soort: s, doc: doc}
	}
}

// declaratiePeriode sets the DeclaratiePeriode of a 323.
func (d *draft) declaratiePeriode(begin, end string) {
	p := d.one("//DeclaratiePeriode")
	d.set(p, "Begindatum", begin)
	d.set(p, "Einddatum", end)
}

// hours makes Prestatie p one of vol hours at tarief cents an hour for
// bedrag cents, and the total right.
func (d *draft) hours(p *etree.Element, vol, tarief, bedrag int) *etree.Element {
	d.set(p, "Eenheid", "04")
	d.set(p, "GeleverdVolume", strconv.Itoa(vol))
	d.set(p, "ProductTarief", strconv.Itoa(tarief))
	d.set(p, "IngediendBedrag/Bedrag", strconv.Itoa(bedrag))
	d.fixTotal()
	return p
}

// euro makes Prestatie p one of cents euro (Eenheid 83, no tarief).
func (d *draft) euro(p *etree.Element, cents int) *etree.Element {
	d.set(p, "Eenheid", "83")
	d.drop(p, "ProductTarief")
	d.set(p, "GeleverdVolume", strconv.Itoa(cents))
	d.set(p, "IngediendBedrag/Bedrag", strconv.Itoa(cents))
	d.fixTotal()
	return p
}

// codeLine makes product line e one of Product cat/code with an Omvang in
// hours per week and the period begin–end (elements beginName, endName).
func (d *draft) codeLine(e *etree.Element, cat, code, beginName, begin, endName, end string) {
	d.set(e, "Product/Categorie", cat)
	d.set(e, "Product/Code", code)
	d.set(e, beginName, begin)
	d.set(e, endName, end)
	d.drop(e, "Budget")
	d.set(e, "Omvang/Volume", "2")
	d.set(e, "Omvang/Eenheid", "04")
	d.set(e, "Omvang/Frequentie", "2")
}

// twoLines makes the message carry two lines of class under their first
// container, copying the first when needed.
func (d *draft) twoLines(class string) (*etree.Element, *etree.Element) {
	lines := d.all("//" + class)
	require.NotEmpty(d.t, lines)
	if len(lines) == 1 {
		c := lines[0].Copy()
		p := lines[0].Parent()
		p.InsertChildAt(lines[0].Index()+1, c)
		return lines[0], c
	}
	return lines[0], lines[1]
}

// prestaties are the Prestaties of the message's first client.
func (d *draft) prestaties() (*etree.Element, *etree.Element) {
	ps := d.all("//Client[1]/Prestaties/Prestatie")
	require.GreaterOrEqual(d.t, len(ps), 2)
	return ps[0], ps[1]
}

// credit turns Prestatie p into a credit line of earlier line ref.
func (d *draft) credit(p *etree.Element, ref string) {
	d.set(p, "IngediendBedrag/DebetCredit", "C")
	d.set(p, "ProductReferentie/VorigReferentieNummer", ref)
}

// fixTotal sets TotaalIngediendBedrag to the signed sum of the Prestaties.
func (d *draft) fixTotal() {
	var sum int64
	for _, b := range d.all("//Prestatie/IngediendBedrag") {
		n, err := strconv.ParseInt(b.SelectElement("Bedrag").Text(), 10, 64)
		require.NoError(d.t, err)
		if b.SelectElement("DebetCredit").Text() == "C" {
			n = -n
		}
		sum += n
	}
	dc := "D"
	if sum < 0 {
		dc, sum = "C", -sum
	}
	total := d.one("//Declaratie/TotaalIngediendBedrag")
	d.set(total, "TotaalBedrag", strconv.FormatInt(sum, 10))
	d.set(total, "DebetCredit", dc)
}

// clientContact is the Client's first Contact.
func (d *draft) clientContact() *etree.Element { return d.one("//Contactgegevens/Contact") }

// telefoon gives Contact e a telephone number.
func (d *draft) telefoon(e *etree.Element) {
	d.set(e, "Telefoon/Telefoon01/Telefoonnummer", "0201234567")
	d.set(e, "Telefoon/Telefoon01/Landnummer", "0031")
}

// foreignAdres makes the Adres of Contact e Belgian without Huis.
func (d *draft) foreignAdres(e *etree.Element) {
	d.drop(e, "Adres/Huis")
	d.set(e, "Adres/Postcode", "1000")
	d.set(e, "Adres/LandCode", "BE")
}

// extraContact adds a copy of the client's first Contact with Soort s.
func (d *draft) extraContact(s string) *etree.Element {
	first := d.clientContact()
	c := first.Copy()
	first.Parent().InsertChildAt(first.Index()+1, c)
	d.set(c, "Soort", s)
	return c
}

var cases = []ruleCase{
	{rule: "TR002", soort: "WMO301",
		fail: func(d *draft) {
			d.drop(d.one("//Client/Geboortedatum"), "DatumGebruik")
			d.set(d.one("//Client"), "Geboortedatum/Datum", "1905-03-13")
		},
		pass: func(d *draft) {
			d.drop(d.one("//Client/Geboortedatum"), "DatumGebruik")
			d.set(d.one("//Client"), "Geboortedatum/Datum", "1905-03-14")
		}},
	{rule: "TR002", soort: "JW315",
		fail: func(d *draft) { d.set(d.one("//Client"), "Geboortedatum/Datum", "1900-01-01") },
		pass: func(d *draft) {
			d.set(d.one("//Client"), "Geboortedatum/Datum", "1900-01-01")
			d.set(d.one("//Client/Geboortedatum"), "DatumGebruik", "3")
		}},
	{rule: "TR006", soort: "WMO301",
		fail: func(d *draft) { d.foreignAdres(d.clientContact()); d.drop(d.clientContact(), "Telefoon") },
		pass: func(d *draft) { d.foreignAdres(d.clientContact()); d.telefoon(d.clientContact()) }},
	{rule: "TR018", soort: "WMO307",
		fail: func(d *draft) {
			p := d.one("//StopProduct")
			d.set(p, "Begindatum", "2025-03-01")
			d.set(p, "Einddatum", "2025-02-28")
		},
		pass: func(d *draft) {
			p := d.one("//StopProduct")
			d.set(p, "Begindatum", "2025-03-01")
			d.set(p, "Einddatum", "2025-03-01")
		}},
	{rule: "TR061", soort: "WMO301",
		fail: func(d *draft) { d.set(d.clientContact(), "Soort", "04") },
		pass: func(d *draft) { d.set(d.clientContact(), "Soort", "03") }},
	{rule: "TR101", soort: "WMO301", opt: sample.Options{Products: 2},
		fail: func(d *draft) {
			a, b := d.twoLines("ToegewezenProduct")
			d.set(b, "ToewijzingNummer", a.SelectElement("ToewijzingNummer").Text())
		},
		pass: func(d *draft) {
			a, b := d.twoLines("ToegewezenProduct")
			d.set(b, "ToewijzingNummer", other(a.SelectElement("ToewijzingNummer").Text()))
		}},
	{rule: "TR101", soort: "JW323", opt: sample.Options{Clients: 2},
		fail: func(d *draft) { cs := d.all("//Client/Bsn"); d.set(cs[1], "", cs[0].Text()) },
		pass: func(d *draft) {}},
	{rule: "TR134", soort: "WMO305",
		fail: func(d *draft) { d.set(d.one("//StartProduct"), "Begindatum", tomorrow) },
		pass: func(d *draft) { d.set(d.one("//StartProduct"), "Begindatum", today) }},
	{rule: "TR137", soort: "WMO323",
		fail: func(d *draft) {
			d.declaratiePeriode("2025-03-01", "2025-03-31")
			p := d.one("//ProductPeriode")
			d.set(p, "Begindatum", "2025-03-01")
			d.set(p, "Einddatum", tomorrow)
		},
		pass: func(d *draft) {
			d.declaratiePeriode("2025-03-01", "2025-03-31")
			p := d.one("//ProductPeriode")
			d.set(p, "Begindatum", "2025-03-01")
			d.set(p, "Einddatum", today)
		}},
	{rule: "TR137", soort: "JW325", start: answerOf("JW325"),
		fail: func(d *draft) {
			p := d.one("//ProductPeriode")
			d.set(p, "Begindatum", "2025-02-10")
			d.set(p, "Einddatum", "2025-02-09")
		},
		pass: func(d *draft) {
			p := d.one("//ProductPeriode")
			d.set(p, "Begindatum", "2025-02-10")
			d.set(p, "Einddatum", "2025-02-10")
		}},
	{rule: "TR302", soort: "WMO301", opt: sample.Options{Products: 2},
		fail: func(d *draft) {
			a, b := d.twoLines("ToegewezenProduct")
			d.codeLine(a, "03", "03A01", "Ingangsdatum", "2025-01-01", "Einddatum", "2025-06-30")
			d.codeLine(b, "03", "03A01", "Ingangsdatum", "2025-06-30", "Einddatum", "2025-12-31")
		},
		pass: func(d *draft) {
			a, b := d.twoLines("ToegewezenProduct")
			d.codeLine(a, "03", "03A01", "Ingangsdatum", "2025-01-01", "Einddatum", "2025-06-30")
			d.codeLine(b, "03", "03A01", "Ingangsdatum", "2025-07-01", "Einddatum", "2025-12-31")
		}},
	{rule: "TR315", soort: "WMO323", opt: sample.Options{Products: 2},
		fail: func(d *draft) { a, b := d.prestaties(); d.credit(a, "R1"); d.credit(b, "R1"); d.fixTotal() },
		pass: func(d *draft) { a, b := d.prestaties(); d.credit(a, "R1"); d.credit(b, "R2"); d.fixTotal() }},
	{rule: "TR316", soort: "WMO323", opt: sample.Options{Products: 2},
		fail: func(d *draft) {
			a, b := d.prestaties()
			d.credit(b, a.FindElement("ProductReferentie/ReferentieNummer").Text())
			d.fixTotal()
		},
		pass: func(d *draft) {
			a, b := d.prestaties()
			d.credit(b, a.FindElement("ProductReferentie/ReferentieNummer").Text()+"X")
			d.fixTotal()
		}},
	{rule: "TR335", soort: "WMO323", opt: sample.Options{Products: 1, Dagtekening: time.Date(2026, 3, 14, 0, 0, 0, 0, time.UTC)},
		fail: func(d *draft) {
			d.set(d.one("//Declaratie"), "DeclaratieDagtekening", "2026-03-14")
			p := d.one("//Prestatie/ProductPeriode")
			d.set(p, "Begindatum", "2021-03-01")
			d.set(p, "Einddatum", "2021-03-13")
		},
		pass: func(d *draft) {
			d.set(d.one("//Declaratie"), "DeclaratieDagtekening", "2026-03-14")
			p := d.one("//Prestatie/ProductPeriode")
			d.set(p, "Begindatum", "2021-03-01")
			d.set(p, "Einddatum", "2021-03-14")
		}},
	{rule: "TR342", soort: "WMO325", start: answer325,
		fail: func(d *draft) { d.set(d.one("//Prestatie/RetourCodes/RetourCode"), "", "0200") },
		pass: func(d *draft) {}},
	{rule: "TR352", soort: "WMO317",
		fail: func(d *draft) {
			v := d.one("//Verzoek")
			d.drop(v, "OngewijzigdeProducten")
			d.drop(v, "TeWijzigenProducten")
			d.nieuwProduct()
		},
		pass: func(d *draft) { d.keepOngewijzigdAndNieuw() }},
	{rule: "TR353", soort: "WMO317",
		fail: func(d *draft) {
			v := d.one("//Verzoek")
			d.drop(v, "TeWijzigenProducten")
			d.drop(v, "NieuweProducten")
			d.set(v, "OngewijzigdeProducten/OngewijzigdProduct/ToewijzingNummer", "12345")
		},
		pass: func(d *draft) { d.keepOngewijzigdAndNieuw() }},
	{rule: "TR358", soort: "WMO323", opt: sample.Options{Products: 3},
		fail: func(d *draft) {
			total := d.one("//Declaratie/TotaalIngediendBedrag/TotaalBedrag")
			n, _ := strconv.Atoi(total.Text())
			d.set(total, "", strconv.Itoa(n+1))
		},
		pass: func(d *draft) { a, _ := d.prestaties(); d.credit(a, "R1"); d.fixTotal() }},
	{rule: "TR377", soort: "JW319",
		fail: func(d *draft) {
			a := d.one("//Antwoord")
			d.set(a, "VerzoekAntwoord", "1")
			d.set(a, "RedenAfwijzingVerzoek", "8")
			d.drop(a, "Woonplaatsbeginsel")
		},
		pass: func(d *draft) {
			a := d.one("//Antwoord")
			d.set(a, "VerzoekAntwoord", "1")
			d.set(a, "RedenAfwijzingVerzoek", "8")
			d.set(a, "Woonplaatsbeginsel/Gemeente", "0363")
		}},
	{rule: "TR380", soort: "WMO317",
		fail: func(d *draft) { d.set(d.nieuwProduct(), "GewensteIngangsdatum", today) },
		pass: func(d *draft) {
			d.set(d.nieuwProduct(), "GewensteIngangsdatum", tomorrow)
			for _, p := range d.all("//TeWijzigenProduct") {
				d.set(p, "GewensteIngangsdatum", today) // TR357's case, level 3
			}
		}},
	{rule: "TR383", soort: "WMO315", opt: sample.Options{Products: 2},
		fail: func(d *draft) {
			a, b := d.twoLines("AangevraagdProduct")
			d.set(b, "ReferentieAanbieder", a.SelectElement("ReferentieAanbieder").Text())
		},
		pass: func(d *draft) {
			a, b := d.twoLines("AangevraagdProduct")
			d.set(b, "ReferentieAanbieder", other(a.SelectElement("ReferentieAanbieder").Text()))
		}},
	{rule: "TR386", soort: "WMO315", opt: sample.Options{Products: 2},
		fail: func(d *draft) {
			a, b := d.twoLines("AangevraagdProduct")
			d.codeLine(a, "03", "03A01", "ToewijzingIngangsdatum", "2025-04-01", "ToewijzingEinddatum", "2025-06-30")
			d.codeLine(b, "03", "03A01", "ToewijzingIngangsdatum", "2025-06-30", "ToewijzingEinddatum", "2025-12-31")
		},
		pass: func(d *draft) {
			a, b := d.twoLines("AangevraagdProduct")
			d.codeLine(a, "03", "03A01", "ToewijzingIngangsdatum", "2025-04-01", "ToewijzingEinddatum", "2025-06-30")
			d.codeLine(b, "03", "03A02", "ToewijzingIngangsdatum", "2025-06-30", "ToewijzingEinddatum", "2025-12-31")
		}},
	{rule: "TR409", soort: "JW319",
		fail: func(d *draft) {
			a := d.one("//Antwoord")
			d.set(a, "VerzoekAntwoord", "1")
			d.set(a, "RedenAfwijzingVerzoek", "3")
			d.set(a, "Woonplaatsbeginsel/Gemeente", "0363")
		},
		pass: func(d *draft) {
			a := d.one("//Antwoord")
			d.set(a, "VerzoekAntwoord", "1")
			d.set(a, "RedenAfwijzingVerzoek", "3")
			d.drop(a, "Woonplaatsbeginsel")
		}},
	{rule: "TR410", soort: "WMO317",
		fail: func(d *draft) {
			d.nieuwProduct()
			a, b := d.twoLines("NieuwProduct")
			d.codeLine(a, "03", "03A01", "GewensteIngangsdatum", "2025-04-01", "Einddatum", "2025-06-30")
			d.codeLine(b, "03", "03A01", "GewensteIngangsdatum", "2025-06-30", "Einddatum", "2025-12-31")
		},
		pass: func(d *draft) {
			d.nieuwProduct()
			a, b := d.twoLines("NieuwProduct")
			d.codeLine(a, "03", "03A01", "GewensteIngangsdatum", "2025-04-01", "Einddatum", "2025-06-30")
			d.codeLine(b, "03", "03A01", "GewensteIngangsdatum", "2025-07-01", "Einddatum", "2025-12-31")
		}},
	{rule: "TR416", soort: "WMO323", opt: sample.Options{Products: 2},
		fail: func(d *draft) {
			a, b := d.prestaties()
			for _, name := range []string{"ToewijzingNummer", "ProductCategorie", "ProductCode", "ProductPeriode/Begindatum", "ProductPeriode/Einddatum"} {
				d.set(b, name, a.FindElement(name).Text())
			}
		},
		pass: func(d *draft) {
			a, b := d.prestaties()
			for _, name := range []string{"ToewijzingNummer", "ProductCategorie", "ProductCode", "ProductPeriode/Begindatum", "ProductPeriode/Einddatum"} {
				d.set(b, name, a.FindElement(name).Text())
			}
			d.set(b, "ToewijzingNummer", other(a.FindElement("ToewijzingNummer").Text()))
		}},

	{rule: "CD005", soort: "WMO301",
		fail: func(d *draft) { d.drop(d.clientContact(), "Adres/LandCode") },
		pass: func(d *draft) {}},
	{rule: "CD007", soort: "WMO301",
		fail: func(d *draft) {
			c := d.one("//Client")
			d.set(c, "Communicatie/Vorm", "1")
			d.drop(c, "Communicatie/Taal")
		},
		pass: func(d *draft) {
			c := d.one("//Client")
			d.set(c, "Communicatie/Vorm", "1")
			d.set(c, "Communicatie/Taal", "Pools")
		}},
	{rule: "CD007", soort: "JW301",
		fail: func(d *draft) {
			c := d.one("//Client")
			d.set(c, "Communicatie/Vorm", "2")
			d.set(c, "Communicatie/Taal", "Pools")
		},
		pass: func(d *draft) {
			c := d.one("//Client")
			d.set(c, "Communicatie/Vorm", "2")
			d.drop(c, "Communicatie/Taal")
		}},
	{rule: "CD009", soort: "WMO301",
		fail: func(d *draft) { d.set(d.clientContact(), "Periode/Begindatum", "2025-01-01") },
		pass: func(d *draft) { d.set(d.extraContact("04"), "Periode/Begindatum", "2025-01-01") }},
	{rule: "CD025", soort: "WMO301",
		fail: func(d *draft) { d.drop(d.clientContact(), "Adres/Huis"); d.telefoon(d.clientContact()) },
		pass: func(d *draft) { d.foreignAdres(d.clientContact()); d.telefoon(d.clientContact()) }},
	{rule: "CD034", soort: "WMO301",
		fail: func(d *draft) {
			c := d.clientContact()
			d.drop(c, "Adres/Postcode")
			d.drop(c, "Adres/LandCode")
			d.telefoon(c)
		},
		pass: func(d *draft) {
			c := d.clientContact()
			d.set(c, "Soort", "02")
			d.drop(c, "Adres/Postcode")
			d.drop(c, "Adres/LandCode")
			d.telefoon(c)
		}},
	{rule: "CD041", soort: "WMO301", opt: sample.Options{Products: 1},
		fail: func(d *draft) {
			p := d.one("//ToegewezenProduct")
			d.codeLine(p, "03", "03A01", "Ingangsdatum", "2025-01-01", "Einddatum", "2025-06-30")
			d.drop(p, "Omvang")
			d.set(p, "Budget", "1000")
		},
		pass: func(d *draft) {
			p := d.one("//ToegewezenProduct")
			d.codeLine(p, "03", "03A01", "Ingangsdatum", "2025-01-01", "Einddatum", "2025-06-30")
		}},
	{rule: "CD043", soort: "WMO315", opt: sample.Options{Products: 1},
		fail: func(d *draft) {
			p := d.one("//AangevraagdProduct")
			d.set(p, "BeschikkingNummer", "4711")
			d.drop(p, "BeschikkingIngangsdatum")
		},
		pass: func(d *draft) {
			p := d.one("//AangevraagdProduct")
			d.set(p, "BeschikkingNummer", "4711")
			d.set(p, "BeschikkingIngangsdatum", "2025-01-01")
		}},
	{rule: "CD060", soort: "WMO323", opt: sample.Options{Products: 2},
		fail: func(d *draft) { a, _ := d.prestaties(); d.set(a, "ProductReferentie/VorigReferentieNummer", "R1") },
		pass: func(d *draft) { a, _ := d.prestaties(); d.credit(a, "R1"); d.fixTotal() }},
	{rule: "CD066", soort: "WMO315",
		fail: func(d *draft) {
			v := d.one("//Verwijzer")
			d.set(v, "Type", "02")
			d.set(v, "ZorgverlenerCode", "01234567")
			d.set(v, "Naam", "Huisarts")
		},
		pass: func(d *draft) {
			v := d.one("//Verwijzer")
			d.set(v, "Type", "02")
			d.set(v, "ZorgverlenerCode", "01234567")
			d.drop(v, "Naam")
		}},
	{rule: "CD067", soort: "WMO315",
		fail: func(d *draft) {
			v := d.one("//Verwijzer")
			d.set(v, "Type", "05")
			d.drop(v, "ZorgverlenerCode")
			d.drop(v, "Naam")
		},
		pass: func(d *draft) {
			v := d.one("//Verwijzer")
			d.set(v, "Type", "05")
			d.drop(v, "ZorgverlenerCode")
			d.set(v, "Naam", "Huisarts")
		}},
	{rule: "CD068", soort: "WMO315",
		fail: func(d *draft) {
			v := d.one("//Verwijzer")
			d.set(v, "Type", "01")
			d.drop(v, "Naam")
			d.set(v, "ZorgverlenerCode", "01234567")
		},
		pass: func(d *draft) {
			v := d.one("//Verwijzer")
			d.set(v, "Type", "01")
			d.drop(v, "Naam")
			d.drop(v, "ZorgverlenerCode")
		}},
	{rule: "CD075", soort: "WMO301", opt: sample.Options{Products: 1},
		fail: func(d *draft) { p := d.budgetLine(); d.drop(p, "Einddatum") },
		pass: func(d *draft) { d.budgetLine() }},
	{rule: "CD076", soort: "WMO317",
		fail: func(d *draft) {
			p := d.nieuwProduct()
			d.codeLine(p, "03", "03A01", "GewensteIngangsdatum", "2025-04-01", "Einddatum", "2025-06-30")
			d.drop(p, "Einddatum")
		},
		pass: func(d *draft) {
			p := d.nieuwProduct()
			d.codeLine(p, "03", "03A01", "GewensteIngangsdatum", "2025-04-01", "Einddatum", "2025-06-30")
			d.drop(p, "Einddatum")
			d.set(p, "Omvang/Frequentie", "4")
		}},
	{rule: "CD077", soort: "WMO315", opt: sample.Options{Products: 1},
		fail: func(d *draft) {
			p := d.one("//AangevraagdProduct")
			d.codeLine(p, "03", "03A01", "ToewijzingIngangsdatum", "2025-04-01", "ToewijzingEinddatum", "2025-06-30")
			d.set(p, "Budget", "1000")
		},
		pass: func(d *draft) {
			p := d.one("//AangevraagdProduct")
			d.codeLine(p, "03", "03A01", "ToewijzingIngangsdatum", "2025-04-01", "ToewijzingEinddatum", "2025-06-30")
		}},
	{rule: "CD078", soort: "WMO301", opt: sample.Options{Products: 1},
		fail: func(d *draft) {
			p := d.one("//ToegewezenProduct")
			d.codeLine(p, "03", "03A01", "Ingangsdatum", "2025-01-01", "Einddatum", "2025-06-30")
			d.set(p, "Budget", "1000")
		},
		pass: func(d *draft) { d.budgetLine() }},
	{rule: "CD079", soort: "WMO301", opt: sample.Options{Products: 1},
		fail: func(d *draft) {
			p := d.one("//ToegewezenProduct")
			d.codeLine(p, "03", "03A01", "Ingangsdatum", "2025-01-01", "Einddatum", "2025-06-30")
			d.drop(p, "Product")
			d.drop(p, "Omvang")
		},
		pass: func(d *draft) {
			p := d.budgetLine()
			d.drop(p, "Product")
		}},
	{rule: "CD080", soort: "WMO301", opt: sample.Options{Products: 1},
		fail: func(d *draft) {
			p := d.one("//ToegewezenProduct")
			d.codeLine(p, "03", "03A01", "Ingangsdatum", "2020-01-01", "Einddatum", "2021-01-01")
			d.drop(p, "Product/Code")
		},
		pass: func(d *draft) {
			p := d.one("//ToegewezenProduct")
			d.codeLine(p, "03", "03A01", "Ingangsdatum", "2020-01-01", "Einddatum", "2020-12-31")
			d.drop(p, "Product/Code")
		}},
	{rule: "CD085", soort: "JW319",
		fail: func(d *draft) {
			a := d.one("//Antwoord")
			d.set(a, "VerzoekAntwoord", "1")
			d.drop(a, "RedenAfwijzingVerzoek")
		},
		pass: func(d *draft) {
			a := d.one("//Antwoord")
			d.set(a, "VerzoekAntwoord", "1")
			d.set(a, "RedenAfwijzingVerzoek", "3")
			d.drop(a, "Woonplaatsbeginsel")
		}},
	{rule: "CD086", soort: "WMO319",
		fail: func(d *draft) {
			a := d.one("//Antwoord")
			d.set(a, "VerzoekAntwoord", "2")
			d.set(a, "RedenAfwijzingVerzoek", "3")
		},
		pass: func(d *draft) {
			a := d.one("//Antwoord")
			d.set(a, "VerzoekAntwoord", "2")
			d.drop(a, "RedenAfwijzingVerzoek")
		}},
	{rule: "CD087", soort: "WMO323", opt: sample.Options{Products: 1},
		fail: func(d *draft) { p := d.one("//Prestatie"); d.set(p, "Eenheid", "04"); d.drop(p, "ProductTarief") },
		pass: func(d *draft) { d.hours(d.one("//Prestatie"), 3, 100, 300) }},
	{rule: "CD087", soort: "WMO323", opt: sample.Options{Products: 1},
		fail: func(d *draft) { p := d.euro(d.one("//Prestatie"), 1000); d.set(p, "ProductTarief", "1000") },
		pass: func(d *draft) { d.euro(d.one("//Prestatie"), 1000) }},
	{rule: "CD095", soort: "WMO315", opt: sample.Options{Products: 1},
		fail: func(d *draft) {
			p := d.one("//AangevraagdProduct")
			d.codeLine(p, "03", "03A01", "ToewijzingIngangsdatum", "2025-04-01", "ToewijzingEinddatum", "2025-06-30")
			d.drop(p, "Product/Code")
		},
		pass: func(d *draft) {
			p := d.one("//AangevraagdProduct")
			d.codeLine(p, "03", "03A01", "ToewijzingIngangsdatum", "2025-04-01", "ToewijzingEinddatum", "2025-06-30")
		}},
	{rule: "CD096", soort: "WMO317",
		fail: func(d *draft) {
			p := d.nieuwProduct()
			d.codeLine(p, "03", "03A01", "GewensteIngangsdatum", "2025-04-01", "Einddatum", "2025-06-30")
			d.drop(p, "Product/Code")
		},
		pass: func(d *draft) {
			p := d.nieuwProduct()
			d.codeLine(p, "03", "03A01", "GewensteIngangsdatum", "2025-04-01", "Einddatum", "2025-06-30")
		}},

	{rule: "CS002", soort: "WMO301",
		fail: func(d *draft) { d.set(d.one("//Client/Bsn"), "", "123456788") },
		pass: func(d *draft) { d.set(d.one("//Client/Bsn"), "", "123456782") }},
	{rule: "CS002", soort: "JW323", opt: sample.Options{Clients: 3},
		fail: func(d *draft) { d.set(d.all("//Client/Bsn")[2], "", "111222334") },
		pass: func(d *draft) { d.set(d.all("//Client/Bsn")[2], "", "111222333") }},
	{rule: "CS003", soort: "WMO301",
		fail: func(d *draft) {
			c := d.extraContact("04")
			d.set(c, "Periode/Begindatum", "2025-01-02")
			d.set(c, "Periode/Einddatum", "2025-01-01")
		},
		pass: func(d *draft) {
			c := d.extraContact("04")
			d.set(c, "Periode/Begindatum", "2025-01-02")
			d.set(c, "Periode/Einddatum", "2025-01-02")
		}},
	{rule: "CS003", soort: "WMO315", opt: sample.Options{Products: 1},
		fail: func(d *draft) {
			p := d.one("//AangevraagdProduct")
			d.codeLine(p, "03", "03A01", "ToewijzingIngangsdatum", "2025-04-01", "ToewijzingEinddatum", "2025-03-31")
		},
		pass: func(d *draft) {
			p := d.one("//AangevraagdProduct")
			d.codeLine(p, "03", "03A01", "ToewijzingIngangsdatum", "2025-04-01", "ToewijzingEinddatum", "2025-04-01")
		}},
	{rule: "CS050", soort: "WMO301",
		fail: func(d *draft) {
			d.drop(d.one("//Client/Naam"), "Partnernaam")
			d.set(d.one("//Client/Naam"), "NaamGebruik", "2")
		},
		pass: func(d *draft) {
			n := d.one("//Client/Naam")
			d.set(n, "Partnernaam/Achternaam", "Jansen")
			d.set(n, "NaamGebruik", "4")
		}},
	{rule: "CS058", soort: "WMO305",
		fail: func(d *draft) { d.set(d.one("//StatusAanlevering"), "", "2") },
		pass: func(d *draft) { d.set(d.one("//StatusAanlevering"), "", "3") }},
	{rule: "CS089", soort: "WMO301",
		fail: func(d *draft) { d.set(d.clientContact(), "Adres/Postcode", "0123AB") },
		pass: func(d *draft) { d.set(d.clientContact(), "Adres/Postcode", "9999ZZ") }},
	{rule: "CS100", soort: "WMO323", opt: sample.Options{Products: 1},
		fail: func(d *draft) {
			p := d.one("//Prestatie/ProductPeriode")
			d.set(p, "Begindatum", "2020-12-01")
			d.set(p, "Einddatum", "2020-12-31")
		},
		pass: func(d *draft) {
			p := d.one("//Prestatie/ProductPeriode")
			d.set(p, "Begindatum", "2021-01-01")
			d.set(p, "Einddatum", "2021-01-31")
		}},
	{rule: "CS139", soort: "WMO307",
		fail: func(d *draft) {
			d.set(d.one("//Client"), "Geboortedatum/Datum", "1980-02-02")
			d.set(d.one("//Client/Geboortedatum"), "DatumGebruik", "1")
		},
		pass: func(d *draft) {
			d.set(d.one("//Client"), "Geboortedatum/Datum", "1980-02-01")
			d.set(d.one("//Client/Geboortedatum"), "DatumGebruik", "1")
		}},
	{rule: "CS318", soort: "WMO301",
		fail: func(d *draft) { n := d.one("//Client/Naam"); d.drop(n, "Partnernaam"); d.set(n, "NaamGebruik", "6") },
		pass: func(d *draft) { n := d.one("//Client/Naam"); d.drop(n, "Partnernaam"); d.set(n, "NaamGebruik", "1") }},
	{rule: "CS325", soort: "WMO323", opt: sample.Options{Products: 2},
		fail: func(d *draft) {
			a, _ := d.prestaties()
			d.euro(a, 0)
			d.credit(a, "R1")
			d.fixTotal()
		},
		pass: func(d *draft) {
			a, _ := d.prestaties()
			d.set(a, "IngediendBedrag/Bedrag", "0")
			d.set(a, "GeleverdVolume", "0")
			d.set(a, "Eenheid", "83")
			d.drop(a, "ProductTarief")
			d.fixTotal()
		}},
	{rule: "CS335", soort: "WMO301", opt: sample.Options{Products: 1},
		fail: func(d *draft) {
			p := d.one("//ToegewezenProduct")
			d.codeLine(p, "03", "03A01", "Ingangsdatum", "2025-01-01", "Einddatum", "2025-01-02")
			d.set(p, "RedenWijziging", "13")
		},
		pass: func(d *draft) {
			p := d.one("//ToegewezenProduct")
			d.codeLine(p, "03", "03A01", "Ingangsdatum", "2025-01-01", "Einddatum", "2025-01-01")
			d.set(p, "RedenWijziging", "13")
		}},
	{rule: "CS336", soort: "WMO301", opt: sample.Options{Products: 1},
		fail: func(d *draft) { d.set(d.one("//ToegewezenProduct"), "RedenWijziging", "01") },
		pass: func(d *draft) { d.set(d.one("//ToegewezenProduct"), "RedenWijziging", "02") }},
	{rule: "CS337", soort: "WMO323", opt: sample.Options{Products: 1},
		fail: func(d *draft) {
			p := d.one("//Prestatie/ProductPeriode")
			d.set(p, "Begindatum", "2025-01-31")
			d.set(p, "Einddatum", "2025-02-01")
		},
		pass: func(d *draft) {
			p := d.one("//Prestatie/ProductPeriode")
			d.set(p, "Begindatum", "2025-01-01")
			d.set(p, "Einddatum", "2025-01-31")
		}},
	{rule: "CS338", soort: "WMO301", opt: sample.Options{Products: 1},
		fail: func(d *draft) {
			p := d.one("//ToegewezenProduct")
			d.codeLine(p, "03", "03A01", "Ingangsdatum", "2025-01-01", "Einddatum", "2025-06-30")
			d.set(p, "Omvang/Eenheid", "14")
			d.set(p, "Omvang/Frequentie", "1")
		},
		pass: func(d *draft) {
			p := d.one("//ToegewezenProduct")
			d.codeLine(p, "03", "03A01", "Ingangsdatum", "2020-01-01", "Einddatum", "2020-12-31")
			d.set(p, "Omvang/Eenheid", "14")
			d.set(p, "Omvang/Frequentie", "1")
		}},
	{rule: "CS339", soort: "WMO323", opt: sample.Options{Products: 1},
		fail: func(d *draft) {
			p := d.one("//Prestatie")
			d.set(p, "Eenheid", "83")
			d.drop(p, "ProductTarief")
			d.set(p, "GeleverdVolume", "1000")
			d.set(p, "IngediendBedrag/Bedrag", "1001")
			d.fixTotal()
		},
		pass: func(d *draft) {
			p := d.one("//Prestatie")
			d.set(p, "Eenheid", "83")
			d.drop(p, "ProductTarief")
			d.set(p, "GeleverdVolume", "1000")
			d.set(p, "IngediendBedrag/Bedrag", "1000")
			d.fixTotal()
		}},
	{rule: "CS340", soort: "WMO323",
		fail: func(d *draft) {
			p := d.one("//DeclaratiePeriode")
			d.set(p, "Begindatum", "2025-02-02")
			d.set(p, "Einddatum", "2025-02-28")
		},
		pass: func(d *draft) {
			p := d.one("//DeclaratiePeriode")
			d.set(p, "Begindatum", "2025-02-01")
			d.set(p, "Einddatum", "2025-02-28")
		}},
	{rule: "CS343", soort: "JW315", opt: sample.Options{Products: 1},
		fail: func(d *draft) {
			p := d.one("//AangevraagdProduct")
			d.codeLine(p, "43", "43A01", "ToewijzingIngangsdatum", "2025-04-01", "ToewijzingEinddatum", "2025-06-30")
			d.set(p, "Omvang/Eenheid", "16")
			d.set(p, "Omvang/Frequentie", "1")
		},
		pass: func(d *draft) {
			p := d.one("//AangevraagdProduct")
			d.codeLine(p, "43", "43A01", "ToewijzingIngangsdatum", "2025-04-01", "ToewijzingEinddatum", "2025-06-30")
			d.set(p, "Omvang/Eenheid", "16")
			d.set(p, "Omvang/Frequentie", "6")
		}},
}

// other is s with its last character changed, same length and kind.
func other(s string) string {
	last := s[len(s)-1]
	switch {
	case last == '9':
		last = '8'
	case last == 'z' || last == 'Z':
		last--
	default:
		last++
	}
	return s[:len(s)-1] + string(last)
}

// nieuwProduct returns the first NieuwProduct of a 317, adding one (for
// product category 03 from 2025-04-01) when the message has none.
func (d *draft) nieuwProduct() *etree.Element {
	if p := d.doc.FindElement("//NieuwProduct"); p != nil {
		return p
	}
	p := d.set(d.one("//Verzoek"), "NieuweProducten/NieuwProduct", "")
	d.codeLine(p, "03", "03A01", "GewensteIngangsdatum", "2025-04-01", "Einddatum", "2025-06-30")
	return p
}

// keepOngewijzigdAndNieuw leaves a 317 with one OngewijzigdProduct and a
// NieuwProduct, no TeWijzigenProduct: the edge of both TR352 and TR353.
func (d *draft) keepOngewijzigdAndNieuw() {
	v := d.one("//Verzoek")
	d.drop(v, "TeWijzigenProducten")
	d.drop(v, "OngewijzigdeProducten")
	d.set(v, "OngewijzigdeProducten/OngewijzigdProduct/ToewijzingNummer", "12345")
	d.nieuwProduct()
}

// budgetLine makes the first ToegewezenProduct a budget line of category
// 03 ending 2025-06-30.
func (d *draft) budgetLine() *etree.Element {
	p := d.one("//ToegewezenProduct")
	d.codeLine(p, "03", "03A01", "Ingangsdatum", "2025-01-01", "Einddatum", "2025-06-30")
	d.drop(p, "Product/Code")
	d.drop(p, "Omvang")
	d.set(p, "Budget", "1000")
	return p
}

func TestRuleCases(t *testing.T) {
	for k, c := range cases {
		t.Run(fmt.Sprintf("%s/%s/%d", c.rule, c.soort, k), func(t *testing.T) {
			r, ok := Lookup(c.rule)
			require.True(t, ok, c.rule)
			require.Contains(t, r.Soorten, c.soort)

			d := c.draft(t)
			c.fail(d)
			found := check(t, d.bytes())
			require.Contains(t, codes(found), c.rule, "the breaking message")
			values := leafValues(d)
			for _, f := range found {
				if f.Rule != c.rule {
					continue
				}
				assert.Equal(t, r.Retourcode, f.Retourcode)
				assert.Regexp(t, `^/Bericht/`, f.Path)
				assert.Positive(t, f.Line)
				// The text names the offending element with its line,
				// then says what is wrong, quoting no value.
				where := fmt.Sprintf("%s (line %d) ", f.Path[strings.LastIndexByte(f.Path, '/')+1:], f.Line)
				where = regexp.MustCompile(`\[[0-9]+\]`).ReplaceAllString(where, "")
				assert.True(t, strings.HasPrefix(f.Text, where), "%q starts with %q", f.Text, where)
				assert.Greater(t, len(f.Text), len(where)+10, "%q says what is wrong", f.Text)
				for _, v := range values {
					assert.NotContains(t, f.Text, v, "the text quotes a value of the message")
				}
			}

			d = c.draft(t)
			c.pass(d)
			h, doc, err := schemas(t).ValidateTree(d.bytes())
			require.NoError(t, err, "the passing message must pass the XSD")
			assert.Empty(t, Check(h, doc), "the passing message")
		})
	}
}

// TestEveryRuleHasCases: each rule Check runs has a case that breaks it.
func TestEveryRuleHasCases(t *testing.T) {
	tested := map[string]bool{}
	for _, c := range cases {
		tested[c.rule] = true
	}
	for _, r := range All() {
		if r.Checked() {
			assert.True(t, tested[r.Code], "no case for %s", r.Code)
		}
	}
}

// leafValues are the texts of the message's leaf elements that are long
// enough to be recognised in a finding's text (four characters and more).
func leafValues(d *draft) []string {
	var out []string
	for _, e := range d.doc.FindElements("//*") {
		if len(e.ChildElements()) > 0 {
			continue
		}
		if v := strings.TrimSpace(e.Text()); len(v) >= 4 {
			out = append(out, v)
		}
	}
	return out
}

// budgetOnly makes product line e a budget line without Product over
// begin–end (elements beginName, endName): CD079 allows it, CD075 wants
// its end date.
func (d *draft) budgetOnly(e *etree.Element, beginName, begin, endName, end string) {
	d.codeLine(e, "03", "03A01", beginName, begin, endName, end)
	d.drop(e, "Product")
	d.drop(e, "Omvang")
	d.set(e, "Budget", "1000")
}

// withRelatie is a generated WMO301 whose Client has a Relatie.
func withRelatie(t testing.TB) *draft {
	for seed := int64(1); seed < 200; seed++ {
		m, err := sample.New(seed).Generate(soort(t, "WMO301"), sample.Options{Dagtekening: day})
		require.NoError(t, err)
		if !strings.Contains(string(m.XML), "Relatie>") {
			continue
		}
		doc := etree.NewDocument()
		require.NoError(t, doc.ReadFromBytes(m.XML))
		return &draft{t: t, soort: soort(t, "WMO301"), doc: doc}
	}
	t.Fatal("no seed gives a WMO301 with a Relatie")
	return nil
}

// depthCases are the pairs for the standard's finer points: the iWmo
// exception for ProductCategorie 11–14 (and its absence in iJw), TR006 on
// the Contact of a Relatie, both bounds of TR137, and the in-message part
// of TR314, TR319, TR326, TR346 and TR415.
var depthCases = []ruleCase{
	// TR302, iWmo: two lines of the same product may overlap in categorie
	// 11–14 (fail and pass differ in the categorie only).
	{rule: "TR302", soort: "WMO301", opt: sample.Options{Products: 2},
		fail: func(d *draft) {
			a, b := d.twoLines("ToegewezenProduct")
			d.codeLine(a, "03", "03A01", "Ingangsdatum", "2025-01-01", "Einddatum", "2025-06-30")
			d.codeLine(b, "03", "03A01", "Ingangsdatum", "2025-03-01", "Einddatum", "2025-12-31")
		},
		pass: func(d *draft) {
			a, b := d.twoLines("ToegewezenProduct")
			d.codeLine(a, "11", "11A01", "Ingangsdatum", "2025-01-01", "Einddatum", "2025-06-30")
			d.codeLine(b, "11", "11A01", "Ingangsdatum", "2025-03-01", "Einddatum", "2025-12-31")
		}},
	// … also on the level of the categorie (no Code).
	{rule: "TR302", soort: "WMO301", opt: sample.Options{Products: 2},
		fail: func(d *draft) {
			a, b := d.twoLines("ToegewezenProduct")
			d.codeLine(a, "10", "10A01", "Ingangsdatum", "2025-01-01", "Einddatum", "2025-06-30")
			d.codeLine(b, "10", "10A02", "Ingangsdatum", "2025-03-01", "Einddatum", "2025-06-30")
			d.drop(b, "Product/Code")
			d.drop(b, "Omvang")
			d.set(b, "Budget", "1000")
		},
		pass: func(d *draft) {
			a, b := d.twoLines("ToegewezenProduct")
			d.codeLine(a, "12", "12A01", "Ingangsdatum", "2025-01-01", "Einddatum", "2025-06-30")
			d.codeLine(b, "12", "12A02", "Ingangsdatum", "2025-03-01", "Einddatum", "2025-06-30")
			d.drop(b, "Product/Code")
			d.drop(b, "Omvang")
			d.set(b, "Budget", "1000")
		}},
	// … and a line without Product may overlap lines of categorie 11–14
	// only.
	{rule: "TR302", soort: "WMO301", opt: sample.Options{Products: 2},
		fail: func(d *draft) {
			a, b := d.twoLines("ToegewezenProduct")
			d.codeLine(a, "03", "03A01", "Ingangsdatum", "2025-01-01", "Einddatum", "2025-06-30")
			d.budgetOnly(b, "Ingangsdatum", "2025-06-30", "Einddatum", "2025-12-31")
		},
		pass: func(d *draft) {
			a, b := d.twoLines("ToegewezenProduct")
			d.codeLine(a, "14", "14A01", "Ingangsdatum", "2025-01-01", "Einddatum", "2025-06-30")
			d.budgetOnly(b, "Ingangsdatum", "2025-06-30", "Einddatum", "2025-12-31")
		}},
	{rule: "TR302", soort: "WMO301", opt: sample.Options{Products: 2},
		fail: func(d *draft) {
			a, b := d.twoLines("ToegewezenProduct")
			d.budgetOnly(a, "Ingangsdatum", "2025-01-01", "Einddatum", "2025-06-30")
			d.budgetOnly(b, "Ingangsdatum", "2025-06-30", "Einddatum", "2025-12-31")
		},
		pass: func(d *draft) {
			a, b := d.twoLines("ToegewezenProduct")
			d.budgetOnly(a, "Ingangsdatum", "2025-01-01", "Einddatum", "2025-06-30")
			d.budgetOnly(b, "Ingangsdatum", "2025-07-01", "Einddatum", "2025-12-31")
		}},
	// TR302, iJw: no exception. A line without Product may overlap no
	// other line.
	{rule: "TR302", soort: "JW301", opt: sample.Options{Products: 2},
		fail: func(d *draft) {
			a, b := d.twoLines("ToegewezenProduct")
			d.codeLine(a, "43", "43A01", "Ingangsdatum", "2025-01-01", "Einddatum", "2025-06-30")
			d.budgetOnly(b, "Ingangsdatum", "2025-06-30", "Einddatum", "2025-12-31")
		},
		pass: func(d *draft) {
			a, b := d.twoLines("ToegewezenProduct")
			d.codeLine(a, "43", "43A01", "Ingangsdatum", "2025-01-01", "Einddatum", "2025-06-30")
			d.budgetOnly(b, "Ingangsdatum", "2025-07-01", "Einddatum", "2025-12-31")
		}},
	{rule: "TR302", soort: "JW301", opt: sample.Options{Products: 2},
		fail: func(d *draft) {
			a, b := d.twoLines("ToegewezenProduct")
			d.codeLine(a, "45", "45A01", "Ingangsdatum", "2025-01-01", "Einddatum", "2025-06-30")
			d.codeLine(b, "45", "45A01", "Ingangsdatum", "2025-03-01", "Einddatum", "2025-12-31")
		},
		pass: func(d *draft) {
			a, b := d.twoLines("ToegewezenProduct")
			d.codeLine(a, "45", "45A01", "Ingangsdatum", "2025-01-01", "Einddatum", "2025-06-30")
			d.codeLine(b, "45", "45A02", "Ingangsdatum", "2025-03-01", "Einddatum", "2025-12-31")
		}},
	// TR386, iWmo: the exception.
	{rule: "TR386", soort: "WMO315", opt: sample.Options{Products: 2},
		fail: func(d *draft) {
			a, b := d.twoLines("AangevraagdProduct")
			d.codeLine(a, "03", "03A01", "ToewijzingIngangsdatum", "2025-04-01", "ToewijzingEinddatum", "2025-06-30")
			d.codeLine(b, "03", "03A01", "ToewijzingIngangsdatum", "2025-05-01", "ToewijzingEinddatum", "2025-12-31")
		},
		pass: func(d *draft) {
			a, b := d.twoLines("AangevraagdProduct")
			d.codeLine(a, "12", "12A01", "ToewijzingIngangsdatum", "2025-04-01", "ToewijzingEinddatum", "2025-06-30")
			d.codeLine(b, "12", "12A01", "ToewijzingIngangsdatum", "2025-05-01", "ToewijzingEinddatum", "2025-12-31")
		}},
	{rule: "TR386", soort: "WMO315", opt: sample.Options{Products: 2},
		fail: func(d *draft) {
			a, b := d.twoLines("AangevraagdProduct")
			d.codeLine(a, "07", "07A01", "ToewijzingIngangsdatum", "2025-04-01", "ToewijzingEinddatum", "2025-06-30")
			d.budgetOnly(b, "ToewijzingIngangsdatum", "2025-05-01", "ToewijzingEinddatum", "2025-12-31")
		},
		pass: func(d *draft) {
			a, b := d.twoLines("AangevraagdProduct")
			d.codeLine(a, "13", "13A01", "ToewijzingIngangsdatum", "2025-04-01", "ToewijzingEinddatum", "2025-06-30")
			d.budgetOnly(b, "ToewijzingIngangsdatum", "2025-05-01", "ToewijzingEinddatum", "2025-12-31")
		}},
	// TR386, iJw: none.
	{rule: "TR386", soort: "JW315", opt: sample.Options{Products: 2},
		fail: func(d *draft) {
			a, b := d.twoLines("AangevraagdProduct")
			d.codeLine(a, "43", "43A01", "ToewijzingIngangsdatum", "2025-04-01", "ToewijzingEinddatum", "2025-06-30")
			d.budgetOnly(b, "ToewijzingIngangsdatum", "2025-06-30", "ToewijzingEinddatum", "2025-12-31")
		},
		pass: func(d *draft) {
			a, b := d.twoLines("AangevraagdProduct")
			d.codeLine(a, "43", "43A01", "ToewijzingIngangsdatum", "2025-04-01", "ToewijzingEinddatum", "2025-06-30")
			d.budgetOnly(b, "ToewijzingIngangsdatum", "2025-07-01", "ToewijzingEinddatum", "2025-12-31")
		}},
	// TR410, iWmo: the exception.
	{rule: "TR410", soort: "WMO317",
		fail: func(d *draft) {
			d.nieuwProduct()
			a, b := d.twoLines("NieuwProduct")
			d.codeLine(a, "03", "03A01", "GewensteIngangsdatum", "2025-04-01", "Einddatum", "2025-06-30")
			d.codeLine(b, "03", "03A01", "GewensteIngangsdatum", "2025-05-01", "Einddatum", "2025-12-31")
		},
		pass: func(d *draft) {
			d.nieuwProduct()
			a, b := d.twoLines("NieuwProduct")
			d.codeLine(a, "13", "13A01", "GewensteIngangsdatum", "2025-04-01", "Einddatum", "2025-06-30")
			d.codeLine(b, "13", "13A01", "GewensteIngangsdatum", "2025-05-01", "Einddatum", "2025-12-31")
		}},
	// TR410, iJw: none.
	{rule: "TR410", soort: "JW317",
		fail: func(d *draft) {
			d.nieuwProduct()
			a, b := d.twoLines("NieuwProduct")
			d.codeLine(a, "43", "43A01", "GewensteIngangsdatum", "2025-04-01", "Einddatum", "2025-06-30")
			d.budgetOnly(b, "GewensteIngangsdatum", "2025-06-30", "Einddatum", "2025-12-31")
		},
		pass: func(d *draft) {
			d.nieuwProduct()
			a, b := d.twoLines("NieuwProduct")
			d.codeLine(a, "43", "43A01", "GewensteIngangsdatum", "2025-04-01", "Einddatum", "2025-06-30")
			d.budgetOnly(b, "GewensteIngangsdatum", "2025-07-01", "Einddatum", "2025-12-31")
		}},

	// TR006 on the Contact of a Relatie, the same class as the Client's.
	{rule: "TR006", soort: "WMO301", start: withRelatie,
		fail: func(d *draft) {
			c := d.one("//Relatie/Contact")
			d.foreignAdres(c)
			d.drop(c, "Telefoon")
		},
		pass: func(d *draft) {
			c := d.one("//Relatie/Contact")
			d.foreignAdres(c)
			d.telefoon(c)
		}},
	{rule: "TR006", soort: "WMO301", start: withRelatie,
		fail: func(d *draft) {
			c := d.one("//Relatie/Contact")
			d.set(c, "Soort", "02")
			d.drop(c, "Adres/Postcode")
			d.drop(c, "Adres/LandCode")
			d.drop(c, "Telefoon")
		},
		pass: func(d *draft) {
			c := d.one("//Relatie/Contact")
			d.set(c, "Soort", "02")
			d.drop(c, "Adres/Postcode")
			d.drop(c, "Adres/LandCode")
			d.telefoon(c)
		}},

	// TR314 within the message: across clients too.
	{rule: "TR314", soort: "JW323", opt: sample.Options{Clients: 2, Products: 1},
		fail: func(d *draft) {
			refs := d.all("//Prestatie/ProductReferentie/ReferentieNummer")
			d.set(refs[1], "", refs[0].Text())
		},
		pass: func(d *draft) {
			refs := d.all("//Prestatie/ProductReferentie/ReferentieNummer")
			d.set(refs[1], "", other(refs[0].Text()))
		}},
	// TR319: a ProductPeriode may lie in the DeclaratiePeriode or before,
	// not after.
	{rule: "TR319", soort: "WMO323", opt: sample.Options{Products: 1},
		fail: func(d *draft) {
			p := d.one("//Prestatie/ProductPeriode")
			d.set(p, "Begindatum", "2025-03-01")
			d.set(p, "Einddatum", "2025-03-01")
		},
		pass: func(d *draft) {
			p := d.one("//Prestatie/ProductPeriode")
			d.set(p, "Begindatum", "2025-02-28")
			d.set(p, "Einddatum", "2025-02-28")
		}},
	// TR326: one toewijzing started twice in one message.
	{rule: "TR326", soort: "WMO305", opt: sample.Options{Products: 2},
		fail: func(d *draft) {
			a, b := d.twoLines("StartProduct")
			d.set(b, "ToewijzingNummer", a.SelectElement("ToewijzingNummer").Text())
			d.set(a, "Begindatum", "2025-03-01")
			d.set(b, "Begindatum", "2025-03-02")
		},
		pass: func(d *draft) {
			a, b := d.twoLines("StartProduct")
			d.set(b, "ToewijzingNummer", a.SelectElement("ToewijzingNummer").Text())
			d.set(a, "Begindatum", "2025-03-01")
			d.set(b, "Begindatum", "2025-03-02")
			d.set(a, "StatusAanlevering", "3")
		}},
	// TR346 where the units match, and not for minutes.
	{rule: "TR346", soort: "WMO323", opt: sample.Options{Products: 1},
		fail: func(d *draft) { d.hours(d.one("//Prestatie"), 3, 1000, 3001) },
		pass: func(d *draft) { d.hours(d.one("//Prestatie"), 3, 1000, 3000) }},
	{rule: "TR346", soort: "JW323", opt: sample.Options{Products: 1},
		fail: func(d *draft) { d.hours(d.one("//Prestatie"), 180, 1000, 3001) },
		pass: func(d *draft) {
			p := d.hours(d.one("//Prestatie"), 180, 1000, 3001)
			d.set(p, "Eenheid", "01") // minutes at an hourly tariff: the contract decides
		}},
	// TR415: one start ended for good twice in one message.
	{rule: "TR415", soort: "WMO307", opt: sample.Options{Products: 2},
		fail: func(d *draft) { d.twoStops("19", "19") },
		pass: func(d *draft) { d.twoStops("20", "19") }},
}

// twoStops makes the first two StopProducten of a 307 end the same start
// (ToewijzingNummer and Begindatum) with StatusAanlevering 1, on two days,
// with RedenBeeindiging first and second.
func (d *draft) twoStops(first, second string) {
	a, b := d.twoLines("StopProduct")
	d.set(b, "ToewijzingNummer", a.SelectElement("ToewijzingNummer").Text())
	for _, p := range []*etree.Element{a, b} {
		d.set(p, "Begindatum", "2025-01-01")
		d.set(p, "StatusAanlevering", "1")
	}
	d.set(a, "Einddatum", "2025-03-01")
	d.set(b, "Einddatum", "2025-03-10")
	d.set(a, "RedenBeeindiging", first)
	d.set(b, "RedenBeeindiging", second)
}

func init() { cases = append(cases, depthCases...) }
