package conformance

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/knooppunt/knooppunt/bericht"
	"github.com/knooppunt/knooppunt/bericht/mutation"
	"github.com/knooppunt/knooppunt/node"
	"github.com/knooppunt/knooppunt/rules"
	"github.com/knooppunt/knooppunt/sample"
	"github.com/knooppunt/knooppunt/xsd"
)

// update rewrites the generated cases of testdata (happy-*, retour-*,
// xsd-*, rule-*): go test ./conformance -run TestGeneratedCases -update.
var update = flag.Bool("update", false, "rewrite the generated cases in testdata")

// generatedPrefixes name the files TestGeneratedCases owns; every other
// case in testdata is written by hand.
var generatedPrefixes = []string{"happy-", "retour-", "xsd-", "rule-"}

// pinned is the Dagtekening of generated XSD cases: a fixed date keeps
// every run's message, and so the line of its violation, the same.
const pinned = "2026-11-02"

// parties picks a sender and receiver for the nth case of berichtsoort s,
// spread over the dev registry so cases polling different mailboxes run
// in parallel.
func parties(s bericht.Soort, n int) (afzender, ontvanger string) {
	gemeenten := []string{"0363", "0384", "0599"}
	aanbieders := []string{"42420001", "65656055", "12345678"}
	g, a := gemeenten[n%3], aanbieders[(n/3)%3]
	if s.HeaderAfzender() == bericht.Gemeente {
		return g, a
	}
	return a, g
}

// generateCases builds the text of every generated case, by file name.
func generateCases(t *testing.T, set *xsd.Set) map[string]string {
	out := map[string]string{}
	n := 0
	for _, s := range bericht.All() {
		if s.Answers() {
			continue
		}
		n++
		a, b := parties(s, n)
		out["happy-"+lower(s.Name)] = happyCase(s, a, b, n, "")
		out["retour-rejected-"+lower(s.Name)] = happyCase(s, a, b, n, "reject=9063")
		if s.Number != 323 {
			out["retour-header-only-"+lower(s.Name)] = happyCase(s, a, b, n, "retourcodes=0001")
		}
		vs := sample.Violations(s)
		names := make([]string, 0, len(vs))
		for r := range vs {
			names = append(names, r)
		}
		sort.Strings(names)
		for _, r := range names {
			out["rule-"+lower(r)+"-"+lower(s.Name)] = ruleCase(s, a, b, n, r, vs[r])
			checkViolation(t, set, s, a, b, n, r)
		}
	}
	for file, text := range editedRuleCases(t, set) {
		out[file] = text
	}
	// XSD violations: every class on a spread of berichtsoorten, each case
	// with the verdict the project's validator gives (refusals carry the
	// line and column of the first violation; a variant that stays valid
	// must be accepted).
	soorts := []string{"WMO301", "WMO305", "WMO307", "WMO315", "WMO317", "WMO319", "WMO323",
		"JW301", "JW305", "JW315", "JW319", "JW323", "WMO302", "JW325"}
	for i, name := range soorts {
		s, _ := bericht.Lookup(name)
		a, b := parties(s, i)
		for _, class := range mutation.Classes() {
			file := "xsd-" + string(class) + "-" + lower(name)
			text, ok := xsdCase(t, set, s, a, b, class, i)
			if ok {
				out[file] = text
			}
		}
	}
	return out
}

func lower(s string) string { return strings.ToLower(s) }

