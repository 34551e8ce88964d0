package stuf

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/knooppunt/knooppunt/bericht"
)

// Namespaces of the envelope and its transport.
const (
	NSStUF   = "http://www.egem.nl/StUF/StUF0301"
	NSGGK    = "http://www.stufstandaarden.nl/sectormodel/ggk/0210"
	NSXMime  = "http://www.w3.org/2005/05/xmlmime"
	NSSOAP   = "http://schemas.xmlsoap.org/soap/envelope/"
	NSWSA    = "http://www.w3.org/2005/08/addressing"
	NSWSSE   = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
	NSWSU    = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
	NSDSig   = "http://www.w3.org/2000/09/xmldsig#"
	rootDi01 = "envelopHeenbericht-ggk_Di01"
	rootDu01 = "envelopRetourbericht-ggk_Du01"
	rootFo01 = "Fo01Bericht"
)

// SOAP actions of the WSDL's operations.
const (
	ActionDi01 = "http://www.stufstandaarden.nl/sectormodel/ggk/0210/ggk_Di01"
	ActionDu01 = "http://www.stufstandaarden.nl/sectormodel/ggk/0210/ggk_Du01"
	ActionFo01 = "http://www.egem.nl/StUF/StUF0301/Fo01"
)

// MaxEnvelopeBytes is the largest Di01 or Du01 accepted, base64 included:
// 25 MB, the chain's limit (IB007).
const MaxEnvelopeBytes = 25 << 20

// Party is a zender or ontvanger of the envelope.
type Party struct {
	Organisatie   string `xml:"organisatie,omitempty"`
	Applicatie    string `xml:"applicatie"`
	Administratie string `xml:"administratie,omitempty"`
	Gebruiker     string `xml:"gebruiker,omitempty"`
}

// Envelope is a Di01 or Du01 envelope: its stuurgegevens, parameters and
// the decoded payload.
type Envelope struct {
	// Berichtcode is "Di01" (heenbericht) or "Du01" (retourbericht).
	Berichtcode      string
	Zender           Party
	Ontvanger        Party
	Referentienummer string
	TijdstipBericht  string
	// CrossRefnummer is the referentienummer of the Di01 a Du01 answers;
	// empty for a Di01.
	CrossRefnummer string
	// Functie is the payload's berichtsoort, e.g. "WMO301".
	Functie string

	ReferentienummerBericht string
	CrossRefnummerBericht   string
	// ApplicatieVersie and ApplicatieSubversie are the version of the
	// zender's application; Marshal writes 0001 and 0000 when empty, as
	// the chain's parties fill them for messages they make (section 2.5).
	ApplicatieVersie    string
	ApplicatieSubversie string
	// FunctieVersie and FunctieSubversie are the version and subversion of
	// the berichtsoort in Functie (section 2.6); Marshal derives them from
	// its release when empty: 0003 and 0002 for iWmo/iJw 3.2 (0001 and
	// 0000 for a functie that is no iWmo/iJw berichtsoort).
	FunctieVersie    string
	FunctieSubversie string
	// Bestandsnaam is the file name a received envelope carried. Marshal
	// writes none: the payload is an XML message, which has no
	// bestandsnaam (section 2.7).
	Bestandsnaam string
	// Payload is the iWmo/iJw message, decoded from base64.
	Payload []byte
}

// wire forms, for encoding/xml.

type xmlStuurgegevens struct {
	Berichtcode      string `xml:"http://www.egem.nl/StUF/StUF0301 berichtcode"`
	Zender           Party  `xml:"http://www.egem.nl/StUF/StUF0301 zender"`
	Ontvanger        Party  `xml:"http://www.egem.nl/StUF/StUF0301 ontvanger"`
	Referentienummer string `xml:"http://www.egem.nl/StUF/StUF0301 referentienummer"`
	TijdstipBericht  string `xml:"http://www.egem.nl/StUF/StUF0301 tijdstipBericht"`
	CrossRefnummer   string `xml:"http://www.egem.nl/StUF/StUF0301 crossRefnummer"`
	Functie          string `xml:"http://www.egem.nl/StUF/StUF0301 functie"`
}

