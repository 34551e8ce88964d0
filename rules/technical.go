package rules

import (
	"strconv"
	"strings"
)

// technical are the technical rules (TR) whose control level is "bericht
// inhoud (xslt)" in iWmo 3.2 and in the iJw 3.2 list.
var technical = []*Rule{
	{
		Code: "TR002", Retourcode: Rejected, Level: InMessage, Soorten: soorten("301", "305", "307", "315"),
		Summary: "Geboortedatum lies at most 120 years before the Dagtekening, unless it is unknown (DatumGebruik 3, 1900-01-01)",
		check:   checkTR002,
	},
	{
		Code: "TR006", Retourcode: Rejected, Level: InMessage, Soorten: soorten("301"),
		Summary: "a Contact has a Telefoon, or an Adres with both Huis and Postcode",
		check:   checkTR006,
	},
	{
		Code: "TR018", Retourcode: Rejected, Level: InMessage, Soorten: soorten("307"),
		Summary: "StopProduct Einddatum is not before its Begindatum",
		check: func(c *checker) {
			c.each("StopProduct", func(i int) { c.notBefore(i, "Begindatum", "Einddatum") })
		},
	},
	{
		Code: "TR061", Retourcode: Rejected, Level: InMessage, Soorten: soorten("301"),
		Summary: "the Client has a Contact of Soort 01 (BRP), 02 (correspondence) or 03 (residence)",
		check:   checkTR061,
	},
	{
		Code: "TR101", Retourcode: Rejected, Level: InMessage, Soorten: soorten("301", "305", "307", "315", "317", "323", "325"),
		Summary: "no class occurs twice with the same logical key under the same parent",
		check:   checkTR101,
	},
	{
		Code: "TR134", Retourcode: Rejected, Level: InMessage, Soorten: soorten("301", "305", "307", "315", "323", "325"),
		Summary: "dates of past events (Geboortedatum, Toewijzingsdatum, start and stop dates, declaratie date) are not after the Dagtekening",
		check:   checkTR134,
	},
	{
		Code: "TR137", Retourcode: Rejected, Level: InMessage, Soorten: soorten("323", "325"),
		Summary: "ProductPeriode Einddatum is not before its Begindatum and not after the Dagtekening",
		check:   checkTR137,
	},
	{
		Code: "TR302", Retourcode: Rejected, Level: InMessage, Soorten: soorten("301"),
		Summary: "a product occurs more than once among the ToegewezenProducten only with periods that do not overlap",
		check: func(c *checker) {
			c.noOverlap("ToegewezenProduct", "Ingangsdatum", "Einddatum", true)
		},
	},
	{
		Code: "TR315", Retourcode: Rejected, Level: InMessage, Soorten: soorten("323"),
		Summary: "a VorigReferentieNummer occurs once in the message",
		check:   checkTR315,
	},
	{
		Code: "TR316", Retourcode: Rejected, Level: InMessage, Soorten: soorten("323"),
		Summary: "a Prestatie is not credited in the message that declares it (VorigReferentieNummer is no ReferentieNummer of the message)",
		check:   checkTR316,
	},
	{
		Code: "TR335", Retourcode: Rejected, Level: InMessage, Soorten: soorten("323"),
		Summary: "ProductPeriode Einddatum lies at most 5 years before the DeclaratieDagtekening",
		check:   checkTR335,
	},
	{
		Code: "TR342", Retourcode: Rejected, Level: InMessage, Soorten: soorten("325"),
		Summary: "a declaratie-antwoord lists only rejected Prestaties (a RetourCode other than 0200)",
		check:   checkTR342,
	},
	{
		Code: "TR352", Retourcode: Rejected, Level: InMessage, Soorten: soorten("317"),
		Summary: "a verzoek om wijziging has an OngewijzigdProduct or a TeWijzigenProduct",
		check: func(c *checker) {
			c.each("Verzoek", func(i int) {
				if !c.has(i, "OngewijzigdeProducten") && !c.has(i, "TeWijzigenProducten") {
					c.fail(i)
				}
			})
		},
	},
	{
		Code: "TR353", Retourcode: Rejected, Level: InMessage, Soorten: soorten("317"),
		Summary: "a verzoek om wijziging has a TeWijzigenProduct or a NieuwProduct",
		check: func(c *checker) {
			c.each("Verzoek", func(i int) {
				if !c.has(i, "TeWijzigenProducten") && !c.has(i, "NieuweProducten") {
					c.fail(i)
				}
			})
		},
	},
	{
		Code: "TR358", Retourcode: Rejected, Level: InMessage, Soorten: soorten("323"),
		Summary: "TotaalIngediendBedrag is the sum of the Prestaties' IngediendBedrag, debet minus credit",
		check:   checkTR358,
	},
	{
		Code: "TR377", Retourcode: Rejected, Level: InMessage, Soorten: []string{"JW319"},
		Summary: "with RedenAfwijzingVerzoek 8 (woonplaatsbeginsel) the class Woonplaatsbeginsel is present",
		check: func(c *checker) {
			c.each("Antwoord", func(i int) {
				if v, _ := c.val(i, "RedenAfwijzingVerzoek"); v == "8" && !c.has(i, "Woonplaatsbeginsel") {
					c.fail(c.at(i, "RedenAfwijzingVerzoek"))
				}
			})
		},
	},
	{
		Code: "TR380", Retourcode: Rejected, Level: InMessage, Soorten: soorten("317"),
		Summary: "a NieuwProduct's GewensteIngangsdatum lies after the Dagtekening",
		// Not TeWijzigenProduct: TR357 (level 3) allows its
		// GewensteIngangsdatum on or before the Dagtekening.
		check: func(c *checker) {
			if !c.hasDagtekening {
				return
			}
			c.each("NieuwProduct", func(i int) {
				if d, ok := c.dateAt(i, "GewensteIngangsdatum"); ok && !d.after(c.dagtekening) {
					c.fail(c.at(i, "GewensteIngangsdatum"))
				}
			})
		},
	},
	{
		Code: "TR383", Retourcode: Rejected, Level: InMessage, Soorten: soorten("315"),
		Summary: "ReferentieAanbieder is unique for each AangevraagdProduct in the message",
		check: func(c *checker) {
			seen := map[string]bool{}
			c.each("AangevraagdProduct", func(i int) {
				v, ok := c.val(i, "ReferentieAanbieder")
				if !ok {
					return
				}
				if seen[v] {
					c.fail(c.at(i, "ReferentieAanbieder"))
				}
				seen[v] = true
			})
		},
	},
	{
		Code: "TR386", Retourcode: Rejected, Level: InMessage, Soorten: soorten("315"),
		Summary: "a product occurs more than once in a verzoek om toewijzing only with periods that do not overlap",
		check: func(c *checker) {
			c.noOverlap("AangevraagdProduct", "ToewijzingIngangsdatum", "ToewijzingEinddatum", false)
		},
	},
	{
		Code: "TR409", Retourcode: Rejected, Level: InMessage, Soorten: []string{"JW319"},
		Summary: "without RedenAfwijzingVerzoek 8 (woonplaatsbeginsel) the class Woonplaatsbeginsel is absent",
		check: func(c *checker) {
			c.each("Antwoord", func(i int) {
				if v, _ := c.val(i, "RedenAfwijzingVerzoek"); v != "8" && c.has(i, "Woonplaatsbeginsel") {
					c.fail(c.at(i, "Woonplaatsbeginsel"))
				}
			})
		},
	},
	{
		Code: "TR410", Retourcode: Rejected, Level: InMessage, Soorten: soorten("317"),
		Summary: "a product occurs more than once among the NieuweProducten only with periods that do not overlap",
		check: func(c *checker) {
			c.noOverlap("NieuwProduct", "GewensteIngangsdatum", "Einddatum", false)
		},
	},
	{
		Code: "TR416", Retourcode: Rejected, Level: InMessage, Soorten: soorten("323"),
		Summary: "one debet Prestatie at most per ToewijzingNummer, ProductCategorie, ProductCode and ProductPeriode",
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
		c.fail(c.at(g, "Datum"))
	})
}