func happyCase(s bericht.Soort, a, b string, seed int, answer string) string {
	pair, _ := bericht.Lookup(s.Pair)
	var w strings.Builder
	what := "approved"
	switch {
	case strings.HasPrefix(answer, "reject"):
		what = "rejecting one product line (9063, with the body)"
	case strings.HasPrefix(answer, "retourcodes"):
		what = "rejected as a whole on the header (0001)"
	}
	fmt.Fprintf(&w, "# %s from %s to %s is accepted, delivered byte for byte and confirmed;\n", s.Name, a, b)
	fmt.Fprintf(&w, "# its %s, %s, goes back to %s and is linked to it in track & trace.\n", pair.Name, what, a)
	fmt.Fprintf(&w, "message heen sample %s afzender=%s ontvanger=%s seed=%d\n", s.Name, a, b, seed)
	fmt.Fprintf(&w, "post %s heen\nexpect 202 stored ontvanger=%s berichtsoort=%s\n", a, b, s.Name)
	fmt.Fprintf(&w, "poll %s\nexpect 200 listed=heen\n", b)
	fmt.Fprintf(&w, "fetch %s heen\nexpect 200 bytes=heen\n", b)
	fmt.Fprintf(&w, "confirm %s heen\nexpect 204\n", b)
	fmt.Fprintf(&w, "poll %s\nexpect 200 absent=heen\n", b)
	fmt.Fprintf(&w, "message answer answer heen")
	if answer != "" {
		fmt.Fprintf(&w, " %s", answer)
	}
	fmt.Fprintf(&w, "\npost %s answer\nexpect 202 stored ontvanger=%s berichtsoort=%s\n", b, a, pair.Name)
	fmt.Fprintf(&w, "poll %s\nexpect 200 listed=answer\n", a)
	fmt.Fprintf(&w, "fetch %s answer\nexpect 200 bytes=answer\n", a)
	fmt.Fprintf(&w, "confirm %s answer\nexpect 204\n", a)
	fmt.Fprintf(&w, "trace %s heen\nexpect 200 state=retour-received retour=answer\n", a)
	fmt.Fprintf(&w, "trace %s answer\nexpect 200 heen=heen\n", b)
	return w.String()
}

func ruleCase(s bericht.Soort, a, b string, seed int, rule, what string) string {
	var w strings.Builder
	if r, ok := rules.Lookup(rule); !ok || r.Level != rules.InMessage {
		// Not a level-2 rule (TR135 is level 4, externe bron): the
		// recipient checks it, so the switch delivers and the recipient
		// answers with the rule's retourcode.
		code := "0001"
		if tr, ok := trRetourcodes[rule]; ok {
			code = tr
		}
		fmt.Fprintf(&w, "# %s breaking %s (%s): not a level-2 rule, so the switch\n", s.Name, rule, what)
		fmt.Fprintf(&w, "# delivers it and the recipient answers with retourcode %s.\n", code)
		fmt.Fprintf(&w, "message heen sample %s afzender=%s ontvanger=%s seed=%d violate=%s\n", s.Name, a, b, seed, rule)
		fmt.Fprintf(&w, "post %s heen\nexpect 202 stored ontvanger=%s\n", a, b)
		fmt.Fprintf(&w, "poll %s\nexpect 200 listed=heen\n", b)
		fmt.Fprintf(&w, "message answer answer heen retourcodes=%s\n", code)
		fmt.Fprintf(&w, "post %s answer\nexpect 202 stored ontvanger=%s\n", b, a)
		return w.String()
	}
	fmt.Fprintf(&w, "# %s breaking %s (%s), valid against the XSD:\n", s.Name, rule, what)
	fmt.Fprintf(&w, "# the switch answers with a retourbericht with retourcode 0001 in the\n")
	fmt.Fprintf(&w, "# sender's mailbox and does not deliver the heenbericht.\n")
	fmt.Fprintf(&w, "requires retour\n")
	fmt.Fprintf(&w, "message heen sample %s afzender=%s ontvanger=%s seed=%d violate=%s\n", s.Name, a, b, seed, rule)
	fmt.Fprintf(&w, "post %s heen\nexpect 202\n", a)
	fmt.Fprintf(&w, "retour %s heen\nexpect 200 retourcodes=0001\n", a)
	fmt.Fprintf(&w, "poll %s\nexpect 200 absent=heen\n", b)
	return w.String()
}

// checkViolation: a level-2 rule sample breaks is found by package rules
// in the message the case posts, so the case tests what it claims.
func checkViolation(t *testing.T, set *xsd.Set, s bericht.Soort, a, b string, seed int, rule string) {
	if r, ok := rules.Lookup(rule); !ok || r.Level != rules.InMessage {
		return
	}
	m, err := sample.New(int64(seed)).Heen(s, sample.Options{Afzender: a, Ontvanger: b, Violate: rule})
	require.NoError(t, err)
	h, tree, err := set.ValidateTree(m.XML)
	require.NoError(t, err, "%s breaking %s must stay XSD-valid", s.Name, rule)
	var found []string
	for _, f := range rules.Check(h, tree) {
		found = append(found, f.Rule)
	}
	assert.Contains(t, found, rule, "%s breaking %s", s.Name, rule)
}

