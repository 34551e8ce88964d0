package sample

import (
	"fmt"
	"sort"
	"time"

	"github.com/knooppunt/knooppunt/bericht"
)

// A violation turns a valid message into one that still passes the XSD
// but breaks one rule of the standard's level 2 (bericht inhoud), so the
// switch's checks of those rules can be tested against known-bad input.
type violation struct {
	what    string
	applies func(s bericht.Soort) bool
	// dagtekening, when set, replaces the message date before the content
	// is built; apply then mutates the built content.
	dagtekening func(g *Generator) time.Time
	apply       func(content any)
}

var violations = map[string]violation{
	"CS002": {
		what:    "the first Bsn fails the elfproef",
		applies: func(s bericht.Soort) bool { return s.Number != 319 },
		apply:   breakBSN,
	},
	"TR135": {
		what:        "the Dagtekening lies in the future",
		applies:     func(bericht.Soort) bool { return true },
		dagtekening: func(g *Generator) time.Time { return addDays(g.today(), g.between(1, 30)) },
	},
	"TR018": {
		what:    "the first StopProduct ends before it begins",
		applies: func(s bericht.Soort) bool { return s.Number == 307 },
		apply: func(c any) {
			l := &c.(*levering).lines[0]
			l.einde = addDays(l.begin, -1)
		},
	},
	"TR358": {
		what:    "TotaalIngediendBedrag is one cent more than the sum of the prestaties",
		applies: func(s bericht.Soort) bool { return s.Number == 323 },
		apply:   func(c any) { c.(*declaratie).totaal++ },
	},
	"CD085": {
		what:    "VerzoekAntwoord 1 (afgewezen) without RedenAfwijzingVerzoek",
		applies: func(s bericht.Soort) bool { return s.Number == 319 },
		apply: func(c any) {
			a := c.(*antwoord)
			a.antwoord, a.reden, a.woonplaatsGem = "1", "", ""
		},
	},
}

// Violations lists the rules Options.Violate can break in a message of
// berichtsoort s, each with what the message then does wrong.
func Violations(s bericht.Soort) map[string]string {
	out := map[string]string{}
	if s.Answers() {
		return out
	}
	for code, v := range violations {
		if v.applies(s) {
			out[code] = v.what
		}
	}
	return out
}

func violationFor(s bericht.Soort, code string) (violation, error) {
	v, ok := violations[code]
	if !ok || s.Answers() || !v.applies(s) {
		known := make([]string, 0, len(violations))
		for c := range Violations(s) {
			known = append(known, c)
		}
		sort.Strings(known)
		return v, fmt.Errorf("generating %s: cannot violate %q (possible: %v)", s.Name, code, known)
	}
	return v, nil
}

// breakBSN changes the check digit of the message's first BSN: one step
// changes the elfproef sum by 1 or 9, never a multiple of 11.
func breakBSN(c any) {
	var bsn *string
	switch c := c.(type) {
	case *toewijzing:
		bsn = &c.client.bsn
	case *levering:
		bsn = &c.client.bsn
	case *verzoekToewijzing:
		bsn = &c.client.bsn
	case *verzoekWijziging:
		bsn = &c.bsn
	case *declaratie:
		bsn = &c.clienten[0].bsn
	default:
		return
	}
	b := []byte(*bsn)
	b[8] = '0' + (b[8]-'0'+1)%10
	*bsn = string(b)
}
