package retour

import (
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/knooppunt/knooppunt/bericht"
)

// The retourcodes with a meaning of their own (codelijst WJ001); the rule
// codes (8xxx, 9xxx, Sxxx) belong to the rules that give them.
const (
	CodeTechnisch      = "0001" // rejected for technical reasons: a level-2 rule
	CodeGeenOpmerking  = "0200" // no remark on this berichtklasse
	CodeNietBeoordeeld = "0233" // berichtklasse not assessed
	CodeToegewezen     = "8001" // declaratie approved in full (325 only)
)

// Retour is a built answer: its typed header and its bytes.
type Retour struct {
	Header bericht.Header
	XML    []byte
	// Codes are the RetourCodes on the header (of a 325: on its header).
	Codes []string
}

// Options steer Reject.
type Options struct {
	// Identificatie is the answer's own identification:
	// IdentificatieRetour of a retourbericht, BerichtIdentificatie of a
	// 325 (1–12 characters). Empty takes NewIdentificatie.
	Identificatie string
	// Date is DagtekeningRetour, or the 325's Dagtekening. Zero means
	// today (UTC).
	Date time.Time
	// Codes are the RetourCodes on the header; empty means 0001, the code
	// of every rule of control level 2.
	Codes []string
	// XsltVersie, when set, is written in the header: mandatory when the
	// rejection rests on the official XSLTs (IV033).
	XsltVersie string
}

// AnswerSoort returns the berichtsoort that answers heen: its retourbericht
// (WMO301 → WMO302, …) or for a 323 the 325. A retourbericht and a 325 have
// no answer of their own: that is an *Error with CodeNoAnswer.
func AnswerSoort(heen bericht.Soort) (bericht.Soort, error) {
	if heen.Name == "" {
		return bericht.Soort{}, errorf(CodeBadHeader, "the heenbericht has no berichtsoort")
	}
	if heen.Answers() {
		return bericht.Soort{}, errorf(CodeNoAnswer, "%s is itself an answer; nothing answers it", heen.Name)
	}
	s, ok := bericht.Lookup(heen.Pair)
	if !ok {
		return bericht.Soort{}, errorf(CodeNoAnswer, "%s has no answering berichtsoort", heen.Name)
	}
	return s, nil
}

