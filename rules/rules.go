package rules

import (
	"fmt"
	"slices"
	"strings"

	"github.com/knooppunt/knooppunt/bericht"
)

// Retourcodes the rules carry (codelist WJ001).
const (
	// Rejected is retourcode 0001: rejected for technical reasons, the
	// answer to every level-2 rule.
	Rejected = "0001"
	// DuplicateIdentificatie is retourcode 9056 of TR056.
	DuplicateIdentificatie = "9056"
)

// Level is the control level of a rule in the standard.
type Level int

const (
	// InMessage rules (level 2) are decided by one message alone.
	InMessage Level = 2
	// Conversation rules (level 3) need earlier messages; the switch checks
	// only those its store can decide, and only when asked to.
	Conversation Level = 3
	// External rules (level 4) need a source outside the conversation,
	// such as a contract.
	External Level = 4
)

// Rule is one rule of the standard.
type Rule struct {
	// Code is the rule's code in the standard: TR002, CS002, CD085.
	Code string
	// Retourcode is the code a retourbericht carries for it (WJ001).
	Retourcode string
	// Level is the rule's control level.
	Level Level
	// Soorten are the berichtsoorten (WMO301, JW301, …) the rule applies to.
	Soorten []string
	// Summary says in one line what the switch checks of the rule.
	Summary string
	// Part marks a rule of level 3 or 4 of which Check runs the part one
	// message decides by itself (a ReferentieNummer twice in one
	// declaratie breaks TR314 whatever came before); the rest stays with
	// the recipient. Its findings carry the rule's own retourcode.
	Part bool
	// Breaks and Keeps describe a message that breaks the rule and one,
	// as close to it as can be, that keeps it.
	Breaks, Keeps string

	check func(c *checker)
}

// Checked tells whether Check runs the rule: every level-2 rule, and the
// in-message part of the rules marked Part.
func (r *Rule) Checked() bool { return r.check != nil && (r.Level == InMessage || r.Part) }

// AppliesTo tells whether the rule applies to berichtsoort s.
func (r *Rule) AppliesTo(s bericht.Soort) bool { return slices.Contains(r.Soorten, s.Name) }

// Finding is one breach of a rule at one element. It never carries a value
// from the message: it is safe to log, to count and to show to third parties.
type Finding struct {
	// Text says what is wrong and where, naming the elements involved with
	// their lines: "GewensteIngangsdatum (line 41) is not after the
	// Dagtekening (line 11)". It quotes no value of the message.
	Text string
	// Rule is the rule's code (TR002, CS002, …).
	Rule string
	// Retourcode is the rule's retourcode.
	Retourcode string
	// Path locates the offending element: /Bericht/Client/Bsn, with a
	// 1-based position where an element has same-named siblings.
	Path string
	// Line is the line of the offending element's start tag, 0 if unknown.
	Line int
	// Element is the offending element's index in the bericht.Tree checked.
	Element int
}

// String renders the finding for people and logs: "CS002 (0001) at
// /Bericht/Client/Bsn, line 19: Bsn (line 19) fails the elfproef".
func (f Finding) String() string {
	s := fmt.Sprintf("%s (%s) at %s, line %d", f.Rule, f.Retourcode, f.Path, f.Line)
	if f.Text != "" {
		s += ": " + f.Text
	}
	return s
}

// registry holds every rule ordered by code; bySoort the level-2 rules per
// berichtsoort name. Both are built once from the rule tables and never
// change.
var (
	registry = index(technical, conditions, constraints, partial, conversation)
	bySoort  = perSoort(registry)
)

func index(tables ...[]*Rule) []*Rule {
	var all []*Rule
	for _, t := range tables {
		all = append(all, t...)
	}
	slices.SortStableFunc(all, func(a, b *Rule) int { return strings.Compare(a.Code, b.Code) })
	return all
}

func perSoort(all []*Rule) map[string][]*Rule {
	m := map[string][]*Rule{}
	for _, r := range all {
		if !r.Checked() {
			continue
		}
		for _, s := range r.Soorten {
			m[s] = append(m[s], r)
		}
	}
	return m
}

// All returns every rule, level 2 and level 3, ordered by code. The rules
// are shared: do not modify them.
func All() []*Rule { return slices.Clone(registry) }

