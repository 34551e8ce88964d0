package rules

import (
	"strconv"
	"strings"
)

// constraints are the constraints (CS) of iWmo 3.2 and iJw 3.2 that the
// XSD does not already enforce; CS015, CS025 (BerichtVersie 3, Subversie 2)
// and CS319 (DeclaratieNummer letters and digits) are patterns in the
// message schemas.
var constraints = []*Rule{
	{
		Code: "CS002", Retourcode: Rejected, Level: InMessage, Soorten: soorten("301", "305", "307", "315", "317", "323", "325"),
		Summary: "a Bsn passes the elfproef",
		Breaks:  "Bsn 123456788 (9·1 + 8·2 + … + 2·8 − 8 = 148, no multiple of 11)",
		Keeps:   "Bsn 123456782",
		check: func(c *checker) {
			c.each("Bsn", func(i int) {
				if !Elfproef(strings.TrimSpace(c.t.Text(i))) {
					c.fail(i, "fails the elfproef")
				}
			})
		},
	},
	{
		Code: "CS003", Retourcode: Rejected, Level: InMessage, Soorten: soorten("301", "315", "317"),
		Summary: "an Einddatum is not before the Begindatum or Ingangsdatum of its period",
		Breaks:  "a Contact Periode from 2025-01-02 to 2025-01-01",
		Keeps:   "a Periode from 2025-01-02 to 2025-01-02",
		check: func(c *checker) {
			c.each("Periode", func(i int) { c.notBefore(i, "Begindatum", "Einddatum") })
			c.each("ToegewezenProduct", func(i int) { c.notBefore(i, "Ingangsdatum", "Einddatum") })
			c.each("AangevraagdProduct", func(i int) { c.notBefore(i, "ToewijzingIngangsdatum", "ToewijzingEinddatum") })
			c.each("NieuwProduct", func(i int) { c.notBefore(i, "GewensteIngangsdatum", "Einddatum") })
			c.each("TeWijzigenProduct", func(i int) { c.notBefore(i, "GewensteIngangsdatum", "Einddatum") })
		},
	},
	{
		Code: "CS050", Retourcode: Rejected, Level: InMessage, Soorten: soorten("301"),
		Summary: "NaamGebruik is 1, 2, 3 or 4 with a Partnernaam, else 1 or 6",
		Breaks:  "a Naam without Partnernaam and NaamGebruik 2",
		Keeps:   "a Naam with a Partnernaam and NaamGebruik 4",
		check: func(c *checker) {
			c.each("Naam", func(i int) {
				v, ok := c.val(i, "NaamGebruik")
				if !ok {
					return
				}
				if p := c.t.Child(i, "Partnernaam"); p >= 0 {
					if len(v) != 1 || !strings.Contains("1234", v) {
						c.fail(c.at(i, "NaamGebruik"), "is not 1, 2, 3 or 4, as it must be with the Partnernaam%s", c.lineOf(p))
					}
				} else if v != "1" && v != "6" {
					c.fail(c.at(i, "NaamGebruik"), "is not 1 or 6, as it must be without a Partnernaam")
				}
			})
		},
	},
	{
		Code: "CS058", Retourcode: Rejected, Level: InMessage, Soorten: soorten("305", "307"),
		Summary: "StatusAanlevering is 1 (first delivery) or 3 (removal)",
		Breaks:  "StatusAanlevering 2 (correction), which the codelist has and the constraint excludes",
		Keeps:   "StatusAanlevering 3",
		check: func(c *checker) {
			c.each("StatusAanlevering", func(i int) {
				if v := strings.TrimSpace(c.t.Text(i)); v != "1" && v != "3" {
					c.fail(i, "is neither 1 (first delivery) nor 3 (removal)")
				}
			})
		},
	},
	{
		Code: "CS089", Retourcode: Rejected, Level: InMessage, Soorten: soorten("301"),
		Summary: "with LandCode NL the Postcode is a Dutch postcode (four digits, the first not 0, and two capitals)",
		Breaks:  "a Dutch Adres with Postcode 0123AB",
		Keeps:   "Postcode 9999ZZ",
		check: func(c *checker) {
			c.each("Adres", func(i int) {
				if l, _ := c.val(i, "LandCode"); l != "NL" {
					return
				}
				if p, ok := c.val(i, "Postcode"); ok && !dutchPostcode(p) {
					c.fail(c.at(i, "Postcode"), "is not a Dutch postcode (four digits, the first not 0, then two capitals), but the LandCode%s is NL", c.lineOf(c.t.Child(i, "LandCode")))
				}
			})
		},
	},
	{
		Code: "CS100", Retourcode: Rejected, Level: InMessage, Soorten: soorten("323"),
		Summary: "DeclaratiePeriode and ProductPeriode lie on or after 01-01-2021",
		Breaks:  "a ProductPeriode in December 2020",
		Keeps:   "a ProductPeriode in January 2021",
		check: func(c *checker) {
			for _, period := range []string{"DeclaratiePeriode", "ProductPeriode"} {
				c.each(period, func(i int) {
					for _, name := range []string{"Begindatum", "Einddatum"} {
						if d, ok := c.dateAt(i, name); ok && d.before(startOf2021) {
							c.fail(c.at(i, name), "of the %s lies before 1 January 2021", period)
						}
					}
				})
			}
		},
	},
	{
		Code: "CS139", Retourcode: Rejected, Level: InMessage, Soorten: soorten("301", "305", "307", "315"),
		Summary: "Geboortedatum agrees with DatumGebruik (1: first of the month, 2: 1 January, 3: 01-01-1900)",
		Breaks:  "DatumGebruik 1 (day unknown) with a Datum on the 2nd of a month",
		Keeps:   "DatumGebruik 1 with a Datum on the 1st",
		check: func(c *checker) {
			c.each("Geboortedatum", func(i int) {
				u, ok := c.val(i, "DatumGebruik")
				if !ok {
					return
				}
				d, ok := c.dateAt(i, "Datum")
				if !ok {
					return
				}
				var want string
				switch {
				case u == "1" && d.d != 1:
					want = "the first day of a month (day unknown)"
				case u == "2" && (d.d != 1 || d.m != 1):
					want = "1 January (day and month unknown)"
				case u == "3" && d != (date{1900, 1, 1}):
					want = "1 January 1900 (date unknown)"
				default:
					return
				}
				c.fail(c.at(i, "DatumGebruik"), "asks for %s, but the Datum%s is not", want, c.lineOf(c.t.Child(i, "Datum")))
			})
		},
	},
	{
		Code: "CS318", Retourcode: Rejected, Level: InMessage, Soorten: soorten("301"),
		Summary: "the Client's NaamGebruik is not 6 (not a natural person)",
		Breaks:  "a Client with NaamGebruik 6",
		Keeps:   "a Client with NaamGebruik 1",
		check: func(c *checker) {
			c.each("Client", func(i int) {
				if v, _ := c.val(i, "Naam", "NaamGebruik"); v == "6" {
					c.fail(c.at(i, "Naam", "NaamGebruik"), "of the Client says it is no natural person (6)")
				}
			})
		},
	},
	{
		Code: "CS325", Retourcode: Rejected, Level: InMessage, Soorten: soorten("323", "325"),
		Summary: "an amount of 0 is debet (DebetCredit D)",
		Breaks:  "a credit Prestatie of 0 cents",
		Keeps:   "a debet Prestatie of 0 euro (Eenheid 83, GeleverdVolume 0)",
		check: func(c *checker) {
			zeroIsDebet := func(i int, amount string) {
				v, ok := c.val(i, amount)
				if !ok {
					return
				}
				if n, err := strconv.ParseInt(strings.TrimPrefix(v, "+"), 10, 64); err != nil || n != 0 {
					return
				}
				if dc, _ := c.val(i, "DebetCredit"); dc != "D" {
					c.fail(c.at(i, "DebetCredit"), "is not debet, but the %s%s is 0", amount, c.lineOf(c.t.Child(i, amount)))
				}
			}
			c.each("TotaalIngediendBedrag", func(i int) { zeroIsDebet(i, "TotaalBedrag") })
			c.each("TotaalToegekendBedrag", func(i int) { zeroIsDebet(i, "TotaalBedrag") })
			c.each("IngediendBedrag", func(i int) { zeroIsDebet(i, "Bedrag") })
		},
	},
	{
		Code: "CS335", Retourcode: Rejected, Level: InMessage, Soorten: soorten("301"),
		Summary: "RedenWijziging 13 (removed) only when Einddatum equals Ingangsdatum",
		Breaks:  "RedenWijziging 13 on a line from 2025-01-01 to 2025-01-02",
		Keeps:   "RedenWijziging 13 on a line from 2025-01-01 to 2025-01-01",
		check: func(c *checker) {
			c.each("ToegewezenProduct", func(i int) {
				if r, _ := c.val(i, "RedenWijziging"); r != "13" {
					return
				}
				begin, ok1 := c.dateAt(i, "Ingangsdatum")
				end, ok2 := c.dateAt(i, "Einddatum")
				switch {
				case !c.has(i, "Einddatum"):
					c.fail(c.at(i, "RedenWijziging"), "says removed (13), but the ToegewezenProduct%s has no Einddatum", c.lineOf(i))
				case !ok1 || !ok2 || begin != end:
					c.fail(c.at(i, "RedenWijziging"), "says removed (13), but the %s is not the %s", c.el(c.t.Child(i, "Einddatum")), c.el(c.t.Child(i, "Ingangsdatum")))
				}
			})
		},
	},
	{
		Code: "CS336", Retourcode: Rejected, Level: InMessage, Soorten: soorten("301"),
		Summary: "RedenWijziging is not 01 (administrative correction, withdrawn)",
		Breaks:  "RedenWijziging 01",
		Keeps:   "RedenWijziging 02",
		check: func(c *checker) {
			c.each("ToegewezenProduct", func(i int) {
				if r, _ := c.val(i, "RedenWijziging"); r == "01" {
					c.fail(c.at(i, "RedenWijziging"), "is the withdrawn administrative correction (01)")
				}
			})
		},
	},
	{
		Code: "CS337", Retourcode: Rejected, Level: InMessage, Soorten: soorten("323"),
		Summary: "a ProductPeriode ends in the calendar month it begins in",
		Breaks:  "a ProductPeriode from 2025-01-31 to 2025-02-01",
		Keeps:   "a ProductPeriode from 2025-01-01 to 2025-01-31",
		check: func(c *checker) {
			c.each("ProductPeriode", func(i int) {
				begin, ok1 := c.dateAt(i, "Begindatum")
				end, ok2 := c.dateAt(i, "Einddatum")
				if ok1 && ok2 && (begin.y != end.y || begin.m != end.m) {
					c.fail(c.at(i, "Einddatum"), "is not in the calendar month of the %s", c.el(c.t.Child(i, "Begindatum")))
				}
			})
		},
	},
	{
		Code: "CS338", Retourcode: Rejected, Level: InMessage, Soorten: soorten("301", "317"),
		Summary: "Eenheid 14, 16, 83 or 84 with an Einddatum after 2020 (or open) goes with Frequentie 2, 4 or 6",
		Breaks:  "a ToegewezenProduct in etmalen (Eenheid 14) per day (Frequentie 1) ending 2025-06-30",
		Keeps:   "the same line ending 2020-12-31",
		check: func(c *checker) {
			for _, class := range []string{"ToegewezenProduct", "NieuwProduct", "TeWijzigenProduct"} {
				c.each(class, func(i int) { c.frequentie(i, "Einddatum") })
			}
		},
	},
	{
		Code: "CS339", Retourcode: Rejected, Level: InMessage, Soorten: soorten("323"),
		Summary: "with Eenheid 83 (euro) the IngediendBedrag equals the GeleverdVolume",
		Breaks:  "a Prestatie in euro with GeleverdVolume 1000 and Bedrag 1001",
		Keeps:   "GeleverdVolume 1000 and Bedrag 1000",
		check: func(c *checker) {
			c.each("Prestatie", func(i int) {
				if e, _ := c.val(i, "Eenheid"); e != "83" {
					return
				}
				vol, ok1 := c.integer(i, "GeleverdVolume")
				amount, ok2 := c.integer(i, "IngediendBedrag", "Bedrag")
				if ok1 && ok2 && vol != amount {
					c.fail(c.at(i, "IngediendBedrag"), "differs from the %s, but the Eenheid%s is euro (83)", c.el(c.t.Child(i, "GeleverdVolume")), c.lineOf(c.t.Child(i, "Eenheid")))
				}
			})
		},
	},
	{
		Code: "CS340", Retourcode: Rejected, Level: InMessage, Soorten: soorten("323"),
		Summary: "the DeclaratiePeriode is exactly one whole calendar month",
		Breaks:  "a DeclaratiePeriode from 2025-02-02 to 2025-02-28",
		Keeps:   "a DeclaratiePeriode from 2025-02-01 to 2025-02-28",
		check: func(c *checker) {
			c.each("DeclaratiePeriode", func(i int) {
				begin, ok1 := c.dateAt(i, "Begindatum")
				end, ok2 := c.dateAt(i, "Einddatum")
				b, e := c.el(c.t.Child(i, "Begindatum")), c.el(c.t.Child(i, "Einddatum"))
				switch {
				case !ok1 || !ok2:
				case begin.d != 1:
					c.fail(i, "is not a whole calendar month: its %s is not the first of a month", b)
				case begin.y != end.y || begin.m != end.m:
					c.fail(i, "is not a whole calendar month: its %s is not in the month of its %s", e, b)
				case !end.lastOfMonth():
					c.fail(i, "is not a whole calendar month: its %s is not the last day of the month", e)
				}
			})
		},
	},
	{
		Code: "CS343", Retourcode: Rejected, Level: InMessage, Soorten: soorten("315"),
		Summary: "Eenheid 14, 16, 83 or 84 with a ToewijzingEinddatum after 2020 (or open) goes with Frequentie 2, 4 or 6",
		Breaks:  "an AangevraagdProduct in dagdelen (Eenheid 16) per day (Frequentie 1) ending 2025-06-30",
		Keeps:   "the same line per period (Frequentie 6)",
		check: func(c *checker) {
			c.each("AangevraagdProduct", func(i int) { c.frequentie(i, "ToewijzingEinddatum") })
		},
	},
}

