// Package mutation derives variants of an iWmo/iJw message, one class of
// XSD violation at a time: elements removed, duplicated or moved, values
// pushed to and past their pattern, codelist, length or range, a wrong
// namespace, a time zone on a date, an emptied element, unknown content.
//
// Each class also yields variants that stay valid (an optional element
// removed, a repeatable one duplicated, a value at its bound, the same
// namespace under another prefix, a comment), so a test built on it sees
// both verdicts. The package does not judge: callers validate the variants
// (the differential test of package bericht compares the project's schemas
// with the official ones on them; the conformance suite reuses the classes).
//
// Variants are deterministic for a given *rand.Rand seed. The package is
// for tests and tools, not for the message path: it uses etree.
package mutation

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/beevik/etree"

	"github.com/knooppunt/knooppunt/bericht"
)

// Class is a kind of change to a message.
type Class string

// The classes of change, in the order Classes returns them.
const (
	Remove      Class = "remove"      // an element removed
	Duplicate   Class = "duplicate"   // an element repeated right after itself
	Move        Class = "move"        // an element moved among its siblings or to a same-named parent
	Pattern     Class = "pattern"     // a value edited around its pattern
	Enumeration Class = "enumeration" // a codelist value replaced, by a listed or unlisted one
	Length      Class = "length"      // a value at and past its length bounds
	Range       Class = "range"       // a number at and past its range, in several lexical forms
	Namespace   Class = "namespace"   // an element in another namespace, or the same under another prefix
	TimeZone    Class = "timezone"    // a time zone on a date or time, or another date or time
	Empty       Class = "empty"       // an element emptied of content
	Unknown     Class = "unknown"     // unknown content inserted: element, attribute, comment
)

// Classes returns every class.
func Classes() []Class {
	return []Class{Remove, Duplicate, Move, Pattern, Enumeration, Length, Range, Namespace, TimeZone, Empty, Unknown}
}

// Mutation is one variant of a message.
type Mutation struct {
	Class Class
	// What says what changed: "remove Bericht/Client/Commentaar". It may
	// quote the new value, so it is for test output only.
	What string
	// Doc is the variant, serialised.
	Doc []byte
}

// Mutator makes variants of one message.
type Mutator struct {
	soort bericht.Soort
	doc   *etree.Document
	model map[string]*bericht.Element // the model's elements by path
}

// New prepares variants of doc, a message of berichtsoort s. The model's
// element tree tells it which elements are leaves and what their facets
// are; elements the model does not know are still removed, moved and so
// on, only not given typed values.
func New(s bericht.Soort, doc []byte) (*Mutator, error) {
	d := etree.NewDocument()
	if err := d.ReadFromBytes(doc); err != nil {
		return nil, fmt.Errorf("reading %s message: %w", s.Name, err)
	}
	if d.Root() == nil {
		return nil, fmt.Errorf("reading %s message: no root element", s.Name)
	}
	m := &Mutator{soort: s, doc: d, model: map[string]*bericht.Element{}}
	if root := bericht.Structure(s); root != nil {
		root.Walk(func(e *bericht.Element) bool {
			m.model[e.Path] = e
			return true
		})
	}
	return m, nil
}

// change is one class's way of changing a message: which elements it can
// target, and what it does to a target. elems are all elements of the
// document, root first.
type change struct {
	targets func(elems []*etree.Element) []*etree.Element
	apply   func(rng *rand.Rand, e *etree.Element, elems []*etree.Element) (string, bool)
}

func (m *Mutator) change(c Class) (change, bool) {
	all := func(elems []*etree.Element) []*etree.Element { return elems }
	below := func(elems []*etree.Element) []*etree.Element { return elems[1:] }
	ch, ok := map[Class]change{
		Remove:      {below, remove},
		Duplicate:   {below, duplicate},
		Move:        {below, move},
		Pattern:     m.value(patternValues, func(f facets) bool { return len(f.patterns) > 0 && len(f.enum) == 0 }),
		Enumeration: m.value(enumerationValues, func(f facets) bool { return len(f.enum) > 0 }),
		Length:      m.value(lengthValues, func(f facets) bool { return f.minLength > 0 || f.maxLength > 0 }),
		Range:       m.value(rangeValues, func(f facets) bool { return f.minInclusive != "" || f.maxInclusive != "" }),
		Namespace:   {all, m.namespace},
		TimeZone:    m.value(timeValues, func(f facets) bool { return f.primitive == "xs:date" || f.primitive == "xs:time" }),
		Empty:       {all, empty},
		Unknown:     {all, unknown},
	}[c]
	return ch, ok
}

