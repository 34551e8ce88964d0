package samenloop

import "errors"

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
