package bericht

import (
	"fmt"
	"strings"
)

// Standard names an iStandaard.
type Standard string

// The two iStandaarden a Knooppunt carries.
const (
	IWmo Standard = "iwmo" // Wet maatschappelijke ondersteuning
	IJw  Standard = "ijw"  // Jeugdwet
)

// Release is the only release of both standards the switch knows.
const Release = "3.2"

// Role is the kind of party that sends or receives a berichtsoort.
type Role string

// The two kinds of party in the chain.
const (
	Gemeente  Role = "gemeente"  // a municipality, identified by its 4-digit CBS code
	Aanbieder Role = "aanbieder" // a care provider, identified by its 8-digit AGB code
)

// Soort is one berichtsoort of one standard and release, such as iWmo 3.2
// WMO301. The zero value is not a valid Soort.
type Soort struct {
	// Name is the berichtsoort as the standard writes it: "WMO301", "JW325".
	Name string
	// Standard and Release say which standard defines the message.
	Standard Standard
	Release  string
	// Number is the message number shared by both standards: 301, 325.
	Number int
	// Code is the BerichtCode the header must carry (COD002-VEKT): "414".
	Code string
	// Title is the Dutch name of the message.
	Title string
	// Sender is the role of the party that sends the message. Header
	// Afzender and Ontvanger of a retourbericht are copied from its
	// heenbericht, so for a retour the header's Afzender is the Receiver.
	Sender, Receiver Role
	// Retour is true for the retourberichten 302, 306, 308, 316, 318, 320.
	// A 325 answers a 323 but is a heen-type message with its own header.
	Retour bool
	// Pair names the other half of the conversation: the retour (or, for a
	// 323, the 325) that answers a heenbericht; the heenbericht a retour or
	// 325 answers.
	Pair string
	// Namespace is the target namespace of the message's root element.
	Namespace string
}

// String returns e.g. "iwmo 3.2 WMO301".
func (s Soort) String() string {
	return fmt.Sprintf("%s %s %s", s.Standard, s.Release, s.Name)
}

// Answers reports whether s is the answer to a heenbericht: a retourbericht
// or a declaratie-antwoord (325).
func (s Soort) Answers() bool { return s.Retour || s.Number == 325 }

// HeaderAfzender is the role named in the header's Afzender. For a
// retourbericht the header is copied from the heenbericht, so it names the
// party that receives the retour.
func (s Soort) HeaderAfzender() Role {
	if s.Retour {
		return s.Receiver
	}
	return s.Sender
}

// BasisNamespace is the namespace of the basisschema of a standard's
// release, to which the children of the shared CDT types belong.
func BasisNamespace(std Standard, release string) string {
	return fmt.Sprintf("http://www.istandaarden.nl/%s/%s/basisschema/schema", std, strings.ReplaceAll(release, ".", "_"))
}

// message is one row of the catalogue below, shared by both standards.
type message struct {
	number           int
	wmoCode, jwCode  string
	title            string
	sender, receiver Role
	retour           bool
	pair             int
}

// messages lists the seven pairs of release 3.2 (COD002-VEKT codes).
var messages = []message{
	{301, "414", "436", "Toewijzing", Gemeente, Aanbieder, false, 302},
	{302, "415", "437", "Retourbericht toewijzing", Aanbieder, Gemeente, true, 301},
	{305, "418", "438", "Start levering", Aanbieder, Gemeente, false, 306},
	{306, "419", "439", "Retourbericht start levering", Gemeente, Aanbieder, true, 305},
	{307, "420", "440", "Stop levering", Aanbieder, Gemeente, false, 308},
	{308, "421", "441", "Retourbericht stop levering", Gemeente, Aanbieder, true, 307},
	{315, "444", "446", "Verzoek om toewijzing", Aanbieder, Gemeente, false, 316},
	{316, "445", "447", "Retourbericht verzoek om toewijzing", Gemeente, Aanbieder, true, 315},
	{317, "480", "486", "Verzoek om wijziging", Aanbieder, Gemeente, false, 318},
	{318, "481", "487", "Retourbericht verzoek om wijziging", Gemeente, Aanbieder, true, 317},
	{319, "482", "488", "Antwoordbericht", Gemeente, Aanbieder, false, 320},
	{320, "483", "489", "Retourbericht antwoordbericht", Aanbieder, Gemeente, true, 319},
	{323, "484", "490", "Declaratie", Aanbieder, Gemeente, false, 325},
	{325, "485", "491", "Declaratie-antwoord", Gemeente, Aanbieder, false, 323},
}

var (
	all         []Soort
	byName      = map[string]Soort{}
	byNamespace = map[string]Soort{}
)

func init() {
	for _, std := range []Standard{IWmo, IJw} {
		for _, m := range messages {
			s := newSoort(std, m)
			all = append(all, s)
			byName[s.Name] = s
			byNamespace[s.Namespace] = s
		}
	}
}

func newSoort(std Standard, m message) Soort {
	prefix, code := "WMO", m.wmoCode
	if std == IJw {
		prefix, code = "JW", m.jwCode
	}
	release := strings.ReplaceAll(Release, ".", "_")
	return Soort{
		Name:      fmt.Sprintf("%s%d", prefix, m.number),
		Standard:  std,
		Release:   Release,
		Number:    m.number,
		Code:      code,
		Title:     m.title,
		Sender:    m.sender,
		Receiver:  m.receiver,
		Retour:    m.retour,
		Pair:      fmt.Sprintf("%s%d", prefix, m.pair),
		Namespace: fmt.Sprintf("http://www.istandaarden.nl/%s/%s/%s%d/schema", std, release, strings.ToLower(prefix), m.number),
	}
}

// All returns the 28 berichtsoorten, iWmo first, in message-number order.
// The caller may modify the returned slice.
func All() []Soort {
	return append([]Soort(nil), all...)
}

// Lookup finds a berichtsoort by name ("WMO301", case-insensitive).
func Lookup(name string) (Soort, bool) {
	s, ok := byName[strings.ToUpper(name)]
	return s, ok
}

// ByNamespace finds the berichtsoort whose root element lives in namespace
// ns. It is how the switch learns standard, release and berichtsoort of a
// message before it validates it.
func ByNamespace(ns string) (Soort, bool) {
	s, ok := byNamespace[ns]
	return s, ok
}