// Mutate makes one variant of class c at a target chosen by rng. It
// returns false when the message offers nothing to apply c to (a message
// without dates has no time zone to add).
func (m *Mutator) Mutate(c Class, rng *rand.Rand) (Mutation, bool) {
	ch, ok := m.change(c)
	if !ok {
		return Mutation{}, false
	}
	doc, elems := m.copy()
	targets := ch.targets(elems)
	if len(targets) == 0 {
		return Mutation{}, false
	}
	return m.finish(c, ch, rng, doc, pick(rng, targets), elems)
}

// MutateEach makes one variant of class c for every element c can target,
// in document order: every element removed in turn, every leaf with a
// pattern given an edited value, and so on. rng chooses the details.
func (m *Mutator) MutateEach(c Class, rng *rand.Rand) []Mutation {
	ch, ok := m.change(c)
	if !ok {
		return nil
	}
	_, elems := m.copy()
	n := len(ch.targets(elems))
	out := make([]Mutation, 0, n)
	for i := range n {
		doc, elems := m.copy()
		if mu, ok := m.finish(c, ch, rng, doc, ch.targets(elems)[i], elems); ok {
			out = append(out, mu)
		}
	}
	return out
}

// copy returns a fresh copy of the message and its elements, root first.
func (m *Mutator) copy() (*etree.Document, []*etree.Element) {
	doc := m.doc.Copy()
	var elems []*etree.Element
	walk(doc.Root(), func(e *etree.Element) { elems = append(elems, e) })
	return doc, elems
}

func (m *Mutator) finish(c Class, ch change, rng *rand.Rand, doc *etree.Document, target *etree.Element, elems []*etree.Element) (Mutation, bool) {
	what, ok := ch.apply(rng, target, elems)
	if !ok {
		return Mutation{}, false
	}
	out, err := doc.WriteToBytes()
	if err != nil {
		return Mutation{}, false
	}
	return Mutation{Class: c, What: string(c) + " " + what, Doc: out}, true
}

func walk(e *etree.Element, fn func(*etree.Element)) {
	fn(e)
	for _, c := range e.ChildElements() {
		walk(c, fn)
	}
}

// path is the element's path of local names from the root, as in
// bericht.Element.Path.
func path(e *etree.Element) string {
	var parts []string
	for ; e != nil && e.Tag != ""; e = e.Parent() {
		parts = append(parts, e.Tag)
	}
	for i, j := 0, len(parts)-1; i < j; i, j = i+1, j-1 {
		parts[i], parts[j] = parts[j], parts[i]
	}
	return strings.Join(parts, "/")
}

func pick[T any](rng *rand.Rand, xs []T) T { return xs[rng.IntN(len(xs))] }

func remove(_ *rand.Rand, e *etree.Element, _ []*etree.Element) (string, bool) {
	p := path(e)
	e.Parent().RemoveChild(e)
	return p, true
}

func duplicate(_ *rand.Rand, e *etree.Element, _ []*etree.Element) (string, bool) {
	e.Parent().InsertChildAt(e.Index()+1, e.Copy())
	return path(e), true
}

