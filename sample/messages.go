package sample

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/knooppunt/knooppunt/bericht"
)

// builder makes the content of one message number (shared by iWmo and
// iJw) and writes its body. write is also used for the retour, whose body
// is the heen body with RetourCodes closing every berichtklasse: p is nil
// for the heenbericht.
type builder struct {
	build func(g *Generator, s bericht.Soort, opt Options, h bericht.Header) any
	write func(w *writer, content any, p *plan)
}

var builders = map[int]builder{
	301: {build301, write301},
	305: {build305, write305},
	307: {build307, write307},
	315: {build315, write315},
	317: {build317, write317},
	319: {build319, write319},
	323: {build323, write323},
}

// plan says which RetourCodes a retour body carries: 0200 on every
// berichtklasse, and reject on the first product line.
type plan struct{ reject string }

// class closes a berichtklasse of a retour body with its RetourCodes;
// target marks the class the rejection is for. A nil plan writes nothing.
func (p *plan) class(w *writer, target bool) {
	if p == nil {
		return
	}
	code := "0200"
	if target && p.reject != "" {
		code = p.reject
	}
	w.retourCodes(code)
}

// writeHeader writes the header elements every message has; a retour or
// 325 adds its own before closing it, hence the callback.
func writeHeader(w *writer, s bericht.Soort, h bericht.Header, extra func()) {
	w.Open("Header")
	w.Leaf("BerichtCode", s.Code)
	w.Leaf("BerichtVersie", "3")
	w.Leaf("BerichtSubversie", "2")
	w.Leaf("Afzender", h.Afzender)
	w.Leaf("Ontvanger", h.Ontvanger)
	w.Open("BerichtIdentificatie")
	w.BasisLeaf("Identificatie", h.Identificatie)
	w.BasisLeaf("Dagtekening", h.Dagtekening)
	w.Close("BerichtIdentificatie")
	w.Open("XsdVersie")
	w.BasisLeaf("BasisschemaXsdVersie", h.BasisschemaXsdVersie)
	w.BasisLeaf("BerichtXsdVersie", h.BerichtXsdVersie)
	w.Close("XsdVersie")
	if extra != nil {
		extra()
	}
	w.Close("Header")
}

// dagtekening parses the header date back; header built it, so it parses.
func dagtekening(h bericht.Header) time.Time {
	d, err := time.Parse(dateLayout, h.Dagtekening)
	if err != nil {
		return time.Time{}
	}
	return d
}

func addDays(d time.Time, n int) time.Time { return d.AddDate(0, 0, n) }

// --- persons -------------------------------------------------------------

type person struct {
	bsn                     string
	geboortedatum           time.Time
	geslacht                string
	voorvoegsel, achternaam string
	partnerVoorvoegsel      string
	partnerAchternaam       string
	voornamen, voorletters  string
	naamGebruik             string
	communicatieVorm, taal  string
	commentaar              string
	gezagsdragerBekend      string
	contacts                []contact
	relaties                []relatie
	plaats                  string
}

type contact struct {
	soort                    string
	huisnummer               int
	huisletter, toevoeging   string
	postcode, straat, plaats string
	organisatie              string
	telefoon, email          string
}

type relatie struct {
	nummer, soort string
	naam          person
	contact       contact
}

