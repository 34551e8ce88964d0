package xsd

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strings"
	"sync"

	"github.com/knooppunt/knooppunt/bericht"
)

// Refusal codes of the pre-scan. Like the others they are stable and
// answered 400: the document is refused for its form before any parser
// builds it.
const (
	CodeCharacter    = "illegal-character"
	CodeXMLVersion   = "xml-version"
	CodeMarkupInRoot = "comment-or-pi"
	CodeAfterRoot    = "content-after-root"
	CodeTooManyAttrs = "too-many-attributes"
	CodeNameTooLong  = "name-too-long"
	CodeTooDeep      = "too-deep"
	CodeTooMany      = "too-many-elements"
)

// maxPrologComments bounds the bytes of comments before the root element.
const maxPrologComments = 64 << 10

// Bounds are the limits the pre-scan holds a document's markup to. The
// zero value of a field means no bound.
type Bounds struct {
	// MaxAttributes bounds the attributes and namespace declarations of
	// one element together. libxml2's cost grows with the square of their
	// number: 40,000 on one element take it 13 s.
	MaxAttributes int
	// MaxName bounds, in bytes, each part of an element or attribute name:
	// the prefix and the local name.
	MaxName int
	// MaxDepth bounds how deep elements nest. libxml2 looks a prefix up
	// through every namespace declaration in scope, so deep nesting with
	// declarations on every level makes each element cost more.
	MaxDepth int
	// MaxElements bounds the elements of one document. The parser builds
	// a node of about 120 bytes for each, so a body of nothing but short
	// empty elements would cost thirty times its size in memory.
	MaxElements int
}

// MessageBounds are the bounds of an iWmo or iJw message, drawn from the
// standard's own trees. The standard declares no attribute at all, so an
// element carries at most its namespace declarations (two or three on the
// root) and perhaps an xsi:schemaLocation: 8 leaves room. No element name
// is longer than the standard's longest, and nothing nests deeper than
// twice the standard's deepest path. A message of the standard spends
// about 50 bytes on an element (at least 25 without indentation), so the
// 25 MiB body limit admits about a million: twice that is the bound.
var MessageBounds = sync.OnceValue(func() Bounds {
	name, depth := standardShape()
	return Bounds{MaxAttributes: 8, MaxName: name, MaxDepth: 2 * depth, MaxElements: 2 << 20}
})

// standardShape is the length of the longest element name of the 28
// berichtsoorten ("WettelijkeVertegenwoordiging", 28 bytes) and the depth
// of their deepest element (the root is depth 1).
var standardShape = sync.OnceValues(func() (name, depth int) {
	for _, s := range bericht.All() {
		bericht.Structure(s).Walk(func(e *bericht.Element) bool {
			name = max(name, len(e.Name))
			depth = max(depth, strings.Count(e.Path, "/")+1)
			return true
		})
	}
	return name, depth
})

// Prescan reads msg once, in time linear in its length, and refuses what
// no message of the standard needs and what would make a parser's work
// grow faster than its input, before any parser sees it:
//
//   - characters outside XML 1.0 (a NUL, other control characters,
//     U+FFFE and U+FFFF): a parser that stops at a NUL would leave what
//     follows it unchecked;
//   - an XML declaration of another version than 1.0;
//   - a processing instruction anywhere but the XML declaration, and a
//     comment inside the root element (comments before it are allowed);
//   - anything but white space after the root element;
//   - more than b.MaxAttributes attributes and namespace declarations on
//     one element, a name (prefix or local name) longer than b.MaxName,
//     elements nested deeper than b.MaxDepth, and more than b.MaxElements
//     elements.
//
// msg must be valid UTF-8 (Validate checks that first). Markup the scan
// cannot follow is left to the parser, which refuses it as not
// well-formed at its first error. Every refusal carries the line and
// column of the offending markup and never quotes the message.
func Prescan(msg []byte, b Bounds) *Error {
	if off := illegalChar(msg); off >= 0 {
		return at(msg, off, CodeCharacter, "the message holds a character that XML 1.0 does not allow (a NUL or another control character, or U+FFFE/U+FFFF)")
	}
	sc := scanner{msg: msg, b: b}
	return sc.document()
}