// Elfproef tells whether bsn is nine digits that pass the elfproef of
// CS002: 9·d1 + 8·d2 + … + 2·d8 − d9 is a multiple of 11.
func Elfproef(bsn string) bool {
	if len(bsn) != 9 {
		return false
	}
	sum := 0
	for k := 0; k < 9; k++ {
		d := int(bsn[k]) - '0'
		if d < 0 || d > 9 {
			return false
		}
		if k == 8 {
			sum -= d
		} else {
			sum += (9 - k) * d
		}
	}
	return sum%11 == 0
}

// dutchPostcode tells whether p is a Dutch postcode: 1234AB.
func dutchPostcode(p string) bool {
	if len(p) != 6 || p[0] < '1' || p[0] > '9' {
		return false
	}
	for k := 1; k < 4; k++ {
		if p[k] < '0' || p[k] > '9' {
			return false
		}
	}
	return p[4] >= 'A' && p[4] <= 'Z' && p[5] >= 'A' && p[5] <= 'Z'
}

// frequentie is CS338 and CS343 for product line i with end date end.
func (c *checker) frequentie(i int, end string) {
	switch e, _ := c.val(i, "Omvang", "Eenheid"); e {
	case "14", "16", "83", "84":
	default:
		return
	}
	if d, ok := c.dateAt(i, end); ok && !d.after(endOf2020) {
		return
	}
	switch f, _ := c.val(i, "Omvang", "Frequentie"); f {
	case "2", "4", "6":
	default:
		c.fail(c.at(i, "Omvang", "Frequentie"), "is not 2, 4 or 6, but the Eenheid%s is 14, 16, 83 or 84 and the line ends after 2020 or is open", c.lineOf(c.t.Child(i, "Omvang", "Eenheid")))
	}
}

// integer reads the integer at path under i.
func (c *checker) integer(i int, path ...string) (int64, bool) {
	v, ok := c.val(i, path...)
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(strings.TrimPrefix(v, "+"), 10, 64)
	return n, err == nil
}