// person invents a client. Wmo clients are adults, Jw clients under 18;
// TR002 (at most 120 years before Dagtekening) holds for both.
func (g *Generator) person(std bericht.Standard, d time.Time, gemeente string) person {
	p := person{bsn: g.BSN(), geslacht: pick(g, []string{"1", "2", "1", "2", "0"})}
	age := g.between(18, 98)
	if std == bericht.IJw {
		age = g.between(0, 17)
	}
	p.geboortedatum = addDays(d.AddDate(-age, 0, 0), -g.between(1, 364))
	sn := pick(g, surnames)
	p.voorvoegsel, p.achternaam = sn.voorvoegsel, sn.achternaam
	if g.chance(2) {
		p.voornamen = pick(g, firstNames)
		if g.chance(3) {
			p.voornamen += " " + pick(g, firstNames)
		}
		p.voorletters = initials(p.voornamen)
	}
	// CS050/CS318: NaamGebruik 1–4 with a partnernaam, else 1; never 6.
	p.naamGebruik = "1"
	if std == bericht.IWmo && g.chance(5) {
		ps := pick(g, surnames)
		p.partnerVoorvoegsel, p.partnerAchternaam = ps.voorvoegsel, ps.achternaam
		p.naamGebruik = pick(g, []string{"1", "2", "3", "4"})
	}
	// CD007: Taal only (and then required) with Vorm 1.
	if g.chance(8) {
		p.communicatieVorm = pick(g, []string{"1", "2", "3"})
		if p.communicatieVorm == "1" {
			p.taal = pick(g, []string{"Arabisch", "Turks", "Pools", "Tigrinya"})
		}
	}
	if g.chance(4) {
		p.commentaar = pick(g, comments)
	}
	p.plaats = places["0363"].name
	if pl, ok := places[gemeente]; ok {
		p.plaats = pl.name
	}
	return p
}

func initials(names string) string {
	var b strings.Builder
	for _, n := range strings.Fields(names) {
		r := []rune(n)
		b.WriteRune(r[0])
	}
	return b.String()
}

// address invents a Dutch address in the gemeente's place: TR006 (Huis and
// Postcode), CD025/CS089 (LandCode NL with a Dutch postcode).
func (g *Generator) address(soort, gemeente string) contact {
	pl, ok := places[gemeente]
	if !ok {
		pl = places["0363"]
	}
	c := contact{
		soort:      soort,
		huisnummer: g.between(1, 250),
		postcode:   fmt.Sprintf("%04d%c%c", g.between(pl.lo, pl.hi), 'A'+rune(g.rng.IntN(17)), 'A'+rune(g.rng.IntN(26))),
		straat:     pick(g, streets),
		plaats:     pl.name,
	}
	if g.chance(5) {
		c.huisletter = string(rune('A' + g.rng.IntN(4)))
	}
	if g.chance(8) {
		c.toevoeging = pick(g, []string{"1", "2", "bis", "hs"})
	}
	if g.chance(2) {
		c.telefoon = fmt.Sprintf("06%08d", g.rng.IntN(100000000))
	}
	if g.chance(4) {
		c.email = fmt.Sprintf("client%d@example.org", g.rng.IntN(100000))
	}
	return c
}

func writeVolledigeNaam(w *writer, p person) {
	w.Open("Naam")
	w.BasisOpen("Geslachtsnaam")
	w.BasisLeaf("Achternaam", p.achternaam)
	w.bopt("Voorvoegsel", p.voorvoegsel)
	w.BasisClose("Geslachtsnaam")
	if p.partnerAchternaam != "" {
		w.BasisOpen("Partnernaam")
		w.BasisLeaf("Achternaam", p.partnerAchternaam)
		w.bopt("Voorvoegsel", p.partnerVoorvoegsel)
		w.BasisClose("Partnernaam")
	}
	w.bopt("Voornamen", p.voornamen)
	w.bopt("Voorletters", p.voorletters)
	w.BasisLeaf("NaamGebruik", p.naamGebruik)
	w.Close("Naam")
}

func writeVerkorteNaam(w *writer, p person) {
	w.Open("Naam")
	w.BasisOpen("Geslachtsnaam")
	w.BasisLeaf("Achternaam", p.achternaam)
	w.bopt("Voorvoegsel", p.voorvoegsel)
	w.BasisClose("Geslachtsnaam")
	w.bopt("Voornamen", p.voornamen)
	w.bopt("Voorletters", p.voorletters)
	w.Close("Naam")
}

// writeClientKern writes Bsn, Geboortedatum, Geslacht and the short Naam
// that 305, 307 and 315 share.
func writeClientKern(w *writer, p person) {
	w.Leaf("Bsn", p.bsn)
	w.Open("Geboortedatum")
	w.BasisDate("Datum", p.geboortedatum)
	w.Close("Geboortedatum")
	w.Leaf("Geslacht", p.geslacht)
	writeVerkorteNaam(w, p)
}

