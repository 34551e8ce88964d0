package rules

import "strings"

// Retourcodes of the rules of level 3 and 4 whose in-message part Check
// runs.
const (
	// ReferentieNotUnique is retourcode 8021 of TR314.
	ReferentieNotUnique = "8021"
	// PeriodeNotDeclared is retourcode 9319 of TR319.
	PeriodeNotDeclared = "9319"
	// StartAlreadyCurrent is retourcode 9326 of TR326.
	StartAlreadyCurrent = "9326"
	// AmountNotVolumeTimesTarief is retourcode 9346 of TR346.
	AmountNotVolumeTimesTarief = "9346"
	// StopAlreadyFinal is retourcode 9415 of TR415.
	StopAlreadyFinal = "9415"
)

// partial are rules of level 3 (berichtoverstijgend) and 4 (externe bron)
// of which one message can show a breach by itself: a ReferentieNummer
// twice in one declaratie is not unique whatever came before. Check runs
// that part; what needs earlier messages or a contract stays with the
// recipient. A finding carries the rule's own retourcode.
var partial = []*Rule{
	{
		Code: "TR314", Retourcode: ReferentieNotUnique, Level: Conversation, Part: true, Soorten: soorten("323"),
		Summary: "within the message, no two Prestaties share a ReferentieNummer (uniqueness over earlier declaraties stays with the recipient)",
		Breaks:  "two Prestaties, of different clients, with the same ReferentieNummer",
		Keeps:   "the same Prestaties with ReferentieNummers that differ in the last character",
		check:   checkTR314,
	},
	{
		Code: "TR319", Retourcode: PeriodeNotDeclared, Level: Conversation, Part: true, Soorten: soorten("323"),
		Summary: "no ProductPeriode lies after the DeclaratiePeriode of its declaratie: it falls within the current or an earlier period",
		Breaks:  "a ProductPeriode in the month after the DeclaratiePeriode",
		Keeps:   "a ProductPeriode in the month before it (a correction of an earlier period)",
		check:   checkTR319,
	},
	{
		Code: "TR326", Retourcode: StartAlreadyCurrent, Level: Conversation, Part: true, Soorten: soorten("305"),
		Summary: "within the message, a ToegewezenProduct (ToewijzingNummer) is started once: two StartProducten of status 1 for one toewijzing leave one start current while the other is sent (starts in earlier messages stay with the recipient)",
		Breaks:  "two StartProducten with StatusAanlevering 1 for the same ToewijzingNummer, beginning on different days",
		Keeps:   "the same two with the first removed (StatusAanlevering 3)",
		check:   checkTR326,
	},
	{
		Code: "TR346", Retourcode: AmountNotVolumeTimesTarief, Level: External, Part: true, Soorten: soorten("323"),
		Summary: "where the Eenheid of the Prestatie is that of its ProductTarief (not minutes, which may be billed at an hourly tariff, and not euro), IngediendBedrag is GeleverdVolume × ProductTarief; the contractual tariff itself stays with the recipient",
		Breaks:  "a Prestatie in hours (Eenheid 04) of 3 at a ProductTarief of 1000 with IngediendBedrag 3001",
		Keeps:   "the same Prestatie with IngediendBedrag 3000; or one in minutes (Eenheid 01) with any amount",
		check:   checkTR346,
	},
	{
		Code: "TR415", Retourcode: StopAlreadyFinal, Level: Conversation, Part: true, Soorten: soorten("307"),
		Summary: "within the message, a start (ToewijzingNummer, Begindatum) is ended for good once: at most one StopProduct of status 1 or 2 for it has a RedenBeeindiging other than 20 (stops in earlier messages stay with the recipient)",
		Breaks:  "two StopProducten with StatusAanlevering 1 for the same ToewijzingNummer and Begindatum, both with RedenBeeindiging 19",
		Keeps:   "the same two with the first a temporary stop (RedenBeeindiging 20)",
		check:   checkTR415,
	},
}