type xmlBericht struct {
	Bestandsnaam string `xml:"http://www.egem.nl/StUF/StUF0301 bestandsnaam,attr"`
	ContentType  string `xml:"http://www.w3.org/2005/05/xmlmime contentType,attr"`
	Data         string `xml:",chardata"`
}

type xmlEnvelope struct {
	XMLName       xml.Name
	Stuurgegevens xmlStuurgegevens `xml:"stuurgegevens"`
	Parameters    struct {
		ReferentienummerBericht string     `xml:"referentienummerBericht"`
		CrossRefnummerBericht   string     `xml:"crossRefnummerBericht"`
		ApplicatieVersie        string     `xml:"applicatieVersie"`
		ApplicatieSubversie     string     `xml:"applicatieSubversie"`
		FunctieVersie           string     `xml:"functieVersie"`
		FunctieSubversie        string     `xml:"functieSubversie"`
		Bericht                 xmlBericht `xml:"bericht"`
	} `xml:"parameters"`
}

// xmlFout is a Fo01 or Fo03 as read from a request.
type xmlFout struct {
	Stuurgegevens xmlStuurgegevens `xml:"stuurgegevens"`
	Body          struct {
		Code         string `xml:"code"`
		Plek         string `xml:"plek"`
		Omschrijving string `xml:"omschrijving"`
		Details      string `xml:"details"`
	} `xml:"body"`
}

// Fo01 is an error message a party sends the switch (or the switch sends a
// party) about an earlier Di01 or Du01.
type Fo01 struct {
	Zender           Party
	Ontvanger        Party
	Referentienummer string
	TijdstipBericht  string
	// CrossRefnummer is the referentienummer of the message it is about.
	CrossRefnummer string
	Fault          Fault
}

// decodeBase64 decodes base64Binary text, which may hold whitespace.
func decodeBase64(s string) ([]byte, error) {
	if strings.ContainsAny(s, " \t\r\n") {
		s = strings.Map(func(r rune) rune {
			switch r {
			case ' ', '\t', '\r', '\n':
				return -1
			}
			return r
		}, s)
	}
	return base64.StdEncoding.DecodeString(s)
}

// Marshal writes e as its Di01 or Du01 element (without XML declaration),
// the payload base64-encoded.
func (e *Envelope) Marshal() ([]byte, error) {
	root := rootDi01
	switch e.Berichtcode {
	case "Di01":
	case "Du01":
		root = rootDu01
	default:
		return nil, fmt.Errorf("marshalling envelope: berichtcode %q is neither Di01 nor Du01", e.Berichtcode)
	}
	var b bytes.Buffer
	b.Grow(base64.StdEncoding.EncodedLen(len(e.Payload)) + 1024)
	b.WriteString(`<GGK:` + root + ` xmlns:GGK="` + NSGGK + `" xmlns:StUF="` + NSStUF + `" xmlns:xmime="` + NSXMime + `">`)
	b.WriteString(`<GGK:stuurgegevens>`)
	el(&b, "StUF:berichtcode", e.Berichtcode)
	party(&b, "StUF:zender", e.Zender)
	party(&b, "StUF:ontvanger", e.Ontvanger)
	el(&b, "StUF:referentienummer", e.Referentienummer)
	el(&b, "StUF:tijdstipBericht", e.TijdstipBericht)
	if e.Berichtcode == "Du01" {
		el(&b, "StUF:crossRefnummer", e.CrossRefnummer)
	}
	el(&b, "StUF:functie", e.Functie)
	b.WriteString(`</GGK:stuurgegevens><GGK:parameters>`)
	if e.ReferentienummerBericht != "" {
		el(&b, "GGK:referentienummerBericht", e.ReferentienummerBericht)
	}
	if e.Berichtcode == "Du01" && e.CrossRefnummerBericht != "" {
		el(&b, "GGK:crossRefnummerBericht", e.CrossRefnummerBericht)
	}
	el(&b, "GGK:applicatieVersie", orDefault(e.ApplicatieVersie, "0001"))
	el(&b, "GGK:applicatieSubversie", orDefault(e.ApplicatieSubversie, "0000"))
	versie, subversie := e.FunctieVersie, e.FunctieSubversie
	if versie == "" || subversie == "" {
		v, sv := "0001", "0000" // a functie the switch does not know (a test of IB240)
		if s, ok := bericht.Lookup(e.Functie); ok {
			var err error
			if v, sv, err = FunctieVersies(s.Release); err != nil {
				return nil, fmt.Errorf("marshalling envelope: %w", err)
			}
		}
		versie, subversie = orDefault(versie, v), orDefault(subversie, sv)
	}
	el(&b, "GGK:functieVersie", versie)
	el(&b, "GGK:functieSubversie", subversie)
	b.WriteString(`<GGK:bericht xmime:contentType="application/xml">`)
	enc := base64.NewEncoder(base64.StdEncoding, &b)
	enc.Write(e.Payload)
	enc.Close()
	b.WriteString(`</GGK:bericht></GGK:parameters></GGK:` + root + `>`)
	return b.Bytes(), nil
}