func checkTR006(c *checker) {
	c.each("Contactgegevens", func(cg int) {
		for i := range c.t.Children(cg) {
			if c.t.Name(i) != "Contact" || c.has(i, "Telefoon") || (c.has(i, "Adres", "Huis") && c.has(i, "Adres", "Postcode")) {
				continue
			}
			c.fail(i)
		}
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
		c.fail(cg)
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
		// Siblings share a parent: the parent's own key is then equal too.
		seen := map[int]map[string]bool{}
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
				seen[p] = map[string]bool{}
			}
			if k := b.String(); seen[p][k] {
				c.fail(i)
			} else {
				seen[p][k] = true
			}
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
	notAfter := func(i int) {
		if d, ok := parseDate(c.t.Text(i)); ok && d.after(c.dagtekening) {
			c.fail(i)
		}
	}
	under := func(class string, path ...string) {
		c.each(class, func(i int) {
			if j := c.t.Child(i, path...); j >= 0 {
				notAfter(j)
			}
		})
	}
	switch strings.TrimLeft(c.h.Soort.Name, "WMOJ") {
	case "301":
		under("Client", "Geboortedatum", "Datum")
		under("ToegewezenProduct", "Toewijzingsdatum")
	case "305":
		under("Client", "Geboortedatum", "Datum")
		under("StartProduct", "Begindatum")
	case "307":
		under("Client", "Geboortedatum", "Datum")
		under("StopProduct", "Einddatum")
	case "315":
		under("Client", "Geboortedatum", "Datum")
	case "323":
		under("Declaratie", "DeclaratieDagtekening")
	case "325":
		under("Header", "DeclaratieIdentificatie", "Dagtekening")
	}
}

func checkTR137(c *checker) {
	c.each("ProductPeriode", func(i int) {
		end, ok := c.dateAt(i, "Einddatum")
		if !ok {
			return
		}
		begin, okBegin := c.dateAt(i, "Begindatum")
		if (okBegin && end.before(begin)) || (c.hasDagtekening && end.after(c.dagtekening)) {
			c.fail(c.at(i, "Einddatum"))
		}
	})
}

// noOverlap is TR302, TR386 and TR410: among the elements named class, two
// for the same product may not have overlapping periods. The product is the
// ProductCode when both give one, else the ProductCategorie; a line without
// Product overlaps with every product. With skipRemoved, lines removed by
// RedenWijziging 13 or 01 and Einddatum equal to the Ingangsdatum do not count.
func (c *checker) noOverlap(class, beginName, endName string, skipRemoved bool) {
	type line struct {
		at         int
		cat, code  string
		hasProduct bool
		begin, end date
		open       bool
	}
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
			same := !a.hasProduct || !b.hasProduct
			if !same {
				if a.code != "" && b.code != "" {
					same = a.code == b.code
				} else {
					same = a.cat == b.cat
				}
			}
			overlap := (b.open || !b.end.before(a.begin)) && (a.open || !a.end.before(b.begin))
			if same && overlap {
				c.fail(a.at)
				break
			}
		}
	}
}