// checkTR314: a ReferentieNummer of one Prestatie is not that of another in
// the same message, of the same client or another.
func checkTR314(c *checker) {
	seen := map[string]int{}
	c.each("Prestatie", func(p int) {
		i := c.t.Child(p, "ProductReferentie", "ReferentieNummer")
		if i < 0 {
			return
		}
		v := strings.TrimSpace(c.t.Text(i))
		if first, dup := seen[v]; dup {
			c.fail(i, "repeats the ReferentieNummer%s of another Prestatie in the message", c.lineOf(first))
			return
		}
		seen[v] = i
	})
}

// checkTR319: every ProductPeriode of a Declaratie ends on or before the
// end of its DeclaratiePeriode. Any earlier month is a preceding period.
func checkTR319(c *checker) {
	c.each("Declaratie", func(decl int) {
		dp := c.t.Child(decl, "DeclaratiePeriode")
		limit, ok := c.dateAt(dp, "Einddatum")
		if dp < 0 || !ok {
			return
		}
		end := c.el(c.t.Child(dp, "Einddatum"))
		for pp := range c.t.All(decl, "ProductPeriode") {
			for _, name := range []string{"Einddatum", "Begindatum"} {
				if d, ok := c.dateAt(pp, name); ok && d.after(limit) {
					c.fail(c.at(pp, name), "of the ProductPeriode lies after the DeclaratiePeriode%s, which ends with %s", c.lineOf(dp), end)
					break
				}
			}
		}
	})
}

// checkTR326: among the StartProducten of one message that deliver (any
// StatusAanlevering but 3, remove), one ToewijzingNummer occurs once.
func checkTR326(c *checker) {
	seen := map[string]int{}
	c.each("StartProduct", func(i int) {
		if s, _ := c.val(i, "StatusAanlevering"); s == "3" {
			return
		}
		nr, ok := c.val(i, "ToewijzingNummer")
		if !ok {
			return
		}
		if first, dup := seen[nr]; dup {
			c.fail(i, "starts the ToegewezenProduct of its %s, which the StartProduct%s of this message already starts", c.el(c.t.Child(i, "ToewijzingNummer")), c.lineOf(first))
			return
		}
		seen[nr] = i
	})
}

// checkTR346: with the Eenheid of the tariff, IngediendBedrag (in cents)
// is GeleverdVolume × ProductTarief (in cents). Minutes (01) are skipped:
// an hourly tariff is then converted and rounded, which only the contract
// decides; euro (83) has no tariff (CD087, CS339).
func checkTR346(c *checker) {
	c.each("Prestatie", func(i int) {
		if e, _ := c.val(i, "Eenheid"); e == "01" || e == "83" {
			return
		}
		vol, ok1 := c.integer(i, "GeleverdVolume")
		tarief, ok2 := c.integer(i, "ProductTarief")
		amount, ok3 := c.integer(i, "IngediendBedrag", "Bedrag")
		if !ok1 || !ok2 || !ok3 || vol < 0 || tarief < 0 || vol > 1<<31 || tarief > 1<<31 {
			return
		}
		if vol*tarief != amount {
			c.fail(c.at(i, "IngediendBedrag"), "is not the %s times the %s", c.el(c.t.Child(i, "GeleverdVolume")), c.el(c.t.Child(i, "ProductTarief")))
		}
	})
}

// checkTR415: among the StopProducten of one message with StatusAanlevering
// 1 or 2, one start (ToewijzingNummer and Begindatum) has at most one stop
// with a RedenBeeindiging other than 20 (temporarily ended). Which of a
// temporary and a final stop came first the message does not tell, so
// only two final stops are a breach.
func checkTR415(c *checker) {
	seen := map[string]int{}
	c.each("StopProduct", func(i int) {
		if s, _ := c.val(i, "StatusAanlevering"); s != "1" && s != "2" {
			return
		}
		if r, _ := c.val(i, "RedenBeeindiging"); r == "20" {
			return
		}
		nr, ok1 := c.val(i, "ToewijzingNummer")
		begin, ok2 := c.val(i, "Begindatum")
		if !ok1 || !ok2 {
			return
		}
		key := nr + "\x00" + begin
		if first, dup := seen[key]; dup {
			c.fail(i, "ends the start (ToewijzingNummer, Begindatum) that the StopProduct%s of this message ends, and neither stop is temporary: its %s is not 20, nor is that of the other", c.lineOf(first), c.el(c.t.Child(i, "RedenBeeindiging")))
			return
		}
		seen[key] = i
	})
}
