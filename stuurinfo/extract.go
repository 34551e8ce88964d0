package stuurinfo

import (
	"bytes"
	"errors"
	"html"
	"strconv"
	"strings"

	"github.com/knooppunt/knooppunt/bericht"
)

// facts are what stuurinfo reads from a message's content: parties, dates,
// codes, counts, references and amounts, never personal data.
type facts struct {
	// afzender and ontvanger are the header's parties: a gemeente's CBS
	// code or an aanbieder's AGB code, whichever mailbox the message went
	// through.
	afzender, ontvanger string
	// dagtekening is Header/BerichtIdentificatie/Dagtekening: the
	// message's own date, or in a retourbericht (whose header is its
	// heenbericht's) the heenbericht's. dagtekeningRetour is a retour's
	// own date; declaratieDagtekening the date of the 323 a 325 answers
	// (Header/DeclaratieIdentificatie/Dagtekening). YYYY-MM-DD.
	dagtekening, dagtekeningRetour, declaratieDagtekening string
	// afkeur is set by a RetourCode anywhere that rejects (not 0200,
	// 0233 or 8001).
	afkeur bool
	// starts and stops count StartProduct and StopProduct lines with
	// StatusAanlevering 1 (eerste aanlevering).
	starts, stops int
	// ingediend is TotaalIngediendBedrag (323, and a 325's
	// DeclaratieAntwoord) and toegekend TotaalToegekendBedrag (325), in
	// eurocents, credit negative.
	ingediend, toegekend       int64
	hasIngediend, hasToegekend bool
	// prestatiesAfgekeurd counts the Prestatie lines a 325's
	// DeclaratieAntwoord rejects: with a rejecting code of their own, of
	// their Client or of the DeclaratieAntwoord.
	prestatiesAfgekeurd int
	refs                []string // ReferentieAanbieder values (315, 317, 301, 319)
	// categories are the figures of the message's product lines per
	// ProductCategorie ("" for a line without Product); nil when it has
	// none.
	categories map[string]*CategoryCounts
}

// category returns the figures of categorie c, made on first use.
func (f *facts) category(c string) *CategoryCounts {
	if f.categories == nil {
		f.categories = map[string]*CategoryCounts{}
	}
	cc := f.categories[c]
	if cc == nil {
		cc = &CategoryCounts{}
		f.categories[c] = cc
	}
	return cc
}

// parties are the gemeente and aanbieder the header names, by the roles
// of berichtsoort s; empty when the header was not read.
func (f *facts) parties(s bericht.Soort) (gemeente, aanbieder string) {
	if f.afzender == "" || f.ontvanger == "" {
		return "", ""
	}
	if s.HeaderAfzender() == bericht.Gemeente {
		return f.afzender, f.ontvanger
	}
	return f.ontvanger, f.afzender
}

// date is the message's own date: DagtekeningRetour of a retourbericht,
// the Dagtekening of any other.
func (f *facts) date(s bericht.Soort) string {
	if s.Retour {
		return f.dagtekeningRetour
	}
	return f.dagtekening
}

// approving are the retourcodes that reject nothing: 0200 no remark, 0233
// not assessed (stands beside a rejection elsewhere, which is counted
// there), 8001 declaratie fully approved.
func approving(code string) bool {
	switch code {
	case "0200", "0233", "8001":
		return true
	}
	return false
}

// kind is an element the facts are read from; every other element is
// kOther.
type kind uint8

const (
	kOther kind = iota
	kHeader
	kAfzender
	kOntvanger
	kBerichtIdentificatie
	kDeclaratieIdentificatie
	kDagtekening
	kDagtekeningRetour
	kRetourCodes
	kRetourCode
	kStartProduct
	kStopProduct
	kStatusAanlevering
	kTotaalIngediend
	kTotaalToegekend
	kTotaalBedrag
	kDebetCredit
	kDeclaratieAntwoord
	kClient
	kPrestatie
	kReferentieAanbieder
	kToegewezenProduct
	kProduct
	kCategorie
	kProductCategorie
	kIngediendBedrag
	kBedrag
)

