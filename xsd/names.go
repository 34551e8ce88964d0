package xsd

import (
	"regexp"
	"strings"
	"sync"
	"unicode"

	"github.com/knooppunt/knooppunt/bericht"
)

// standardNames is what a redacted text may keep of a message's markup:
// the element names of the 28 berichtsoorten, their namespaces, the usual
// prefixes and the XML machinery's own names. Any other element,
// attribute or prefix name, or namespace, is the sender's and may name a
// person.
var standardNames = sync.OnceValue(func() map[string]bool {
	names := map[string]bool{
		"xml": true, "xmlns": true, "xsi": true, "xs": true, "iwmo": true, "ijw": true,
		"schemaLocation": true, "noNamespaceSchemaLocation": true, "type": true, "nil": true,
		"http://www.w3.org/2001/XMLSchema-instance": true,
	}
	for _, s := range bericht.All() {
		names[strings.ToLower(s.Name)] = true // the prefix the standard's examples use
		bericht.Structure(s).Walk(func(e *bericht.Element) bool {
			names[e.Name] = true
			names[e.Namespace] = true
			return true
		})
	}
	return names
})

var (
	// markupName matches the name of a start or end tag, or of an
	// attribute, in a message.
	tagName  = regexp.MustCompile(`</?([^\s/>!?<"'=]+)`)
	attrName = regexp.MustCompile(`\s([^\s/>!?<"'=]+)\s*=\s*["']`)
	// nsValue matches the namespace a prefix is bound to.
	nsValue = regexp.MustCompile(`xmlns(?::[^\s=]+)?\s*=\s*(?:"([^"]*)"|'([^']*)')`)
)

// foreignNames returns the element, attribute and prefix names and the
// namespaces of msg that are not the standard's. It is called on the
// error path only.
func foreignNames(msg []byte) (names, namespaces map[string]bool) {
	std := standardNames()
	names, namespaces = map[string]bool{}, map[string]bool{}
	add := func(qname string) {
		for _, part := range strings.Split(qname, ":") {
			if part != "" && !std[part] {
				names[part] = true
			}
		}
	}
	for _, m := range tagName.FindAllSubmatch(msg, -1) {
		add(string(m[1]))
	}
	for _, m := range attrName.FindAllSubmatch(msg, -1) {
		add(string(m[1]))
	}
	for _, m := range nsValue.FindAllSubmatch(msg, -1) {
		ns := string(m[1]) + string(m[2])
		if ns != "" && !std[ns] {
			namespaces[ns] = true
		}
	}
	return names, namespaces
}

// redactNames replaces in text every name of names, as a whole token, and
// every namespace of namespaces by '…'.
func redactNames(text string, names, namespaces map[string]bool) string {
	if len(names) == 0 && len(namespaces) == 0 {
		return text
	}
	for ns := range namespaces {
		text = strings.ReplaceAll(text, "{"+ns+"}", "{…}")
		text = strings.ReplaceAll(text, "'"+ns+"'", "'…'")
	}
	if len(names) == 0 {
		return text
	}
	var b strings.Builder
	for len(text) > 0 {
		i := strings.IndexFunc(text, isNameRune)
		if i < 0 {
			b.WriteString(text)
			break
		}
		b.WriteString(text[:i])
		text = text[i:]
		j := strings.IndexFunc(text, func(r rune) bool { return !isNameRune(r) })
		if j < 0 {
			j = len(text)
		}
		if names[text[:j]] {
			b.WriteString("…")
		} else {
			b.WriteString(text[:j])
		}
		text = text[j:]
	}
	return b.String()
}

// isNameRune reports whether r may be part of an XML name other than its
// prefix separator.
func isNameRune(r rune) bool {
	return r == '_' || r == '-' || r == '.' || unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r)
}
