package stuf_test

import (
	"testing"

	"github.com/beevik/etree"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/knooppunt/knooppunt/stuf"
)

// TestCanonicalize holds the exclusive canonicalisation to known outputs:
// the example of the exclusive C14N recommendation, the outputs xmllint
// --exc-c14n and xmlsec1 give for the same input, and the InclusiveNamespaces
// PrefixList (with #default) as WSS4J and CXF send it. The element
// canonicalised is the first whose tag is el.
func TestCanonicalize(t *testing.T) {
	const soapNS = `xmlns:soap-env="http://schemas.xmlsoap.org/soap/envelope/"`
	cases := []struct {
		name, doc, el, prefixList, want string
	}{
		{
			"recommendation example: only visibly used namespaces",
			`<n0:local xmlns:n0="foo:bar" xmlns:n3="ftp://example.org"><n1:elem2 xmlns:n1="http://example.net" xml:lang="en"><n3:stuff xmlns:n3="ftp://example.org"/></n1:elem2></n0:local>`,
			"elem2", "",
			`<n1:elem2 xmlns:n1="http://example.net" xml:lang="en"><n3:stuff xmlns:n3="ftp://example.org"></n3:stuff></n1:elem2>`,
		},
		{
			"a listed prefix is rendered at the apex",
			`<n0:local xmlns:n0="foo:bar" xmlns:n3="ftp://example.org"><n1:elem2 xmlns:n1="http://example.net" xml:lang="en"><n3:stuff xmlns:n3="ftp://example.org"/></n1:elem2></n0:local>`,
			"elem2", "n0 n3",
			`<n1:elem2 xmlns:n0="foo:bar" xmlns:n1="http://example.net" xmlns:n3="ftp://example.org" xml:lang="en"><n3:stuff></n3:stuff></n1:elem2>`,
		},
		{
			"a listed prefix not in scope is ignored",
			`<a xmlns="urn:a"/>`,
			"a", "nope",
			`<a xmlns="urn:a"></a>`,
		},
		{
			"the default namespace is undeclared where it ends",
			`<a xmlns="urn:a"><b xmlns=""><c/></b></a>`,
			"a", "",
			`<a xmlns="urn:a"><b xmlns=""><c></c></b></a>`,
		},
		{
			"no default namespace at the apex needs no declaration",
			`<a xmlns="urn:a"><b xmlns=""><c/></b></a>`,
			"b", "#default",
			`<b><c></c></b>`,
		},
		{
			"an unused default namespace is left out",
			`<r xmlns="urn:r"><p:x xmlns:p="urn:p"><p:y/></p:x></r>`,
			"x", "",
			`<p:x xmlns:p="urn:p"><p:y></p:y></p:x>`,
		},
		{
			"#default renders it at the apex",
			`<r xmlns="urn:r"><p:x xmlns:p="urn:p"><y/></p:x></r>`,
			"x", "#default",
			`<p:x xmlns="urn:r" xmlns:p="urn:p"><y></y></p:x>`,
		},
		{
			"attributes sorted by namespace and name, escaped",
			`<e xmlns:b="urn:b" xmlns:a="urn:z" z="1" b:y="2" a:y="3" a="&lt;&amp;&quot;&#9;&#10;&#13;">t&amp;&lt;&gt;&#13;x</e>`,
			"e", "",
			`<e xmlns:a="urn:z" xmlns:b="urn:b" a="&lt;&amp;&quot;&#x9;&#xA;&#xD;" z="1" b:y="2" a:y="3">t&amp;&lt;&gt;&#xD;x</e>`,
		},
		{
			"comments go, processing instructions and CDATA text stay",
			`<e><!--c--><?pi data?>x<![CDATA[<&>]]></e>`,
			"e", "",
			`<e><?pi data?>x&lt;&amp;&gt;</e>`,
		},
		{
			"WSS4J Timestamp with its prefix list (xmlsec1's output)",
			`<soap-env:Envelope ` + soapNS + ` xmlns:xsd="http://www.w3.org/2001/XMLSchema"><soap-env:Header><wsse:Security xmlns:wsse="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd" xmlns:wsu="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd" soap-env:mustUnderstand="1"><wsu:Timestamp wsu:Id="TS-1"><wsu:Created>2026-01-01T00:00:00.000Z</wsu:Created></wsu:Timestamp></wsse:Security></soap-env:Header><soap-env:Body/></soap-env:Envelope>`,
			"Timestamp", "wsse soap-env xsd",
			`<wsu:Timestamp xmlns:soap-env="http://schemas.xmlsoap.org/soap/envelope/" xmlns:wsse="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd" xmlns:wsu="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd" xmlns:xsd="http://www.w3.org/2001/XMLSchema" wsu:Id="TS-1"><wsu:Created>2026-01-01T00:00:00.000Z</wsu:Created></wsu:Timestamp>`,
		},
		{
			"WSS4J SignedInfo with its prefix list (xmlsec1's output)",
			`<soap-env:Envelope ` + soapNS + `><soap-env:Header><ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo><ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"><ec:InclusiveNamespaces xmlns:ec="http://www.w3.org/2001/10/xml-exc-c14n#" PrefixList="soap-env"/></ds:CanonicalizationMethod></ds:SignedInfo></ds:Signature></soap-env:Header></soap-env:Envelope>`,
			"SignedInfo", "soap-env",
			`<ds:SignedInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#" xmlns:soap-env="http://schemas.xmlsoap.org/soap/envelope/"><ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"><ec:InclusiveNamespaces xmlns:ec="http://www.w3.org/2001/10/xml-exc-c14n#" PrefixList="soap-env"></ec:InclusiveNamespaces></ds:CanonicalizationMethod></ds:SignedInfo>`,
		},
		{
			"WCF: an unprefixed SignedInfo takes its default namespace along",
			`<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Header><Signature xmlns="http://www.w3.org/2000/09/xmldsig#"><SignedInfo><CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/></SignedInfo></Signature></s:Header></s:Envelope>`,
			"SignedInfo", "",
			`<SignedInfo xmlns="http://www.w3.org/2000/09/xmldsig#"><CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"></CanonicalizationMethod></SignedInfo>`,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			doc := etree.NewDocument()
			require.NoError(t, doc.ReadFromString(c.doc))
			el := doc.FindElement("//" + c.el)
			require.NotNil(t, el, c.el)
			got, err := stuf.Canonical(el, c.prefixList)
			require.NoError(t, err)
			assert.Equal(t, c.want, string(got))
		})
	}

	t.Run("an undeclared prefix is an error", func(t *testing.T) {
		doc := etree.NewDocument()
		require.NoError(t, doc.ReadFromString(`<e><p:x/></e>`))
		_, err := stuf.Canonical(doc.Root(), "")
		assert.Error(t, err)
	})
	t.Run("an attribute twice under two prefixes is an error", func(t *testing.T) {
		doc := etree.NewDocument()
		require.NoError(t, doc.ReadFromString(`<e xmlns:a="urn:a" xmlns:b="urn:a" a:x="1" b:x="2"/>`))
		_, err := stuf.Canonical(doc.Root(), "")
		assert.Error(t, err)
	})
}
