package samenloop

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
)

// Berichtsoort is the berichtsoort of a signal message in the store and
// the mailbox.
const Berichtsoort = "WLZ-SIGNAAL"

// Namespace is the XML namespace of a signal (docs/wlz-signaal.xsd).
const Namespace = "urn:knooppunt:wlz-signaal:1"

// Kind says what changed.
type Kind uint8

// The kinds of change a signal reports.
const (
	// KindGewonnen: a Wlz indicatie (ja or onbekend) while a Wmo
	// toewijzing is active.
	KindGewonnen Kind = iota + 1
	// KindVerloren: the indicatie signalled before is gone (nee, or no
	// longer in the register).
	KindVerloren
	// KindGewijzigd: the status changed between ja and onbekend, or the
	// dates of the besluit changed.
	KindGewijzigd
)

var kindNames = [...]string{KindGewonnen: "gewonnen", KindVerloren: "verloren", KindGewijzigd: "gewijzigd"}

// String returns the kind as the signal writes it.
func (k Kind) String() string {
	if int(k) < len(kindNames) && kindNames[k] != "" {
		return kindNames[k]
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// signal is one decided change, ready to be written.
type signal struct {
	kind     Kind
	bsn      uint32
	gemeente string
	mailbox  string
	wlz      Entry
	overlap  []overlap
}

// overlap is a toewijzing a signal names.
type overlap struct {
	nummer uint32
	tw     toewijzing
}

// identificatie is derived from everything the signal says except the
// date it is sent, so the store's dedup (sender, berichtsoort,
// identificatie) makes a resend of the same change a no-op.
func (s *signal) identificatie() string {
	h := sha256.New()
	var b []byte
	b = append(b, s.kind.String()...)
	b = append(b, 0)
	b = strconv.AppendUint(b, uint64(s.bsn), 10)
	b = append(b, 0)
	b = append(b, s.gemeente...)
	b = append(b, 0)
	b = append(b, s.wlz.Status.String()...)
	for _, d := range []day{s.wlz.Afgifte, s.wlz.Ingang, s.wlz.Einde} {
		b = append(b, 0)
		b = strconv.AppendInt(b, int64(d), 10)
	}
	for _, o := range s.overlap {
		b = append(b, 0)
		b = strconv.AppendUint(b, uint64(o.nummer), 10)
	}
	h.Write(b)
	return hex.EncodeToString(h.Sum(nil)[:12])
}

// xml writes the signal message. Every value is digits, a date or a fixed
// word except the product code (escaped), so no DOM is needed.
func (s *signal) xml(sender string, today day) []byte {
	b := make([]byte, 0, 1024)
	b = append(b, `<?xml version="1.0" encoding="UTF-8"?>`+"\n"+`<WlzSignaal xmlns="`+Namespace+`">`...)
	b = append(b, "<Header><Berichtsoort>"+Berichtsoort+"</Berichtsoort><Afzender>"...)
	b = appendEscaped(b, sender)
	b = append(b, "</Afzender><Ontvanger>"...)
	b = appendEscaped(b, s.mailbox)
	b = append(b, "</Ontvanger><Gemeente>"...)
	b = appendEscaped(b, s.gemeente)
	b = append(b, "</Gemeente><Identificatie>"...)
	b = append(b, s.identificatie()...)
	b = append(b, "</Identificatie><Dagtekening>"...)
	b = append(b, today.String()...)
	b = append(b, "</Dagtekening></Header><Signaal><Soort>"...)
	b = append(b, s.kind.String()...)
	b = append(b, "</Soort><Bsn>"...)
	b = append(b, formatBSN(s.bsn)...)
	b = append(b, "</Bsn><WlzStatus>"...)
	st := s.wlz.Status
	if st == StatusGeen {
		st = StatusNee
	}
	b = append(b, st.String()...)
	b = append(b, "</WlzStatus><Afgiftedatum>"...)
	b = append(b, s.wlz.Afgifte.String()...)
	b = append(b, "</Afgiftedatum><Ingangsdatum>"...)
	b = append(b, s.wlz.Ingang.String()...)
	b = append(b, "</Ingangsdatum>"...)
	if s.wlz.Einde != 0 {
		b = append(b, "<Einddatum>"...)
		b = append(b, s.wlz.Einde.String()...)
		b = append(b, "</Einddatum>"...)
	}
	b = append(b, "<Toewijzingen>"...)
	for _, o := range s.overlap {
		b = append(b, "<Toewijzing><ToewijzingNummer>"...)
		b = strconv.AppendUint(b, uint64(o.nummer), 10)
		b = append(b, "</ToewijzingNummer><Product>"...)
		b = appendEscaped(b, o.tw.product)
		b = append(b, "</Product>"...)
		if o.tw.begin != 0 {
			b = append(b, "<Ingangsdatum>"...)
			b = append(b, o.tw.begin.String()...)
			b = append(b, "</Ingangsdatum>"...)
		}
		if o.tw.einde != 0 {
			b = append(b, "<Einddatum>"...)
			b = append(b, o.tw.einde.String()...)
			b = append(b, "</Einddatum>"...)
		}
		b = append(b, "</Toewijzing>"...)
	}
	b = append(b, "</Toewijzingen></Signaal></WlzSignaal>\n"...)
	return b
}

// appendEscaped appends s with the XML special characters escaped.
func appendEscaped(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '<':
			b = append(b, "&lt;"...)
		case '>':
			b = append(b, "&gt;"...)
		case '&':
			b = append(b, "&amp;"...)
		case '"':
			b = append(b, "&quot;"...)
		default:
			b = append(b, c)
		}
	}
	return b
}
