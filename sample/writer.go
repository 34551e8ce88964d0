package sample

import (
	"strconv"
	"time"
	"unicode/utf8"
)

// writer appends indented XML to a byte slice. It knows two namespace
// prefixes: that of the message (wmo301, jw302, …) and that of the
// basisschema (iwmo, ijw), to which the children of the shared CDT types
// belong. It is deliberately tiny: the load tool calls it millions of times.
type writer struct {
	b     []byte
	msg   string // message prefix, e.g. "wmo301"
	basis string // basisschema prefix, "iwmo" or "ijw"
	depth int
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

// open starts an element in the message namespace.
func (w *writer) open(name string) {
	w.indent()
	w.tag(w.msg, name, false)
	w.depth++
}

// close ends an element in the message namespace.
func (w *writer) close(name string) {
	w.depth--
	w.indent()
	w.tag(w.msg, name, true)
}

// bopen and bclose do the same in the basisschema namespace.
func (w *writer) bopen(name string) {
	w.indent()
	w.tag(w.basis, name, false)
	w.depth++
}

func (w *writer) bclose(name string) {
	w.depth--
	w.indent()
	w.tag(w.basis, name, true)
}

func (w *writer) leafIn(prefix, name, value string) {
	w.indent()
	w.tag(prefix, name, false)
	w.b = appendEscaped(w.b, value)
	w.tag(prefix, name, true)
}

// leaf writes a simple element in the message namespace.
func (w *writer) leaf(name, value string) { w.leafIn(w.msg, name, value) }

// bleaf writes a simple element in the basisschema namespace.
func (w *writer) bleaf(name, value string) { w.leafIn(w.basis, name, value) }

// opt writes a message-namespace leaf only when value is not empty.
func (w *writer) opt(name, value string) {
	if value != "" {
		w.leaf(name, value)
	}
}

// bopt writes a basisschema leaf only when value is not empty.
func (w *writer) bopt(name, value string) {
	if value != "" {
		w.bleaf(name, value)
	}
}

func (w *writer) num(name string, v int64) {
	w.indent()
	w.tag(w.msg, name, false)
	w.b = strconv.AppendInt(w.b, v, 10)
	w.tag(w.msg, name, true)
}

func (w *writer) bnum(name string, v int64) {
	w.indent()
	w.tag(w.basis, name, false)
	w.b = strconv.AppendInt(w.b, v, 10)
	w.tag(w.basis, name, true)
}

func (w *writer) date(name string, d time.Time) {
	w.indent()
	w.tag(w.msg, name, false)
	w.b = d.AppendFormat(w.b, dateLayout)
	w.tag(w.msg, name, true)
}

func (w *writer) bdate(name string, d time.Time) {
	w.indent()
	w.tag(w.basis, name, false)
	w.b = d.AppendFormat(w.b, dateLayout)
	w.tag(w.basis, name, true)
}

// optDate writes a message-namespace date unless d is the zero time.
func (w *writer) optDate(name string, d time.Time) {
	if !d.IsZero() {
		w.date(name, d)
	}
}

const dateLayout = "2006-01-02"

// appendEscaped appends s as XML character data: the five special
// characters become entities and invalid UTF-8 or characters XML 1.0 does
// not allow become U+FFFD, so any string yields well-formed XML.
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
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 || r == 0xFFFE || r == 0xFFFF || (r >= 0xD800 && r <= 0xDFFF) {
			b = append(b, "\uFFFD"...)
		} else {
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return b
}