// trRetourcodes are the retourcodes of the rules sample can break that the
// switch leaves to the recipient (model/tr-rules-iwmo-3.2.csv).
var trRetourcodes = map[string]string{"TR135": "8848"}

// xsdCase derives the case of one mutation class on berichtsoort s.
func xsdCase(t *testing.T, set *xsd.Set, s bericht.Soort, a, b string, class mutation.Class, seed int) (string, bool) {
	head := fmt.Sprintf("message base sample %s afzender=%s ontvanger=%s seed=%d dagtekening=%s\nmessage bad mutate base %s seed=%d\n",
		s.Name, a, b, seed+1, pinned, class, seed+1)
	c, err := Parse("gen.case", []byte(head+"post "+a+" bad\nexpect 202\n"))
	require.NoError(t, err)
	r := &run{prefix: "zzzzz", today: time.Now().UTC()}
	c.Name = "xsd-" + string(class) + "-" + lower(s.Name)
	msgs := map[string]*message{}
	var bad *message
	for _, st := range c.Steps[:2] {
		m, err := r.build(c, st, msgs)
		if err != nil {
			return "", false // the class has no variant of this berichtsoort
		}
		msgs[m.name], bad = m, m
	}
	poster := a // the party that sends it: for a retour the header's Ontvanger
	if s.Retour {
		poster = b
	}
	var w strings.Builder
	_, verr := set.Validate(bad.body)
	var xe *xsd.Error
	switch {
	case verr == nil:
		// Valid against the XSD; a changed party code may still be
		// unroutable, so the verdict checked is the validator's.
		fmt.Fprintf(&w, "# A %s variant of %s that stays valid against the XSD passes validation.\n", class, s.Name)
		w.WriteString(head)
		fmt.Fprintf(&w, "validate %s bad\nexpect 200 valid=true berichtsoort=%s\n", poster, s.Name)
	case errors.As(verr, &xe):
		fmt.Fprintf(&w, "# A %s variant of %s breaks its schema: refused with %s,\n", class, s.Name, xe.Code)
		fmt.Fprintf(&w, "# the position of the first violation, and nothing is delivered.\n")
		w.WriteString(head)
		fmt.Fprintf(&w, "post %s bad\nexpect %d %s", poster, statusOf(xe.Code), xe.Code)
		if len(xe.Violations) > 0 {
			fmt.Fprintf(&w, " line=%d column=%d", xe.Violations[0].Line, xe.Violations[0].Column)
		}
		w.WriteString("\n")
		fmt.Fprintf(&w, "validate %s bad\nexpect %d %s\n", poster, statusOf(xe.Code), xe.Code)
	default:
		t.Fatalf("validating a %s variant of %s: %v", class, s.Name, verr)
	}
	return w.String(), true
}

// statusOf is the HTTP status of a validator refusal, as the switch
// answers it (docs/api.md).
func statusOf(code string) int { return node.ValidationKind(code).Status() }

// TestGeneratedCases checks that the generated cases in testdata are what
// the generator makes today (so a change of sample, mutation or the
// validator shows up here), and rewrites them with -update.
func TestGeneratedCases(t *testing.T) {
	set, err := xsd.Load(xsd.Config{})
	require.NoError(t, err)
	defer set.Close()
	want := generateCases(t, set)
	if *update {
		old, _ := filepath.Glob(filepath.Join("testdata", "*"+Ext))
		for _, f := range old {
			for _, p := range generatedPrefixes {
				if strings.HasPrefix(filepath.Base(f), p) {
					require.NoError(t, os.Remove(f))
				}
			}
		}
		for name, text := range want {
			require.NoError(t, os.WriteFile(filepath.Join("testdata", name+Ext), []byte(text), 0o644))
		}
	}
	for name, text := range want {
		got, err := os.ReadFile(filepath.Join("testdata", name+Ext))
		require.NoError(t, err, "generated case %s is missing: run go test ./conformance -run TestGeneratedCases -update", name)
		require.Equal(t, text, string(got), "generated case %s differs: run go test ./conformance -run TestGeneratedCases -update", name)
	}
}

