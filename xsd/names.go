package xsd

import (
	"bytes"
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

// foreignNames returns the element, attribute and prefix names and the
// namespaces of msg that are not the standard's. It is called on the
// error path only, and reads the markup in one pass without allocating
// for the standard's names; on broken markup it returns what it could
// read, so more is redacted rather than less.
func foreignNames(msg []byte) (names, namespaces map[string]bool) {
	std := standardNames()
	names, namespaces = map[string]bool{}, map[string]bool{}
	add := func(qname []byte) {
		for part := range bytes.SplitSeq(qname, []byte{':'}) {
			if len(part) > 0 && !std[string(part)] {
				names[string(part)] = true
			}
		}
	}
	for i := 0; i < len(msg); {
		lt := bytes.IndexByte(msg[i:], '<')
		if lt < 0 {
			break
		}
		i += lt + 1
		if i < len(msg) && msg[i] == '/' {
			i++
		} else if i < len(msg) && (msg[i] == '?' || msg[i] == '!') {
			continue
		}
		n := nameEnd(msg, i)
		add(msg[i:n])
		i = n
		// Attributes, up to the end of the start tag.
		for i < len(msg) && msg[i] != '>' && msg[i] != '<' {
			if isSpace(msg[i]) || msg[i] == '/' {
				i++
				continue
			}
			n := nameEnd(msg, i)
			if n == i {
				i++
				continue
			}
			attr := msg[i:n]
			add(attr)
			i = n
			for i < len(msg) && isSpace(msg[i]) {
				i++
			}
			if i >= len(msg) || msg[i] != '=' {
				continue
			}
			i++
			for i < len(msg) && isSpace(msg[i]) {
				i++
			}
			if i >= len(msg) || (msg[i] != '"' && msg[i] != '\'') {
				continue
			}
			end := bytes.IndexByte(msg[i+1:], msg[i])
			if end < 0 {
				end = len(msg) - i - 1
			}
			value := msg[i+1 : i+1+end]
			if (bytes.Equal(attr, []byte("xmlns")) || bytes.HasPrefix(attr, []byte("xmlns:"))) && len(value) > 0 && !std[string(value)] {
				namespaces[string(value)] = true
			}
			i += end + 2
		}
	}
	return names, namespaces
}

// nameEnd returns the end of the name that starts at msg[i].
func nameEnd(msg []byte, i int) int {
	for i < len(msg) {
		switch c := msg[i]; {
		case isSpace(c), c == '/', c == '>', c == '<', c == '=', c == '"', c == '\'':
			return i
		}
		i++
	}
	return i
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
		tok := text[:j]
		// A name at the end of a sentence carries its full stop.
		name := strings.TrimRight(tok, ".")
		if names[tok] {
			b.WriteString("…")
		} else if names[name] {
			b.WriteString("…" + tok[len(name):])
		} else {
			b.WriteString(tok)
		}
		text = text[j:]
	}
	return b.String()
}

// isNameRune reports whether r may be part of a name as libxml2 prints it:
// anything but white space, the prefix separator and the punctuation
// around names in its messages.
func isNameRune(r rune) bool {
	return !unicode.IsSpace(r) && !strings.ContainsRune(":'\"{}()<>/=,;[]", r)
}