// illegalChar returns the offset of the first character outside XML 1.0's
// Char production in valid UTF-8, or -1. It looks at eight bytes at a time
// and at single bytes only where one of them is a control character or
// 0xEF, the lead byte of U+FFFE and U+FFFF.
func illegalChar(msg []byte) int {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	i := 0
	for ; i+8 <= len(msg); i += 8 {
		x := binary.LittleEndian.Uint64(msg[i:])
		y := x ^ (0xEF * ones)
		if ((x-0x20*ones)&^x|(y-ones)&^y)&highs == 0 {
			continue // no byte below 0x20 and none equal to 0xEF
		}
		if j := illegalCharIn(msg, i, i+8); j >= 0 {
			return j
		}
	}
	return illegalCharIn(msg, i, len(msg))
}

// illegalCharIn is illegalChar byte by byte over msg[from:to].
func illegalCharIn(msg []byte, from, to int) int {
	for i := from; i < to; i++ {
		switch c := msg[i]; {
		case c < 0x20 && c != '\t' && c != '\n' && c != '\r':
			return i
		case c == 0xEF && i+2 < len(msg) && msg[i+1] == 0xBF && (msg[i+2] == 0xBE || msg[i+2] == 0xBF):
			return i
		}
	}
	return -1
}

// at is a refusal whose one violation is at byte offset off.
func at(msg []byte, off int, code, format string, args ...any) *Error {
	e := refuse(code, format, args...)
	line, col := position(msg, off)
	e.Violations = []Violation{{Line: line, Column: col, Message: e.Detail, Redacted: e.Detail}}
	return e
}

// scanner is the state of one pre-scan.
type scanner struct {
	msg []byte
	b   Bounds
	i   int
}

func (s *scanner) has(prefix string) bool { return bytes.HasPrefix(s.msg[s.i:], []byte(prefix)) }

func (s *scanner) skipSpace() {
	for s.i < len(s.msg) && isSpace(s.msg[s.i]) {
		s.i++
	}
}

// skipPast moves past the next occurrence of end and reports whether there
// was one.
func (s *scanner) skipPast(end string) bool {
	j := bytes.Index(s.msg[s.i:], []byte(end))
	if j < 0 {
		return false
	}
	s.i += j + len(end)
	return true
}

// document scans the prolog, the root element and what follows it.
func (s *scanner) document() *Error {
	if s.has("<?xml") && len(s.msg) > 5 && isSpace(s.msg[5]) {
		if e := s.declaration(); e != nil {
			return e
		}
	}
	comments := 0
	for {
		s.skipSpace()
		switch {
		case s.i >= len(s.msg):
			return nil // no root element: the parser says so
		case s.has("<!--"):
			start := s.i
			if !s.skipPast("-->") {
				return nil
			}
			if comments += s.i - start; comments > maxPrologComments {
				return at(s.msg, start, CodeMarkupInRoot, "the comments before the root element exceed %d bytes", maxPrologComments)
			}
		case s.has("<?"):
			return at(s.msg, s.i, CodeMarkupInRoot, "a processing instruction; a message holds none besides the XML declaration")
		case s.has("<!DOCTYPE"):
			return at(s.msg, s.i, CodeDoctype, "the message has a document type declaration (DOCTYPE); DTDs and entities are not accepted")
		case s.msg[s.i] == '<':
			return s.root()
		default:
			return nil // text before the root: the parser says so
		}
	}
}

// declaration checks the XML declaration's version; the parser checks the
// rest of it.
func (s *scanner) declaration() *Error {
	start := s.i
	end := bytes.Index(s.msg[start:min(len(s.msg), start+512)], []byte("?>"))
	if end < 0 {
		return nil
	}
	decl := s.msg[start+5 : start+end]
	s.i = start + end + 2
	rest := bytes.TrimLeft(decl, " \t\r\n")
	if !bytes.HasPrefix(rest, []byte("version")) {
		return nil
	}
	rest = bytes.TrimLeft(rest[len("version"):], " \t\r\n")
	if len(rest) == 0 || rest[0] != '=' {
		return nil
	}
	rest = bytes.TrimLeft(rest[1:], " \t\r\n")
	if len(rest) < 2 || (rest[0] != '"' && rest[0] != '\'') {
		return nil
	}
	q := bytes.IndexByte(rest[1:], rest[0])
	if q < 0 {
		return nil
	}
	if v := rest[1 : 1+q]; !bytes.Equal(v, []byte("1.0")) {
		return at(s.msg, start, CodeXMLVersion, "the XML declaration names another version than 1.0")
	}
	return nil
}

