package rules

import (
	"strings"
	"testing"

	"github.com/beevik/etree"
	"github.com/knooppunt/knooppunt/bericht"
	"github.com/knooppunt/knooppunt/sample"
	"github.com/stretchr/testify/require"
)

// draft is a generated message being edited into a test case. Edits keep
// the element order and namespaces of the schema, so the result still passes
// the XSD and only the rule under test can object.
type draft struct {
	t     testing.TB
	soort bericht.Soort
	doc   *etree.Document
}

// generate makes a valid message of berichtsoort name with the sample
// generator and opens it for editing.
func generate(t testing.TB, name string, opt sample.Options) *draft {
	t.Helper()
	s := soort(t, name)
	m, err := sample.New(11).Generate(s, opt)
	require.NoError(t, err)
	doc := etree.NewDocument()
	require.NoError(t, doc.ReadFromBytes(m.XML))
	return &draft{t: t, soort: s, doc: doc}
}

// all returns the elements matching an etree path ("//ToegewezenProduct").
func (d *draft) all(path string) []*etree.Element { return d.doc.FindElements(path) }

// one returns the first element matching path; it must exist.
func (d *draft) one(path string) *etree.Element {
	d.t.Helper()
	e := d.doc.FindElement(path)
	require.NotNil(d.t, e, "no element %s in %s", path, d.soort)
	return e
}

// set gives the element at path under e (e itself for "") the text, adding
// the element and any missing ancestors where the schema puts them.
func (d *draft) set(e *etree.Element, path, text string) *etree.Element {
	d.t.Helper()
	if path != "" {
		for _, name := range strings.Split(path, "/") {
			c := e.SelectElement(name)
			if c == nil {
				c = d.add(e, name)
			}
			e = c
		}
	}
	e.SetText(text)
	return e
}

// drop removes the child at path under e, if present.
func (d *draft) drop(e *etree.Element, path string) {
	parts := strings.Split(path, "/")
	for _, name := range parts[:len(parts)-1] {
		if e = e.SelectElement(name); e == nil {
			return
		}
	}
	if c := e.SelectElement(parts[len(parts)-1]); c != nil {
		e.RemoveChild(c)
	}
}

// add inserts an empty child name into e at its place in the schema's
// sequence, in the namespace the schema gives it.
func (d *draft) add(e *etree.Element, name string) *etree.Element {
	d.t.Helper()
	model := d.model(e)
	var order []string
	var ns string
	for _, c := range model.Children {
		order = append(order, c.Name)
		if c.Name == name {
			ns = c.Namespace
		}
	}
	require.NotEmpty(d.t, ns, "%s has no child %s in %s", model.Path, name, d.soort)
	pos := indexOf(order, name)
	at := 0
	for k, tok := range e.Child {
		if c, ok := tok.(*etree.Element); ok && indexOf(order, c.Tag) <= pos {
			at = k + 1
		}
	}
	c := etree.NewElement(name)
	c.Space = d.prefix(ns)
	e.InsertChildAt(at, c)
	return c
}

func indexOf(list []string, s string) int {
	for k, x := range list {
		if x == s {
			return k
		}
	}
	return -1
}

// model is the schema element of e, found by its path from the root.
func (d *draft) model(e *etree.Element) *bericht.Element {
	d.t.Helper()
	var path []string
	for p := e; p != nil && p.Tag != ""; p = p.Parent() {
		path = append([]string{p.Tag}, path...)
	}
	m := bericht.Structure(d.soort)
	for _, name := range path[1:] {
		m = m.Child(name)
		require.NotNil(d.t, m, "no %s in the model of %s", strings.Join(path, "/"), d.soort)
	}
	return m
}

// prefix is the prefix the root declares for namespace ns.
func (d *draft) prefix(ns string) string {
	d.t.Helper()
	for _, a := range d.doc.Root().Attr {
		if a.Space == "xmlns" && a.Value == ns {
			return a.Key
		}
	}
	d.t.Fatalf("the root declares no prefix for %s", ns)
	return ""
}

// bytes is the edited message.
func (d *draft) bytes() []byte {
	d.t.Helper()
	b, err := d.doc.WriteToBytes()
	require.NoError(d.t, err)
	return b
}
