package samenloop

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/knooppunt/knooppunt/bericht"
)

// errMalformed deliberately quotes nothing of the message.
var errMalformed = errors.New("malformed XML")

// parseMessage reads a WMO301 (gemeente = Afzender, lines ToegewezenProduct)
// or WMO307 (gemeente = Ontvanger, lines StopProduct). Errors never quote
// content.
//
// It scans the tags itself instead of running encoding/xml: the observer
// reads every 301 and 307 on a CPU that ingest shares, and encoding/xml
// took a third of the server's CPU there. The messages have passed XSD
// validation and every fact is a simple-typed element, so the scanner
// keeps the path of local names and the text since the last tag, as
// encoding/xml's RawToken would: comments and processing instructions are
// skipped, CDATA and the predefined and numeric character references are
// decoded, attributes are passed over (quoted '>' included). Anything it
// does not understand ends the scan with a malformed-XML error, never a
// panic (fuzzed). An oracle test holds it to the encoding/xml reading.
func parseMessage(soort string, body []byte) (parsed, error) {
	var p parsed
	names := namesOf(soort)
	// Room for the messages' depth and longest simple value, so that a
	// message is read without growing either.
	path := make([][]byte, 0, 16)
	text := make([]byte, 0, 128)
	var f *fact
	end := func() error {
		if len(path) == 0 {
			return errMalformed
		}
		name := path[len(path)-1]
		var parent []byte
		if len(path) > 1 {
			parent = path[len(path)-2]
		}
		if err := take(&p, &f, parent, name, bytes.TrimSpace(text), names); err != nil {
			return err
		}
		path = path[:len(path)-1]
		text = text[:0]
		return nil
	}
	for i := 0; i < len(body); {
		lt := bytes.IndexByte(body[i:], '<')
		if lt < 0 {
			break // trailing text belongs to no element that is read
		}
		if lt > 0 {
			var err error
			if text, err = appendText(text, body[i:i+lt]); err != nil {
				return p, fmt.Errorf("parsing %s: %w", soort, err)
			}
		}
		i += lt + 1
		if i >= len(body) {
			return p, fmt.Errorf("parsing %s: %w", soort, errMalformed)
		}
		switch body[i] {
		case '?':
			n := bytes.Index(body[i:], []byte("?>"))
			if n < 0 {
				return p, fmt.Errorf("parsing %s: %w", soort, errMalformed)
			}
			i += n + 2
			continue
		case '!':
			n, cdata, err := markupDecl(body[i:])
			if err != nil {
				return p, fmt.Errorf("parsing %s: %w", soort, err)
			}
			text = append(text, cdata...)
			i += n
			continue
		case '/':
			i++
			gt := bytes.IndexByte(body[i:], '>')
			if gt < 0 {
				return p, fmt.Errorf("parsing %s: %w", soort, errMalformed)
			}
			i += gt + 1
			if err := end(); err != nil {
				return p, fmt.Errorf("parsing %s: %w", soort, err)
			}
			continue
		}
		n, name, selfClosing, err := startTag(body[i:])
		if err != nil {
			return p, fmt.Errorf("parsing %s: %w", soort, err)
		}
		i += n
		path = append(path, name)
		text = text[:0]
		if string(name) == names.line {
			p.facts = append(p.facts, fact{})
			f = &p.facts[len(p.facts)-1]
		}
		if selfClosing {
			if err := end(); err != nil {
				return p, fmt.Errorf("parsing %s: %w", soort, err)
			}
		}
	}
	if p.gemeente == "" || p.bsn == 0 || len(p.facts) == 0 {
		return p, fmt.Errorf("parsing %s: %w", soort, errNoContent)
	}
	return p, nil
}

// elemNames are the elements that differ between a 301 and a 307.
type elemNames struct{ gemeente, line, begin string }

// namesOf gives the elements of soort, WMO301 or WMO307.
func namesOf(soort string) elemNames {
	if soort == "WMO307" {
		return elemNames{gemeente: "Ontvanger", line: "StopProduct", begin: "Begindatum"}
	}
	return elemNames{gemeente: "Afzender", line: "ToegewezenProduct", begin: "Ingangsdatum"}
}

// startTag reads a start tag from just after its '<': its length up to and
// including '>', the local name, and whether it closes itself. Attribute
// values may hold '>'.
func startTag(b []byte) (n int, local []byte, selfClosing bool, err error) {
	j := 0
	for j < len(b) && !isSpace(b[j]) && b[j] != '/' && b[j] != '>' {
		j++
	}
	name := b[:j]
	var quote byte
	for ; j < len(b); j++ {
		c := b[j]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '>':
			if len(name) == 0 {
				return 0, nil, false, errMalformed
			}
			// Like encoding/xml: the prefix runs to the first colon,
			// unless that leaves either side empty.
			if c := bytes.IndexByte(name, ':'); c > 0 && c < len(name)-1 {
				name = name[c+1:]
			}
			return j + 1, name, b[j-1] == '/', nil
		}
	}
	return 0, nil, false, errMalformed
}

