package sample

import (
	"fmt"
	"time"

	"github.com/knooppunt/knooppunt/bericht"
)

// TrajectOptions steer Traject. The zero value picks default parties and
// ends today.
type TrajectOptions struct {
	// Gemeente and Aanbieder are the two parties; empty picks defaults.
	Gemeente, Aanbieder string
	// Einde is the Dagtekening of the last messages (the 323, 325, 307 and
	// 308); the traject starts about two months earlier. Zero means today.
	Einde time.Time
	// Products is the number of products asked for and allocated; 0 means
	// a random number from 1 to 3.
	Products int
}

// Traject generates one client's path through the chain of standard std,
// in order, each heenbericht followed by its approved answer:
//
//	315 verzoek om toewijzing → 316
//	301 toewijzing honouring it (same ReferentieAanbieder, TR379) → 302
//	305 start levering on each ToewijzingNummer (TR019) → 306
//	323 declaratie of the first whole month of care → 325
//	307 stop levering at the end of that month (TR382) → 308
//
// The messages refer to each other as the berichtoverstijgende rules
// require: one BSN (TR304), one ToewijzingNummer, product and Eenheid per
// product throughout (TR338–TR341), ProductPeriode within the allocation
// (TR307, TR308), GeleverdVolume within the Omvang (TR321, TR322), and
// every Dagtekening in order and not in the future.
func (g *Generator) Traject(std bericht.Standard, opt TrajectOptions) ([]*Message, error) {
	prefix, ok := map[bericht.Standard]string{bericht.IWmo: "WMO", bericht.IJw: "JW"}[std]
	if !ok {
		return nil, fmt.Errorf("traject: unknown standard %q", std)
	}
	var ss [5]bericht.Soort
	for i, n := range []int{315, 301, 305, 323, 307} {
		ss[i], _ = bericht.Lookup(fmt.Sprintf("%s%d", prefix, n))
	}
	s315, s301, s305, s323, s307 := ss[0], ss[1], ss[2], ss[3], ss[4]

	gemeente, aanbieder := opt.Gemeente, opt.Aanbieder
	if gemeente == "" {
		gemeente = g.party(bericht.Gemeente)
	}
	if aanbieder == "" {
		aanbieder = g.party(bericht.Aanbieder)
	}
	einde := opt.Einde
	if einde.IsZero() {
		einde = g.today()
	}
	einde = day(einde)
	// Timeline: care starts early in the month before the declared month
	// M, which is the month before einde; the 315 asks for it on its
	// start date, the 301, 305 follow within days.
	declBegin, declEind := monthOf(time.Date(einde.Year(), einde.Month(), 1, 0, 0, 0, 0, time.UTC).AddDate(0, -1, 0))
	ingang := addDays(declBegin.AddDate(0, -1, 0), g.between(0, 10))
	d315 := ingang
	d301 := addDays(ingang, g.between(0, 2))
	d305 := addDays(d301, g.between(1, 7))

	client := g.person(std, d315, gemeente)
	client.contacts = []contact{g.address("01", gemeente)}
	n, base := max(opt.Products, 0), g.rng.IntN(50)
	if n == 0 {
		n = g.between(1, 3)
	}
	var lines []line
	for i := range n {
		l := g.product(std, ingang, base+i, false, "")
		l.referentie = g.NextID()
		if l.eind.IsZero() || l.eind.Before(declEind) {
			l.eind = ingang.AddDate(0, g.between(3, 12), -1)
		}
		lines = append(lines, l)
	}

	var out []*Message
	add := func(s bericht.Soort, from, to string, d time.Time, content any) error {
		h := g.header(s, Options{Afzender: from, Ontvanger: to, Dagtekening: d})
		heen := g.emit(s, h, content)
		answer, err := g.Answer(heen, AnswerOptions{Dagtekening: d})
		if err != nil {
			return err
		}
		out = append(out, heen, answer)
		return nil
	}

	vot := &verzoekToewijzing{client: client}
	for _, l := range lines {
		vot.lines = append(vot.lines, aanvraag{line: l, verwijzerType: "01", verwijzerNaam: "Gemeente " + client.plaats})
	}
	toew := &toewijzing{client: client, datum: d301, producten: lines}
	toew.tijd = fmt.Sprintf("%02d:%02d:%02d", g.between(7, 18), g.rng.IntN(60), g.rng.IntN(60))
	start := &levering{client: client}
	stop := &levering{client: client, stop: true}
	decl := &declaratie{nummer: g.NextID(), begin: declBegin, eind: declEind, dagtekening: einde}
	dc := declClient{bsn: client.bsn}
	reden := map[bericht.Standard]string{bericht.IWmo: "23", bericht.IJw: "34"}[std]
	for _, l := range lines {
		start.lines = append(start.lines, leveringLine{line: l, begin: l.ingang})
		stop.lines = append(stop.lines, leveringLine{line: l, begin: l.ingang, einde: declEind, reden: reden})
		pr := prestatie{
			referentie: "P" + g.NextID(),
			toewijzing: l.nummer,
			categorie:  l.categorie,
			code:       l.code,
			begin:      declBegin,
			eind:       declEind,
			eenheid:    l.omvang.eenheid,
			volume:     l.omvang.volume, // one period's worth fits any Frequentie
		}
		if pr.eenheid == "83" {
			pr.bedrag = pr.volume
		} else {
			pr.tarief = g.between(l.unit.tariefLo, l.unit.tariefHi)
			pr.bedrag = pr.volume * pr.tarief
		}
		decl.totaal += pr.signed()
		dc.prestaties = append(dc.prestaties, pr)
	}
	decl.clienten = []declClient{dc}

	for _, step := range []struct {
		s        bericht.Soort
		from, to string
		d        time.Time
		content  any
	}{
		{s315, aanbieder, gemeente, d315, vot},
		{s301, gemeente, aanbieder, d301, toew},
		{s305, aanbieder, gemeente, d305, start},
		{s323, aanbieder, gemeente, einde, decl},
		{s307, aanbieder, gemeente, einde, stop},
	} {
		if err := add(step.s, step.from, step.to, step.d, step.content); err != nil {
			return nil, err
		}
	}
	return out, nil
}
