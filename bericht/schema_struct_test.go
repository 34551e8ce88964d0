package bericht_test

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/beevik/etree"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/knooppunt/knooppunt/bericht"
)

// xsdDoc is one official schema read with etree: its target namespace and
// its named types.
type xsdDoc struct {
	ns    string
	types map[string]*etree.Element // complexType or simpleType by name
}

func readXSD(t *testing.T, file string) xsdDoc {
	t.Helper()
	doc := etree.NewDocument()
	require.NoError(t, doc.ReadFromFile(file))
	root := doc.Root()
	d := xsdDoc{ns: root.SelectAttrValue("targetNamespace", ""), types: map[string]*etree.Element{}}
	for _, e := range root.ChildElements() {
		if e.Tag == "complexType" || e.Tag == "simpleType" {
			d.types[e.SelectAttrValue("name", "")] = e
		}
	}
	return d
}

// officialTree reads the official schemas of one message into the lines
// describeTree makes of the model, so the two can be compared line by
// line: path, namespace, cardinality, type and every facet.
func officialTree(t *testing.T, s bericht.Soort) []string {
	t.Helper()
	dir := filepath.Join(official, fmt.Sprintf("%s-%s", s.Standard, s.Release), "xsd")
	msg := readXSD(t, filepath.Join(dir, s.Name+".xsd"))
	basis := readXSD(t, filepath.Join(dir, "basisschema.xsd"))
	lookup := func(qname string) (*etree.Element, xsdDoc) {
		prefix, local, _ := strings.Cut(qname, ":")
		if prefix == string(s.Standard) {
			return basis.types[local], basis
		}
		return msg.types[local], msg
	}
	var lines []string
	var element func(e *etree.Element, path, ns string)
	element = func(e *etree.Element, path, ns string) {
		name := e.SelectAttrValue("name", "")
		path += name
		card := e.SelectAttrValue("minOccurs", "1") + ".." + strings.Replace(e.SelectAttrValue("maxOccurs", "1"), "unbounded", "-1", 1)
		typ := e.SelectAttrValue("type", "")
		if inline := e.SelectElement("simpleType"); inline != nil {
			r := inline.SelectElement("restriction")
			base, _ := lookup(r.SelectAttrValue("base", ""))
			lines = append(lines, fmt.Sprintf("%s {%s} %s : %s%s", path, ns, card, "",
				officialFacets(r)+" <"+officialFacets(base.SelectElement("restriction"))))
			return
		}
		def, owner := lookup(typ)
		require.NotNil(t, def, "%s: type %s", path, typ)
		_, local, _ := strings.Cut(typ, ":")
		if def.Tag == "simpleType" {
			lines = append(lines, fmt.Sprintf("%s {%s} %s : %s%s", path, ns, card, local, officialFacets(def.SelectElement("restriction"))))
			return
		}
		lines = append(lines, fmt.Sprintf("%s {%s} %s : %s", path, ns, card, local))
		for _, c := range def.SelectElement("sequence").ChildElements() {
			element(c, path+"/", owner.ns)
		}
	}
	doc := etree.NewDocument()
	require.NoError(t, doc.ReadFromFile(filepath.Join(dir, s.Name+".xsd")))
	root := doc.Root().SelectElement("element")
	require.NotNil(t, root)
	element(root, "", msg.ns)
	return lines
}

// officialFacets renders a restriction's base and facets in a fixed order.
func officialFacets(r *etree.Element) string {
	f := map[string][]string{}
	for _, c := range r.ChildElements() {
		f[c.Tag] = append(f[c.Tag], c.SelectAttrValue("value", ""))
	}
	base := r.SelectAttrValue("base", "")
	if !strings.HasPrefix(base, "xs:") {
		base = ""
	}
	return renderFacets(base, f["minLength"], f["maxLength"], f["pattern"], f["enumeration"], f["minInclusive"], f["maxInclusive"])
}

