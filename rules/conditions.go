package rules

// conditions are the conditions (CD) of iWmo 3.2 and iJw 3.2: when an
// element must or may be filled. Both standards carry the same set.
var conditions = []*Rule{
	{
		Code: "CD005", Retourcode: Rejected, Level: InMessage, Soorten: soorten("301"),
		Summary: "an Adres has a LandCode exactly when it has a Postcode",
		Breaks:  "an Adres with a Postcode and no LandCode",
		Keeps:   "an Adres with both",
		check: func(c *checker) {
			c.each("Adres", func(i int) {
				c.filledIff(i, "LandCode", c.has(i, "Postcode"), "it has a Postcode"+c.lineOf(c.t.Child(i, "Postcode")), "the Adres has no Postcode")
			})
		},
	},
	{
		Code: "CD007", Retourcode: Rejected, Level: InMessage, Soorten: soorten("301"),
		Summary: "Communicatie has a Taal exactly when its Vorm is 1 (tolk taal)",
		Breaks:  "Communicatie with Vorm 1 (tolk taal) and no Taal; or Vorm 2 with a Taal",
		Keeps:   "Vorm 1 with a Taal; Vorm 2 without",
		check: func(c *checker) {
			c.each("Communicatie", func(i int) {
				v, _ := c.val(i, "Vorm")
				vorm := c.el(c.t.Child(i, "Vorm"))
				c.filledIff(i, "Taal", v == "1", "its "+vorm+" is tolk taal (1)", "the "+vorm+" is not tolk taal (1)")
			})
		},
	},
	{
		Code: "CD009", Retourcode: Rejected, Level: InMessage, Soorten: soorten("301"),
		Summary: "a Contact has a Periode only when its Soort is 04 (temporary address)",
		Breaks:  "a Contact of Soort 01 with a Periode",
		Keeps:   "a Contact of Soort 04 with a Periode",
		check: func(c *checker) {
			c.each("Contact", func(i int) {
				if s, _ := c.val(i, "Soort"); s != "04" && c.has(i, "Periode") {
					c.fail(c.at(i, "Periode"), "is given, but the Soort%s of the Contact is not 04 (temporary address)", c.lineOf(c.t.Child(i, "Soort")))
				}
			})
		},
	},
	{
		Code: "CD025", Retourcode: Rejected, Level: InMessage, Soorten: soorten("301"),
		Summary: "an Adres with LandCode NL has a Huis",
		Breaks:  "a Dutch Adres (LandCode NL) without Huis",
		Keeps:   "a Belgian Adres without Huis",
		check: func(c *checker) {
			c.each("Adres", func(i int) {
				if l, _ := c.val(i, "LandCode"); l == "NL" && !c.has(i, "Huis") {
					c.fail(i, "has no Huis, but its %s is NL", c.el(c.t.Child(i, "LandCode")))
				}
			})
		},
	},
	{
		Code: "CD034", Retourcode: Rejected, Level: InMessage, Soorten: soorten("301"),
		Summary: "the Adres of a Contact of Soort 01 (BRP) or 03 (residence) has a Postcode",
		Breaks:  "a Contact of Soort 01 whose Adres has no Postcode",
		Keeps:   "a Contact of Soort 02 whose Adres has no Postcode",
		check: func(c *checker) {
			c.each("Contact", func(i int) {
				if s, _ := c.val(i, "Soort"); (s == "01" || s == "03") && !c.has(i, "Adres", "Postcode") {
					c.fail(c.at(i, "Adres"), "has no Postcode, but the Soort%s of the Contact is 01 or 03", c.lineOf(c.t.Child(i, "Soort")))
				}
			})
		},
	},
	{
		Code: "CD041", Retourcode: Rejected, Level: InMessage, Soorten: soorten("301", "315", "317"),
		Summary: "a product line with a Product Code has an Omvang",
		Breaks:  "a ToegewezenProduct of ProductCode 03A01 with a Budget instead of an Omvang",
		Keeps:   "the same line with an Omvang",
		check: func(c *checker) {
			c.eachProduct(func(i int) {
				if code, _ := c.val(i, "Product", "Code"); code != "" && !c.has(i, "Omvang") {
					c.fail(i, "has a Product Code%s but no Omvang", c.lineOf(c.t.Child(i, "Product", "Code")))
				}
			}, "ToegewezenProduct", "AangevraagdProduct", "NieuwProduct")
		},
	},
	{
		Code: "CD043", Retourcode: Rejected, Level: InMessage, Soorten: soorten("315"),
		Summary: "an AangevraagdProduct has a BeschikkingIngangsdatum exactly when it has a BeschikkingNummer",
		Breaks:  "an AangevraagdProduct with a BeschikkingNummer and no BeschikkingIngangsdatum",
		Keeps:   "the same line with both",
		check: func(c *checker) {
			c.each("AangevraagdProduct", func(i int) {
				c.filledIff(i, "BeschikkingIngangsdatum", c.has(i, "BeschikkingNummer"),
					"it has a BeschikkingNummer"+c.lineOf(c.t.Child(i, "BeschikkingNummer")), "the AangevraagdProduct has no BeschikkingNummer")
			})
		},
	},
	{
		Code: "CD060", Retourcode: Rejected, Level: InMessage, Soorten: soorten("323", "325"),
		Summary: "a Prestatie has a VorigReferentieNummer exactly when its IngediendBedrag is credit",
		Breaks:  "a debet Prestatie with a VorigReferentieNummer",
		Keeps:   "a credit Prestatie with one",
		check: func(c *checker) {
			c.each("Prestatie", func(i int) {
				dc, _ := c.val(i, "IngediendBedrag", "DebetCredit")
				at := c.el(c.t.Child(i, "IngediendBedrag", "DebetCredit"))
				ref := c.t.Child(i, "ProductReferentie")
				if ref < 0 {
					return
				}
				switch vorig := c.t.Child(ref, "VorigReferentieNummer"); {
				case dc == "C" && vorig < 0:
					c.fail(ref, "has no VorigReferentieNummer, but the %s of the IngediendBedrag is credit", at)
				case dc != "C" && vorig >= 0:
					c.fail(vorig, "is given, but the %s of the IngediendBedrag is not credit", at)
				}
			})
		},
	},
	{
		Code: "CD066", Retourcode: Rejected, Level: InMessage, Soorten: soorten("315"),
		Summary: "a Verwijzer of Type 02–05 with a ZorgverlenerCode has no Naam",
		Breaks:  "a Verwijzer of Type 02 with a ZorgverlenerCode and a Naam",
		Keeps:   "the same Verwijzer without the Naam",
		check: func(c *checker) {
			c.each("Verwijzer", func(i int) {
				if referringType(c, i) && c.has(i, "ZorgverlenerCode") && c.has(i, "Naam") {
					c.fail(c.at(i, "Naam"), "is given, but the Verwijzer has a %s and its %s is 02–05", c.el(c.t.Child(i, "ZorgverlenerCode")), c.el(c.t.Child(i, "Type")))
				}
			})
		},
	},
	{
		Code: "CD067", Retourcode: Rejected, Level: InMessage, Soorten: soorten("315"),
		Summary: "a Verwijzer of Type 02–05 without a ZorgverlenerCode has a Naam",
		Breaks:  "a Verwijzer of Type 05 with neither ZorgverlenerCode nor Naam",
		Keeps:   "the same Verwijzer with a Naam",
		check: func(c *checker) {
			c.each("Verwijzer", func(i int) {
				if referringType(c, i) && !c.has(i, "ZorgverlenerCode") && !c.has(i, "Naam") {
					c.fail(i, "has neither a ZorgverlenerCode nor a Naam, but its %s is 02–05", c.el(c.t.Child(i, "Type")))
				}
			})
		},
	},
	{
		Code: "CD068", Retourcode: Rejected, Level: InMessage, Soorten: soorten("315"),
		Summary: "a Verwijzer of another Type than 02–05 has no ZorgverlenerCode",
		Breaks:  "a Verwijzer of Type 01 with a ZorgverlenerCode",
		Keeps:   "the same Verwijzer without it",
		check: func(c *checker) {
			c.each("Verwijzer", func(i int) {
				if !referringType(c, i) && c.has(i, "ZorgverlenerCode") {
					c.fail(c.at(i, "ZorgverlenerCode"), "is given, but the Type%s of the Verwijzer is not 02–05", c.lineOf(c.t.Child(i, "Type")))
				}
			})
		},
	},
	{
		Code: "CD075", Retourcode: Rejected, Level: InMessage, Soorten: soorten("301", "315", "317"),
		Summary: "a product line with a Budget has an Einddatum",
		Breaks:  "a ToegewezenProduct with a Budget and no Einddatum",
		Keeps:   "the same line ending 2025-06-30",
		check: func(c *checker) {
			c.eachLine(func(i int, end string) {
				if c.has(i, "Budget") && !c.has(i, end) {
					c.fail(i, "has a Budget%s but no %s", c.lineOf(c.t.Child(i, "Budget")), end)
				}
			})
		},
	},
	{
		Code: "CD076", Retourcode: Rejected, Level: InMessage, Soorten: soorten("301", "315", "317"),
		Summary: "a product line with Frequentie 2 (per week) has an Einddatum",
		Breaks:  "a NieuwProduct with an Omvang per week (Frequentie 2) and no Einddatum",
		Keeps:   "the same line with Frequentie 4 (per month)",
		check: func(c *checker) {
			c.eachLine(func(i int, end string) {
				if f, _ := c.val(i, "Omvang", "Frequentie"); f == "2" && !c.has(i, end) {
					c.fail(i, "has no %s, but its %s is per week (2)", end, c.el(c.t.Child(i, "Omvang", "Frequentie")))
				}
			})
		},
	},
	{
		Code: "CD077", Retourcode: Rejected, Level: InMessage, Soorten: soorten("301", "315", "317"),
		Summary: "a product line with a Budget has no Omvang",
		Breaks:  "an AangevraagdProduct with an Omvang and a Budget",
		Keeps:   "the same line with the Omvang only",
		check: func(c *checker) {
			c.eachLine(func(i int, _ string) {
				if c.has(i, "Budget") && c.has(i, "Omvang") {
					c.fail(c.at(i, "Omvang"), "is given, but the line has a Budget%s", c.lineOf(c.t.Child(i, "Budget")))
				}
			})
		},
	},
	{
		Code: "CD078", Retourcode: Rejected, Level: InMessage, Soorten: soorten("301", "315", "317"),
		Summary: "a product line with an Omvang has no Budget",
		Breaks:  "a ToegewezenProduct with an Omvang and a Budget",
		Keeps:   "a budget line without Omvang",
		check: func(c *checker) {
			c.eachLine(func(i int, _ string) {
				if c.has(i, "Omvang") && c.has(i, "Budget") {
					c.fail(c.at(i, "Budget"), "is given, but the line has an Omvang%s", c.lineOf(c.t.Child(i, "Omvang")))
				}
			})
		},
	},
	{
		Code: "CD079", Retourcode: Rejected, Level: InMessage, Soorten: soorten("301", "315", "317"),
		Summary: "a product line without a Budget has a Product",
		Breaks:  "a ToegewezenProduct with neither Budget nor Product",
		Keeps:   "a budget line without Product",
		check: func(c *checker) {
			c.eachProduct(func(i int) {
				if !c.has(i, "Budget") && !c.has(i, "Product") {
					c.fail(i, "has neither a Budget nor a Product")
				}
			}, "ToegewezenProduct", "AangevraagdProduct", "NieuwProduct")
		},
	},
	{
		Code: "CD080", Retourcode: Rejected, Level: InMessage, Soorten: soorten("301"),
		Summary: "a ToegewezenProduct without Product Code and ending after 2020 (or open) has no Omvang",
		Breaks:  "a ToegewezenProduct of categorie 03 without Code, with an Omvang, ending 2021-01-01",
		Keeps:   "the same line ending 2020-12-31",
		check: func(c *checker) {
			c.each("ToegewezenProduct", func(i int) { c.noOmvangWithoutCode(i, "Einddatum") })
		},
	},
	{
		Code: "CD085", Retourcode: Rejected, Level: InMessage, Soorten: soorten("319"),
		Summary: "an Antwoord with VerzoekAntwoord 1 (rejected) has a RedenAfwijzingVerzoek",
		Breaks:  "an Antwoord rejecting the verzoek (VerzoekAntwoord 1) without RedenAfwijzingVerzoek",
		Keeps:   "the same Antwoord with RedenAfwijzingVerzoek 3",
		check: func(c *checker) {
			c.each("Antwoord", func(i int) {
				if v, _ := c.val(i, "VerzoekAntwoord"); v == "1" && !c.has(i, "RedenAfwijzingVerzoek") {
					c.fail(c.at(i, "VerzoekAntwoord"), "rejects the verzoek (1), but the Antwoord%s has no RedenAfwijzingVerzoek", c.lineOf(i))
				}
			})
		},
	},
	{
		Code: "CD086", Retourcode: Rejected, Level: InMessage, Soorten: soorten("319"),
		Summary: "an Antwoord with VerzoekAntwoord 2 (under investigation) has no RedenAfwijzingVerzoek",
		Breaks:  "an Antwoord saying aanvraag in onderzoek (VerzoekAntwoord 2) with a RedenAfwijzingVerzoek",
		Keeps:   "the same Antwoord without it",
		check: func(c *checker) {
			c.each("Antwoord", func(i int) {
				if v, _ := c.val(i, "VerzoekAntwoord"); v == "2" && c.has(i, "RedenAfwijzingVerzoek") {
					c.fail(c.at(i, "RedenAfwijzingVerzoek"), "is given, but the VerzoekAntwoord%s says aanvraag in onderzoek (2)", c.lineOf(c.t.Child(i, "VerzoekAntwoord")))
				}
			})
		},
	},
	{
		Code: "CD087", Retourcode: Rejected, Level: InMessage, Soorten: soorten("323"),
		Summary: "a Prestatie has a ProductTarief exactly when its Eenheid is not 83 (euro)",
		Breaks:  "a Prestatie in hours (Eenheid 04) without ProductTarief",
		Keeps:   "the same Prestatie with a ProductTarief",
		check: func(c *checker) {
			c.each("Prestatie", func(i int) {
				e, _ := c.val(i, "Eenheid")
				eenheid := c.el(c.t.Child(i, "Eenheid"))
				c.filledIff(i, "ProductTarief", e != "83", "its "+eenheid+" is not euro (83)", "the "+eenheid+" is euro (83)")
			})
		},
	},
	{
		Code: "CD095", Retourcode: Rejected, Level: InMessage, Soorten: soorten("315"),
		Summary: "an AangevraagdProduct without Product Code and ending after 2020 (or open) has no Omvang",
		Breaks:  "an AangevraagdProduct of categorie 03 without Code, with an Omvang, ending 2025-06-30",
		Keeps:   "the same line with ProductCode 03A01",
		check: func(c *checker) {
			c.each("AangevraagdProduct", func(i int) { c.noOmvangWithoutCode(i, "ToewijzingEinddatum") })
		},
	},
	{
		Code: "CD096", Retourcode: Rejected, Level: InMessage, Soorten: soorten("317"),
		Summary: "a NieuwProduct without Product Code and ending after 2020 (or open) has no Omvang",
		Breaks:  "a NieuwProduct of categorie 03 without Code, with an Omvang, ending 2025-06-30",
		Keeps:   "the same line with ProductCode 03A01",
		check: func(c *checker) {
			c.each("NieuwProduct", func(i int) { c.noOmvangWithoutCode(i, "Einddatum") })
		},
	},
}

