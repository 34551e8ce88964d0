package retour

import (
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/beevik/etree"

	"github.com/knooppunt/knooppunt/bericht"
)

// Build builds the answer a recipient sends to heenbericht heen, which
// must be valid against its XSD, after checking it with the outcome codes:
//
//   - nothing wrong: the retourbericht is the header alone without
//     RetourCodes (IV028); a 323 gets the 325 with Header 0200 and a
//     DeclaratieAntwoord 8001 with TotaalToegekendBedrag equal to
//     TotaalIngediendBedrag (IV087);
//   - codes.Header: the header alone with those codes;
//   - codes on classes: Header 0200 and each client with a coded class
//     returned whole, RetourCodes on every berichtklasse — its codes, or
//     codes.Default (0200) — and clients without codes left out (OP065).
//     In a 325 a coded Declaratie rejects the whole declaratie (toegekend
//     0); a coded client is listed with all its prestaties as 0233; a coded
//     prestatie is listed with its client 0200; approved prestaties are not
//     listed, and the toegekend total is ingediend minus the rejected ones.
//
// opt supplies the answer's identification, date and XsltVersie; its
// Codes are not used (codes.Header is). Every code must be in the
// retourcode list.
func Build(heen []byte, codes *Codes, opt Options) (*Retour, error) {
	if codes == nil {
		codes = &Codes{}
	}
	if err := codes.check(); err != nil {
		return nil, err
	}
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(heen); err != nil {
		return nil, errorf(CodeBadHeen, "the heenbericht is not XML")
	}
	root := doc.Root()
	if root == nil || root.Tag != "Bericht" {
		return nil, errorf(CodeBadHeen, "the heenbericht's root is not Bericht")
	}
	hs, ok := bericht.ByNamespace(root.NamespaceURI())
	if !ok {
		return nil, errorf(CodeBadHeen, "the root's namespace is no iWmo or iJw 3.2 berichtsoort")
	}
	s, err := AnswerSoort(hs)
	if err != nil {
		return nil, err
	}
	h := readHeader(hs, root)
	if err := checkHeader(h); err != nil {
		return nil, err
	}
	all := slices.Concat(codes.Header)
	for _, c := range codes.Classes {
		all = append(all, c.Codes...)
	}
	for _, c := range all {
		if !IsRetourCode(s, c) {
			return nil, errorf(CodeBadRetourCode, "%q is not a retourcode of %s", c, s.Name)
		}
	}
	b := &builder{heen: hs, s: s, root: root, model: bericht.Structure(s), byElem: map[*etree.Element][]string{}, dflt: codes.Default}
	if b.dflt == "" {
		b.dflt = CodeGeenOpmerking
	}
	if len(codes.Header) == 0 {
		for i, c := range codes.Classes {
			el, err := b.resolve(c)
			if err != nil {
				return nil, errorf(CodeBadCodes, "class %d: %s", i+1, err.Detail)
			}
			b.byElem[el] = append(b.byElem[el], c.Codes...)
		}
	}

	id, err := identificatie(opt.Identificatie)
	if err != nil {
		return nil, err
	}
	if opt.XsltVersie != "" && !isVersie(opt.XsltVersie) {
		return nil, errorf(CodeBadOption, "XsltVersie %q is not three numbers separated by dots", opt.XsltVersie)
	}
	date := opt.Date
	if date.IsZero() {
		date = time.Now()
	}
	day := date.UTC().Format(dateLayout)

	hdrCodes := codes.Header
	if len(hdrCodes) == 0 && (len(b.byElem) > 0 || !s.Retour) {
		hdrCodes = []string{CodeGeenOpmerking}
	}
	b.w = newWriter(s, 4096+len(heen))
	out := writeAnswerHeader(b.w, h, s, id, day, opt.XsltVersie, hdrCodes)
	if len(codes.Header) == 0 {
		if s.Retour {
			b.retourBody()
		} else {
			b.declaratieAntwoord()
		}
	}
	return &Retour{Header: out, XML: b.w.Finish(), Codes: slices.Clone(hdrCodes)}, nil
}