func writeContact(w *writer, c contact, p *plan) {
	w.Open("Contact")
	w.Leaf("Soort", c.soort)
	w.Open("Adres")
	w.BasisOpen("Huis")
	w.BasisInt("Huisnummer", int64(c.huisnummer))
	w.bopt("Huisletter", c.huisletter)
	w.bopt("HuisnummerToevoeging", c.toevoeging)
	w.BasisClose("Huis")
	w.BasisLeaf("Postcode", c.postcode)
	w.BasisLeaf("Straatnaam", c.straat)
	w.BasisLeaf("Plaatsnaam", c.plaats)
	w.BasisLeaf("LandCode", "NL")
	w.Close("Adres")
	w.opt("Organisatie", c.organisatie)
	if c.telefoon != "" {
		w.Open("Telefoon")
		w.BasisOpen("Telefoon01")
		w.BasisLeaf("Telefoonnummer", c.telefoon)
		w.BasisLeaf("Landnummer", "0031")
		w.BasisClose("Telefoon01")
		w.Close("Telefoon")
	}
	w.opt("Emailadres", c.email)
	p.class(w, false)
	w.Close("Contact")
}

// --- products ------------------------------------------------------------

type omvang struct {
	volume     int
	eenheid    string
	frequentie string
}

// line is a product line: a toegewezen, aangevraagd, gestart or gestopt
// product. Zero fields are absent.
type line struct {
	nummer          int // ToewijzingNummer
	referentie      string
	categorie, code string
	ingang, eind    time.Time
	omvang          *omvang
	budget          int
	unit            unit
}

// product invents a product line of standard std starting at ingang. n
// makes the ProductCode distinct within the message, so no product occurs
// twice (TR101, TR302, TR386, TR410). With budgetOK the line may instead
// carry a Budget (then no Omvang and no ProductCode: CD077, CD078, CD041),
// or only a Categorie without Omvang (CD080). The line's ProductCategorie
// is never except: a line without ProductCode counts as its whole category
// in TR302, TR386 and TR410, so no other line may share it.
func (g *Generator) product(std bericht.Standard, ingang time.Time, n int, budgetOK bool, except string) line {
	kind := g.productKind(std, except)
	l := line{
		nummer:    g.nextToewijzingNummer(),
		categorie: kind.categorie,
		code:      fmt.Sprintf("%s%c%02d", kind.categorie, 'A'+rune(n/100%26), n%100),
		ingang:    ingang,
		unit:      pick(g, kind.units),
	}
	switch r := g.rng.IntN(10); {
	case budgetOK && r == 0: // budget: Einddatum required (CD075)
		l.code = ""
		l.budget = g.between(500, 20000) * 100
		l.eind = l.ingang.AddDate(0, g.between(3, 12), -1)
	case budgetOK && r == 1: // inspanningsgericht without Omvang
		l.code = ""
		if g.chance(2) {
			l.eind = l.ingang.AddDate(0, g.between(3, 12), -1)
		}
	default:
		o := &omvang{eenheid: l.unit.eenheid, frequentie: pick(g, l.unit.frequenties)}
		o.volume = g.between(l.unit.lo, l.unit.hi)
		if o.frequentie == "1" {
			o.volume = max(1, o.volume/5)
		}
		l.omvang = o
		// CD076: Einddatum required with Frequentie 2 (per week).
		if o.frequentie == "2" || g.chance(2) {
			l.eind = l.ingang.AddDate(0, g.between(3, 12), -1)
		}
	}
	return l
}

// productKind picks a product kind of standard std uniformly among those
// whose ProductCategorie is not except.
func (g *Generator) productKind(std bericht.Standard, except string) productKind {
	kinds := catalogs[std]
	skip := slices.IndexFunc(kinds, func(k productKind) bool { return k.categorie == except })
	if skip < 0 {
		return pick(g, kinds)
	}
	k := g.rng.IntN(len(kinds) - 1)
	if k >= skip {
		k++
	}
	return kinds[k]
}

func writeProduct(w *writer, l line) {
	w.Open("Product")
	w.BasisLeaf("Categorie", l.categorie)
	w.bopt("Code", l.code)
	w.Close("Product")
}