// ruleEdit breaks one level-2 rule in a generated message of number
// (both standards where the rule applies) with set/drop edits.
type ruleEdit struct {
	rule     string
	number   int
	options  string   // further sample options
	products int      // the products= option, 0 to leave it out
	edits    []string // "set PATH VALUE" or "drop PATH"
}

var ruleEdits = []ruleEdit{
	{rule: "CS089", number: 301, edits: []string{"set //Contact/Adres/Postcode 0123AB"}},
	{rule: "CD025", number: 301, edits: []string{"drop //Contact/Adres/Huis"}},
	{rule: "CD005", number: 301, edits: []string{"drop //Contact/Adres/LandCode"}},
	{rule: "CD034", number: 301, edits: []string{"drop //Contact[1]/Adres/Postcode"}},
	{rule: "CS318", number: 301, edits: []string{"set //Client/Naam/NaamGebruik 6"}},
	{rule: "CS050", number: 301, edits: []string{"set //Client/Naam/NaamGebruik 2"}},
	{rule: "TR002", number: 301, edits: []string{"set //Client/Geboortedatum/Datum 1890-01-01"}},
	{rule: "TR061", number: 301, edits: []string{"set //Contact/Soort 04"}},
	{rule: "TR134", number: 301, edits: []string{"set //ToegewezenProduct/Toewijzingsdatum 2099-01-01"}},
	{rule: "CS003", number: 301, edits: []string{"set //ToegewezenProduct/Einddatum 2000-01-01"}},
	{rule: "CD041", number: 301, edits: []string{"drop //ToegewezenProduct/Omvang"}},
	{rule: "CS058", number: 305, edits: []string{"set //StatusAanlevering 2"}},
	{rule: "TR134", number: 305, edits: []string{"set //StartProduct/Begindatum 2099-01-01"}},
	{rule: "CS058", number: 307, edits: []string{"set //StatusAanlevering 2"}},
	{rule: "TR002", number: 315, edits: []string{"set //Client/Geboortedatum/Datum 1890-01-01"}},
	{rule: "TR383", number: 315, options: "products=2", edits: []string{"set //AangevraagdProduct/ReferentieAanbieder ref1"}},
	{rule: "TR380", number: 317, edits: []string{"set //GewensteIngangsdatum 2000-01-01"}},
	{rule: "CD041", number: 317, edits: []string{"drop //NieuwProduct/Omvang"}},
	{rule: "CD087", number: 323, edits: []string{"drop //Prestatie/ProductTarief"}},
	{rule: "TR137", number: 323, edits: []string{"set //Prestatie/ProductPeriode/Einddatum 2099-01-31"}},
	{rule: "CS325", number: 323, products: 1, edits: []string{"set //TotaalBedrag 0", "set //TotaalIngediendBedrag/DebetCredit C", "set //IngediendBedrag/Bedrag 0"}},
	{rule: "CS100", number: 323, edits: []string{"set //DeclaratiePeriode/Begindatum 2020-12-01"}},
	{rule: "CS340", number: 323, edits: []string{"set //DeclaratiePeriode/Einddatum 2026-10-15"}},
	{rule: "CS337", number: 323, edits: []string{"set //Prestatie/ProductPeriode/Einddatum 2026-11-01"}},
	{rule: "TR335", number: 323, edits: []string{"set //Prestatie/ProductPeriode/Begindatum 2020-01-01", "set //Prestatie/ProductPeriode/Einddatum 2020-01-31"}},
	{rule: "CS338", number: 301, edits: []string{"set //ToegewezenProduct/Omvang/Eenheid 14", "set //ToegewezenProduct/Omvang/Frequentie 1"}},
	{rule: "CS343", number: 315, edits: []string{"set //AangevraagdProduct/Omvang/Eenheid 14", "set //AangevraagdProduct/Omvang/Frequentie 1"}},
	{rule: "TR352", number: 317, edits: []string{"drop //OngewijzigdeProducten", "drop //TeWijzigenProducten"}},
	{rule: "TR353", number: 317, edits: []string{"drop //TeWijzigenProducten", "drop //NieuweProducten"}},
	{rule: "CD080", number: 301, edits: []string{"drop //ToegewezenProduct/Product/Code"}},
	{rule: "TR006", number: 301, edits: []string{"drop //Contact[1]/Telefoon", "drop //Contact[1]/Adres/Huis"}},
}