func checkTR315(c *checker) {
	seen := map[string]bool{}
	c.each("VorigReferentieNummer", func(i int) {
		v := strings.TrimSpace(c.t.Text(i))
		if seen[v] {
			c.fail(i)
		}
		seen[v] = true
	})
}

func checkTR316(c *checker) {
	refs := map[string]bool{}
	c.each("ReferentieNummer", func(i int) { refs[strings.TrimSpace(c.t.Text(i))] = true })
	c.each("VorigReferentieNummer", func(i int) {
		if refs[strings.TrimSpace(c.t.Text(i))] {
			c.fail(i)
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
				c.fail(c.at(i, "Einddatum"))
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
		c.fail(i)
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
		for i := range c.t.All(decl, "IngediendBedrag") {
			n, ok := c.signed(i, "Bedrag")
			if !ok {
				return
			}
			sum += n
		}
		if sum != want {
			c.fail(total)
		}
	})
}

func checkTR416(c *checker) {
	var b strings.Builder
	c.each("Prestaties", func(ps int) {
		seen := map[string]bool{}
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
			if k := b.String(); seen[k] {
				c.fail(i)
			} else {
				seen[k] = true
			}
		}
	})
}

// notBefore fails the element endName under i when it lies before the
// element beginName under i.
func (c *checker) notBefore(i int, beginName, endName string) {
	begin, ok1 := c.dateAt(i, beginName)
	end, ok2 := c.dateAt(i, endName)
	if ok1 && ok2 && end.before(begin) {
		c.fail(c.at(i, endName))
	}
}