var kinds = map[string]kind{
	"Header": kHeader, "Afzender": kAfzender, "Ontvanger": kOntvanger,
	"BerichtIdentificatie": kBerichtIdentificatie, "DeclaratieIdentificatie": kDeclaratieIdentificatie,
	"Dagtekening": kDagtekening, "DagtekeningRetour": kDagtekeningRetour,
	"RetourCodes": kRetourCodes, "RetourCode": kRetourCode,
	"StartProduct": kStartProduct, "StopProduct": kStopProduct, "StatusAanlevering": kStatusAanlevering,
	"TotaalIngediendBedrag": kTotaalIngediend, "TotaalToegekendBedrag": kTotaalToegekend,
	"TotaalBedrag": kTotaalBedrag, "DebetCredit": kDebetCredit,
	"DeclaratieAntwoord": kDeclaratieAntwoord, "Client": kClient, "Prestatie": kPrestatie,
	"ReferentieAanbieder": kReferentieAanbieder,
	"ToegewezenProduct":   kToegewezenProduct, "Product": kProduct, "Categorie": kCategorie,
	"ProductCategorie": kProductCategorie, "IngediendBedrag": kIngediendBedrag, "Bedrag": kBedrag,
}

// valued are the kinds whose text is a fact.
func (k kind) valued() bool {
	switch k {
	case kAfzender, kOntvanger, kDagtekening, kDagtekeningRetour, kRetourCode, kStatusAanlevering,
		kTotaalBedrag, kDebetCredit, kReferentieAanbieder, kCategorie, kProductCategorie, kBedrag:
		return true
	}
	return false
}

// maxDepth bounds the elements open at once; a validated message is far
// shallower.
const maxDepth = 64

var (
	errMalformed = errors.New("malformed XML")
	errBedrag    = errors.New("bad TotaalBedrag")
)

// reader gathers the facts from a message's elements in document order,
// whether they come from the tag scanner (extract) or the validation tree
// (treeFacts): one reading, so the two cannot disagree.
type reader struct {
	f     facts
	stack []kind // the open elements, outermost first
	err   error

	bedrag int64 // of the TotaalIngediendBedrag or TotaalToegekendBedrag open
	credit bool

	// A 325's DeclaratieAntwoord lists the rejected prestaties only;
	// whether one is rejected can depend on codes that follow it (its
	// Client's, the DeclaratieAntwoord's), so it is settled when they
	// close.
	inAntwoord                      bool
	antwoordRejects, clientRejects  bool
	prestatieRejects                bool
	clientLines, clientRejected     int
	antwoordLines, antwoordRejected int

	// line is the product line open (a ToegewezenProduct, StartProduct,
	// StopProduct, or a 323's Prestatie), counted per ProductCategorie
	// when it closes.
	line productLine
}

// productLine is what the figures per ProductCategorie read of one line.
type productLine struct {
	categorie, status string
	bedrag            int64 // IngediendBedrag of a Prestatie, credit negative
	credit            bool
}

// isLine tells whether k is a product line counted per ProductCategorie;
// a Prestatie inside a 325's DeclaratieAntwoord is not.
func (r *reader) isLine(k kind) bool {
	switch k {
	case kToegewezenProduct, kStartProduct, kStopProduct:
		return true
	case kPrestatie:
		return !r.inAntwoord
	}
	return false
}

// parent is the kind of the element n levels above the current one (1:
// its parent).
func (r *reader) parent(n int) kind {
	if i := len(r.stack) - 1 - n; i >= 0 {
		return r.stack[i]
	}
	return kOther
}