// Reject builds the switch's answer to a heenbericht that breaks a rule of
// control level 2, from its header alone (IV028, IV087): for 301–319 the
// retourbericht whose header is heen's copied unchanged but for
// BerichtCode, plus IdentificatieRetour, DagtekeningRetour,
// XsdVersieRetour and the RetourCodes; for a 323 the 325 with its own
// header from the 323's Ontvanger to its Afzender, DeclaratieIdentificatie
// and XsdVersieDeclaratie of the 323, and the RetourCodes, without a
// DeclaratieAntwoord (the declaratie counts as not sent).
func Reject(heen bericht.Header, opt Options) (*Retour, error) {
	s, err := AnswerSoort(heen.Soort)
	if err != nil {
		return nil, err
	}
	if err := checkHeader(heen); err != nil {
		return nil, err
	}
	codes := opt.Codes
	if len(codes) == 0 {
		codes = []string{CodeTechnisch}
	}
	for _, c := range codes {
		if !IsRetourCode(s, c) {
			return nil, errorf(CodeBadRetourCode, "%q is not a retourcode of %s", c, s.Name)
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
	w := newWriter(s, 2048)
	h := writeAnswerHeader(w, heen, s, id, date.UTC().Format(dateLayout), opt.XsltVersie, codes)
	return &Retour{Header: h, XML: w.Finish(), Codes: slices.Clone(codes)}, nil
}

// declaratieAntwoordHeader is the header of the 325 answering the 323 heen:
// the parties swapped, its own identification and XSD versions, and the
// 323's identification (TR337).
func declaratieAntwoordHeader(heen bericht.Header, s bericht.Soort, id, day string) bericht.Header {
	basis, versie := bericht.XsdVersie(s)
	return bericht.Header{
		Soort: s, BerichtCode: s.Code,
		Afzender: heen.Ontvanger, Ontvanger: heen.Afzender,
		Identificatie: id, Dagtekening: day,
		BasisschemaXsdVersie: basis, BerichtXsdVersie: versie,
		DeclaratieIdentificatie: heen.Identificatie,
		DeclaratieDagtekening:   heen.Dagtekening,
	}
}

// writeHeen opens the header and writes the elements every header starts
// with, the berichtsoort's BerichtCode first. The release fixes
// BerichtVersie and BerichtSubversie (CS015, CS025).
func writeHeen(w *writer, s bericht.Soort, h bericht.Header) {
	w.Open("Header")
	w.Leaf("BerichtCode", s.Code)
	w.Leaf("BerichtVersie", "3")
	w.Leaf("BerichtSubversie", "2")
	w.Leaf("Afzender", h.Afzender)
	w.Leaf("Ontvanger", h.Ontvanger)
	w.pair("BerichtIdentificatie", "Identificatie", h.Identificatie, "Dagtekening", h.Dagtekening)
	w.pair("XsdVersie", "BasisschemaXsdVersie", h.BasisschemaXsdVersie, "BerichtXsdVersie", h.BerichtXsdVersie)
}

// checkHeader refuses a header that lacks what every answer copies: a
// header that passed the XSD has all of it.
func checkHeader(h bericht.Header) error {
	for _, f := range []struct{ name, v string }{
		{"Afzender", h.Afzender}, {"Ontvanger", h.Ontvanger},
		{"Identificatie", h.Identificatie}, {"Dagtekening", h.Dagtekening},
		{"BasisschemaXsdVersie", h.BasisschemaXsdVersie}, {"BerichtXsdVersie", h.BerichtXsdVersie},
	} {
		if f.v == "" {
			return errorf(CodeBadHeader, "the heenbericht's header has no %s", f.name)
		}
	}
	return nil
}

const dateLayout = "2006-01-02"

// IsRetourCode reports whether code is in the retourcode list
// (LDT_RetourCode) of berichtsoort s.
func IsRetourCode(s bericht.Soort, code string) bool {
	return slices.Contains(retourCodes(s), code)
}

// retourCodes is the enumeration of LDT_RetourCode as the model of s has it.
func retourCodes(s bericht.Soort) []string {
	codeLists.once.Do(func() {
		codeLists.m = map[string][]string{}
		for _, so := range bericht.All() {
			var list []string
			if root := bericht.Structure(so); root != nil {
				root.Walk(func(e *bericht.Element) bool {
					if e.Name == "RetourCode" && list == nil {
						for t := e.Type; t != nil && list == nil; t = t.BaseType {
							list = t.Enumeration
						}
					}
					return list == nil
				})
			}
			codeLists.m[so.Name] = list
		}
	})
	return codeLists.m[s.Name]
}

var codeLists struct {
	once sync.Once
	m    map[string][]string
}

// isVersie reports whether v is three numbers without leading zeros
// separated by dots (RS048, LDT_Versie).
func isVersie(v string) bool {
	parts := 0
	for i := 0; i < len(v); {
		j := i
		for j < len(v) && v[j] >= '0' && v[j] <= '9' {
			j++
		}
		if j == i || (v[i] == '0' && j-i > 1) {
			return false
		}
		parts++
		if j == len(v) {
			break
		}
		if v[j] != '.' || j+1 == len(v) {
			return false
		}
		i = j + 1
	}
	return parts == 3
}

// Error is a refusal to build an answer, with a stable Code. Neither Code
// nor Detail quotes personal data from the heenbericht.
type Error struct {
	Code   string
	Detail string
}

// Error implements error.
func (e *Error) Error() string { return "retour: " + e.Code + ": " + e.Detail }

func errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Detail: fmt.Sprintf(format, args...)}
}

// The codes of Error. They are stable.
const (
	CodeNoAnswer      = "no-answer"      // the berichtsoort is an answer itself
	CodeBadHeader     = "bad-header"     // the heenbericht's header lacks a value every answer copies
	CodeBadRetourCode = "bad-retourcode" // a code outside the retourcode list of the answer
	CodeBadOption     = "bad-option"     // an Identificatie or XsltVersie the schema would refuse
	CodeBadHeen       = "bad-heen"       // the heenbericht cannot be read (Build)
	CodeBadCodes      = "bad-codes"      // the codes cannot be read or name nothing in the heenbericht (Build)
)