func writeOmvangBudget(w *writer, l line) {
	if l.omvang != nil {
		w.Open("Omvang")
		w.BasisInt("Volume", int64(l.omvang.volume))
		w.BasisLeaf("Eenheid", l.omvang.eenheid)
		w.BasisLeaf("Frequentie", l.omvang.frequentie)
		w.Close("Omvang")
	}
	if l.budget > 0 {
		w.Int("Budget", int64(l.budget))
	}
}

// lineCount is Options.Products or 1–3.
func (g *Generator) lineCount(opt Options) int {
	if opt.Products > 0 {
		return opt.Products
	}
	return g.between(1, 3)
}

// --- 301 Toewijzing --------------------------------------------------------

type toewijzing struct {
	client    person
	datum     time.Time
	tijd      string
	producten []line
}

func build301(g *Generator, s bericht.Soort, opt Options, h bericht.Header) any {
	d := dagtekening(h)
	t := toewijzing{client: g.person(s.Standard, d, h.Afzender), datum: d}
	t.tijd = fmt.Sprintf("%02d:%02d:%02d", g.between(7, 18), g.rng.IntN(60), g.rng.IntN(60))
	// TR061: a BRP-, correspondence- or verblijfadres; CD034: Adres with 01/03.
	t.client.contacts = append(t.client.contacts, g.address("01", h.Afzender))
	if g.chance(5) {
		c := g.address("02", h.Afzender)
		c.organisatie = "Bewind & Beheer B.V."
		t.client.contacts = append(t.client.contacts, c)
	}
	if g.chance(3) {
		r := relatie{nummer: fmt.Sprintf("R%d", g.between(1, 99999)), soort: pick(g, soortRelatie)}
		r.naam = g.person(bericht.IWmo, d, h.Afzender)
		r.contact = g.address("02", h.Afzender)
		t.client.relaties = append(t.client.relaties, r)
	}
	n, base := g.lineCount(opt), g.rng.IntN(50)
	var except string // TR302: a category-only first line keeps its category to itself
	for i := range n {
		ingang := addDays(d, g.between(-60, 30))
		l := g.product(s.Standard, ingang, base+i, i == 0, except)
		if l.code == "" {
			except = l.categorie
		}
		t.producten = append(t.producten, l)
	}
	return &t
}

func write301(w *writer, content any, p *plan) {
	t := content.(*toewijzing)
	c := t.client
	w.Open("Client")
	w.Leaf("Bsn", c.bsn)
	w.Open("Geboortedatum")
	w.BasisDate("Datum", c.geboortedatum)
	w.Close("Geboortedatum")
	w.Leaf("Geslacht", c.geslacht)
	writeVolledigeNaam(w, c)
	if c.communicatieVorm != "" {
		w.Open("Communicatie")
		w.BasisLeaf("Vorm", c.communicatieVorm)
		w.bopt("Taal", c.taal)
		w.Close("Communicatie")
	}
	w.opt("Commentaar", c.commentaar)
	if len(c.relaties) > 0 {
		w.Open("Relaties")
		for _, r := range c.relaties {
			w.Open("Relatie")
			w.Leaf("Nummer", r.nummer)
			w.Leaf("Soort", r.soort)
			writeVolledigeNaam(w, r.naam)
			writeContact(w, r.contact, p)
			p.class(w, false)
			w.Close("Relatie")
		}
		w.Close("Relaties")
	}
	w.Open("Contactgegevens")
	for _, ct := range c.contacts {
		writeContact(w, ct, p)
	}
	w.Close("Contactgegevens")
	w.Open("ToegewezenProducten")
	for i, l := range t.producten {
		w.Open("ToegewezenProduct")
		w.Int("ToewijzingNummer", int64(l.nummer))
		w.opt("ReferentieAanbieder", l.referentie) // TR379: only honouring a 315 or 317
		writeProduct(w, l)
		w.Date("Toewijzingsdatum", t.datum)
		w.Leaf("Toewijzingstijd", t.tijd)
		w.Date("Ingangsdatum", l.ingang)
		w.optDate("Einddatum", l.eind)
		writeOmvangBudget(w, l)
		p.class(w, i == 0)
		w.Close("ToegewezenProduct")
	}
	w.Close("ToegewezenProducten")
	p.class(w, false)
	w.Close("Client")
}

