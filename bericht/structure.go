package bericht

import (
	"embed"
	"fmt"
	"io/fs"
	"strings"
	"sync"
)

// modelFS holds the compact model of each standard (see model.go).
//
//go:embed model/*.model
var modelFS embed.FS

// Element is one element of a berichtsoort's tree: the root element, a
// berichtklasse such as Client, or a leaf with a simple type. The trees are
// built once and shared: callers must not modify them.
type Element struct {
	// Name is the local name, Namespace the namespace the element is in:
	// the message namespace for elements of the message's own types, the
	// basisschema namespace for children of CDT types.
	Name, Namespace string
	// Path is the slash-separated path from the root: "Bericht/Client/Bsn".
	Path string
	// Min and Max are the cardinality within the parent; Max -1 is
	// unbounded.
	Min, Max int
	// TypeName is the declared type, "LDT_Datum", "CDT_Adres" or a type of
	// the message schema such as "Client"; "" for an inline restriction.
	TypeName string
	// Type is the simple type of a leaf, nil for a complex element.
	Type *SimpleType
	// Children are the elements of a complex element's sequence, in order.
	Children []*Element
}

// Child returns the child element called name, or nil.
func (e *Element) Child(name string) *Element {
	for _, c := range e.Children {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// Walk calls fn for e and its descendants, parents before children, and
// does not descend below an element for which fn returns false.
func (e *Element) Walk(fn func(*Element) bool) {
	if !fn(e) {
		return
	}
	for _, c := range e.Children {
		c.Walk(fn)
	}
}

// catalogue is everything read from the embedded models at init.
type catalogue struct {
	models []*model
	trees  map[string]*Element // by berichtsoort name
}

// loaded parses the models on first use. It is not a package variable
// initialiser because the catalogue of berichtsoorten it checks against is
// filled by an init function, and those run after variable initialisers.
var loaded = sync.OnceValue(func() *catalogue {
	c, err := load(modelFS)
	if err != nil {
		// The models are part of the binary and covered by tests; a
		// broken one is a build defect, not bad input.
		panic(err)
	}
	return c
})

// load reads every model/*.model file of fsys.
func load(fsys fs.FS) (*catalogue, error) {
	entries, err := fs.ReadDir(fsys, "model")
	if err != nil {
		return nil, fmt.Errorf("reading embedded models: %w", err)
	}
	c := &catalogue{trees: map[string]*Element{}}
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".model") {
			continue
		}
		data, err := fs.ReadFile(fsys, "model/"+e.Name())
		if err != nil {
			return nil, fmt.Errorf("reading model %s: %w", e.Name(), err)
		}
		m, err := parseModel(e.Name(), data)
		if err != nil {
			return nil, err
		}
		c.models = append(c.models, m)
		for _, s := range m.messages {
			root := m.lookup(s, s.rootType).(*complexType)
			c.trees[s.name] = m.tree(s, root, s.rootName, s.rootName, 1, 1, s.namespace)
		}
	}
	for _, s := range All() {
		if c.trees[s.Name] == nil {
			return nil, fmt.Errorf("no model for %s", s)
		}
	}
	return c, nil
}

// tree expands complex type ct, as seen from schema s, into an element.
func (m *model) tree(s *schema, ct *complexType, name, path string, min, max int, ns string) *Element {
	e := &Element{Name: name, Namespace: ns, Path: path, Min: min, Max: max, TypeName: ct.name}
	owner := m.owner(s, ct)
	for _, f := range ct.fields {
		childPath := path + "/" + f.name
		if child, ok := m.lookup(owner, f.typeName).(*complexType); ok {
			e.Children = append(e.Children, m.tree(owner, child, f.name, childPath, f.min, f.max, ct.namespace))
			continue
		}
		leaf := &Element{Name: f.name, Namespace: ct.namespace, Path: childPath, Min: f.min, Max: f.max, TypeName: f.typeName}
		if f.inline != nil {
			leaf.Type, leaf.TypeName = f.inline, ""
		} else {
			leaf.Type = m.lookup(owner, f.typeName).(*SimpleType)
		}
		e.Children = append(e.Children, leaf)
	}
	return e
}

// Structure returns the element tree of berichtsoort s, rooted at its
// Bericht element, or nil for an unknown Soort. The tree is shared and
// read-only.
func Structure(s Soort) *Element {
	return loaded().trees[s.Name]
}

// Berichtklassen returns the elements of an answering message (a
// retourbericht or a 325) that carry RetourCodes, in document order: the
// berichtklassen the answer reports on (Header, Client, ToegewezenProduct,
// …). It returns nil for a soort without RetourCodes.
func Berichtklassen(s Soort) []*Element {
	root := Structure(s)
	if root == nil {
		return nil
	}
	var klassen []*Element
	root.Walk(func(e *Element) bool {
		if e.Child("RetourCodes") != nil {
			klassen = append(klassen, e)
		}
		return true
	})
	return klassen
}

// XsdVersie returns the versions a sender of berichtsoort s fills in the
// header's XsdVersie (rule IV034): BasisschemaXsdVersie and
// BerichtXsdVersie. Both are "" for an unknown Soort.
func XsdVersie(s Soort) (basisschema, bericht string) {
	for _, m := range loaded().models {
		if m.standard == s.Standard && m.release == s.Release {
			if ms := m.message(s.Name); ms != nil {
				return ms.basis.Versie, ms.versie.Versie
			}
		}
	}
	return "", ""
}
