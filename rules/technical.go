package rules

import (
	"strconv"
	"strings"

	"github.com/knooppunt/knooppunt/bericht"
)

// technical are the technical rules (TR) whose control level is "bericht
// inhoud (xslt)" in iWmo 3.2 and in the iJw 3.2 list.
var technical = []*Rule{
	{
		Code: "TR002", Retourcode: Rejected, Level: InMessage, Soorten: soorten("301", "305", "307", "315"),
		Summary: "Geboortedatum lies at most 120 years before the Dagtekening, unless it is unknown (DatumGebruik 3, 1900-01-01)",
		Breaks:  "a Client born 120 years and one day before the Dagtekening, without DatumGebruik",
		Keeps:   "a Client born exactly 120 years before the Dagtekening; or born 1900-01-01 with DatumGebruik 3 (unknown)",
		check:   checkTR002,
	},
	{
		Code: "TR006", Retourcode: Rejected, Level: InMessage, Soorten: soorten("301"),
		Summary: "every Contact, of the Client's Contactgegevens and of a Relatie, has a Telefoon, or an Adres with both Huis and Postcode",
		Breaks:  "a Relatie's Contact with a Belgian Adres without Huis and no Telefoon",
		Keeps:   "the same Contact with a Telefoon",
		check:   checkTR006,
	},
	{
		Code: "TR018", Retourcode: Rejected, Level: InMessage, Soorten: soorten("307"),
		Summary: "StopProduct Einddatum is not before its Begindatum",
		Breaks:  "a StopProduct beginning 2025-03-01 and ending 2025-02-28",
		Keeps:   "a StopProduct beginning and ending 2025-03-01",
		check: func(c *checker) {
			c.each("StopProduct", func(i int) { c.notBefore(i, "Begindatum", "Einddatum") })
		},
	},
	{
		Code: "TR061", Retourcode: Rejected, Level: InMessage, Soorten: soorten("301"),
		Summary: "the Client has a Contact of Soort 01 (BRP), 02 (correspondence) or 03 (residence)",
		Breaks:  "a Client whose only Contact has Soort 04 (temporary address)",
		Keeps:   "the same Client with Soort 03",
		check:   checkTR061,
	},
	{
		Code: "TR101", Retourcode: Rejected, Level: InMessage, Soorten: soorten("301", "305", "307", "315", "317", "323", "325"),
		Summary: "no class occurs twice with the same logical key under the same parent",
		Breaks:  "two ToegewezenProducten with the same ToewijzingNummer",
		Keeps:   "two ToegewezenProducten whose ToewijzingNummers differ in the last digit",
		check:   checkTR101,
	},
	{
		Code: "TR134", Retourcode: Rejected, Level: InMessage, Soorten: soorten("301", "305", "307", "315", "323", "325"),
		Summary: "dates of past events (Geboortedatum, Toewijzingsdatum, start and stop dates, declaratie date) are not after the Dagtekening",
		Breaks:  "a StartProduct whose Begindatum is the day after the Dagtekening",
		Keeps:   "a StartProduct whose Begindatum is the Dagtekening",
		check:   checkTR134,
	},
	{
		Code: "TR137", Retourcode: Rejected, Level: InMessage, Soorten: soorten("323", "325"),
		Summary: "ProductPeriode Einddatum is not before its Begindatum and not after the Dagtekening",
		Breaks:  "a ProductPeriode ending the day after the Dagtekening",
		Keeps:   "a ProductPeriode ending on the Dagtekening",
		check:   checkTR137,
	},
	{
		Code: "TR302", Retourcode: Rejected, Level: InMessage, Soorten: soorten("301"),
		Summary: "a product occurs more than once among the ToegewezenProducten only with periods that do not overlap; in iWmo products of ProductCategorie 11–14 may overlap, and a line without Product may overlap only those",
		Breaks:  "two ToegewezenProducten of ProductCode 03A01, one ending and the other beginning on 2025-06-30; in iWmo also a budget line without Product overlapping a line of categorie 03",
		Keeps:   "the same two lines with the second beginning 2025-07-01; in iWmo also two overlapping lines of categorie 11, or a budget line without Product overlapping one of categorie 11",
		check: func(c *checker) {
			c.noOverlap("ToegewezenProduct", "Ingangsdatum", "Einddatum", true)
		},
	},
	{
		Code: "TR315", Retourcode: Rejected, Level: InMessage, Soorten: soorten("323"),
		Summary: "a VorigReferentieNummer occurs once in the message",
		Breaks:  "two credit Prestaties with the same VorigReferentieNummer",
		Keeps:   "two credit Prestaties with different VorigReferentieNummers",
		check:   checkTR315,
	},
	{
		Code: "TR316", Retourcode: Rejected, Level: InMessage, Soorten: soorten("323"),
		Summary: "a Prestatie is not credited in the message that declares it (VorigReferentieNummer is no ReferentieNummer of the message)",
		Breaks:  "a credit Prestatie whose VorigReferentieNummer is the ReferentieNummer of another Prestatie of the message",
		Keeps:   "the same credit Prestatie referring to a ReferentieNummer the message does not hold",
		check:   checkTR316,
	},
	{
		Code: "TR335", Retourcode: Rejected, Level: InMessage, Soorten: soorten("323"),
		Summary: "ProductPeriode Einddatum lies at most 5 years before the DeclaratieDagtekening",
		Breaks:  "a ProductPeriode ending 5 years and one day before the DeclaratieDagtekening",
		Keeps:   "a ProductPeriode ending exactly 5 years before it",
		check:   checkTR335,
	},
	{
		Code: "TR342", Retourcode: Rejected, Level: InMessage, Soorten: soorten("325"),
		Summary: "a declaratie-antwoord lists only rejected Prestaties (a RetourCode other than 0200)",
		Breaks:  "a 325 listing a Prestatie whose only RetourCode is 0200",
		Keeps:   "a 325 listing a Prestatie rejected with 9307",
		check:   checkTR342,
	},
	{
		Code: "TR352", Retourcode: Rejected, Level: InMessage, Soorten: soorten("317"),
		Summary: "a verzoek om wijziging has an OngewijzigdProduct or a TeWijzigenProduct",
		Breaks:  "a Verzoek with only NieuweProducten",
		Keeps:   "a Verzoek with one OngewijzigdProduct and a NieuwProduct",
		check: func(c *checker) {
			c.each("Verzoek", func(i int) {
				if !c.has(i, "OngewijzigdeProducten") && !c.has(i, "TeWijzigenProducten") {
					c.fail(i, "has neither OngewijzigdeProducten nor TeWijzigenProducten")
				}
			})
		},
	},
	{
		Code: "TR353", Retourcode: Rejected, Level: InMessage, Soorten: soorten("317"),
		Summary: "a verzoek om wijziging has a TeWijzigenProduct or a NieuwProduct",
		Breaks:  "a Verzoek with only OngewijzigdeProducten",
		Keeps:   "a Verzoek with one OngewijzigdProduct and a NieuwProduct",
		check: func(c *checker) {
			c.each("Verzoek", func(i int) {
				if !c.has(i, "TeWijzigenProducten") && !c.has(i, "NieuweProducten") {
					c.fail(i, "has neither TeWijzigenProducten nor NieuweProducten")
				}
			})
		},
	},
	{
		Code: "TR358", Retourcode: Rejected, Level: InMessage, Soorten: soorten("323"),
		Summary: "TotaalIngediendBedrag is the sum of the Prestaties' IngediendBedrag, debet minus credit",
		Breaks:  "a TotaalBedrag one cent more than the sum of the Prestaties",
		Keeps:   "a TotaalBedrag that is the sum, with a credit Prestatie subtracted",
		check:   checkTR358,
	},
	{
		Code: "TR377", Retourcode: Rejected, Level: InMessage, Soorten: []string{"JW319"},
		Summary: "with RedenAfwijzingVerzoek 8 (woonplaatsbeginsel) the class Woonplaatsbeginsel is present",
		Breaks:  "an Antwoord rejecting for the woonplaatsbeginsel (8) without the class Woonplaatsbeginsel",
		Keeps:   "the same Antwoord with a Woonplaatsbeginsel naming the Gemeente",
		check: func(c *checker) {
			c.each("Antwoord", func(i int) {
				if v, _ := c.val(i, "RedenAfwijzingVerzoek"); v == "8" && !c.has(i, "Woonplaatsbeginsel") {
					c.fail(c.at(i, "RedenAfwijzingVerzoek"), "gives the woonplaatsbeginsel (8) as the reason, but the Antwoord%s has no class Woonplaatsbeginsel", c.lineOf(i))
				}
			})
		},
	},
	{
		Code: "TR380", Retourcode: Rejected, Level: InMessage, Soorten: soorten("317"),
		Summary: "a NieuwProduct's GewensteIngangsdatum lies after the Dagtekening",
		Breaks:  "a NieuwProduct whose GewensteIngangsdatum is the Dagtekening",
		Keeps:   "a NieuwProduct whose GewensteIngangsdatum is the day after the Dagtekening (a TeWijzigenProduct may start on the Dagtekening: TR357, level 3)",
		// Not TeWijzigenProduct: TR357 (level 3) allows its
		// GewensteIngangsdatum on or before the Dagtekening.
		check: func(c *checker) {
			if !c.hasDagtekening {
				return
			}
			c.each("NieuwProduct", func(i int) {
				if d, ok := c.dateAt(i, "GewensteIngangsdatum"); ok && !d.after(c.dagtekening) {
					c.fail(c.at(i, "GewensteIngangsdatum"), "is not after the %s", c.dag())
				}
			})
		},
	},
	{
		Code: "TR383", Retourcode: Rejected, Level: InMessage, Soorten: soorten("315"),
		Summary: "ReferentieAanbieder is unique for each AangevraagdProduct in the message",
		Breaks:  "two AangevraagdProducten with the same ReferentieAanbieder",
		Keeps:   "two AangevraagdProducten whose ReferentieAanbieders differ in the last character",
		check: func(c *checker) {
			seen := map[string]int{}
			c.each("AangevraagdProduct", func(i int) {
				j := c.t.Child(i, "ReferentieAanbieder")
				if j < 0 {
					return
				}
				v := strings.TrimSpace(c.t.Text(j))
				if first, dup := seen[v]; dup {
					c.fail(j, "repeats the ReferentieAanbieder%s of another AangevraagdProduct", c.lineOf(first))
					return
				}
				seen[v] = j
			})
		},
	},
	{
		Code: "TR386", Retourcode: Rejected, Level: InMessage, Soorten: soorten("315"),
		Summary: "a product occurs more than once in a verzoek om toewijzing only with periods that do not overlap; in iWmo products of ProductCategorie 11–14 may overlap, and a line without Product may overlap only those",
		Breaks:  "two AangevraagdProducten of ProductCode 03A01, one ending and the other beginning on 2025-06-30",
		Keeps:   "the same lines with the second of ProductCode 03A02; in iWmo also two overlapping lines of categorie 12",
		check: func(c *checker) {
			c.noOverlap("AangevraagdProduct", "ToewijzingIngangsdatum", "ToewijzingEinddatum", false)
		},
	},
	{
		Code: "TR409", Retourcode: Rejected, Level: InMessage, Soorten: []string{"JW319"},
		Summary: "without RedenAfwijzingVerzoek 8 (woonplaatsbeginsel) the class Woonplaatsbeginsel is absent",
		Breaks:  "an Antwoord rejecting for another reason (3) with a class Woonplaatsbeginsel",
		Keeps:   "the same Antwoord without it",
		check: func(c *checker) {
			c.each("Antwoord", func(i int) {
				v, ok := c.val(i, "RedenAfwijzingVerzoek")
				if v == "8" || !c.has(i, "Woonplaatsbeginsel") {
					return
				}
				if ok {
					c.fail(c.at(i, "Woonplaatsbeginsel"), "is given, but the RedenAfwijzingVerzoek%s is not the woonplaatsbeginsel (8)", c.lineOf(c.t.Child(i, "RedenAfwijzingVerzoek")))
				} else {
					c.fail(c.at(i, "Woonplaatsbeginsel"), "is given, but the Antwoord%s has no RedenAfwijzingVerzoek", c.lineOf(i))
				}
			})
		},
	},
	{
		Code: "TR410", Retourcode: Rejected, Level: InMessage, Soorten: soorten("317"),
		Summary: "a product occurs more than once among the NieuweProducten only with periods that do not overlap; in iWmo products of ProductCategorie 11–14 may overlap, and a line without Product may overlap only those",
		Breaks:  "two NieuweProducten of ProductCode 03A01, one ending and the other beginning on 2025-06-30",
		Keeps:   "the same lines with the second beginning 2025-07-01; in iWmo also two overlapping lines of categorie 13",
		check: func(c *checker) {
			c.noOverlap("NieuwProduct", "GewensteIngangsdatum", "Einddatum", false)
		},
	},
	{
		Code: "TR416", Retourcode: Rejected, Level: InMessage, Soorten: soorten("323"),
		Summary: "one debet Prestatie at most per ToewijzingNummer, ProductCategorie, ProductCode and ProductPeriode",
		Breaks:  "two debet Prestaties of one client with the same ToewijzingNummer, ProductCategorie, ProductCode and ProductPeriode",
		Keeps:   "the same two with different ToewijzingNummers",
		check:   checkTR416,
	},
}