// --- 305 Start levering, 307 Stop levering --------------------------------

type levering struct {
	client person
	lines  []leveringLine
	stop   bool
}

type leveringLine struct {
	line
	begin, einde time.Time
	reden        string
}

func buildLevering(g *Generator, s bericht.Soort, opt Options, h bericht.Header, stop bool) *levering {
	d := dagtekening(h)
	l := &levering{client: g.person(s.Standard, d, h.Ontvanger), stop: stop}
	n, base := g.lineCount(opt), g.rng.IntN(50)
	for i := range n {
		// TR134: Begindatum and Einddatum not after Dagtekening; TR018:
		// Einddatum not before Begindatum.
		ingang := addDays(d, -g.between(30, 400))
		ll := leveringLine{line: g.product(s.Standard, ingang, base+i, false, "")}
		ll.begin = addDays(ingang, g.between(0, 14))
		if stop {
			ll.einde = addDays(ll.begin, g.between(0, int(d.Sub(ll.begin).Hours()/24)))
			ll.reden = pick(g, redenBeeindiging[s.Standard])
		}
		l.lines = append(l.lines, ll)
	}
	return l
}

func build305(g *Generator, s bericht.Soort, opt Options, h bericht.Header) any {
	return buildLevering(g, s, opt, h, false)
}

func build307(g *Generator, s bericht.Soort, opt Options, h bericht.Header) any {
	return buildLevering(g, s, opt, h, true)
}

func writeLevering(w *writer, l *levering, p *plan) {
	group, item := "StartProducten", "StartProduct"
	if l.stop {
		group, item = "StopProducten", "StopProduct"
	}
	w.Open("Client")
	writeClientKern(w, l.client)
	w.Open(group)
	for i, ll := range l.lines {
		w.Open(item)
		w.Int("ToewijzingNummer", int64(ll.nummer))
		writeProduct(w, ll.line)
		w.Date("ToewijzingIngangsdatum", ll.ingang)
		w.Date("Begindatum", ll.begin)
		if l.stop {
			w.Leaf("RedenBeeindiging", ll.reden)
			w.Date("Einddatum", ll.einde)
		}
		w.Leaf("StatusAanlevering", "1") // CS058: 1 or 3; 3 needs an earlier 1
		p.class(w, i == 0)
		w.Close(item)
	}
	w.Close(group)
	p.class(w, false)
	w.Close("Client")
}

func write305(w *writer, content any, p *plan) { writeLevering(w, content.(*levering), p) }
func write307(w *writer, content any, p *plan) { writeLevering(w, content.(*levering), p) }

// --- 315 Verzoek om toewijzing ---------------------------------------------

type verzoekToewijzing struct {
	client person
	lines  []aanvraag
}

type aanvraag struct {
	line
	beschikking       int
	beschikkingIngang time.Time
	verwijzerType     string
	verwijzerNaam     string
	verwijzerAgb      string
	raamcontract      string
	commentaar        string
}

func build315(g *Generator, s bericht.Soort, opt Options, h bericht.Header) any {
	d := dagtekening(h)
	v := &verzoekToewijzing{client: g.person(s.Standard, d, h.Ontvanger)}
	if s.Standard == bericht.IJw && g.chance(2) {
		v.client.gezagsdragerBekend = pick(g, []string{"1", "2"})
	}
	n, base := g.lineCount(opt), g.rng.IntN(50)
	var except string // TR386: a category-only first line keeps its category to itself
	for i := range n {
		a := aanvraag{line: g.product(s.Standard, addDays(d, -g.between(0, 14)), base+i, i == 0, except)}
		if a.code == "" {
			except = a.categorie
		}
		a.referentie = g.NextID() // TR383, TR347: unique ReferentieAanbieder
		if g.chance(2) {          // CD043: BeschikkingIngangsdatum with BeschikkingNummer
			a.beschikking = g.between(1000, 999999999)
			a.beschikkingIngang = addDays(a.ingang, -g.between(0, 30))
		}
		a.verwijzerType = pick(g, typeVerwijzer)
		switch a.verwijzerType {
		case "02", "03", "04", "05": // CD066/CD067: AGB code or a name
			if g.chance(2) {
				a.verwijzerAgb = fmt.Sprintf("%08d", g.between(1000000, 99999999))
			} else {
				a.verwijzerNaam = "Dr. " + pick(g, surnames).achternaam
			}
		case "01": // CD068: no ZorgverlenerCode
			a.verwijzerNaam = "Gemeente " + v.client.plaats
		}
		if g.chance(3) {
			a.raamcontract = pick(g, []string{"1", "2"})
		}
		v.lines = append(v.lines, a)
	}
	return v
}

