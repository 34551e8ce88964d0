package bericht

// This file reads the project's compact model of the message schemas,
// bericht/model/<standard>-<release>.model. The format, line by line:
//
//	# comment                      a line whose first non-blank is '#'
//	standard iwmo 3.2              the standard and release of the file (first)
//	schema basisschema             starts the basisschema (before any message)
//	schema WMO301                  starts the schema of one berichtsoort
//	versie 1.0.0 1.0.0 1.0.0       the schema's XSD version, minimum, maximum
//	basisschema 1.0.0 1.0.0 1.0.0  (message) the basisschema version it builds on
//	root Bericht Root              (message) the root element and its type
//	complex CDT_Adres              a complex type: a sequence of elements
//		Huis? CDT_Huis             element Name, cardinality suffix, type
//		Postcode? LDT_Postcode
//	simple LDT_Postcode xs:string  a simple type restricting a built-in type
//		minLength 6                facets, one per line
//		pattern [1-9][0-9]{3}[A-Z]{2}
//
// A cardinality suffix is none (exactly one), '?' (0..1), '*' (0..n) or
// '+' (1..n). An element line may carry facet lines one tab deeper: they
// restrict the element's simple type inline (an anonymous restriction), as
// the header's BerichtCode does. Facets are minLength, maxLength, pattern
// (the rest of the line, verbatim), enumeration (space-separated values;
// the line may repeat), minInclusive and maxInclusive. Several patterns in
// one restriction are alternatives, as in XSD. Trailing blanks are not
// significant, so no pattern may end in one and no codelist value may hold
// one; none of release 3.2 does.
//
// Types a schema declares live in its namespace and so do the elements of
// its complex types (elementFormDefault is qualified): children of a CDT
// type are in the basisschema namespace, children of a message's own types
// in the message namespace. A type name resolves to the schema's own types
// first, then to the basisschema's.

import (
	"bufio"
	"bytes"
	"fmt"
	"strconv"
	"strings"
)

// SimpleType is a simple type of the model: a named LDT type of the
// basisschema, or the anonymous restriction an element declares inline.
// Types are shared by the element trees: callers must not modify them.
type SimpleType struct {
	// Name is "" for an anonymous restriction.
	Name string
	// Namespace is the target namespace of the schema that declares it.
	Namespace string
	// Base is the restricted type: a built-in ("xs:string", "xs:integer",
	// "xs:date", "xs:time") or the name of another SimpleType.
	Base string
	// BaseType is the restricted SimpleType, nil when Base is a built-in.
	// A value must satisfy the facets of every type along the chain.
	BaseType *SimpleType
	// MinLength and MaxLength bound the length in characters; 0 means the
	// facet is absent.
	MinLength, MaxLength int
	// Patterns are XSD regular expressions; a value must match one of them.
	Patterns []string
	// Enumeration lists the allowed values, when the type is a codelist.
	Enumeration []string
	// MinInclusive and MaxInclusive bound a numeric value; "" when absent.
	MinInclusive, MaxInclusive string
}

// Primitive returns the built-in XSD type at the root of the restriction
// chain, e.g. "xs:date" for LDT_Datum.
func (t *SimpleType) Primitive() string {
	for t.BaseType != nil {
		t = t.BaseType
	}
	return t.Base
}

// builtins are the XSD types the model may restrict: those release 3.2
// uses.
var builtins = map[string]bool{"xs:string": true, "xs:integer": true, "xs:date": true, "xs:time": true}

// versions is the XSD version of a schema with the range a receiver
// accepts.
type versions struct{ Versie, Min, Max string }

// field is one element of a complex type's sequence.
type field struct {
	name     string
	min, max int // max -1: unbounded
	typeName string
	inline   *SimpleType // facets declared on the element itself, or nil
	line     int
}

// complexType is a named sequence of elements.
type complexType struct {
	name, namespace string
	fields          []field
	line            int
}