func checkTR002(c *checker) {
	if !c.hasDagtekening {
		return
	}
	limit := c.dagtekening.addYears(-120)
	c.each("Client", func(i int) {
		g := c.t.Child(i, "Geboortedatum")
		if g < 0 {
			return
		}
		d, ok := c.dateAt(g, "Datum")
		if !ok || !d.before(limit) {
			return
		}
		if gebruik, _ := c.val(g, "DatumGebruik"); gebruik == "3" && d == (date{1900, 1, 1}) {
			return
		}
		c.fail(c.at(g, "Datum"), "of the Geboortedatum lies more than 120 years before the %s and is not marked unknown (DatumGebruik 3 with 1 January 1900)", c.dag())
	})
}

// checkTR006 holds every Contact to TR006: those of the Client's
// Contactgegevens and the one of each Relatie, which is of the same class.
func checkTR006(c *checker) {
	c.each("Contact", func(i int) {
		if c.has(i, "Telefoon") || (c.has(i, "Adres", "Huis") && c.has(i, "Adres", "Postcode")) {
			return
		}
		var missing string
		switch adres := c.t.Child(i, "Adres"); {
		case adres < 0:
			missing = "no Adres"
		case !c.has(adres, "Huis") && !c.has(adres, "Postcode"):
			missing = "an Adres" + c.lineOf(adres) + " without Huis and Postcode"
		case !c.has(adres, "Huis"):
			missing = "an Adres" + c.lineOf(adres) + " without Huis"
		default:
			missing = "an Adres" + c.lineOf(adres) + " without Postcode"
		}
		c.fail(i, "has no Telefoon and %s", missing)
	})
}