// writeAnswerHeader writes the whole header of the answer s to heen and
// returns it as a typed header. No RetourCodes element when codes is empty.
func writeAnswerHeader(w *writer, heen bericht.Header, s bericht.Soort, id, day, xslt string, codes []string) bericht.Header {
	h := heen
	h.Soort, h.BerichtCode = s, s.Code
	basis, versie := bericht.XsdVersie(s)
	if s.Retour {
		h.IdentificatieRetour, h.DagtekeningRetour = id, day
		writeHeen(w, s, h)
		w.Leaf("IdentificatieRetour", id)
		w.Leaf("DagtekeningRetour", day)
		if xslt != "" {
			w.Leaf("XsltVersie", xslt)
		}
		w.pair("XsdVersieRetour", "BasisschemaXsdVersie", basis, "BerichtXsdVersie", versie)
	} else {
		h = declaratieAntwoordHeader(heen, s, id, day)
		writeHeen(w, s, h)
		w.pair("DeclaratieIdentificatie", "Identificatie", heen.Identificatie, "Dagtekening", heen.Dagtekening)
		if xslt != "" {
			w.Leaf("XsltVersie", xslt)
		}
		w.pair("XsdVersieDeclaratie", "BasisschemaXsdVersie", heen.BasisschemaXsdVersie, "BerichtXsdVersie", heen.BerichtXsdVersie)
	}
	if len(codes) > 0 {
		w.retourCodes(codes)
	}
	w.Close("Header")
	return h
}

// readHeader reads the typed header of heenbericht root.
func readHeader(s bericht.Soort, root *etree.Element) bericht.Header {
	hd := root.SelectElement("Header")
	text := func(path ...string) string {
		e := hd
		for _, p := range path {
			if e == nil {
				return ""
			}
			e = e.SelectElement(p)
		}
		if e == nil {
			return ""
		}
		return e.Text()
	}
	return bericht.Header{
		Soort: s, BerichtCode: text("BerichtCode"),
		Afzender: text("Afzender"), Ontvanger: text("Ontvanger"),
		Identificatie:        text("BerichtIdentificatie", "Identificatie"),
		Dagtekening:          text("BerichtIdentificatie", "Dagtekening"),
		BasisschemaXsdVersie: text("XsdVersie", "BasisschemaXsdVersie"),
		BerichtXsdVersie:     text("XsdVersie", "BerichtXsdVersie"),
	}
}

// builder writes the body of one answer.
type builder struct {
	heen, s bericht.Soort
	root    *etree.Element
	model   *bericht.Element // the answer's structure
	byElem  map[*etree.Element][]string
	dflt    string
	w       *writer
}

// answerPath maps a heenbericht's model path to the answer's: the same,
// but for the 323's Declaratie, which the 325 calls DeclaratieAntwoord.
func (b *builder) answerPath(names []string) []string {
	if !b.s.Retour && len(names) > 0 && names[0] == "Declaratie" {
		return append([]string{"DeclaratieAntwoord"}, names[1:]...)
	}
	return names
}

// modelAt returns the answer's model element at the given path below
// Bericht, or nil.
func (b *builder) modelAt(names []string) *bericht.Element {
	e := b.model
	for _, n := range b.answerPath(names) {
		if e = e.Child(n); e == nil {
			return nil
		}
	}
	return e
}

// isClass reports whether the heenbericht's element el is a berichtklasse
// of the answer: one that carries RetourCodes there.
func (b *builder) isClass(el *etree.Element) bool {
	var names []string
	for e := el; e != nil && e != b.root; e = e.Parent() {
		names = append(names, e.Tag)
	}
	slices.Reverse(names)
	m := b.modelAt(names)
	return m != nil && m.Child("RetourCodes") != nil && len(names) > 0 && names[0] != "Header"
}

