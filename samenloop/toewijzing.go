package samenloop

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// toewijzing is an active or ended Wmo toewijzing, as the 301s and 307s
// have described it so far.
type toewijzing struct {
	bsn     uint32
	product string // Categorie, or Categorie/Code
	begin   day
	einde   day // 0: open-ended
	removed bool
}

// twKey identifies a toewijzing: ToewijzingNummer is unique per gemeente.
type twKey struct {
	gemeente string
	nummer   uint32
}

// activeOn reports whether the toewijzing is active on d: not removed
// and d not after its einddatum.
func (t *toewijzing) activeOn(d day) bool {
	return !t.removed && (t.einde == 0 || d <= t.einde)
}

// fact is one product line read from a 301 or 307.
type fact struct {
	nummer  uint32
	hasNr   bool
	product string
	begin   day
	einde   day
	reden   string // RedenWijziging of a 301
}

// parsed is what samenloop needs from a 301 or 307.
type parsed struct {
	gemeente string
	bsn      uint32
	facts    []fact
}

var errNoContent = errors.New("message lacks gemeente, bsn or product lines")

// parseMessage reads a WMO301 (gemeente = Afzender, lines ToegewezenProduct)
// or WMO307 (gemeente = Ontvanger, lines StopProduct). Errors never quote
// content.
func parseMessage(soort string, body []byte) (parsed, error) {
	var p parsed
	gemeenteElem, lineElem, beginElem := "Afzender", "ToegewezenProduct", "Ingangsdatum"
	if soort == "WMO307" {
		gemeenteElem, lineElem, beginElem = "Ontvanger", "StopProduct", "Begindatum"
	}
	dec := xml.NewDecoder(bytes.NewReader(body))
	var path []string
	var f *fact
	var text []byte
	for {
		tok, err := dec.RawToken()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return p, fmt.Errorf("parsing %s: malformed XML", soort)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			path = append(path, t.Name.Local)
			text = text[:0]
			if t.Name.Local == lineElem {
				p.facts = append(p.facts, fact{})
				f = &p.facts[len(p.facts)-1]
			}
		case xml.CharData:
			text = append(text, t...)
		case xml.EndElement:
			if len(path) == 0 {
				return p, fmt.Errorf("parsing %s: malformed XML", soort)
			}
			name := path[len(path)-1]
			parent := ""
			if len(path) > 1 {
				parent = path[len(path)-2]
			}
			v := string(bytes.TrimSpace(text))
			if err := p.take(&f, parent, name, v, gemeenteElem, lineElem, beginElem); err != nil {
				return p, fmt.Errorf("parsing %s: %w", soort, err)
			}
			path = path[:len(path)-1]
			text = text[:0]
		}
	}
	if p.gemeente == "" || p.bsn == 0 || len(p.facts) == 0 {
		return p, fmt.Errorf("parsing %s: %w", soort, errNoContent)
	}
	return p, nil
}

// take files one element's text.
func (p *parsed) take(f **fact, parent, name, v, gemeenteElem, lineElem, beginElem string) error {
	switch {
	case parent == "Header" && name == gemeenteElem:
		p.gemeente = v
	case parent == "Client" && name == "Bsn":
		n, ok := parseBSN(v)
		if !ok {
			return errors.New("bsn fails the elfproef")
		}
		p.bsn = n
	case name == lineElem:
		*f = nil
	case *f == nil:
	case parent == lineElem && name == "ToewijzingNummer":
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return errors.New("bad ToewijzingNummer")
		}
		(*f).nummer, (*f).hasNr = uint32(n), true
	case parent == "Product" && name == "Categorie":
		(*f).product = v + (*f).product
	case parent == "Product" && name == "Code":
		(*f).product += "/" + v
	case parent == lineElem && name == beginElem:
		d, err := parseDay(v)
		if err != nil {
			return fmt.Errorf("%s %w", name, err)
		}
		(*f).begin = d
	case parent == lineElem && name == "Einddatum":
		d, err := parseDay(v)
		if err != nil {
			return fmt.Errorf("%s %w", name, err)
		}
		(*f).einde = d
	case parent == lineElem && name == "RedenWijziging":
		(*f).reden = v
	}
	return nil
}