// move takes an element out and puts it elsewhere among its siblings, or
// into another element of the same path as its parent (another
// ToegewezenProduct, say).
func move(rng *rand.Rand, e *etree.Element, elems []*etree.Element) (string, bool) {
	from := e.Parent()
	var parents []*etree.Element
	for _, o := range elems {
		if path(o) == path(from) {
			parents = append(parents, o)
		}
	}
	to := pick(rng, parents)
	old := indexAmong(e)
	siblings := slices.DeleteFunc(to.ChildElements(), func(s *etree.Element) bool { return s == e })
	var positions []int
	for k := 0; k <= len(siblings); k++ {
		if to != from || k != old {
			positions = append(positions, k)
		}
	}
	if len(positions) == 0 {
		return "", false
	}
	k := pick(rng, positions)
	what := fmt.Sprintf("%s to position %d of %s", path(e), k, path(to))
	from.RemoveChild(e)
	if k == len(siblings) {
		to.AddChild(e)
	} else {
		to.InsertChildAt(siblings[k].Index(), e)
	}
	return what, true
}

// indexAmong is e's position among its parent's child elements.
func indexAmong(e *etree.Element) int {
	return slices.Index(e.Parent().ChildElements(), e)
}

// empty takes an element's content away: its text or its children. A
// complex element whose children are all optional (a period, an address)
// stays valid.
func empty(_ *rand.Rand, e *etree.Element, _ []*etree.Element) (string, bool) {
	for len(e.Child) > 0 {
		e.RemoveChildAt(0)
	}
	return path(e), true
}

// unknown puts content the schemas do not declare into or onto e.
func unknown(rng *rand.Rand, e *etree.Element, _ []*etree.Element) (string, bool) {
	at := len(e.Child)
	if kids := e.ChildElements(); len(kids) > 0 {
		at = pick(rng, kids).Index()
	}
	switch rng.IntN(5) {
	case 0:
		x := etree.NewElement("Onbekend")
		x.Space = e.Space
		x.SetText("1")
		e.InsertChildAt(at, x)
		return "element Onbekend in " + path(e), true
	case 1:
		x := etree.NewElement("Onbekend")
		x.Space = "x"
		x.CreateAttr("xmlns:x", "urn:knooppunt:onbekend")
		e.InsertChildAt(at, x)
		return "foreign element x:Onbekend in " + path(e), true
	case 2:
		e.CreateAttr("Onbekend", "1")
		return "attribute Onbekend on " + path(e), true
	case 3:
		e.InsertChildAt(at, etree.NewComment(" opmerking "))
		return "comment in " + path(e), true
	default:
		e.CreateAttr("xmlns:ongebruikt", "urn:knooppunt:ongebruikt")
		return "unused namespace declaration on " + path(e), true
	}
}

// namespace puts an element in another namespace, or in its own under a
// new prefix.
func (m *Mutator) namespace(rng *rand.Rand, e *etree.Element, _ []*etree.Element) (string, bool) {
	ns := e.NamespaceURI()
	basis := bericht.BasisNamespace(m.soort.Standard, m.soort.Release)
	other := map[bericht.Standard]bericht.Standard{bericht.IWmo: bericht.IJw, bericht.IJw: bericht.IWmo}[m.soort.Standard]
	choices := []struct{ what, ns string }{
		{"same namespace, new prefix", ns},
		{"basisschema namespace", basis},
		{"message namespace", m.soort.Namespace},
		{"other standard", strings.NewReplacer(
			"/"+string(m.soort.Standard)+"/", "/"+string(other)+"/",
			"/wmo", "/jw", "/jw", "/wmo").Replace(ns)},
		{"release 3.1", strings.Replace(ns, "/3_2/", "/3_1/", 1)},
		{"no namespace", ""},
	}
	c := pick(rng, choices)
	if c.ns == "" {
		e.Space = ""
		e.CreateAttr("xmlns", "")
	} else {
		e.Space = "k"
		e.CreateAttr("xmlns:k", c.ns)
	}
	return fmt.Sprintf("%s: %s", path(e), c.what), true
}

// facets gathers the facets along a simple type's restriction chain.
type facets struct {
	primitive                  string
	patterns                   []string
	enum                       []string
	minLength, maxLength       int
	minInclusive, maxInclusive string
}

