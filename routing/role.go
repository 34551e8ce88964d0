package routing

import (
	"regexp"
	"strings"

	"github.com/knooppunt/knooppunt/bericht"
)

// Role is what a principal is to the switch. The first three are parties,
// which send and receive messages and own a mailbox; the others only read
// what their role allows and never hold messages.
type Role string

// The roles a registry knows.
const (
	// Gemeente is a municipality, identified by its 4-digit CBS code.
	Gemeente Role = "gemeente"
	// Aanbieder is a care provider, identified by its 8-digit AGB code.
	Aanbieder Role = "aanbieder"
	// Samenwerkingsverband is a party (an ISD, a regional team) that
	// handles the traffic of the gemeenten it lists: their messages go to
	// its mailbox and it may send on their behalf.
	Samenwerkingsverband Role = "samenwerkingsverband"
	// Operator runs the switch: configuration, quarantine, dashboards.
	Operator Role = "operator"
	// Auditor reads the audit trail.
	Auditor Role = "auditor"
	// NZa reads the stuurinformatie export for the Nederlandse
	// Zorgautoriteit.
	NZa Role = "nza"
)

// IsParty reports whether principals of this role send and receive
// messages.
func (r Role) IsParty() bool {
	return r == Gemeente || r == Aanbieder || r == Samenwerkingsverband
}

// Acts is the role of the standard in which a party of this role sends:
// a samenwerkingsverband sends as the gemeenten it handles. It is empty for
// roles that send no messages.
func (r Role) Acts() bericht.Role {
	switch r {
	case Gemeente, Samenwerkingsverband:
		return bericht.Gemeente
	case Aanbieder:
		return bericht.Aanbieder
	}
	return ""
}

// Code schemes. CBS and AGB codes are the standard's (LDT_Gemeente,
// LDT_AgbCode). A samenwerkingsverband has no code in the standard; its code
// starts with "swv-" so it can never be mistaken for a code in a message
// header, which is all digits. Principal IDs are short lowercase names.
var (
	gemeenteCode = regexp.MustCompile(`^[0-9]{4}$`)
	agbCode      = regexp.MustCompile(`^[0-9]{8}$`)
	swvCode      = regexp.MustCompile(`^swv-[a-z0-9]+(-[a-z0-9]+)*$`)
	principalID  = regexp.MustCompile(`^[a-z][a-z0-9-]*$`)
)

// maxIDLen bounds samenwerkingsverband codes and principal IDs.
const maxIDLen = 40

// validID reports whether id follows the code scheme of role and, if not,
// what the scheme is.
func validID(role Role, id string) (bool, string) {
	switch role {
	case Gemeente:
		return gemeenteCode.MatchString(id), "a 4-digit CBS gemeentecode"
	case Aanbieder:
		return agbCode.MatchString(id), "an 8-digit AGB code"
	case Samenwerkingsverband:
		return len(id) <= maxIDLen && swvCode.MatchString(id), `"swv-" followed by lowercase letters, digits and single hyphens, at most 40 characters`
	default:
		return len(id) <= maxIDLen && principalID.MatchString(id), "a lowercase letter followed by lowercase letters, digits and hyphens, at most 40 characters"
	}
}

// withArticle is "a gemeente", "an aanbieder": for messages.
func (r Role) withArticle() string {
	if r != "" && strings.ContainsRune("aeiou", rune(r[0])) {
		return "an " + string(r)
	}
	return "a " + string(r)
}