// editedRuleCases makes a case of every ruleEdit, with the first seed whose
// message the edit applies to, keeps its XSD and breaks the rule — checked
// here with the rules package, so a case never claims a rule it misses.
func editedRuleCases(t *testing.T, set *xsd.Set) map[string]string {
	out := map[string]string{}
	for i, re := range ruleEdits {
		rule, ok := rules.Lookup(re.rule)
		require.True(t, ok, re.rule)
		for _, std := range []string{"WMO", "JW"} {
			s, ok := bericht.Lookup(fmt.Sprintf("%s%d", std, re.number))
			if !ok || !rule.AppliesTo(s) {
				continue
			}
			a, b := parties(s, i)
			name := "rule-" + lower(re.rule) + "-" + lower(s.Name)
			if _, dup := out[name]; dup {
				name += "-edit"
			}
			text, ok := editedRuleCase(t, set, s, a, b, re, rule, name)
			if !ok {
				t.Errorf("no seed of %s breaks %s with %v", s.Name, re.rule, re.edits)
				continue
			}
			out[name] = text
		}
	}
	return out
}

func editedRuleCase(t *testing.T, set *xsd.Set, s bericht.Soort, a, b string, re ruleEdit, rule *rules.Rule, name string) (string, bool) {
	for seed := 1; seed <= 12; seed++ {
		var msgs strings.Builder
		fmt.Fprintf(&msgs, "message base sample %s afzender=%s ontvanger=%s seed=%d dagtekening=%s", s.Name, a, b, seed, pinned)
		if re.options != "" {
			fmt.Fprintf(&msgs, " %s", re.options)
		}
		if re.products > 0 {
			fmt.Fprintf(&msgs, " products=%d", re.products)
		}
		msgs.WriteString("\n")
		prev := "base"
		for j, e := range re.edits {
			f := strings.Fields(e)
			next := fmt.Sprintf("edit%d", j+1)
			if j == len(re.edits)-1 {
				next = "heen"
			}
			if f[0] == "set" {
				fmt.Fprintf(&msgs, "message %s derive %s set path=%s value=%s\n", next, prev, f[1], f[2])
			} else {
				fmt.Fprintf(&msgs, "message %s derive %s drop path=%s\n", next, prev, f[1])
			}
			prev = next
		}
		c, err := Parse(name+Ext, []byte(msgs.String()))
		require.NoError(t, err)
		r := &run{prefix: "zzzzz", today: time.Now().UTC()}
		built := map[string]*message{}
		var heen *message
		for _, st := range c.Steps {
			m, err := r.build(c, st, built)
			if err != nil {
				heen = nil
				break
			}
			built[m.name], heen = m, m
		}
		if heen == nil {
			continue
		}
		h, tree, err := set.ValidateTree(heen.body)
		if err != nil {
			continue
		}
		broken := false
		for _, f := range rules.Check(h, tree) {
			broken = broken || f.Rule == re.rule
		}
		if !broken {
			continue
		}
		var w strings.Builder
		fmt.Fprintf(&w, "# %s breaking %s (%s), valid against the XSD:\n", s.Name, re.rule, rule.Summary)
		fmt.Fprintf(&w, "# the switch answers with a retourbericht with retourcode 0001 in the\n")
		fmt.Fprintf(&w, "# sender's mailbox and does not deliver the heenbericht.\n")
		fmt.Fprintf(&w, "requires retour\n")
		w.WriteString(msgs.String())
		fmt.Fprintf(&w, "post %s heen\nexpect 202\n", a)
		fmt.Fprintf(&w, "retour %s heen\nexpect 200 retourcodes=0001\n", a)
		fmt.Fprintf(&w, "poll %s\nexpect 200 absent=heen\n", b)
		return w.String(), true
	}
	return "", false
}
