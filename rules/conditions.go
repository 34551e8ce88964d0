package rules

// conditions are the conditions (CD) of iWmo 3.2 and iJw 3.2: when an
// element must or may be filled. Both standards carry the same set.
var conditions = []*Rule{
	{
		Code: "CD005", Retourcode: Rejected, Level: InMessage, Soorten: soorten("301"),
		Summary: "an Adres has a LandCode exactly when it has a Postcode",
		check: func(c *checker) {
			c.each("Adres", func(i int) { c.filledIff(i, "LandCode", c.has(i, "Postcode")) })
		},
	},
	{
		Code: "CD007", Retourcode: Rejected, Level: InMessage, Soorten: soorten("301"),
		Summary: "Communicatie has a Taal exactly when its Vorm is 1 (tolk taal)",
		check: func(c *checker) {
			c.each("Communicatie", func(i int) {
				v, _ := c.val(i, "Vorm")
				c.filledIff(i, "Taal", v == "1")
			})
		},
	},
	{
		Code: "CD009", Retourcode: Rejected, Level: InMessage, Soorten: soorten("301"),
		Summary: "a Contact has a Periode only when its Soort is 04 (temporary address)",
		check: func(c *checker) {
			c.each("Contact", func(i int) {
				if s, _ := c.val(i, "Soort"); s != "04" && c.has(i, "Periode") {
					c.fail(c.at(i, "Periode"))
				}
			})
		},
	},
	{
		Code: "CD025", Retourcode: Rejected, Level: InMessage, Soorten: soorten("301"),
		Summary: "an Adres with LandCode NL has a Huis",
		check: func(c *checker) {
			c.each("Adres", func(i int) {
				if l, _ := c.val(i, "LandCode"); l == "NL" && !c.has(i, "Huis") {
					c.fail(i)
				}
			})
		},
	},
	{
		Code: "CD034", Retourcode: Rejected, Level: InMessage, Soorten: soorten("301"),
		Summary: "the Adres of a Contact of Soort 01 (BRP) or 03 (residence) has a Postcode",
		check: func(c *checker) {
			c.each("Contact", func(i int) {
				if s, _ := c.val(i, "Soort"); (s == "01" || s == "03") && !c.has(i, "Adres", "Postcode") {
					c.fail(c.at(i, "Adres"))
				}
			})
		},
	},
	{
		Code: "CD041", Retourcode: Rejected, Level: InMessage, Soorten: soorten("301", "315", "317"),
		Summary: "a product line with a Product Code has an Omvang",
		check: func(c *checker) {
			c.eachProduct(func(i int) {
				if code, _ := c.val(i, "Product", "Code"); code != "" && !c.has(i, "Omvang") {
					c.fail(i)
				}
			}, "ToegewezenProduct", "AangevraagdProduct", "NieuwProduct")
		},
	},
	{
		Code: "CD043", Retourcode: Rejected, Level: InMessage, Soorten: soorten("315"),
		Summary: "an AangevraagdProduct has a BeschikkingIngangsdatum exactly when it has a BeschikkingNummer",
		check: func(c *checker) {
			c.each("AangevraagdProduct", func(i int) {
				c.filledIff(i, "BeschikkingIngangsdatum", c.has(i, "BeschikkingNummer"))
			})
		},
	},
	{
		Code: "CD060", Retourcode: Rejected, Level: InMessage, Soorten: soorten("323", "325"),
		Summary: "a Prestatie has a VorigReferentieNummer exactly when its IngediendBedrag is credit",
		check: func(c *checker) {
			c.each("Prestatie", func(i int) {
				dc, _ := c.val(i, "IngediendBedrag", "DebetCredit")
				ref := c.t.Child(i, "ProductReferentie")
				if ref >= 0 {
					c.filledIff(ref, "VorigReferentieNummer", dc == "C")
				}
			})
		},
	},
	{
		Code: "CD066", Retourcode: Rejected, Level: InMessage, Soorten: soorten("315"),
		Summary: "a Verwijzer of Type 02–05 with a ZorgverlenerCode has no Naam",
		check: func(c *checker) {
			c.each("Verwijzer", func(i int) {
				if referringType(c, i) && c.has(i, "ZorgverlenerCode") && c.has(i, "Naam") {
					c.fail(c.at(i, "Naam"))
				}
			})
		},
	},
	{
		Code: "CD067", Retourcode: Rejected, Level: InMessage, Soorten: soorten("315"),
		Summary: "a Verwijzer of Type 02–05 without a ZorgverlenerCode has a Naam",
		check: func(c *checker) {
			c.each("Verwijzer", func(i int) {
				if referringType(c, i) && !c.has(i, "ZorgverlenerCode") && !c.has(i, "Naam") {
					c.fail(i)
				}
			})
		},
	},
	{
		Code: "CD068", Retourcode: Rejected, Level: InMessage, Soorten: soorten("315"),
		Summary: "a Verwijzer of another Type than 02–05 has no ZorgverlenerCode",
		check: func(c *checker) {
			c.each("Verwijzer", func(i int) {
				if !referringType(c, i) && c.has(i, "ZorgverlenerCode") {
					c.fail(c.at(i, "ZorgverlenerCode"))
				}
			})
		},
	},
	{
		Code: "CD075", Retourcode: Rejected, Level: InMessage, Soorten: soorten("301", "315", "317"),
		Summary: "a product line with a Budget has an Einddatum",
		check: func(c *checker) {
			c.eachLine(func(i int, end string) {
				if c.has(i, "Budget") && !c.has(i, end) {
					c.fail(i)
				}
			})
		},
	},
	{
		Code: "CD076", Retourcode: Rejected, Level: InMessage, Soorten: soorten("301", "315", "317"),
		Summary: "a product line with Frequentie 2 (per week) has an Einddatum",
		check: func(c *checker) {
			c.eachLine(func(i int, end string) {
				if f, _ := c.val(i, "Omvang", "Frequentie"); f == "2" && !c.has(i, end) {
					c.fail(i)
				}
			})
		},
	},
	{
		Code: "CD077", Retourcode: Rejected, Level: InMessage, Soorten: soorten("301", "315", "317"),
		Summary: "a product line with a Budget has no Omvang",
		check: func(c *checker) {
			c.eachLine(func(i int, _ string) {
				if c.has(i, "Budget") && c.has(i, "Omvang") {
					c.fail(c.at(i, "Omvang"))
				}
			})
		},
	},
	{
		Code: "CD078", Retourcode: Rejected, Level: InMessage, Soorten: soorten("301", "315", "317"),
		Summary: "a product line with an Omvang has no Budget",
		check: func(c *checker) {
			c.eachLine(func(i int, _ string) {
				if c.has(i, "Omvang") && c.has(i, "Budget") {
					c.fail(c.at(i, "Budget"))
				}
			})
		},
	},
	{
		Code: "CD079", Retourcode: Rejected, Level: InMessage, Soorten: soorten("301", "315", "317"),
		Summary: "a product line without a Budget has a Product",
		check: func(c *checker) {
			c.eachProduct(func(i int) {
				if !c.has(i, "Budget") && !c.has(i, "Product") {
					c.fail(i)
				}
			}, "ToegewezenProduct", "AangevraagdProduct", "NieuwProduct")
		},
	},
	{
		Code: "CD080", Retourcode: Rejected, Level: InMessage, Soorten: soorten("301"),
		Summary: "a ToegewezenProduct without Product Code and ending after 2020 (or open) has no Omvang",
		check: func(c *checker) {
			c.each("ToegewezenProduct", func(i int) { c.noOmvangWithoutCode(i, "Einddatum") })
		},
	},
	{
		Code: "CD085", Retourcode: Rejected, Level: InMessage, Soorten: soorten("319"),
		Summary: "an Antwoord with VerzoekAntwoord 1 (rejected) has a RedenAfwijzingVerzoek",
		check: func(c *checker) {
			c.each("Antwoord", func(i int) {
				if v, _ := c.val(i, "VerzoekAntwoord"); v == "1" && !c.has(i, "RedenAfwijzingVerzoek") {
					c.fail(c.at(i, "VerzoekAntwoord"))
				}
			})
		},
	},
	{
		Code: "CD086", Retourcode: Rejected, Level: InMessage, Soorten: soorten("319"),
		Summary: "an Antwoord with VerzoekAntwoord 2 (under investigation) has no RedenAfwijzingVerzoek",
		check: func(c *checker) {
			c.each("Antwoord", func(i int) {
				if v, _ := c.val(i, "VerzoekAntwoord"); v == "2" && c.has(i, "RedenAfwijzingVerzoek") {
					c.fail(c.at(i, "RedenAfwijzingVerzoek"))
				}
			})
		},
	},
	{
		Code: "CD087", Retourcode: Rejected, Level: InMessage, Soorten: soorten("323"),
		Summary: "a Prestatie has a ProductTarief exactly when its Eenheid is not 83 (euro)",
		check: func(c *checker) {
			c.each("Prestatie", func(i int) {
				e, _ := c.val(i, "Eenheid")
				c.filledIff(i, "ProductTarief", e != "83")
			})
		},
	},
	{
		Code: "CD095", Retourcode: Rejected, Level: InMessage, Soorten: soorten("315"),
		Summary: "an AangevraagdProduct without Product Code and ending after 2020 (or open) has no Omvang",
		check: func(c *checker) {
			c.each("AangevraagdProduct", func(i int) { c.noOmvangWithoutCode(i, "ToewijzingEinddatum") })
		},
	},
	{
		Code: "CD096", Retourcode: Rejected, Level: InMessage, Soorten: soorten("317"),
		Summary: "a NieuwProduct without Product Code and ending after 2020 (or open) has no Omvang",
		check: func(c *checker) {
			c.each("NieuwProduct", func(i int) { c.noOmvangWithoutCode(i, "Einddatum") })
		},
	},
}

// filledIff fails when the element name under i is present and must not
// be, or absent and must be.
func (c *checker) filledIff(i int, name string, must bool) {
	j := c.t.Child(i, name)
	switch {
	case must && j < 0:
		c.fail(i)
	case !must && j >= 0:
		c.fail(j)
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
	if d, ok := c.dateAt(i, end); ok && !d.after(endOf2020) {
		return
	}
	c.fail(c.at(i, "Omvang"))
}

// referringType tells whether Verwijzer i has Type 02, 03, 04 or 05.
func referringType(c *checker, i int) bool {
	switch t, _ := c.val(i, "Type"); t {
	case "02", "03", "04", "05":
		return true
	}
	return false
}