// FunctieVersies returns the functieVersie and functieSubversie of a
// berichtsoort of release (major.minor, as bericht.Release): the release's
// major and minor number, four digits each, as the berichtsoort's header
// has them in BerichtVersie and BerichtSubversie ("3.2": 0003, 0002).
func FunctieVersies(release string) (versie, subversie string, err error) {
	major, minor, ok := strings.Cut(release, ".")
	m, err1 := strconv.ParseUint(major, 10, 16)
	n, err2 := strconv.ParseUint(minor, 10, 16)
	if !ok || err1 != nil || err2 != nil || m > 9999 || n > 9999 {
		return "", "", fmt.Errorf("release %q is not major.minor", release)
	}
	return fmt.Sprintf("%04d", m), fmt.Sprintf("%04d", n), nil
}

// marshalFout writes a Fo01 or Fo03 (berichtcode) element.
func marshalFout(berichtcode string, f *Fo01) []byte {
	var b bytes.Buffer
	b.WriteString(`<StUF:` + berichtcode + `Bericht xmlns:StUF="` + NSStUF + `"><StUF:stuurgegevens>`)
	el(&b, "StUF:berichtcode", berichtcode)
	party(&b, "StUF:zender", f.Zender)
	party(&b, "StUF:ontvanger", f.Ontvanger)
	el(&b, "StUF:referentienummer", f.Referentienummer)
	el(&b, "StUF:tijdstipBericht", f.TijdstipBericht)
	el(&b, "StUF:crossRefnummer", f.CrossRefnummer)
	b.WriteString(`</StUF:stuurgegevens><StUF:body>`)
	el(&b, "StUF:code", truncate(f.Fault.Code, 7))
	el(&b, "StUF:plek", orDefault(f.Fault.Place, PlaceClient))
	el(&b, "StUF:omschrijving", truncate(f.Fault.Description, 200))
	if f.Fault.Details != "" {
		el(&b, "StUF:details", truncate(f.Fault.Details, 1000))
	}
	b.WriteString(`</StUF:body></StUF:` + berichtcode + `Bericht>`)
	return b.Bytes()
}

// Marshal writes f as a StUF Fo01Bericht element.
func (f *Fo01) Marshal() []byte { return marshalFout("Fo01", f) }