// resolve finds the element a Class names. Its errors never quote the
// Bsn or other values of the class.
func (b *builder) resolve(c Class) (*etree.Element, *Error) {
	if c.Path != "" {
		steps, _ := parsePath(c.Path) // checked by Codes.check
		el := b.root
		for _, st := range steps {
			n := 0
			var next *etree.Element
			for ch := range el.ChildElementsSeq() {
				if ch.Tag == st.name {
					if n++; n == st.pos {
						next = ch
						break
					}
				}
			}
			if next == nil {
				return nil, errorf(CodeBadCodes, "path %q names no element of the heenbericht", c.Path)
			}
			el = next
		}
		if !b.isClass(el) {
			return nil, errorf(CodeBadCodes, "path %q is no berichtklasse of %s with RetourCodes", c.Path, b.s.Name)
		}
		return el, nil
	}
	client := b.clientByBsn(c.Bsn)
	if client == nil {
		return nil, errorf(CodeBadCodes, "the heenbericht has no client with that bsn")
	}
	if c.Toewijzing == "" && c.Referentie == "" {
		return client, nil
	}
	var found *etree.Element
	walkElements(client, func(e *etree.Element) bool {
		if found != nil {
			return false
		}
		if e != client && b.isClass(e) {
			if c.Toewijzing != "" && childText(e, "ToewijzingNummer") == c.Toewijzing ||
				c.Referentie != "" && childText(e, "ProductReferentie", "ReferentieNummer") == c.Referentie {
				found = e
				return false
			}
		}
		return true
	})
	if found == nil {
		return nil, errorf(CodeBadCodes, "the client has no product line with that toewijzing or referentie")
	}
	return found, nil
}

// clientByBsn finds the Client with Bsn bsn.
func (b *builder) clientByBsn(bsn string) *etree.Element {
	for _, c := range b.clients() {
		if childText(c, "Bsn") == bsn {
			return c
		}
	}
	return nil
}

// clients are the heenbericht's Client elements: one below Bericht, or
// those of a declaratie.
func (b *builder) clients() []*etree.Element {
	if d := b.root.SelectElement("Declaratie"); d != nil {
		if cs := d.SelectElement("Clienten"); cs != nil {
			return cs.SelectElements("Client")
		}
		return nil
	}
	return b.root.SelectElements("Client")
}

func walkElements(e *etree.Element, fn func(*etree.Element) bool) {
	if !fn(e) {
		return
	}
	for ch := range e.ChildElementsSeq() {
		walkElements(ch, fn)
	}
}

func childText(e *etree.Element, path ...string) string {
	for _, p := range path {
		if e = e.SelectElement(p); e == nil {
			return ""
		}
	}
	return strings.TrimSpace(e.Text())
}

// hasCodes reports whether el or an element below it has codes.
func (b *builder) hasCodes(el *etree.Element) bool {
	found := false
	walkElements(el, func(e *etree.Element) bool {
		if len(b.byElem[e]) > 0 {
			found = true
		}
		return !found
	})
	return found
}

// retourBody writes the body of a retourbericht: each body element (the
// Client, or a 319's Antwoord) that holds a coded class, whole.
func (b *builder) retourBody() {
	for _, m := range b.model.Children {
		if m.Name == "Header" {
			continue
		}
		for _, el := range b.root.SelectElements(m.Name) {
			if b.hasCodes(el) {
				b.copy(m, el, b.dflt)
			}
		}
	}
}

// copy writes heen element el as model element m of the answer: children
// in the answer's order, RetourCodes on every berichtklasse (its codes,
// else dflt).
func (b *builder) copy(m *bericht.Element, el *etree.Element, dflt string) {
	start, end, leaf := b.w.BasisOpen, b.w.BasisClose, b.w.BasisLeaf
	if m.Namespace == b.s.Namespace {
		start, end, leaf = b.w.Open, b.w.Close, b.w.Leaf
	}
	if len(m.Children) == 0 {
		leaf(m.Name, el.Text())
		return
	}
	start(m.Name)
	kids := el.ChildElements()
	k := 0
	for _, mc := range m.Children {
		if mc.Name == "RetourCodes" {
			b.w.retourCodes(b.codesOf(el, dflt))
			continue
		}
		for k < len(kids) && kids[k].Tag == mc.Name {
			b.copy(mc, kids[k], dflt)
			k++
		}
	}
	end(m.Name)
}