// schema is one schema document of the model: the basisschema or the
// schema of one berichtsoort.
type schema struct {
	name      string // "basisschema" or the berichtsoort, "WMO301"
	namespace string
	versie    versions
	basis     versions // message schemas: the basisschema they build on
	rootName  string   // message schemas: the root element, "Bericht"
	rootType  string
	complexes []*complexType
	simples   []*SimpleType
	types     map[string]any // *complexType or *SimpleType by name
}

// model is one standard's model file, parsed and resolved.
type model struct {
	file     string
	standard Standard
	release  string
	basis    *schema
	messages []*schema
}

// lookup resolves a type name as seen from schema s.
func (m *model) lookup(s *schema, name string) any {
	if t, ok := s.types[name]; ok {
		return t
	}
	return m.basis.types[name]
}

// parseModel reads one model file. It checks the file against the
// catalogue of berichtsoorten, so a model that parses is complete.
func parseModel(file string, data []byte) (*model, error) {
	p := &modelParser{m: &model{file: file}}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for sc.Scan() {
		p.line++
		if err := p.parseLine(sc.Text()); err != nil {
			return nil, fmt.Errorf("model %s:%d: %w", file, p.line, err)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading model %s: %w", file, err)
	}
	if err := p.m.resolve(); err != nil {
		return nil, fmt.Errorf("model %s: %w", file, err)
	}
	return p.m, nil
}

// modelParser holds the state of reading one file: the schema, complex
// type or simple type that indented lines belong to.
type modelParser struct {
	m       *model
	line    int
	schema  *schema
	complex *complexType
	simple  *SimpleType // the type facet lines restrict
}

func (p *modelParser) parseLine(text string) error {
	text = strings.TrimRight(text, " \t\r")
	body := strings.TrimLeft(text, "\t")
	depth := len(text) - len(body)
	if body == "" || body[0] == '#' {
		return nil
	}
	if body[0] == ' ' {
		return fmt.Errorf("indent with tabs, not spaces")
	}
	word, rest, _ := strings.Cut(body, " ")
	switch depth {
	case 0:
		p.complex, p.simple = nil, nil
		return p.directive(word, strings.Fields(rest))
	case 1:
		switch {
		case p.complex != nil:
			p.simple = nil
			return p.element(word, strings.Fields(rest))
		case p.simple != nil:
			return p.facet(p.simple, word, rest)
		}
		return fmt.Errorf("indented line outside a complex or simple type")
	case 2:
		if p.complex == nil || p.simple == nil {
			return fmt.Errorf("facet line without an element to restrict")
		}
		return p.facet(p.simple, word, rest)
	}
	return fmt.Errorf("indented too deep")
}

func (p *modelParser) directive(word string, args []string) error {
	m, s := p.m, p.schema
	if word != "standard" && m.standard == "" {
		return fmt.Errorf("the first directive must be standard")
	}
	need := func(n int) error {
		if len(args) != n {
			return fmt.Errorf("%s takes %d arguments, got %d", word, n, len(args))
		}
		return nil
	}
	inMessage := func() error {
		if s == nil || s == m.basis {
			return fmt.Errorf("%s belongs in a message schema", word)
		}
		return nil
	}
	switch word {
	case "standard":
		if err := need(2); err != nil {
			return err
		}
		if m.standard != "" {
			return fmt.Errorf("standard given twice")
		}
		m.standard, m.release = Standard(args[0]), args[1]
	case "schema":
		if err := need(1); err != nil {
			return err
		}
		s = &schema{name: args[0], types: map[string]any{}}
		if args[0] == "basisschema" {
			if m.basis != nil {
				return fmt.Errorf("basisschema given twice")
			}
			s.namespace = BasisNamespace(m.standard, m.release)
			m.basis = s
		} else {
			if m.basis == nil {
				return fmt.Errorf("schema basisschema must come before the messages")
			}
			soort, ok := Lookup(args[0])
			if !ok || soort.Standard != m.standard || soort.Release != m.release {
				return fmt.Errorf("schema %s is no berichtsoort of %s %s", args[0], m.standard, m.release)
			}
			for _, o := range m.messages {
				if o.name == soort.Name {
					return fmt.Errorf("schema %s given twice", soort.Name)
				}
			}
			s.name, s.namespace = soort.Name, soort.Namespace
			m.messages = append(m.messages, s)
		}
		p.schema = s
	case "versie", "basisschema":
		if err := need(3); err != nil {
			return err
		}
		if s == nil {
			return fmt.Errorf("%s outside a schema", word)
		}
		v := versions{args[0], args[1], args[2]}
		if word == "versie" {
			s.versie = v
			break
		}
		if err := inMessage(); err != nil {
			return err
		}
		s.basis = v
	case "root":
		if err := need(2); err != nil {
			return err
		}
		if err := inMessage(); err != nil {
			return err
		}
		s.rootName, s.rootType = args[0], args[1]
	case "complex":
		if err := need(1); err != nil {
			return err
		}
		if s == nil {
			return fmt.Errorf("complex outside a schema")
		}
		c := &complexType{name: args[0], namespace: s.namespace, line: p.line}
		if err := s.declare(c.name, c); err != nil {
			return err
		}
		s.complexes = append(s.complexes, c)
		p.complex = c
	case "simple":
		if err := need(2); err != nil {
			return err
		}
		if s == nil {
			return fmt.Errorf("simple outside a schema")
		}
		t := &SimpleType{Name: args[0], Namespace: s.namespace, Base: args[1]}
		if err := s.declare(t.Name, t); err != nil {
			return err
		}
		s.simples = append(s.simples, t)
		p.simple = t
	default:
		return fmt.Errorf("unknown directive %q", word)
	}
	return nil
}

func (s *schema) declare(name string, t any) error {
	if _, dup := s.types[name]; dup {
		return fmt.Errorf("type %s declared twice in %s", name, s.name)
	}
	s.types[name] = t
	return nil
}

// element reads "Name[?*+] Type" inside a complex type.
func (p *modelParser) element(word string, args []string) error {
	if len(args) != 1 {
		return fmt.Errorf("element %s: want \"Name[?*+] Type\"", word)
	}
	f := field{name: word, min: 1, max: 1, typeName: args[0], line: p.line}
	switch word[len(word)-1] {
	case '?':
		f.min = 0
	case '*':
		f.min, f.max = 0, -1
	case '+':
		f.max = -1
	}
	f.name = strings.TrimRight(word, "?*+")
	if f.name == "" || len(word)-len(f.name) > 1 {
		return fmt.Errorf("element %q: bad name or cardinality", word)
	}
	for _, o := range p.complex.fields {
		if o.name == f.name {
			return fmt.Errorf("element %s given twice in %s", f.name, p.complex.name)
		}
	}
	p.complex.fields = append(p.complex.fields, f)
	// Facet lines that follow restrict this element's type inline.
	p.simple = &SimpleType{Namespace: p.complex.namespace, Base: f.typeName}
	return nil
}

// facet adds one facet line to t.
func (p *modelParser) facet(t *SimpleType, word, rest string) error {
	if p.complex != nil {
		// The first facet under an element makes its restriction real.
		f := &p.complex.fields[len(p.complex.fields)-1]
		f.inline = t
	}
	if rest == "" {
		return fmt.Errorf("facet %s without a value", word)
	}
	number := func() (int, error) {
		n, err := strconv.Atoi(rest)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("%s %q: want a non-negative integer", word, rest)
		}
		return n, nil
	}
	var err error
	switch word {
	case "minLength":
		t.MinLength, err = number()
	case "maxLength":
		t.MaxLength, err = number()
	case "pattern":
		t.Patterns = append(t.Patterns, rest)
	case "enumeration":
		t.Enumeration = append(t.Enumeration, strings.Fields(rest)...)
	case "minInclusive":
		t.MinInclusive = rest
	case "maxInclusive":
		t.MaxInclusive = rest
	default:
		return fmt.Errorf("unknown facet %q", word)
	}
	return err
}