func checkTR061(c *checker) {
	c.each("Client", func(i int) {
		cg := c.t.Child(i, "Contactgegevens")
		if cg < 0 {
			return
		}
		for k := range c.t.Children(cg) {
			if s, _ := c.val(k, "Soort"); c.t.Name(k) == "Contact" && (s == "01" || s == "02" || s == "03") {
				return
			}
		}
		c.fail(cg, "has no Contact of Soort 01, 02 or 03")
	})
}

// logicalKeys are the logical keys of the classes that can repeat (the key
// elements of the standard's tables), for TR101.
var logicalKeys = []struct {
	soorten []string
	class   string
	key     [][]string
}{
	{soorten("301"), "Relatie", [][]string{{"Nummer"}}},
	{soorten("301"), "Contact", [][]string{{"Soort"}}},
	{soorten("301"), "ToegewezenProduct", [][]string{{"ToewijzingNummer"}}},
	{soorten("305"), "StartProduct", [][]string{{"ToewijzingNummer"}, {"Product", "Categorie"}, {"Product", "Code"}, {"Begindatum"}}},
	{soorten("307"), "StopProduct", [][]string{{"ToewijzingNummer"}, {"Product", "Categorie"}, {"Product", "Code"}, {"Begindatum"}, {"Einddatum"}, {"RedenBeeindiging"}}},
	{soorten("315"), "AangevraagdProduct", [][]string{{"ReferentieAanbieder"}}},
	{soorten("317"), "OngewijzigdProduct", [][]string{{"ToewijzingNummer"}}},
	{soorten("317"), "TeWijzigenProduct", [][]string{{"ToewijzingNummer"}}},
	{soorten("317"), "NieuwProduct", [][]string{{"Product", "Categorie"}, {"Product", "Code"}, {"GewensteIngangsdatum"}}},
	{soorten("323", "325"), "Client", [][]string{{"Bsn"}}},
	{soorten("323", "325"), "Prestatie", [][]string{{"ProductReferentie", "ReferentieNummer"}, {"ProductReferentie", "VorigReferentieNummer"}}},
}