// marshalBv03 writes the acknowledgement of a received message.
func marshalBv03(zender, ontvanger Party, ref, tijdstip, crossRef string) []byte {
	var b bytes.Buffer
	b.WriteString(`<StUF:Bv03Bericht xmlns:StUF="` + NSStUF + `"><StUF:stuurgegevens>`)
	el(&b, "StUF:berichtcode", "Bv03")
	party(&b, "StUF:zender", zender)
	party(&b, "StUF:ontvanger", ontvanger)
	el(&b, "StUF:referentienummer", ref)
	el(&b, "StUF:tijdstipBericht", tijdstip)
	el(&b, "StUF:crossRefnummer", crossRef)
	b.WriteString(`</StUF:stuurgegevens></StUF:Bv03Bericht>`)
	return b.Bytes()
}

func el(b *bytes.Buffer, name, text string) {
	b.WriteString("<" + name + ">")
	xml.EscapeText(b, []byte(text))
	b.WriteString("</" + name + ">")
}

func party(b *bytes.Buffer, name string, p Party) {
	b.WriteString("<" + name + ">")
	if p.Organisatie != "" {
		el(b, "StUF:organisatie", p.Organisatie)
	}
	el(b, "StUF:applicatie", p.Applicatie)
	if p.Administratie != "" {
		el(b, "StUF:administratie", p.Administratie)
	}
	if p.Gebruiker != "" {
		el(b, "StUF:gebruiker", p.Gebruiker)
	}
	b.WriteString("</" + name + ">")
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// truncate cuts s to at most n bytes on a rune boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !isRuneStart(s[n]) {
		n--
	}
	return s[:n]
}

func isRuneStart(c byte) bool { return c&0xC0 != 0x80 }

// NewUUID returns a random UUID version 4, as referentienummers must be.
func NewUUID() string {
	var u [16]byte
	rand.Read(u[:]) // never fails (Go 1.24+)
	return formatUUID(u[:])
}

// formatUUID sets the version 4 and variant bits of u (16 bytes) and
// formats it.
func formatUUID(u []byte) string {
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	var s [36]byte
	hex.Encode(s[0:8], u[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], u[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], u[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], u[8:10])
	s[23] = '-'
	hex.Encode(s[24:], u[10:])
	return string(s[:])
}

// IsUUIDv4 reports whether s is a lower-case UUID version 4 in the chain's
// form [0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}.
func IsUUIDv4(s string) bool {
	if len(s) != 36 || s[14] != '4' {
		return false
	}
	for i := 0; i < 36; i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		case 19:
			if c != '8' && c != '9' && c != 'a' && c != 'b' {
				return false
			}
		default:
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
				return false
			}
		}
	}
	return true
}

// Tijdstip formats t as a StUF tijdstip (yyyymmddhhmmssfff).
func Tijdstip(t time.Time) string { return t.Format("20060102150405.000")[:14] + t.Format(".000")[1:] }

// ParseTijdstip reads a StUF tijdstip: yyyymmdd, optionally followed by
// hh, mm, ss and up to three digits of milliseconds, each a real value
// (no 13th month, no 25th hour). A StUF tijdstip carries no time zone; it
// is read as UTC, which callers' bounds must allow for.
func ParseTijdstip(s string) (time.Time, error) {
	layouts := map[int]string{8: "20060102", 10: "2006010215", 12: "200601021504", 14: "20060102150405"}
	if len(s) > 17 {
		return time.Time{}, fmt.Errorf("tijdstip %q: more than 17 digits", s)
	}
	base, frac := s, ""
	if len(s) > 14 {
		base, frac = s[:14], s[14:]
	}
	layout, ok := layouts[len(base)]
	if !ok {
		return time.Time{}, fmt.Errorf("tijdstip %q: want 8, 10, 12 or 14 to 17 digits", s)
	}
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return time.Time{}, fmt.Errorf("tijdstip %q: not all digits", s)
		}
	}
	t, err := time.ParseInLocation(layout, base, time.UTC)
	if err != nil {
		return time.Time{}, fmt.Errorf("tijdstip %q: %w", s, err)
	}
	if frac != "" {
		ms, _ := strconv.Atoi((frac + "00")[:3]) // digits checked above
		t = t.Add(time.Duration(ms) * time.Millisecond)
	}
	return t, nil
}