func renderFacets(base string, minLength, maxLength, patterns, enum, minIncl, maxIncl []string) string {
	return fmt.Sprintf(" [%s minLength=%v maxLength=%v pattern=%q enumeration=%v minInclusive=%v maxInclusive=%v]",
		base, minLength, maxLength, patterns, enum, minIncl, maxIncl)
}

func modelFacets(st *bericht.SimpleType) string {
	opt := func(v string) []string {
		if v == "" {
			return nil
		}
		return []string{v}
	}
	length := func(n int) []string {
		if n == 0 {
			return nil
		}
		return []string{strconv.Itoa(n)}
	}
	base := st.Base
	if !strings.HasPrefix(base, "xs:") {
		base = ""
	}
	return renderFacets(base, length(st.MinLength), length(st.MaxLength), st.Patterns, st.Enumeration, opt(st.MinInclusive), opt(st.MaxInclusive))
}

// describeTree renders the model's tree of a message in officialTree's
// form.
func describeTree(e *bericht.Element) []string {
	var lines []string
	e.Walk(func(e *bericht.Element) bool {
		head := fmt.Sprintf("%s {%s} %d..%d : %s", e.Path, e.Namespace, e.Min, e.Max, e.TypeName)
		switch {
		case e.Type == nil:
		case e.Type.BaseType != nil:
			head += modelFacets(e.Type) + " <" + modelFacets(e.Type.BaseType)
		default:
			head += modelFacets(e.Type)
		}
		lines = append(lines, head)
		return true
	})
	return lines
}

// TestStructureMatchesOfficial compares every element path, namespace,
// cardinality, type name and simple-type facet of the model with the
// official schemas, read independently with etree.
func TestStructureMatchesOfficial(t *testing.T) {
	requireOfficial(t, "the structural comparison")
	for _, s := range bericht.All() {
		t.Run(s.Name, func(t *testing.T) {
			want := officialTree(t, s)
			got := describeTree(bericht.Structure(s))
			require.Greater(t, len(want), 10, "the official tree of %s was read", s.Name)
			assert.Equal(t, want, got)
		})
	}
}

// TestBasisschemaTypesMatchOfficial compares the generated basisschema
// with the official one type by type, including types no message uses.
func TestBasisschemaTypesMatchOfficial(t *testing.T) {
	requireOfficial(t, "the basisschema comparison")
	for _, std := range []bericht.Standard{bericht.IWmo, bericht.IJw} {
		t.Run(string(std), func(t *testing.T) {
			dir := fmt.Sprintf("%s-%s", std, bericht.Release)
			theirs := readXSD(t, filepath.Join(official, dir, "xsd", "basisschema.xsd"))
			doc := etree.NewDocument()
			require.NoError(t, doc.ReadFromBytes(bericht.SchemaFiles()[dir+"/basisschema.xsd"]))
			ours := xsdDoc{types: map[string]*etree.Element{}}
			for _, e := range doc.Root().ChildElements() {
				if name := e.SelectAttrValue("name", ""); name != "" {
					ours.types[name] = e
				}
			}
			assert.Equal(t, doc.Root().SelectAttrValue("targetNamespace", ""), theirs.ns)
			assert.Len(t, ours.types, len(theirs.types))
			for name, want := range theirs.types {
				got := ours.types[name]
				if !assert.NotNil(t, got, "type %s", name) {
					continue
				}
				assert.Equal(t, describeType(want), describeType(got), "type %s", name)
			}
		})
	}
}

func describeType(e *etree.Element) string {
	if e.Tag == "simpleType" {
		return officialFacets(e.SelectElement("restriction"))
	}
	var b strings.Builder
	for _, c := range e.SelectElement("sequence").ChildElements() {
		fmt.Fprintf(&b, "%s %s..%s %s; ", c.SelectAttrValue("name", ""), c.SelectAttrValue("minOccurs", "1"),
			c.SelectAttrValue("maxOccurs", "1"), c.SelectAttrValue("type", ""))
	}
	return b.String()
}