func (r *reader) open(k kind) {
	if len(r.stack) >= maxDepth {
		r.err = errMalformed
		return
	}
	r.stack = append(r.stack, k)
	switch k {
	case kTotaalIngediend, kTotaalToegekend:
		r.bedrag, r.credit = 0, false
	case kDeclaratieAntwoord:
		r.inAntwoord, r.antwoordRejects, r.antwoordLines, r.antwoordRejected = true, false, 0, 0
	case kClient:
		r.clientRejects, r.clientLines, r.clientRejected = false, 0, 0
	case kPrestatie:
		r.prestatieRejects = false
	}
	if r.isLine(k) {
		r.line = productLine{}
	}
}

// value takes the trimmed text of the element just opened.
func (r *reader) value(k kind, v string) {
	f := &r.f
	switch k {
	case kAfzender:
		if r.parent(1) == kHeader {
			f.afzender = v
		}
	case kOntvanger:
		if r.parent(1) == kHeader {
			f.ontvanger = v
		}
	case kDagtekening:
		if r.parent(2) != kHeader {
			break
		}
		switch r.parent(1) {
		case kBerichtIdentificatie:
			f.dagtekening = v
		case kDeclaratieIdentificatie:
			f.declaratieDagtekening = v
		}
	case kDagtekeningRetour:
		if r.parent(1) == kHeader {
			f.dagtekeningRetour = v
		}
	case kRetourCode:
		if r.parent(1) != kRetourCodes || approving(v) {
			break
		}
		f.afkeur = true
		switch r.parent(2) {
		case kPrestatie:
			r.prestatieRejects = true
		case kClient:
			r.clientRejects = true
		case kDeclaratieAntwoord:
			r.antwoordRejects = true
		}
	case kCategorie:
		if r.parent(1) == kProduct && r.isLine(r.parent(2)) {
			r.line.categorie = v
		}
	case kProductCategorie:
		if r.isLine(r.parent(1)) {
			r.line.categorie = v
		}
	case kBedrag:
		if r.parent(1) == kIngediendBedrag && r.isLine(r.parent(2)) {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				r.err = errBedrag
				return
			}
			r.line.bedrag = n
		}
	case kStatusAanlevering:
		if r.isLine(r.parent(1)) {
			r.line.status = v
		}
		if v != "1" {
			break
		}
		switch r.parent(1) {
		case kStartProduct:
			f.starts++
		case kStopProduct:
			f.stops++
		}
	case kTotaalBedrag:
		if p := r.parent(1); p == kTotaalIngediend || p == kTotaalToegekend {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				r.err = errBedrag
				return
			}
			r.bedrag = n
		}
	case kDebetCredit:
		if p := r.parent(1); p == kTotaalIngediend || p == kTotaalToegekend {
			r.credit = v == "C"
		} else if p == kIngediendBedrag && r.isLine(r.parent(2)) {
			r.line.credit = v == "C"
		}
	case kReferentieAanbieder:
		if strings.IndexByte(v, '&') >= 0 {
			// The scanner sees XML's own character references, which
			// the tree has decoded; the message has no DTD, so
			// html.UnescapeString decodes them alike.
			v = html.UnescapeString(v)
		}
		f.refs = append(f.refs, v)
	}
}

func (r *reader) close() {
	if len(r.stack) == 0 {
		r.err = errMalformed
		return
	}
	k := r.stack[len(r.stack)-1]
	r.stack = r.stack[:len(r.stack)-1]
	signed := r.bedrag
	if r.credit {
		signed = -signed
	}
	if r.isLine(k) {
		r.closeLine(k)
	}
	switch k {
	case kTotaalIngediend:
		r.f.ingediend, r.f.hasIngediend = signed, true
	case kTotaalToegekend:
		r.f.toegekend, r.f.hasToegekend = signed, true
	case kPrestatie:
		if r.inAntwoord {
			r.clientLines++
			if r.prestatieRejects {
				r.clientRejected++
			}
		}
	case kClient:
		if r.inAntwoord {
			r.antwoordLines += r.clientLines
			if r.clientRejects {
				r.antwoordRejected += r.clientLines
			} else {
				r.antwoordRejected += r.clientRejected
			}
		}
	case kDeclaratieAntwoord:
		r.f.prestatiesAfgekeurd = r.antwoordRejected
		if r.antwoordRejects {
			r.f.prestatiesAfgekeurd = r.antwoordLines
		}
		r.inAntwoord = false
	}
}