func checkTR101(c *checker) {
	var b strings.Builder
	for _, lk := range logicalKeys {
		if !containsString(lk.soorten, c.h.Soort.Name) {
			continue
		}
		names := make([]string, len(lk.key))
		for k, path := range lk.key {
			names[k] = strings.Join(path, " ")
		}
		// Siblings share a parent: the parent's own key is then equal too.
		seen := map[int]map[string]int{}
		c.each(lk.class, func(i int) {
			b.Reset()
			for _, path := range lk.key {
				v, ok := c.val(i, path...)
				if ok {
					b.WriteByte(1)
				}
				b.WriteString(v)
				b.WriteByte(0)
			}
			p := c.t.Parent(i)
			if seen[p] == nil {
				seen[p] = map[string]int{}
			}
			k := b.String()
			if first, dup := seen[p][k]; dup {
				c.fail(i, "has the logical key (%s) of the %s%s under the same parent", strings.Join(names, ", "), lk.class, c.lineOf(first))
				return
			}
			seen[p][k] = i
		})
	}
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func checkTR134(c *checker) {
	if !c.hasDagtekening {
		return
	}
	notAfter := func(i int, what string) {
		if d, ok := parseDate(c.t.Text(i)); ok && d.after(c.dagtekening) {
			c.fail(i, "%sis after the %s", what, c.dag())
		}
	}
	under := func(class string, what string, path ...string) {
		c.each(class, func(i int) {
			if j := c.t.Child(i, path...); j >= 0 {
				notAfter(j, what)
			}
		})
	}
	switch strings.TrimLeft(c.h.Soort.Name, "WMOJ") {
	case "301":
		under("Client", "of the Geboortedatum ", "Geboortedatum", "Datum")
		under("ToegewezenProduct", "", "Toewijzingsdatum")
	case "305":
		under("Client", "of the Geboortedatum ", "Geboortedatum", "Datum")
		under("StartProduct", "", "Begindatum")
	case "307":
		under("Client", "of the Geboortedatum ", "Geboortedatum", "Datum")
		under("StopProduct", "", "Einddatum")
	case "315":
		under("Client", "of the Geboortedatum ", "Geboortedatum", "Datum")
	case "323":
		under("Declaratie", "", "DeclaratieDagtekening")
	case "325":
		under("Header", "of the DeclaratieIdentificatie ", "DeclaratieIdentificatie", "Dagtekening")
	}
}

// checkTR137 says which bound the Einddatum of a ProductPeriode passes:
// its Begindatum, the Dagtekening, or both.
func checkTR137(c *checker) {
	c.each("ProductPeriode", func(i int) {
		e := c.t.Child(i, "Einddatum")
		end, ok := c.dateAt(i, "Einddatum")
		if !ok {
			return
		}
		begin, okBegin := c.dateAt(i, "Begindatum")
		early := okBegin && end.before(begin)
		late := c.hasDagtekening && end.after(c.dagtekening)
		switch {
		case early && late:
			c.fail(e, "is before the Begindatum%s and after the %s", c.lineOf(c.t.Child(i, "Begindatum")), c.dag())
		case early:
			c.fail(e, "is before the Begindatum%s", c.lineOf(c.t.Child(i, "Begindatum")))
		case late:
			c.fail(e, "is after the %s", c.dag())
		}
	})
}

// exemptCategories are the ProductCategorieën of iWmo whose products may
// overlap under TR302, TR386 and TR410 (rolstoelen, vervoervoorzieningen,
// woonvoorzieningen, overige hulpmiddelen). The iJw texts have no such
// exception, and no iJw categorie has these codes.
var exemptCategories = map[string]bool{"11": true, "12": true, "13": true, "14": true}

// noOverlap is TR302, TR386 and TR410: among the elements named class, two
// for the same product may not have overlapping periods (inclusive; no end
// date is open). The product is the ProductCode when both lines give one,
// else the ProductCategorie; a line without Product may overlap no other
// line. iWmo makes one exception, which iJw does not: products of
// ProductCategorie 11–14 may overlap, also on the level of the categorie,
// and a line without Product may overlap lines of those categorieën only.
// With skipRemoved, lines removed by RedenWijziging 13 or 01 and an
// Einddatum equal to the Ingangsdatum do not count.
func (c *checker) noOverlap(class, beginName, endName string, skipRemoved bool) {
	type line struct {
		at         int
		cat, code  string
		hasProduct bool
		begin, end date
		open       bool
	}
	iwmo := c.h.Soort.Standard == bericht.IWmo
	exempt := func(l line) bool { return iwmo && l.hasProduct && exemptCategories[l.cat] }
	var lines []line
	c.each(class, func(i int) {
		begin, ok := c.dateAt(i, beginName)
		if !ok {
			return
		}
		end, hasEnd := c.dateAt(i, endName)
		if skipRemoved && hasEnd && end == begin {
			if r, _ := c.val(i, "RedenWijziging"); r == "13" || r == "01" {
				return
			}
		}
		l := line{at: i, begin: begin, end: end, open: !hasEnd, hasProduct: c.has(i, "Product")}
		l.cat, _ = c.val(i, "Product", "Categorie")
		l.code, _ = c.val(i, "Product", "Code")
		lines = append(lines, l)
	})
	for k := 1; k < len(lines); k++ {
		a := lines[k]
		for _, b := range lines[:k] {
			overlap := (b.open || !b.end.before(a.begin)) && (a.open || !a.end.before(b.begin))
			if !overlap {
				continue
			}
			var why string
			switch {
			case !a.hasProduct && !b.hasProduct:
				why = "; neither has a Product"
			case !a.hasProduct || !b.hasProduct:
				if exempt(a) || exempt(b) {
					continue // iWmo: a line without Product may overlap categorie 11–14
				}
				if a.hasProduct {
					why = ", which has no Product"
				} else {
					why = "; it has no Product"
				}
				if iwmo {
					why += " and may overlap only lines of ProductCategorie 11–14"
				}
			case a.code != "" && b.code != "":
				if a.code != b.code || (exempt(a) && exempt(b)) {
					continue
				}
				why = " of the same product Code"
			default:
				if a.cat != b.cat || (exempt(a) && exempt(b)) {
					continue
				}
				why = " of the same ProductCategorie"
			}
			c.fail(a.at, "overlaps the %s%s%s", class, c.lineOf(b.at), why)
			break
		}
	}
}

func checkTR315(c *checker) {
	seen := map[string]int{}
	c.each("VorigReferentieNummer", func(i int) {
		v := strings.TrimSpace(c.t.Text(i))
		if first, dup := seen[v]; dup {
			c.fail(i, "repeats the VorigReferentieNummer%s", c.lineOf(first))
			return
		}
		seen[v] = i
	})
}

func checkTR316(c *checker) {
	refs := map[string]int{}
	c.each("ReferentieNummer", func(i int) {
		v := strings.TrimSpace(c.t.Text(i))
		if _, dup := refs[v]; !dup {
			refs[v] = i
		}
	})
	c.each("VorigReferentieNummer", func(i int) {
		if j, ok := refs[strings.TrimSpace(c.t.Text(i))]; ok {
			c.fail(i, "credits the Prestatie of the ReferentieNummer%s in the message that declares it", c.lineOf(j))
		}
	})
}

func checkTR335(c *checker) {
	c.each("Declaratie", func(decl int) {
		dd, ok := c.dateAt(decl, "DeclaratieDagtekening")
		if !ok {
			return
		}
		limit := dd.addYears(-5)
		for i := range c.t.All(decl, "ProductPeriode") {
			if end, ok := c.dateAt(i, "Einddatum"); ok && end.before(limit) {
				c.fail(c.at(i, "Einddatum"), "of the ProductPeriode lies more than 5 years before the %s", c.el(c.t.Child(decl, "DeclaratieDagtekening")))
			}
		}
	})
}

func checkTR342(c *checker) {
	c.each("Prestatie", func(i int) {
		codes := c.t.Child(i, "RetourCodes")
		if codes < 0 {
			return
		}
		for k := range c.t.Children(codes) {
			if v := strings.TrimSpace(c.t.Text(k)); v != "0200" {
				return
			}
		}
		c.fail(i, "is listed though not rejected: its RetourCodes%s hold only the code for no remark", c.lineOf(codes))
	})
}

// signed reads an amount with its DebetCredit (D positive, C negative).
func (c *checker) signed(i int, amount string) (int64, bool) {
	v, ok := c.val(i, amount)
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(strings.TrimPrefix(v, "+"), 10, 64)
	if err != nil {
		return 0, false
	}
	if dc, _ := c.val(i, "DebetCredit"); dc == "C" {
		n = -n
	}
	return n, true
}

func checkTR358(c *checker) {
	c.each("Declaratie", func(decl int) {
		total := c.t.Child(decl, "TotaalIngediendBedrag")
		if total < 0 {
			return
		}
		want, ok := c.signed(total, "TotaalBedrag")
		if !ok {
			return
		}
		var sum int64
		n := 0
		for i := range c.t.All(decl, "IngediendBedrag") {
			v, ok := c.signed(i, "Bedrag")
			if !ok {
				return
			}
			sum += v
			n++
		}
		if sum != want {
			c.fail(total, "is not the sum of the IngediendBedrag of the %d Prestaties, debet minus credit", n)
		}
	})
}

func checkTR416(c *checker) {
	var b strings.Builder
	c.each("Prestaties", func(ps int) {
		seen := map[string]int{}
		for i := range c.t.Children(ps) {
			if dc, _ := c.val(i, "IngediendBedrag", "DebetCredit"); dc != "D" {
				continue
			}
			b.Reset()
			for _, path := range [][]string{{"ToewijzingNummer"}, {"ProductCategorie"}, {"ProductCode"}, {"ProductPeriode", "Begindatum"}, {"ProductPeriode", "Einddatum"}} {
				v, _ := c.val(i, path...)
				b.WriteString(v)
				b.WriteByte(0)
			}
			k := b.String()
			if first, dup := seen[k]; dup {
				c.fail(i, "is a second debet Prestatie with the ToewijzingNummer, ProductCategorie, ProductCode and ProductPeriode of the Prestatie%s", c.lineOf(first))
				continue
			}
			seen[k] = i
		}
	})
}

// notBefore fails the element endName under i when it lies before the
// element beginName under i.
func (c *checker) notBefore(i int, beginName, endName string) {
	begin, ok1 := c.dateAt(i, beginName)
	end, ok2 := c.dateAt(i, endName)
	if ok1 && ok2 && end.before(begin) {
		c.fail(c.at(i, endName), "is before the %s", c.el(c.t.Child(i, beginName)))
	}
}