// root scans from the root element's start tag to the end of the message.
func (s *scanner) root() *Error {
	depth, elements := 0, 0
	for s.i < len(s.msg) {
		lt := bytes.IndexByte(s.msg[s.i:], '<')
		if lt < 0 {
			return nil // the root is not closed: the parser says so
		}
		s.i += lt
		next := byte(0)
		if s.i+1 < len(s.msg) {
			next = s.msg[s.i+1]
		}
		switch {
		case next == '/':
			if depth == 0 {
				return nil // an end tag first: the parser says so
			}
			s.i += 2
			if !s.skipPast(">") {
				return nil
			}
			depth--
		case next == '?':
			return at(s.msg, s.i, CodeMarkupInRoot, "a processing instruction inside the root element; a message holds none")
		case next == '!' && s.has("<!--"):
			return at(s.msg, s.i, CodeMarkupInRoot, "a comment inside the root element; a message holds none")
		case next == '!' && s.has("<![CDATA["):
			if !s.skipPast("]]>") {
				return nil
			}
		case next == '!':
			return nil // a declaration inside content: the parser refuses it
		default:
			tag := s.i
			if elements++; s.b.MaxElements > 0 && elements > s.b.MaxElements {
				return at(s.msg, tag, CodeTooMany, "the message has more than %d elements", s.b.MaxElements)
			}
			if s.b.MaxDepth > 0 && depth+1 > s.b.MaxDepth {
				return at(s.msg, tag, CodeTooDeep, "elements nest deeper than %d levels", s.b.MaxDepth)
			}
			empty, e := s.startTag()
			if e != nil || s.i < 0 {
				return e
			}
			if !empty {
				depth++
			}
		}
		if depth <= 0 {
			return s.after()
		}
	}
	return nil
}

// after checks that only white space follows the root element.
func (s *scanner) after() *Error {
	s.skipSpace()
	if s.i < len(s.msg) {
		return at(s.msg, s.i, CodeAfterRoot, "content after the end of the root element; only white space may follow it")
	}
	return nil
}

// startTag reads the start tag at s.i, counting its attributes and
// measuring its names, and reports whether it closes itself. s.i < 0 on
// return means the scan cannot follow the markup.
func (s *scanner) startTag() (empty bool, _ *Error) {
	tag := s.i
	s.i++
	if e := s.name(tag); e != nil {
		return false, e
	}
	attrs := 0
	for {
		s.skipSpace()
		if s.i >= len(s.msg) {
			s.i = -1
			return false, nil
		}
		switch s.msg[s.i] {
		case '>':
			s.i++
			return false, nil
		case '/':
			if s.has("/>") {
				s.i += 2
				return true, nil
			}
			s.i = -1
			return false, nil
		}
		if attrs++; s.b.MaxAttributes > 0 && attrs > s.b.MaxAttributes {
			return false, at(s.msg, tag, CodeTooManyAttrs, "an element has more than %d attributes and namespace declarations", s.b.MaxAttributes)
		}
		start := s.i
		if e := s.name(tag); e != nil {
			return false, e
		}
		if s.i == start {
			s.i = -1
			return false, nil
		}
		s.skipSpace()
		if s.i >= len(s.msg) || s.msg[s.i] != '=' {
			s.i = -1
			return false, nil
		}
		s.i++
		s.skipSpace()
		if s.i >= len(s.msg) || (s.msg[s.i] != '"' && s.msg[s.i] != '\'') {
			s.i = -1
			return false, nil
		}
		q := s.msg[s.i]
		s.i++
		end := bytes.IndexByte(s.msg[s.i:], q)
		if end < 0 {
			s.i = -1
			return false, nil
		}
		s.i += end + 1
	}
}

// nameStop marks the bytes that end a name, and ':' that separates its
// parts.
var nameStop = func() (t [256]uint8) {
	for _, c := range " \t\r\n/>=<\"'" {
		t[c] = 1
	}
	t[':'] = 2
	return t
}()

// name reads a name at s.i and checks the length of its prefix and local
// part; tag is the offset of the tag it stands in, for the position.
func (s *scanner) name(tag int) *Error {
	part := 0
	for ; s.i < len(s.msg); s.i++ {
		switch nameStop[s.msg[s.i]] {
		case 1:
			return nil
		case 2:
			part = 0
			continue
		}
		if part++; s.b.MaxName > 0 && part > s.b.MaxName {
			return at(s.msg, tag, CodeNameTooLong, "a name longer than %d bytes, the longest of the standard", s.b.MaxName)
		}
	}
	return nil
}

// String describes the bounds, for documentation and logs.
func (b Bounds) String() string {
	return fmt.Sprintf("at most %d attributes and namespace declarations per element, names of at most %d bytes, at most %d levels deep, at most %d elements",
		b.MaxAttributes, b.MaxName, b.MaxDepth, b.MaxElements)
}