// resolve links every type reference and checks the model is complete:
// a basisschema and a schema for every berichtsoort of the standard.
func (m *model) resolve() error {
	if m.basis == nil {
		return fmt.Errorf("no schema basisschema")
	}
	for _, s := range append([]*schema{m.basis}, m.messages...) {
		if s.versie.Versie == "" {
			return fmt.Errorf("schema %s: no versie", s.name)
		}
		for _, t := range s.simples {
			if err := m.resolveSimple(s, t); err != nil {
				return fmt.Errorf("simple %s: %w", t.Name, err)
			}
		}
		for _, c := range s.complexes {
			for i := range c.fields {
				if err := m.resolveField(s, &c.fields[i]); err != nil {
					return fmt.Errorf("line %d: complex %s, element %s: %w", c.fields[i].line, c.name, c.fields[i].name, err)
				}
			}
		}
		if s == m.basis {
			continue
		}
		if s.basis.Versie == "" || s.rootName == "" {
			return fmt.Errorf("schema %s: basisschema and root are required", s.name)
		}
		if _, ok := m.lookup(s, s.rootType).(*complexType); !ok {
			return fmt.Errorf("schema %s: root type %s is not a complex type", s.name, s.rootType)
		}
	}
	for _, soort := range All() {
		if soort.Standard == m.standard && soort.Release == m.release && m.message(soort.Name) == nil {
			return fmt.Errorf("no schema for %s", soort.Name)
		}
	}
	return m.checkAcyclic()
}