func (b *builder) codesOf(el *etree.Element, dflt string) []string {
	if c := b.byElem[el]; len(c) > 0 {
		return c
	}
	return []string{dflt}
}

// declaratieAntwoord writes the 325's DeclaratieAntwoord (IV087).
func (b *builder) declaratieAntwoord() {
	d := b.root.SelectElement("Declaratie")
	if d == nil {
		return
	}
	w := b.w
	ingediend := signedTotaal(d.SelectElement("TotaalIngediendBedrag"), "TotaalBedrag")
	w.Open("DeclaratieAntwoord")
	w.Leaf("DeclaratieNummer", childText(d, "DeclaratieNummer"))
	writeTotaal(w, "TotaalIngediendBedrag", ingediend)
	switch {
	case len(b.byElem[d]) > 0:
		writeTotaal(w, "TotaalToegekendBedrag", 0)
		w.retourCodes(b.byElem[d])
	case !b.hasCodes(d):
		writeTotaal(w, "TotaalToegekendBedrag", ingediend)
		w.retourCodes([]string{CodeToegewezen})
	default:
		toegekend := ingediend
		clientModel := b.modelAt([]string{"Declaratie", "Clienten", "Client"})
		prestatieModel := clientModel.Child("Prestaties").Child("Prestatie")
		var listed []func()
		for _, c := range b.clients() {
			if !b.hasCodes(c) {
				continue
			}
			whole := len(b.byElem[c]) > 0
			var prestaties []*etree.Element
			if ps := c.SelectElement("Prestaties"); ps != nil {
				for _, p := range ps.SelectElements("Prestatie") {
					if whole || len(b.byElem[p]) > 0 {
						prestaties = append(prestaties, p)
						toegekend -= signedTotaal(p.SelectElement("IngediendBedrag"), "Bedrag")
					}
				}
			}
			listed = append(listed, func() {
				w.Open("Client")
				w.Leaf("Bsn", childText(c, "Bsn"))
				w.Open("Prestaties")
				for _, p := range prestaties {
					b.copy(prestatieModel, p, prestatieDefault)
				}
				w.Close("Prestaties")
				w.retourCodes(b.codesOf(c, CodeGeenOpmerking))
				w.Close("Client")
			})
		}
		writeTotaal(w, "TotaalToegekendBedrag", toegekend)
		w.Open("Clienten")
		for _, f := range listed {
			f()
		}
		w.Close("Clienten")
		w.retourCodes([]string{CodeGeenOpmerking})
	}
	w.Close("DeclaratieAntwoord")
}

// prestatieDefault is the code of a prestatie of a rejected client that
// was not coded itself.
const prestatieDefault = CodeNietBeoordeeld

// signedTotaal reads a CDT_(Totaal)BedragMetDC as a signed amount in cents:
// debet positive, credit negative.
func signedTotaal(e *etree.Element, amount string) int64 {
	if e == nil {
		return 0
	}
	v, _ := strconv.ParseInt(childText(e, amount), 10, 64)
	if childText(e, "DebetCredit") == "C" {
		return -v
	}
	return v
}

// writeTotaal writes a CDT_TotaalBedragMetDC; zero is debet (CS325).
func writeTotaal(w *writer, name string, v int64) {
	dc := "D"
	if v < 0 {
		dc, v = "C", -v
	}
	w.Open(name)
	w.BasisLeaf("TotaalBedrag", strconv.FormatInt(v, 10))
	w.BasisLeaf("DebetCredit", dc)
	w.Close(name)
}