// Lookup returns the rule with code (TR002, CS002, …).
func Lookup(code string) (*Rule, bool) {
	i, ok := slices.BinarySearchFunc(registry, code, func(r *Rule, c string) int { return strings.Compare(r.Code, c) })
	if !ok {
		return nil, false
	}
	return registry[i], true
}

// For returns the rules Check runs on berichtsoort s, ordered by code.
func For(s bericht.Soort) []*Rule { return slices.Clone(bySoort[s.Name]) }

// Check runs every rule of h.Soort that one message decides (the level-2
// rules and the in-message part of the rules marked Part) over doc, the
// view of a message that passed its XSD (from (*xsd.Set).ValidateTree with
// the same message), and returns what it finds in rule-code order, then
// document order; nil when the message keeps every rule. It never panics
// on a valid message.
func Check(h bericht.Header, doc *bericht.Tree) []Finding {
	rs := bySoort[h.Soort.Name]
	if len(rs) == 0 || doc == nil || doc.Len() == 0 {
		return nil
	}
	c := &checker{t: doc, h: h, dagIdx: doc.Child(0, "Header", "BerichtIdentificatie", "Dagtekening")}
	c.dagtekening, c.hasDagtekening = parseDate(h.Dagtekening)
	for _, r := range rs {
		c.rule = r
		r.check(c)
	}
	return c.out
}

// checker is the state of one Check: the document, its header and the
// findings so far.
type checker struct {
	t              *bericht.Tree
	h              bericht.Header
	dagtekening    date
	hasDagtekening bool
	dagIdx         int // the header's Dagtekening element, -1 if absent
	rule           *Rule
	out            []Finding
}

// fail records a breach of the current rule at element i. The finding's
// text is element i with its line, then what format and args say is wrong
// with it; args may name elements (el) and constants of the standard, never
// a value of the message.
func (c *checker) fail(i int, format string, args ...any) {
	c.out = append(c.out, Finding{
		Rule:       c.rule.Code,
		Retourcode: c.rule.Retourcode,
		Path:       c.t.Path(i),
		Line:       c.t.Line(i),
		Element:    i,
		Text:       c.el(i) + " " + fmt.Sprintf(format, args...),
	})
}

// el names element i for a finding's text: its name and line,
// "Einddatum (line 37)".
func (c *checker) el(i int) string {
	if i < 0 {
		return "(absent)"
	}
	if l := c.t.Line(i); l > 0 {
		return fmt.Sprintf("%s (line %d)", c.t.Name(i), l)
	}
	return c.t.Name(i)
}

// lineOf is " (line N)" for element i, "" when unknown.
func (c *checker) lineOf(i int) string {
	if i < 0 || c.t.Line(i) == 0 {
		return ""
	}
	return fmt.Sprintf(" (line %d)", c.t.Line(i))
}

// dag names the message's Dagtekening for a finding's text.
func (c *checker) dag() string {
	if c.dagIdx < 0 {
		return "Dagtekening"
	}
	return c.el(c.dagIdx)
}

// each calls fn for every element named name, in document order.
func (c *checker) each(name string, fn func(i int)) {
	for i := range c.t.All(0, name) {
		fn(i)
	}
}

// val is the trimmed text of the element at path under i, and whether it
// is present.
func (c *checker) val(i int, path ...string) (string, bool) { return c.t.Value(i, path...) }

// has tells whether the element at path under i is present.
func (c *checker) has(i int, path ...string) bool { return c.t.Child(i, path...) >= 0 }

// at is the element at path under i, or i itself when it is absent: the
// place to report a rule about that element.
func (c *checker) at(i int, path ...string) int {
	if j := c.t.Child(i, path...); j >= 0 {
		return j
	}
	return i
}

// dateAt is the date at path under i, if present and readable.
func (c *checker) dateAt(i int, path ...string) (date, bool) {
	v, ok := c.val(i, path...)
	if !ok {
		return date{}, false
	}
	return parseDate(v)
}

// soorten names the berichtsoorten of both standards with these numbers:
// soorten("301", "305") is WMO301, JW301, WMO305, JW305.
func soorten(numbers ...string) []string {
	out := make([]string, 0, 2*len(numbers))
	for _, n := range numbers {
		out = append(out, "WMO"+n, "JW"+n)
	}
	return out
}