func facetsOf(t *bericht.SimpleType) facets {
	f := facets{primitive: t.Primitive()}
	for ; t != nil; t = t.BaseType {
		f.patterns = append(f.patterns, t.Patterns...)
		if f.enum == nil {
			f.enum = t.Enumeration
		}
		f.minLength = max(f.minLength, t.MinLength)
		if t.MaxLength > 0 && (f.maxLength == 0 || t.MaxLength < f.maxLength) {
			f.maxLength = t.MaxLength
		}
		if f.minInclusive == "" {
			f.minInclusive = t.MinInclusive
		}
		if f.maxInclusive == "" {
			f.maxInclusive = t.MaxInclusive
		}
	}
	return f
}

// value is the change that gives a leaf selected by want a value from
// values.
func (m *Mutator) value(values func(rng *rand.Rand, v string, f facets) []string, want func(facets) bool) change {
	leaf := func(e *etree.Element) (facets, bool) {
		me := m.model[path(e)]
		if me == nil || me.Type == nil || len(e.ChildElements()) > 0 {
			return facets{}, false
		}
		f := facetsOf(me.Type)
		return f, want(f)
	}
	return change{
		targets: func(elems []*etree.Element) []*etree.Element {
			return slices.DeleteFunc(slices.Clone(elems), func(e *etree.Element) bool {
				_, ok := leaf(e)
				return !ok
			})
		},
		apply: func(rng *rand.Rand, e *etree.Element, _ []*etree.Element) (string, bool) {
			f, _ := leaf(e)
			v := pick(rng, values(rng, e.Text(), f))
			e.SetText(v)
			return fmt.Sprintf("%s = %q", path(e), v), true
		},
	}
}

func patternValues(_ *rand.Rand, v string, f facets) []string {
	out := []string{v + "X", "X" + v, " " + v, v + " ", strings.Repeat(" ", max(1, len(v))), v + v, "é" + v}
	if r, size := utf8.DecodeRuneInString(v); size > 0 {
		out = append(out, v[size:], string(r)+v, shiftRune(r)+v[size:])
	}
	return out
}

// shiftRune returns a different rune of the same kind: a digit for a
// digit, a letter for a letter.
func shiftRune(r rune) string {
	switch {
	case r >= '0' && r <= '8', r >= 'a' && r <= 'y', r >= 'A' && r <= 'Y':
		return string(r + 1)
	case r == '9':
		return "0"
	}
	return "a"
}

func enumerationValues(rng *rand.Rand, v string, f facets) []string {
	listed := pick(rng, f.enum)
	return []string{listed, listed, pick(rng, f.enum), "ZZ", v + "0", " " + v, strings.ToLower(v) + "x", "99", ""}
}

func lengthValues(_ *rand.Rand, v string, f facets) []string {
	fill := func(n int) string {
		if n <= 0 {
			return ""
		}
		r, size := utf8.DecodeRuneInString(v)
		if size == 0 {
			r = 'a'
		}
		return strings.Repeat(string(r), n)
	}
	var out []string
	if f.maxLength > 0 {
		out = append(out, fill(f.maxLength), fill(f.maxLength+1), fill(f.maxLength-1))
	}
	if f.minLength > 0 {
		out = append(out, fill(f.minLength), fill(f.minLength-1))
	}
	return out
}

func rangeValues(_ *rand.Rand, v string, f facets) []string {
	out := []string{"+" + v, "0" + v, " " + v + " ", v + ".0", "-0", "1e2"}
	for _, bound := range []string{f.minInclusive, f.maxInclusive} {
		if n, err := strconv.ParseInt(bound, 10, 64); err == nil {
			out = append(out, bound, strconv.FormatInt(n-1, 10), strconv.FormatInt(n+1, 10))
		}
	}
	return out
}

func timeValues(_ *rand.Rand, v string, f facets) []string {
	out := []string{v + "Z", v + "+01:00", v + "-05:30", v + "+14:00", v + " "}
	if f.primitive == "xs:date" {
		return append(out, "2024-02-29", "2023-02-29", "2024-13-01", "2024-1-01", "20240101", "0000-01-01")
	}
	return append(out, v+".5", "24:00:00", "23:59:60", "12:00", "12:00:00.123456")
}