// filledIff fails when the element name under i is present and must not
// be, or absent and must be: "exactly when" in both directions, saying
// which. because says why it must be there ("it has a Postcode (line
// 12)"), unless why it must not ("the Adres has no Postcode").
func (c *checker) filledIff(i int, name string, must bool, because, unless string) {
	j := c.t.Child(i, name)
	switch {
	case must && j < 0:
		c.fail(i, "has no %s, but %s", name, because)
	case !must && j >= 0:
		c.fail(j, "is given, but %s", unless)
	}
}

// eachProduct calls fn for every element named one of classes.
func (c *checker) eachProduct(fn func(i int), classes ...string) {
	for _, class := range classes {
		c.each(class, fn)
	}
}

// eachLine calls fn for every product line that carries Omvang or Budget
// (ToegewezenProduct, AangevraagdProduct, NieuwProduct, TeWijzigenProduct)
// with the name of its end date.
func (c *checker) eachLine(fn func(i int, end string)) {
	c.each("ToegewezenProduct", func(i int) { fn(i, "Einddatum") })
	c.each("AangevraagdProduct", func(i int) { fn(i, "ToewijzingEinddatum") })
	c.each("NieuwProduct", func(i int) { fn(i, "Einddatum") })
	c.each("TeWijzigenProduct", func(i int) { fn(i, "Einddatum") })
}

// noOmvangWithoutCode is CD080, CD095 and CD096: without a Product Code and
// with the end date after 31-12-2020 or open, the line has no Omvang.
func (c *checker) noOmvangWithoutCode(i int, end string) {
	if code, _ := c.val(i, "Product", "Code"); code != "" || !c.has(i, "Omvang") {
		return
	}
	ends := "has no " + end
	if d, ok := c.dateAt(i, end); ok {
		if !d.after(endOf2020) {
			return
		}
		ends = "its " + c.el(c.t.Child(i, end)) + " lies after 2020"
	}
	c.fail(c.at(i, "Omvang"), "is given, but the %s%s has no Product Code and %s", c.t.Name(i), c.lineOf(i), ends)
}

// referringType tells whether Verwijzer i has Type 02, 03, 04 or 05.
func referringType(c *checker, i int) bool {
	switch t, _ := c.val(i, "Type"); t {
	case "02", "03", "04", "05":
		return true
	}
	return false
}
