package xsd

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/knooppunt/knooppunt/bericht"
)

// What a Violation.Redacted may say. libxml2's own texts quote whatever
// they stumble on: a parser message may carry the unterminated CDATA or
// comment it was reading, a schema message the value of an attribute the
// schema never declared. So redacted texts are built from what is known
// to be safe, not cleaned of what is known to be unsafe:
//
//   - a parse error is a fixed sentence per libxml2 error code, never
//     libxml2's text;
//   - a schema violation keeps libxml2's sentence, but a quoted stretch
//     survives only when it is the standard's (an element name, a
//     namespace, or a name, type, pattern or value written in the
//     schemas), and foreign names are replaced as before.

// parseSentences say what a libxml2 parse error code means, in words that
// quote nothing of the message. Codes from libxml2's xmlerror.h.
var parseSentences = map[int]string{
	3:   "the document does not start with markup",
	4:   "the document is empty",
	5:   "content after the end of the root element",
	6:   "an invalid hexadecimal character reference",
	7:   "an invalid decimal character reference",
	8:   "an invalid character reference",
	9:   "a character that XML does not allow",
	10:  "the document ends inside a character reference",
	14:  "the document ends inside an entity reference",
	23:  "an entity reference without its closing ';'",
	26:  "a reference to an entity that is not declared (no DTD is accepted)",
	27:  "a reference to an entity that is not declared (no DTD is accepted)",
	31:  "an unknown encoding",
	32:  "an unsupported encoding",
	33:  "a quoted value was expected",
	34:  "a quoted value is not closed",
	38:  "a '<' inside an attribute value",
	39:  "an attribute value was expected",
	40:  "an attribute value is not closed",
	41:  "an attribute without a value",
	42:  "an attribute given twice on one element",
	44:  "a literal is not closed",
	45:  "a comment is not closed",
	46:  "a processing instruction without a target",
	47:  "a processing instruction is not closed",
	56:  "a malformed XML declaration",
	57:  "the XML declaration is not closed",
	61:  "a document type declaration is not closed",
	62:  "']]>' outside a CDATA section",
	63:  "a CDATA section is not closed",
	64:  "a processing instruction named 'xml' where none may stand",
	65:  "white space is missing where the syntax requires it",
	68:  "a name was expected",
	72:  "a '<' was expected",
	73:  "a '>' was expected",
	74:  "an end tag was expected",
	75:  "an '=' was expected after an attribute name",
	76:  "an end tag does not match its start tag",
	77:  "a start tag is not closed before the end of the document",
	79:  "a malformed encoding name",
	80:  "'--' inside a comment",
	81:  "the document is not in its declared encoding",
	85:  "the document's elements are not well balanced",
	86:  "content after the end of the root element",
	89:  "an entity refers to itself",
	96:  "the XML declaration has no version",
	108: "an unknown XML version",
	110: "a name longer than the parser accepts",
	111: "the parser was stopped",
	200: "the reserved xml namespace is misused",
	201: "a prefix that no namespace declaration defines",
	202: "a malformed qualified name",
	203: "an attribute given twice on one element, by namespace",
	204: "an empty namespace name",
	205: "a name with more than one ':'",
}

// parseSentence is the redacted text of a libxml2 parse error with code,
// whose own text was msg: a sentence of our own, followed by the
// standard's element names that msg mentions (a tag mismatch names both
// tags), so the sender sees where without anything else being quoted.
func parseSentence(code int, msg string) string {
	s, ok := parseSentences[code]
	if !ok {
		s = fmt.Sprintf("libxml2 error %d", code)
	}
	s = "not well-formed: " + s
	var seen []string
	for _, tok := range nameToken.FindAllString(msg, -1) {
		if standardElement(tok) && !slices.Contains(seen, tok) {
			seen = append(seen, tok)
		}
	}
	if len(seen) > 0 {
		s += " (" + strings.Join(seen, ", ") + ")"
	}
	return s
}

// nameToken matches a possibly prefixed XML name in a libxml2 message.
var nameToken = regexp.MustCompile(`[A-Za-z_][A-Za-z0-9_.-]*(?::[A-Za-z_][A-Za-z0-9_.-]*)?`)

// standardElement reports whether tok is an element name of the standard,
// alone or behind a prefix the standard's messages use.
func standardElement(tok string) bool {
	prefix, local, ok := strings.Cut(tok, ":")
	if !ok {
		prefix, local = "", tok
	}
	return standardElements()[local] && (prefix == "" || standardNames()[prefix])
}

// standardElements are the element names of the 28 berichtsoorten.
var standardElements = sync.OnceValue(func() map[string]bool {
	names := map[string]bool{}
	for _, s := range bericht.All() {
		bericht.Structure(s).Walk(func(e *bericht.Element) bool {
			names[e.Name] = true
			return true
		})
	}
	return names
})

// schemaTokens are the strings the schemas themselves write: element,
// type and attribute names, bases, patterns and enumeration values. A
// quoted stretch of a schema violation that is one of them (or the
// standard's name or namespace) is the standard's, not the sender's.
var schemaTokens = sync.OnceValue(func() map[string]bool {
	tokens := map[string]bool{}
	attr := regexp.MustCompile(`\b(?:name|type|base|value|ref|targetNamespace|namespace)="([^"]*)"`)
	unescape := strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&", "&quot;", `"`, "&apos;", "'")
	for _, data := range bericht.SchemaFiles() {
		for _, m := range attr.FindAllSubmatch(data, -1) {
			v := unescape.Replace(string(m[1]))
			tokens[v] = true
			if _, local, ok := strings.Cut(v, ":"); ok {
				tokens[local] = true
			}
		}
	}
	// libxml2's words for the facets and built-in types it names.
	for _, w := range []string{"pattern", "enumeration", "length", "minLength", "maxLength", "minInclusive",
		"maxInclusive", "minExclusive", "maxExclusive", "totalDigits", "fractionDigits", "whiteSpace",
		"xs:string", "xs:date", "xs:dateTime", "xs:integer", "xs:decimal", "xs:boolean", "xs:time", "xs:gYear"} {
		tokens[w] = true
	}
	return tokens
})

// qualified matches a quoted name in Clark notation, {namespace}local.
var qualified = regexp.MustCompile(`^\{([^}]*)\}(.*)$`)

// keepStandardQuotes replaces every quoted stretch of a schema violation
// that is not the standard's by '…'.
func keepStandardQuotes(text string) string {
	std, tokens := standardNames(), schemaTokens()
	return quoted.ReplaceAllStringFunc(text, func(q string) string {
		inner := q[1 : len(q)-1]
		if inner == "…" || tokens[inner] || std[inner] {
			return q
		}
		if m := qualified.FindStringSubmatch(inner); m != nil && std[m[1]] && (std[m[2]] || tokens[m[2]]) {
			return q
		}
		return "'…'"
	})
}