// closeLine counts the product line of kind k that closes under its
// ProductCategorie.
func (r *reader) closeLine(k kind) {
	l := &r.line
	switch {
	case k == kToegewezenProduct:
		r.f.category(l.categorie).Toegewezen++
	case k == kStartProduct && l.status == "1":
		r.f.category(l.categorie).Starts++
	case k == kStopProduct && l.status == "1":
		r.f.category(l.categorie).Stops++
	case k == kPrestatie && l.credit:
		r.f.category(l.categorie).Gedeclareerd -= l.bedrag
	case k == kPrestatie:
		r.f.category(l.categorie).Gedeclareerd += l.bedrag
	}
}

// extract reads the facts of one message in a single pass over its tags.
//
// The messages it sees have passed XSD validation, and the facts are all
// simple-typed elements (codes, digits, dates, a reference), so a scanner
// over the tags is enough: it is many times faster than encoding/xml, which
// matters because the follower shares the CPUs with ingest. Comments,
// CDATA sections and processing instructions are skipped; anything it does
// not understand ends the scan with errMalformed, never a panic (fuzzed).
func extract(body []byte) (facts, error) {
	r := reader{stack: make([]kind, 0, 16)}
	for i := 0; r.err == nil; {
		lt := bytes.IndexByte(body[i:], '<')
		if lt < 0 {
			break
		}
		i += lt + 1
		if i >= len(body) {
			return r.f, errMalformed
		}
		switch body[i] {
		case '?':
			end := bytes.Index(body[i:], []byte("?>"))
			if end < 0 {
				return r.f, errMalformed
			}
			i += end + 2
			continue
		case '!':
			close := []byte(">")
			if bytes.HasPrefix(body[i:], []byte("!--")) {
				close = []byte("-->")
			} else if bytes.HasPrefix(body[i:], []byte("![CDATA[")) {
				close = []byte("]]>")
			}
			end := bytes.Index(body[i:], close)
			if end < 0 {
				return r.f, errMalformed
			}
			i += end + len(close)
			continue
		}
		endTag := body[i] == '/'
		if endTag {
			i++
		}
		gt := bytes.IndexByte(body[i:], '>')
		if gt < 0 {
			return r.f, errMalformed
		}
		tag := body[i : i+gt]
		i += gt + 1
		if endTag {
			r.close()
			continue
		}
		name := tag
		for j, c := range name { // a loop: bytes.IndexAny built its set on every tag
			if c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '/' {
				name = name[:j]
				break
			}
		}
		if c := bytes.IndexByte(name, ':'); c >= 0 {
			name = name[c+1:]
		}
		selfClosing := len(tag) > 0 && tag[len(tag)-1] == '/'
		k := kinds[string(name)]
		r.open(k)
		if k.valued() && !selfClosing {
			// The text of a simple element runs to the next '<'.
			end := bytes.IndexByte(body[i:], '<')
			if end < 0 {
				end = len(body) - i
			}
			r.value(k, string(bytes.TrimSpace(body[i:i+end])))
		}
		if selfClosing {
			r.close()
		}
	}
	return r.f, r.err
}

// treeFacts reads the same facts as extract from the tree that validation
// built, without a second pass over the message.
func treeFacts(t *bericht.Tree) (facts, error) {
	r := reader{stack: make([]kind, 0, 16)}
	var ends []int // End of each open element
	for i := 0; i < t.Len() && r.err == nil; i++ {
		for len(ends) > 0 && i >= ends[len(ends)-1] {
			r.close()
			ends = ends[:len(ends)-1]
		}
		k := kinds[t.Name(i)]
		r.open(k)
		if k.valued() {
			r.value(k, strings.TrimSpace(t.Text(i)))
		}
		ends = append(ends, t.End(i))
	}
	for range ends {
		r.close()
	}
	return r.f, r.err
}
