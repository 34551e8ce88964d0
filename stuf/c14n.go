package stuf

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/beevik/etree"
)

// Algorithm identifiers of XML Signature that WS-Security here uses.
const (
	algExcC14N     = "http://www.w3.org/2001/10/xml-exc-c14n#"
	algRSASHA256   = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
	algECDSASHA256 = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256"
	digestSHA256   = "http://www.w3.org/2001/04/xmlenc#sha256"
	nsXML          = "http://www.w3.org/XML/1998/namespace"
)

// nsExcC14N is the namespace of ec:InclusiveNamespaces, the parameter of
// exclusive C14N; it is the algorithm's identifier.
const nsExcC14N = algExcC14N

// canonicalize writes the exclusive XML canonicalisation 1.0, without
// comments, of the subtree at el in the namespace context of its document
// (the node-set of a same-document Reference "#id", or of SignedInfo).
//
// prefixList is the PrefixList of ec:InclusiveNamespaces: a
// whitespace-separated list of prefixes, "#default" for the default
// namespace. A namespace whose prefix is listed is rendered as inclusive
// C14N renders it — wherever it is in scope and no output ancestor rendered
// it with the same value, so at the apex every listed namespace in scope —
// and any other only where an element or attribute visibly uses it and no
// output ancestor rendered it with the same value. Signing stacks that list
// prefixes (Apache WSS4J and CXF by default) are verified only if this is
// done exactly.
func canonicalize(w io.Writer, el *etree.Element, prefixList string) error {
	inclusive := map[string]bool{}
	for _, p := range strings.Fields(prefixList) {
		if p == "#default" {
			p = ""
		}
		inclusive[p] = true
	}
	scope := map[string]string{}
	var ancestors []*etree.Element
	for p := el.Parent(); p != nil; p = p.Parent() {
		ancestors = append(ancestors, p)
	}
	for _, a := range slices.Backward(ancestors) {
		scope = declare(scope, a)
	}
	bw := writers.Get().(*bufio.Writer)
	bw.Reset(w)
	defer func() {
		bw.Reset(nil)
		writers.Put(bw)
	}()
	c := &c14n{w: bw, inclusive: inclusive}
	if err := c.element(el, scope, map[string]string{}); err != nil {
		return err
	}
	return bw.Flush()
}

// writers are the buffers canonicalize writes through: its output goes to
// a hash in many small pieces.
var writers = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, 8<<10) }}

// canonical returns canonicalize's output as bytes.
func canonical(el *etree.Element, prefixList string) ([]byte, error) {
	var b bytes.Buffer
	if err := canonicalize(&b, el, prefixList); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

type c14n struct {
	w         *bufio.Writer
	inclusive map[string]bool // "" is the default namespace
}

// declare returns scope with el's namespace declarations applied, copied
// only when el declares any.
func declare(scope map[string]string, el *etree.Element) map[string]string {
	copied := false
	for _, a := range el.Attr {
		prefix, ok := nsDecl(a)
		if !ok {
			continue
		}
		if !copied {
			scope = maps.Clone(scope)
			copied = true
		}
		scope[prefix] = a.Value
	}
	return scope
}

// nsDecl reports whether a declares a namespace, and for which prefix ("" for
// the default namespace).
func nsDecl(a etree.Attr) (string, bool) {
	switch {
	case a.Space == "xmlns":
		return a.Key, true
	case a.Space == "" && a.Key == "xmlns":
		return "", true
	}
	return "", false
}

type nsNode struct{ prefix, uri string }

type attrNode struct {
	uri, qname, local, value string
}

func (c *c14n) element(el *etree.Element, parentScope, rendered map[string]string) error {
	scope := declare(parentScope, el)
	lookup := func(prefix string) (string, error) {
		if prefix == "xml" {
			return nsXML, nil
		}
		uri, ok := scope[prefix]
		if prefix != "" && (!ok || uri == "") {
			return "", fmt.Errorf("undeclared namespace prefix %q", prefix)
		}
		return uri, nil
	}

	// The prefixes this element visibly uses, and those listed as
	// inclusive that are in scope.
	used := map[string]bool{el.Space: true}
	var attrs []attrNode
	for _, a := range el.Attr {
		if _, ok := nsDecl(a); ok {
			continue
		}
		an := attrNode{qname: a.Key, local: a.Key, value: a.Value}
		if a.Space != "" {
			uri, err := lookup(a.Space)
			if err != nil {
				return err
			}
			an.uri, an.qname = uri, a.Space+":"+a.Key
			used[a.Space] = true
		}
		attrs = append(attrs, an)
	}
	for p := range c.inclusive {
		if _, ok := scope[p]; ok || p == "" {
			used[p] = true
		}
	}
	delete(used, "xml")

	var decls []nsNode
	for p := range used {
		uri, err := lookup(p)
		if err != nil {
			return err
		}
		prev, seen := rendered[p]
		if p == "" && !seen {
			prev, seen = "", true // no default namespace is in force at the apex
		}
		if !seen || prev != uri {
			decls = append(decls, nsNode{p, uri})
		}
	}
	if len(decls) > 0 {
		rendered = maps.Clone(rendered)
		for _, d := range decls {
			rendered[d.prefix] = d.uri
		}
	}
	slices.SortFunc(decls, func(a, b nsNode) int { return strings.Compare(a.prefix, b.prefix) })
	slices.SortFunc(attrs, func(a, b attrNode) int {
		if c := strings.Compare(a.uri, b.uri); c != 0 {
			return c
		}
		return strings.Compare(a.local, b.local)
	})
	for i := 1; i < len(attrs); i++ {
		if attrs[i].uri == attrs[i-1].uri && attrs[i].local == attrs[i-1].local {
			return fmt.Errorf("attribute %q occurs twice", attrs[i].qname)
		}
	}

	name := el.Tag
	if el.Space != "" {
		name = el.Space + ":" + el.Tag
	}
	c.w.WriteByte('<')
	c.w.WriteString(name)
	for _, d := range decls {
		if d.prefix == "" {
			c.w.WriteString(` xmlns="`)
		} else {
			c.w.WriteString(` xmlns:` + d.prefix + `="`)
		}
		escapeAttr(c.w, d.uri)
		c.w.WriteByte('"')
	}
	for _, a := range attrs {
		c.w.WriteString(" " + a.qname + `="`)
		escapeAttr(c.w, a.value)
		c.w.WriteByte('"')
	}
	c.w.WriteByte('>')
	for _, tok := range el.Child {
		switch t := tok.(type) {
		case *etree.Element:
			if err := c.element(t, scope, rendered); err != nil {
				return err
			}
		case *etree.CharData:
			escapeText(c.w, t.Data)
		case *etree.Comment:
			// Comments are not part of a same-document reference's node-set.
		case *etree.ProcInst:
			c.w.WriteString("<?" + t.Target)
			if t.Inst != "" {
				c.w.WriteString(" " + t.Inst)
			}
			c.w.WriteString("?>")
		default:
			return errors.New("unexpected markup inside an element")
		}
	}
	c.w.WriteString("</" + name + ">")
	return nil
}

// escapeText escapes character data as C14N requires.
func escapeText(w *bufio.Writer, s string) { textEscaper.WriteString(w, s) }

// escapeAttr escapes an attribute value as C14N requires.
func escapeAttr(w *bufio.Writer, s string) { attrEscaper.WriteString(w, s) }

// The replacements of C14N 1.0 for text and for attribute values.
var (
	textEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", "\r", "&#xD;")
	attrEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", `"`, "&quot;", "\t", "&#x9;", "\n", "&#xA;", "\r", "&#xD;")
)