func write315(w *writer, content any, p *plan) {
	v := content.(*verzoekToewijzing)
	w.Open("Client")
	writeClientKern(w, v.client)
	w.opt("GezagsdragerBekend", v.client.gezagsdragerBekend)
	w.opt("Commentaar", v.client.commentaar)
	w.Open("AangevraagdeProducten")
	for i, a := range v.lines {
		w.Open("AangevraagdProduct")
		w.Leaf("ReferentieAanbieder", a.referentie)
		if a.beschikking > 0 {
			w.Int("BeschikkingNummer", int64(a.beschikking))
		}
		writeProduct(w, a.line)
		w.optDate("BeschikkingIngangsdatum", a.beschikkingIngang)
		w.Date("ToewijzingIngangsdatum", a.ingang)
		w.optDate("ToewijzingEinddatum", a.eind)
		writeOmvangBudget(w, a.line)
		w.Open("Verwijzer")
		w.BasisLeaf("Type", a.verwijzerType)
		w.bopt("Naam", a.verwijzerNaam)
		w.bopt("ZorgverlenerCode", a.verwijzerAgb)
		w.Close("Verwijzer")
		w.opt("Raamcontract", a.raamcontract)
		p.class(w, i == 0)
		w.Close("AangevraagdProduct")
	}
	w.Close("AangevraagdeProducten")
	p.class(w, false)
	w.Close("Client")
}

// --- 317 Verzoek om wijziging ----------------------------------------------

type verzoekWijziging struct {
	bsn         string
	referentie  string
	reden       string
	ongewijzigd []int
	teWijzigen  []line
	nieuw       []line
}

func build317(g *Generator, s bericht.Soort, opt Options, h bericht.Header) any {
	d := dagtekening(h)
	v := &verzoekWijziging{bsn: g.BSN(), referentie: g.NextID(), reden: pick(g, []string{"1", "2"})}
	n, base := g.lineCount(opt), g.rng.IntN(50)
	for i := range n {
		// TR380: the wished dates lie after the Dagtekening. TR352/TR353: at
		// least one TeWijzigenProduct, which is always the first line.
		ingang := addDays(d, g.between(1, 30))
		switch {
		case i == 0 || g.chance(3):
			l := g.product(s.Standard, ingang, base+i, false, "")
			v.teWijzigen = append(v.teWijzigen, l)
		case g.chance(2):
			v.ongewijzigd = append(v.ongewijzigd, g.nextToewijzingNummer())
		default:
			v.nieuw = append(v.nieuw, g.product(s.Standard, ingang, base+i, false, ""))
		}
	}
	return v
}

func write317(w *writer, content any, p *plan) {
	v := content.(*verzoekWijziging)
	w.Open("Client")
	w.Leaf("Bsn", v.bsn)
	w.Open("Verzoek")
	w.Leaf("ReferentieAanbieder", v.referentie)
	w.Leaf("RedenVerzoek", v.reden)
	first := true // the class a rejection goes to
	if len(v.ongewijzigd) > 0 {
		w.Open("OngewijzigdeProducten")
		for _, nr := range v.ongewijzigd {
			w.Open("OngewijzigdProduct")
			w.Int("ToewijzingNummer", int64(nr))
			p.class(w, false)
			w.Close("OngewijzigdProduct")
		}
		w.Close("OngewijzigdeProducten")
	}
	w.Open("TeWijzigenProducten")
	for _, l := range v.teWijzigen {
		w.Open("TeWijzigenProduct")
		w.Int("ToewijzingNummer", int64(l.nummer))
		w.Date("GewensteIngangsdatum", l.ingang)
		w.optDate("Einddatum", l.eind)
		writeOmvangBudget(w, l)
		p.class(w, first)
		first = false
		w.Close("TeWijzigenProduct")
	}
	w.Close("TeWijzigenProducten")
	if len(v.nieuw) > 0 {
		w.Open("NieuweProducten")
		for _, l := range v.nieuw {
			w.Open("NieuwProduct")
			writeProduct(w, l)
			w.Date("GewensteIngangsdatum", l.ingang)
			w.optDate("Einddatum", l.eind)
			writeOmvangBudget(w, l)
			p.class(w, false)
			w.Close("NieuwProduct")
		}
		w.Close("NieuweProducten")
	}
	p.class(w, false)
	w.Close("Verzoek")
	p.class(w, false)
	w.Close("Client")
}