func (m *model) resolveSimple(s *schema, t *SimpleType) error {
	// Named types restrict a built-in; only an element's inline
	// restriction builds on a named type, so chains are one deep.
	if !builtins[t.Base] {
		return fmt.Errorf("base %s is no built-in type", t.Base)
	}
	return nil
}

func (m *model) resolveField(s *schema, f *field) error {
	switch t := m.lookup(s, f.typeName).(type) {
	case *complexType:
		if f.inline != nil {
			return fmt.Errorf("facets on complex type %s", t.name)
		}
	case *SimpleType:
		if f.inline != nil {
			f.inline.BaseType = t
		}
	default:
		if !builtins[f.typeName] {
			return fmt.Errorf("unknown type %s", f.typeName)
		}
		if f.inline != nil {
			return nil
		}
		// A bare built-in: model it as an unrestricted simple type.
		f.inline = &SimpleType{Namespace: s.namespace, Base: f.typeName}
	}
	return nil
}

// checkAcyclic rejects a complex type that contains itself, so that the
// element trees are finite.
func (m *model) checkAcyclic() error {
	state := map[*complexType]int{} // 1 visiting, 2 done
	var visit func(s *schema, c *complexType) error
	visit = func(s *schema, c *complexType) error {
		switch state[c] {
		case 1:
			return fmt.Errorf("complex %s contains itself", c.name)
		case 2:
			return nil
		}
		state[c] = 1
		for _, f := range c.fields {
			if child, ok := m.lookup(s, f.typeName).(*complexType); ok {
				if err := visit(m.owner(s, child), child); err != nil {
					return err
				}
			}
		}
		state[c] = 2
		return nil
	}
	for _, s := range append([]*schema{m.basis}, m.messages...) {
		for _, c := range s.complexes {
			if err := visit(s, c); err != nil {
				return err
			}
		}
	}
	return nil
}

// owner returns the schema that declares c as seen from s.
func (m *model) owner(s *schema, c *complexType) *schema {
	if s.types[c.name] == c {
		return s
	}
	return m.basis
}

// message returns the schema of berichtsoort name, or nil.
func (m *model) message(name string) *schema {
	for _, s := range m.messages {
		if s.name == name {
			return s
		}
	}
	return nil
}
