package bericht

import (
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Writer appends one message as indented XML to a byte slice. It knows the
// two namespaces of every iWmo and iJw message: the message's own (prefix
// wmo301, jw325, …) and the basisschema's (iwmo, ijw), to which the
// children of the shared CDT types belong. It is a handful of appends per
// element and checks nothing: the caller writes elements in the order the
// schema wants. The synthetic generator and the retour builder both use it,
// the latter on the switch's ingest path.
type Writer struct {
	b     []byte
	msg   string // message prefix, e.g. "wmo301"
	basis string // basisschema prefix, "iwmo" or "ijw"
	depth int
}

// NewWriter starts a message of berichtsoort s: the XML declaration and the
// opening Bericht root with both namespace declarations. sizeHint is the
// initial capacity of the buffer, so a caller who knows the size of its
// messages pays one allocation for each. NewWriter is small enough to be
// inlined, so a caller that embeds *NewWriter(…) in its own type by value
// does not pay a second one for the Writer.
func NewWriter(s Soort, sizeHint int) *Writer {
	w := &Writer{b: make([]byte, 0, sizeHint)}
	w.start(s)
	return w
}

func (w *Writer) start(s Soort) {
	w.msg = strings.ToLower(s.Name)
	w.basis = string(s.Standard)
	w.b = append(w.b, `<?xml version="1.0" encoding="UTF-8"?>`+"\n<"...)
	w.b = append(w.b, w.msg...)
	w.b = append(w.b, ":Bericht xmlns:"...)
	w.b = append(w.b, w.msg...)
	w.b = append(w.b, `="`...)
	w.b = append(w.b, s.Namespace...)
	w.b = append(w.b, `" xmlns:`...)
	w.b = append(w.b, w.basis...)
	w.b = append(w.b, `="`...)
	w.b = append(w.b, BasisNamespace(s.Standard, s.Release)...)
	w.b = append(w.b, `">`...)
	w.depth = 1
}

// Finish closes the root element, ends the document with a newline and
// returns it. The Writer must not be used afterwards.
func (w *Writer) Finish() []byte {
	w.depth = 0
	w.indent()
	w.tag(w.msg, "Bericht", true)
	w.b = append(w.b, '\n')
	return w.b
}

// Bytes returns what has been written so far, without closing anything.
func (w *Writer) Bytes() []byte { return w.b }

// Open starts an element in the message namespace.
func (w *Writer) Open(name string) { w.open(w.msg, name) }

// Close ends an element in the message namespace.
func (w *Writer) Close(name string) { w.close(w.msg, name) }

// Leaf writes a simple element in the message namespace, its value escaped.
func (w *Writer) Leaf(name, value string) { w.leaf(w.msg, name, value) }

// Int writes a simple element in the message namespace with an integer value.
func (w *Writer) Int(name string, v int64) { w.int(w.msg, name, v) }

// Date writes a simple element in the message namespace with a date
// (xs:date, YYYY-MM-DD).
func (w *Writer) Date(name string, d time.Time) { w.date(w.msg, name, d) }

// BasisOpen starts an element in the basisschema namespace.
func (w *Writer) BasisOpen(name string) { w.open(w.basis, name) }

// BasisClose ends an element in the basisschema namespace.
func (w *Writer) BasisClose(name string) { w.close(w.basis, name) }

// BasisLeaf writes a simple element in the basisschema namespace, its value
// escaped.
func (w *Writer) BasisLeaf(name, value string) { w.leaf(w.basis, name, value) }

// BasisInt writes a simple element in the basisschema namespace with an
// integer value.
func (w *Writer) BasisInt(name string, v int64) { w.int(w.basis, name, v) }

// BasisDate writes a simple element in the basisschema namespace with a
// date (xs:date, YYYY-MM-DD).
func (w *Writer) BasisDate(name string, d time.Time) { w.date(w.basis, name, d) }

func (w *Writer) open(prefix, name string) {
	w.indent()
	w.tag(prefix, name, false)
	w.depth++
}

func (w *Writer) close(prefix, name string) {
	w.depth--
	w.indent()
	w.tag(prefix, name, true)
}

func (w *Writer) leaf(prefix, name, value string) {
	w.indent()
	w.tag(prefix, name, false)
	w.b = appendEscaped(w.b, value)
	w.tag(prefix, name, true)
}

func (w *Writer) int(prefix, name string, v int64) {
	w.indent()
	w.tag(prefix, name, false)
	w.b = strconv.AppendInt(w.b, v, 10)
	w.tag(prefix, name, true)
}

func (w *Writer) date(prefix, name string, d time.Time) {
	w.indent()
	w.tag(prefix, name, false)
	w.b = d.AppendFormat(w.b, "2006-01-02")
	w.tag(prefix, name, true)
}

func (w *Writer) indent() {
	w.b = append(w.b, '\n')
	for range w.depth {
		w.b = append(w.b, '\t')
	}
}

func (w *Writer) tag(prefix, name string, end bool) {
	w.b = append(w.b, '<')
	if end {
		w.b = append(w.b, '/')
	}
	w.b = append(w.b, prefix...)
	w.b = append(w.b, ':')
	w.b = append(w.b, name...)
	w.b = append(w.b, '>')
}

// appendEscaped appends s as XML character data. The five special
// characters become entities (so the result is safe in an attribute value
// too), and invalid UTF-8 or characters XML 1.0 does not allow become
// U+FFFD, so any string yields well-formed XML.
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
			case c == '"':
				b = append(b, "&quot;"...)
			case c == '\'':
				b = append(b, "&apos;"...)
			case c < 0x20 && c != '\t' && c != '\n' && c != '\r':
				b = append(b, "\uFFFD"...)
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		// DecodeRuneInString reports surrogate halves as RuneError of
		// size 1, so they are replaced too.
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