// --- 319 Antwoordbericht ---------------------------------------------------

type antwoord struct {
	referentie    string
	antwoord      string
	reden         string
	woonplaatsGem string
}

func build319(g *Generator, s bericht.Soort, opt Options, h bericht.Header) any {
	a := &antwoord{referentie: g.NextID(), antwoord: pick(g, []string{"1", "2"})}
	if a.antwoord == "1" { // CD085/CD086: a reason only when rejected
		a.reden = fmt.Sprint(g.between(1, 9))
		if a.reden == "8" && s.Standard == bericht.IJw {
			for a.woonplaatsGem == "" || a.woonplaatsGem == h.Afzender {
				a.woonplaatsGem = pick(g, DefaultGemeenten)
			}
		}
	}
	return a
}

func write319(w *writer, content any, p *plan) {
	a := content.(*antwoord)
	w.Open("Antwoord")
	w.Leaf("ReferentieAanbieder", a.referentie)
	w.Leaf("VerzoekAntwoord", a.antwoord)
	w.opt("RedenAfwijzingVerzoek", a.reden)
	if a.woonplaatsGem != "" {
		w.Open("Woonplaatsbeginsel")
		w.Leaf("Gemeente", a.woonplaatsGem)
		p.class(w, false)
		w.Close("Woonplaatsbeginsel")
	}
	p.class(w, true)
	w.Close("Antwoord")
}

// --- 323 Declaratie --------------------------------------------------------

type declaratie struct {
	nummer      string
	begin, eind time.Time // DeclaratiePeriode
	dagtekening time.Time
	totaal      int64 // net amount, negative for credit
	clienten    []declClient
}

type declClient struct {
	bsn        string
	prestaties []prestatie
}

type prestatie struct {
	referentie, vorige string
	toewijzing         int
	categorie, code    string
	begin, eind        time.Time
	volume             int
	eenheid            string
	tarief             int // 0: absent (Eenheid 83, CD087)
	bedrag             int
	credit             bool
}

func (p prestatie) signed() int64 {
	if p.credit {
		return -int64(p.bedrag)
	}
	return int64(p.bedrag)
}

func debetCredit(credit bool) string {
	if credit {
		return "C"
	}
	return "D"
}

// totaalDC splits a net amount into TotaalBedrag and DebetCredit; zero is
// debet (CS325).
func totaalDC(net int64) (int64, string) {
	if net < 0 {
		return -net, "C"
	}
	return net, "D"
}

func monthOf(d time.Time) (time.Time, time.Time) {
	first := time.Date(d.Year(), d.Month(), 1, 0, 0, 0, 0, time.UTC)
	return first, first.AddDate(0, 1, -1)
}

