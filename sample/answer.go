package sample

import (
	"time"

	"github.com/knooppunt/knooppunt/bericht"
)

// answerDate is the date of an answer: the one asked for, else today, but
// never before the heenbericht's own Dagtekening.
func (g *Generator) answerDate(heen bericht.Header, d time.Time) string {
	if !d.IsZero() {
		return day(d).Format(dateLayout)
	}
	today := g.today().Format(dateLayout)
	if heen.Dagtekening > today { // ISO dates compare as strings
		return heen.Dagtekening
	}
	return today
}

// retour builds the retourbericht of heen. Approved, it is the header
// alone; rejected on the header (RetourCodes), the header with those
// codes; rejected in a class (Reject), the header with 0200 and the whole
// body of the heenbericht with RetourCodes on every class (process rule
// OP065: the client with all its classes, 0200 where nothing is wrong).
func (g *Generator) retour(heen *Message, s bericht.Soort, opt AnswerOptions) *Message {
	h := heen.Header
	h.Soort = s
	h.BerichtCode = s.Code
	h.IdentificatieRetour = opt.Identificatie
	if h.IdentificatieRetour == "" {
		h.IdentificatieRetour = g.NextID()
	}
	h.DagtekeningRetour = g.answerDate(heen.Header, opt.Dagtekening)
	codes := opt.RetourCodes
	body := len(codes) == 0 && opt.Reject != ""
	if body {
		codes = []string{"0200"}
	}
	w := g.newWriter(s)
	writeHeader(w, s, h, func() {
		w.Leaf("IdentificatieRetour", h.IdentificatieRetour)
		w.Leaf("DagtekeningRetour", h.DagtekeningRetour)
		w.Open("XsdVersieRetour")
		w.BasisLeaf("BasisschemaXsdVersie", xsdVersie(s.Standard))
		w.BasisLeaf("BerichtXsdVersie", xsdVersie(s.Standard))
		w.Close("XsdVersieRetour")
		if len(codes) > 0 {
			w.retourCodes(codes...)
		}
	})
	if body {
		builders[heen.Soort.Number].write(w, heen.content, &plan{reject: opt.Reject})
	}
	return &Message{Soort: s, Header: h, XML: g.finish(s, w)}
}

// declaratieAntwoord builds the 325 answering the 323 heen: its own header
// from the gemeente to the aanbieder, DeclaratieIdentificatie and
// XsdVersieDeclaratie copied from the 323 (TR337, TR371). Fully approved
// it carries Header 0200 and a DeclaratieAntwoord with 8001 and toegekend
// equal to ingediend; with Reject the first Prestatie is listed with that
// code and subtracted from the toegekend total (TR342: only rejected
// prestaties are listed); with RetourCodes only the header is sent.
func (g *Generator) declaratieAntwoord(heen *Message, s bericht.Soort, opt AnswerOptions) *Message {
	dc := heen.content.(*declaratie)
	h := bericht.Header{
		Soort:                   s,
		BerichtCode:             s.Code,
		Afzender:                heen.Header.Ontvanger,
		Ontvanger:               heen.Header.Afzender,
		Identificatie:           opt.Identificatie,
		Dagtekening:             g.answerDate(heen.Header, opt.Dagtekening),
		BasisschemaXsdVersie:    xsdVersie(s.Standard),
		BerichtXsdVersie:        xsdVersie(s.Standard),
		DeclaratieIdentificatie: heen.Header.Identificatie,
		DeclaratieDagtekening:   heen.Header.Dagtekening,
	}
	if h.Identificatie == "" {
		h.Identificatie = g.NextID()
	}
	codes := opt.RetourCodes
	if len(codes) == 0 {
		codes = []string{"0200"}
	}
	w := g.newWriter(s)
	writeHeader(w, s, h, func() {
		w.Open("DeclaratieIdentificatie")
		w.BasisLeaf("Identificatie", heen.Header.Identificatie)
		w.BasisLeaf("Dagtekening", heen.Header.Dagtekening)
		w.Close("DeclaratieIdentificatie")
		w.Open("XsdVersieDeclaratie")
		w.BasisLeaf("BasisschemaXsdVersie", heen.Header.BasisschemaXsdVersie)
		w.BasisLeaf("BerichtXsdVersie", heen.Header.BerichtXsdVersie)
		w.Close("XsdVersieDeclaratie")
		w.retourCodes(codes...)
	})
	if len(opt.RetourCodes) == 0 {
		w.Open("DeclaratieAntwoord")
		w.Leaf("DeclaratieNummer", dc.nummer)
		writeTotaal(w, "TotaalIngediendBedrag", dc.totaal)
		if opt.Reject == "" {
			writeTotaal(w, "TotaalToegekendBedrag", dc.totaal)
			w.retourCodes("8001")
		} else {
			c := dc.clienten[0]
			pr := c.prestaties[0]
			writeTotaal(w, "TotaalToegekendBedrag", dc.totaal-pr.signed())
			w.Open("Clienten")
			w.Open("Client")
			w.Leaf("Bsn", c.bsn)
			w.Open("Prestaties")
			w.Open("Prestatie")
			writePrestatie(w, pr)
			w.retourCodes(opt.Reject)
			w.Close("Prestatie")
			w.Close("Prestaties")
			w.retourCodes("0200")
			w.Close("Client")
			w.Close("Clienten")
			w.retourCodes("0200")
		}
		w.Close("DeclaratieAntwoord")
	}
	return &Message{Soort: s, Header: h, XML: g.finish(s, w)}
}
