package stuurinfo

import (
	"bytes"
	"errors"
	"html"
	"strconv"
	"strings"

	"github.com/knooppunt/knooppunt/xsd"
)

// facts are what stuurinfo reads from a message's content: codes, counts,
// references and amounts, never personal data.
type facts struct {
	codes  int  // RetourCode elements seen
	afkeur bool // a RetourCode other than 0200, 0233 or 8001
	starts int  // StartProduct lines (305)
	stops  int  // StopProduct lines (307)
	bedrag int64
	refs   []string // ReferentieAanbieder values (315, 301, 317, 319)
}

// approving are the retourcodes that reject nothing: 0200 no remark, 0233
// not assessed (stands beside a rejection elsewhere, which is counted
// there), 8001 declaratie fully approved.
func approving(code []byte) bool {
	switch string(code) {
	case "0200", "0233", "8001":
		return true
	}
	return false
}

var errMalformed = errors.New("malformed XML")

// extract reads the facts of one message in a single pass over its tags.
//
// The messages it sees have passed XSD validation, and the facts are all
// simple-typed elements (codes, digits, a reference), so a scanner over the
// tags is enough: it is some fifty times faster than encoding/xml, which
// matters because the tap's consumer shares the CPUs with ingest. Comments,
// CDATA sections and processing instructions are skipped; anything it does
// not understand ends the scan with errMalformed, never a panic (fuzzed).
func extract(body []byte) (facts, error) {
	var f facts
	var total int64
	credit, inTotaal := false, false
	for i := 0; ; {
		lt := bytes.IndexByte(body[i:], '<')
		if lt < 0 {
			break
		}
		i += lt + 1
		if i >= len(body) {
			return f, errMalformed
		}
		switch body[i] {
		case '?':
			end := bytes.Index(body[i:], []byte("?>"))
			if end < 0 {
				return f, errMalformed
			}
			i += end + 2
			continue
		case '!':
			close := []byte(">")
			if bytes.HasPrefix(body[i:], []byte("!--")) {
				close = []byte("-->")
			} else if bytes.HasPrefix(body[i:], []byte("![CDATA[")) {
				close = []byte("]]>")
			}
			end := bytes.Index(body[i:], close)
			if end < 0 {
				return f, errMalformed
			}
			i += end + len(close)
			continue
		}
		endTag := body[i] == '/'
		if endTag {
			i++
		}
		gt := bytes.IndexByte(body[i:], '>')
		if gt < 0 {
			return f, errMalformed
		}
		tag := body[i : i+gt]
		i += gt + 1
		name := tag
		for j, c := range name { // a loop: bytes.IndexAny built its set on every tag
			if c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '/' {
				name = name[:j]
				break
			}
		}
		if c := bytes.IndexByte(name, ':'); c >= 0 {
			name = name[c+1:]
		}
		selfClosing := len(tag) > 0 && tag[len(tag)-1] == '/'
		if endTag {
			if string(name) == "TotaalIngediendBedrag" {
				inTotaal = false
			}
			continue
		}
		// The text of a simple element runs to the next '<'.
		text := func() []byte {
			if selfClosing {
				return nil
			}
			end := bytes.IndexByte(body[i:], '<')
			if end < 0 {
				return bytes.TrimSpace(body[i:])
			}
			return bytes.TrimSpace(body[i : i+end])
		}
		switch string(name) {
		case "StartProduct":
			f.starts++
		case "StopProduct":
			f.stops++
		case "RetourCode":
			f.codes++
			if !approving(text()) {
				f.afkeur = true
			}
		case "ReferentieAanbieder":
			ref := string(text())
			if strings.IndexByte(ref, '&') >= 0 {
				// As the tree has it (treeFacts), so that a 315 read one
				// way and its 301 the other still match. The message is
				// valid XML without a DTD, so its references are XML's
				// own, which html.UnescapeString decodes alike.
				ref = html.UnescapeString(ref)
			}
			f.refs = append(f.refs, ref)
		case "TotaalIngediendBedrag":
			inTotaal = !selfClosing
		case "TotaalBedrag":
			if inTotaal {
				n, err := strconv.ParseInt(string(text()), 10, 64)
				if err != nil {
					return f, errors.New("bad TotaalBedrag")
				}
				total = n
			}
		case "DebetCredit":
			if inTotaal {
				credit = string(text()) == "C"
			}
		}
	}
	f.bedrag = total
	if credit {
		f.bedrag = -total
	}
	return f, nil
}

// treeFacts reads the same facts as extract from the tree that validation
// built, without a second pass over the message.
func treeFacts(t *xsd.Tree) (facts, error) {
	var f facts
	for range t.All(0, "StartProduct") {
		f.starts++
	}
	for range t.All(0, "StopProduct") {
		f.stops++
	}
	for i := range t.All(0, "RetourCode") {
		f.codes++
		if !approving([]byte(strings.TrimSpace(t.Text(i)))) {
			f.afkeur = true
		}
	}
	for i := range t.All(0, "ReferentieAanbieder") {
		f.refs = append(f.refs, strings.TrimSpace(t.Text(i)))
	}
	var total int64
	credit := false
	for tib := range t.All(0, "TotaalIngediendBedrag") {
		for i := range t.All(tib, "TotaalBedrag") {
			n, err := strconv.ParseInt(strings.TrimSpace(t.Text(i)), 10, 64)
			if err != nil {
				return f, errors.New("bad TotaalBedrag")
			}
			total = n
		}
		for i := range t.All(tib, "DebetCredit") {
			credit = strings.TrimSpace(t.Text(i)) == "C"
		}
	}
	f.bedrag = total
	if credit {
		f.bedrag = -total
	}
	return f, nil
}
