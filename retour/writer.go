package retour

import (
	"strings"
	"unicode/utf8"

	"github.com/knooppunt/knooppunt/bericht"
)

// writer appends indented XML in two namespaces: the message's own
// (prefix wmo302, jw325, …) and the basisschema's (iwmo, ijw), to which
// the children of the shared CDT types belong. It is a handful of appends
// per element: the switch writes a retour on the ingest path.
type writer struct {
	b     []byte
	msg   string
	basis string
	depth int
}

func newWriter(s bericht.Soort, size int) *writer {
	w := &writer{b: make([]byte, 0, size), msg: strings.ToLower(s.Name), basis: string(s.Standard)}
	w.b = append(w.b, `<?xml version="1.0" encoding="UTF-8"?>`+"\n<"...)
	w.b = append(w.b, w.msg...)
	w.b = append(w.b, ":Bericht xmlns:"...)
	w.b = append(w.b, w.msg...)
	w.b = append(w.b, `="`...)
	w.b = append(w.b, s.Namespace...)
	w.b = append(w.b, `" xmlns:`...)
	w.b = append(w.b, w.basis...)
	w.b = append(w.b, `="`...)
	w.b = append(w.b, bericht.BasisNamespace(s.Standard, s.Release)...)
	w.b = append(w.b, `">`...)
	w.depth = 1
	return w
}

// finish closes the root element and returns the document.
func (w *writer) finish() []byte {
	w.b = append(w.b, "\n</"...)
	w.b = append(w.b, w.msg...)
	w.b = append(w.b, ":Bericht>\n"...)
	return w.b
}

func (w *writer) indent() {
	w.b = append(w.b, '\n')
	for range w.depth {
		w.b = append(w.b, '\t')
	}
}

func (w *writer) tag(prefix, name string, end bool) {
	w.b = append(w.b, '<')
	if end {
		w.b = append(w.b, '/')
	}
	w.b = append(w.b, prefix...)
	w.b = append(w.b, ':')
	w.b = append(w.b, name...)
	w.b = append(w.b, '>')
}

// open and close an element in the message namespace.
func (w *writer) open(name string) {
	w.indent()
	w.tag(w.msg, name, false)
	w.depth++
}

func (w *writer) close(name string) {
	w.depth--
	w.indent()
	w.tag(w.msg, name, true)
}

// leaf writes a simple element of the message namespace, bleaf one of the
// basisschema namespace.
func (w *writer) leaf(name, value string)  { w.leafIn(w.msg, name, value) }
func (w *writer) bleaf(name, value string) { w.leafIn(w.basis, name, value) }

func (w *writer) leafIn(prefix, name, value string) {
	w.indent()
	w.tag(prefix, name, false)
	w.b = appendEscaped(w.b, value)
	w.tag(prefix, name, true)
}

// pair writes a CDT element of two basisschema children, such as
// BerichtIdentificatie or XsdVersie.
func (w *writer) pair(name, n1, v1, n2, v2 string) {
	w.open(name)
	w.bleaf(n1, v1)
	w.bleaf(n2, v2)
	w.close(name)
}

func (w *writer) retourCodes(codes []string) {
	w.open("RetourCodes")
	for _, c := range codes {
		w.leaf("RetourCode", c)
	}
	w.close("RetourCodes")
}

// appendEscaped appends s as XML character data. The values come from a
// heenbericht that passed the XSD, but the builder does not rely on it:
// the special characters become entities, and invalid UTF-8 or characters
// XML 1.0 forbids become U+FFFD, so any input yields well-formed XML.
func appendEscaped(b []byte, s string) []byte {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '&':
				b = append(b, "&amp;"...)
			case c == '<':
				b = append(b, "&lt;"...)
			case c == '>':
				b = append(b, "&gt;"...)
			case c < 0x20 && c != '\t' && c != '\n' && c != '\r':
				b = append(b, "\uFFFD"...)
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 || r == 0xFFFE || r == 0xFFFF {
			b = append(b, "\uFFFD"...)
		} else {
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return b
}