// markupDecl reads a comment, CDATA section or declaration from just after
// its '<': its length and, for CDATA, its text.
func markupDecl(b []byte) (n int, cdata []byte, err error) {
	switch {
	case bytes.HasPrefix(b, []byte("!--")):
		e := bytes.Index(b[3:], []byte("-->"))
		if e < 0 {
			return 0, nil, errMalformed
		}
		return 3 + e + 3, nil, nil
	case bytes.HasPrefix(b, []byte("![CDATA[")):
		e := bytes.Index(b[8:], []byte("]]>"))
		if e < 0 {
			return 0, nil, errMalformed
		}
		return 8 + e + 3, b[8 : 8+e], nil
	}
	// A declaration such as DOCTYPE; an internal subset nests '<' and '>'.
	depth := 1
	for j := 1; j < len(b); j++ {
		switch b[j] {
		case '<':
			depth++
		case '>':
			depth--
			if depth == 0 {
				return j + 1, nil, nil
			}
		}
	}
	return 0, nil, errMalformed
}

// appendText appends character data to dst, decoding character references.
func appendText(dst, s []byte) ([]byte, error) {
	for {
		amp := bytes.IndexByte(s, '&')
		if amp < 0 {
			return append(dst, s...), nil
		}
		dst = append(dst, s[:amp]...)
		s = s[amp+1:]
		semi := bytes.IndexByte(s, ';')
		if semi <= 0 {
			return dst, errMalformed
		}
		ref := s[:semi]
		s = s[semi+1:]
		switch string(ref) {
		case "lt":
			dst = append(dst, '<')
		case "gt":
			dst = append(dst, '>')
		case "amp":
			dst = append(dst, '&')
		case "apos":
			dst = append(dst, '\'')
		case "quot":
			dst = append(dst, '"')
		default:
			if ref[0] != '#' {
				return dst, errMalformed
			}
			var r uint64
			var err error
			if len(ref) > 1 && ref[1] == 'x' {
				r, err = strconv.ParseUint(string(ref[2:]), 16, 32)
			} else {
				r, err = strconv.ParseUint(string(ref[1:]), 10, 32)
			}
			if err != nil || !utf8.ValidRune(rune(r)) {
				return dst, errMalformed
			}
			dst = utf8.AppendRune(dst, rune(r))
		}
	}
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

// parseTree reads what parseMessage reads, from the tree that validation
// built: the elements in document order, each simple one filed by take as
// the scanner files it when its end tag is read.
func parseTree(soort string, t *bericht.Tree) (parsed, error) {
	var p parsed
	names := namesOf(soort)
	var f *fact
	lineEnd := 0
	for i := range t.Len() {
		if f != nil && i >= lineEnd {
			f = nil
		}
		name := t.Name(i)
		if name == names.line {
			p.facts = append(p.facts, fact{})
			f, lineEnd = &p.facts[len(p.facts)-1], t.End(i)
			continue
		}
		if t.End(i) != i+1 {
			continue // an element with element children has no text to file
		}
		parent := ""
		if pi := t.Parent(i); pi >= 0 {
			parent = t.Name(pi)
		}
		if err := take(&p, &f, parent, name, strings.TrimSpace(t.Text(i)), names); err != nil {
			return p, fmt.Errorf("reading %s: %w", soort, err)
		}
	}
	if p.gemeente == "" || p.bsn == 0 || len(p.facts) == 0 {
		return p, fmt.Errorf("reading %s: %w", soort, errNoContent)
	}
	return p, nil
}

// take files one element's text: v, of element name under parent. It
// takes bytes from the scanner and strings from the tree.
func take[T ~string | ~[]byte](p *parsed, f **fact, parent, name, v T, n elemNames) error {
	switch {
	case string(parent) == "Header" && string(name) == n.gemeente:
		p.gemeente = string(v)
	case string(parent) == "Client" && string(name) == "Bsn":
		b, ok := parseBSN(string(v))
		if !ok {
			return errors.New("bsn fails the elfproef")
		}
		p.bsn = b
	case string(name) == n.line:
		*f = nil
	case *f == nil:
	case string(parent) == n.line && string(name) == "ToewijzingNummer":
		nr, err := strconv.ParseUint(string(v), 10, 32)
		if err != nil {
			return errors.New("bad ToewijzingNummer")
		}
		(*f).nummer, (*f).hasNr = uint32(nr), true
	case string(parent) == "Product" && string(name) == "Categorie":
		(*f).product = string(v) + (*f).product
	case string(parent) == "Product" && string(name) == "Code":
		(*f).product += "/" + string(v)
	case string(parent) == n.line && string(name) == n.begin:
		d, err := parseDay(string(v))
		if err != nil {
			return fmt.Errorf("%s %w", name, err)
		}
		(*f).begin = d
	case string(parent) == n.line && string(name) == "Einddatum":
		d, err := parseDay(string(v))
		if err != nil {
			return fmt.Errorf("%s %w", name, err)
		}
		(*f).einde = d
	case string(parent) == n.line && string(name) == "RedenWijziging":
		(*f).reden = string(v)
	}
	return nil
}
