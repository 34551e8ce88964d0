package rules

import (
	"bytes"
	_ "embed"
	"encoding/csv"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/knooppunt/knooppunt/bericht"
)

// standardCSV is the standard's own wording of every rule of iWmo 3.2 and
// iJw 3.2 — the technical rules, conditions, constraints and restrictions —
// with code, control level, retourcode, messages and source: facts of the
// standard, carried so the binary can quote them without the reference
// material. TestStandardTable keeps it equal to the rule tables it is read
// from (go test ./rules -run TestStandardTable -update).
//
//go:embed standard.csv
var standardCSV []byte

// Text is a rule as the standard words it.
type Text struct {
	Code string
	// Standards are the standards that word the rule so; a rule worded
	// differently in iWmo and iJw has a Text for each.
	Standards []bericht.Standard
	// Kind is "technische regel", "conditie", "constraint" or "restrictie".
	Kind string
	// Level is the control level of a technische regel as the standard
	// names it ("bericht inhoud (xslt)", "berichtoverstijgend", "externe
	// bron"); empty for the others.
	Level string
	// Retourcode is the code a retourbericht carries for the rule, if any.
	Retourcode string
	// Messages are the berichtsoorten the standard lists for the rule.
	Messages []string
	// Elements are the places a condition or constraint applies to:
	// "WMO301 Contact/Adres_Adres/LandCode".
	Elements []string
	// Definition is the rule's text; Explanation its toelichting, if any.
	Definition, Explanation string
	// Source names where the wording is published.
	Source string
}

// officialTexts is the parsed standardCSV, by code.
var officialTexts = sync.OnceValue(func() map[string][]Text {
	m, err := parseStandard(standardCSV)
	if err != nil {
		panic(fmt.Sprintf("rules: the embedded standard.csv: %v", err)) // a broken build, not input
	}
	return m
})

func parseStandard(data []byte) (map[string][]Text, error) {
	r := csv.NewReader(bytes.NewReader(data))
	recs, err := r.ReadAll()
	if err != nil {
		return nil, fmt.Errorf("reading: %w", err)
	}
	if len(recs) == 0 || len(recs[0]) != 10 {
		return nil, fmt.Errorf("want a header and 10 columns")
	}
	out := map[string][]Text{}
	for _, rec := range recs[1:] {
		x := Text{
			Code: rec[0], Kind: rec[2], Level: rec[3], Retourcode: rec[4],
			Messages: strings.Fields(rec[5]), Definition: rec[7], Explanation: rec[8], Source: rec[9],
		}
		for _, s := range strings.Fields(rec[1]) {
			x.Standards = append(x.Standards, bericht.Standard(s))
		}
		if rec[6] != "" {
			x.Elements = strings.Split(rec[6], "; ")
		}
		out[x.Code] = append(out[x.Code], x)
	}
	return out, nil
}

// Official returns the standard's wording of the rule with code (TR002,
// CD005, CS002, RS001): one Text, or one per standard where iWmo and iJw
// word it differently; false when neither standard has the code.
func Official(code string) ([]Text, bool) {
	x, ok := officialTexts()[code]
	return slices.Clone(x), ok
}

// OfficialCodes returns the code of every rule of iWmo 3.2 and iJw 3.2,
// sorted.
func OfficialCodes() []string {
	var out []string
	for code := range officialTexts() {
		out = append(out, code)
	}
	slices.Sort(out)
	return out
}