func build323(g *Generator, s bericht.Soort, opt Options, h bericht.Header) any {
	d := dagtekening(h)
	// CS340/CS100: the DeclaratiePeriode is the whole calendar month before
	// the Dagtekening; TR137: its end is not after the Dagtekening.
	begin, eind := monthOf(time.Date(d.Year(), d.Month(), 1, 0, 0, 0, 0, time.UTC).AddDate(0, -1, 0))
	dc := &declaratie{nummer: g.NextID(), begin: begin, eind: eind, dagtekening: d}
	clients := max(opt.Clients, 1)
	for range clients {
		c := declClient{bsn: g.BSN()}
		n, base := g.lineCount(opt), g.rng.IntN(50)
		for i := range n {
			kind := pick(g, catalogs[s.Standard])
			u := pick(g, kind.units)
			pr := prestatie{
				referentie: "P" + g.NextID(), // TR314: unique ReferentieNummer
				toewijzing: g.nextToewijzingNummer(),
				categorie:  kind.categorie,
				code:       fmt.Sprintf("%s%c%02d", kind.categorie, 'A'+rune((base+i)/100%26), (base+i)%100),
				begin:      begin, eind: eind, // CS337, TR387, TR388: one whole month
				eenheid: u.eenheid,
			}
			// A credit corrects an earlier month's debet (TR319 allows a
			// preceding period; CD060 VorigReferentieNummer; TR316 it is
			// not a debet of this message).
			if i > 0 && g.chance(8) {
				pr.credit = true
				pr.vorige = "P" + g.NextID()
				pr.begin, pr.eind = monthOf(begin.AddDate(0, -1, 0))
			}
			pr.volume = g.between(u.lo, u.hi) * 4
			if u.eenheid == "83" { // CS339: Bedrag equals Volume; CD087: no tarief
				pr.volume = g.between(u.lo, u.hi)
				pr.bedrag = pr.volume
			} else { // TR346: Bedrag = Volume × Tarief
				if u.eenheid == "82" || u.eenheid == "14" {
					pr.volume = g.between(u.lo, u.hi)
				}
				pr.tarief = g.between(u.tariefLo, u.tariefHi)
				pr.bedrag = pr.volume * pr.tarief
			}
			dc.totaal += pr.signed()
			c.prestaties = append(c.prestaties, pr)
		}
		dc.clienten = append(dc.clienten, c)
	}
	return dc
}

func writePrestatie(w *writer, pr prestatie) {
	w.Open("ProductReferentie")
	w.BasisLeaf("ReferentieNummer", pr.referentie)
	w.bopt("VorigReferentieNummer", pr.vorige)
	w.Close("ProductReferentie")
	w.Int("ToewijzingNummer", int64(pr.toewijzing))
	w.Leaf("ProductCategorie", pr.categorie)
	w.Leaf("ProductCode", pr.code)
	w.Open("ProductPeriode")
	w.BasisDate("Begindatum", pr.begin)
	w.BasisDate("Einddatum", pr.eind)
	w.Close("ProductPeriode")
	w.Int("GeleverdVolume", int64(pr.volume))
	w.Leaf("Eenheid", pr.eenheid)
	if pr.tarief > 0 {
		w.Int("ProductTarief", int64(pr.tarief))
	}
	w.Open("IngediendBedrag")
	w.BasisInt("Bedrag", int64(pr.bedrag))
	w.BasisLeaf("DebetCredit", debetCredit(pr.credit))
	w.Close("IngediendBedrag")
}

func writeTotaal(w *writer, name string, net int64) {
	amount, dc := totaalDC(net)
	w.Open(name)
	w.BasisInt("TotaalBedrag", amount)
	w.BasisLeaf("DebetCredit", dc)
	w.Close(name)
}

func write323(w *writer, content any, _ *plan) {
	dc := content.(*declaratie)
	w.Open("Declaratie")
	w.Leaf("DeclaratieNummer", dc.nummer)
	w.Open("DeclaratiePeriode")
	w.BasisDate("Begindatum", dc.begin)
	w.BasisDate("Einddatum", dc.eind)
	w.Close("DeclaratiePeriode")
	w.Date("DeclaratieDagtekening", dc.dagtekening)
	writeTotaal(w, "TotaalIngediendBedrag", dc.totaal) // TR358
	w.Open("Clienten")
	for _, c := range dc.clienten {
		w.Open("Client")
		w.Leaf("Bsn", c.bsn)
		w.Open("Prestaties")
		for _, pr := range c.prestaties {
			w.Open("Prestatie")
			writePrestatie(w, pr)
			w.Close("Prestatie")
		}
		w.Close("Prestaties")
		w.Close("Client")
	}
	w.Close("Clienten")
	w.Close("Declaratie")
}
