package stuurinfo

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"strconv"
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

// extract reads the facts of one message in a single pass.
func extract(body []byte) (facts, error) {
	var f facts
	dec := xml.NewDecoder(bytes.NewReader(body))
	var path []string
	var text []byte
	var total int64
	credit := false
	for {
		tok, err := dec.RawToken()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return f, errMalformed
		}
		switch t := tok.(type) {
		case xml.StartElement:
			path = append(path, t.Name.Local)
			text = text[:0]
			switch t.Name.Local {
			case "StartProduct":
				f.starts++
			case "StopProduct":
				f.stops++
			}
		case xml.CharData:
			text = append(text, t...)
		case xml.EndElement:
			if len(path) == 0 {
				return f, errMalformed
			}
			name := path[len(path)-1]
			parent := ""
			if len(path) > 1 {
				parent = path[len(path)-2]
			}
			v := bytes.TrimSpace(text)
			switch {
			case name == "RetourCode":
				f.codes++
				if !approving(v) {
					f.afkeur = true
				}
			case name == "ReferentieAanbieder":
				f.refs = append(f.refs, string(v))
			case parent == "TotaalIngediendBedrag" && name == "TotaalBedrag":
				n, err := strconv.ParseInt(string(v), 10, 64)
				if err != nil {
					return f, errors.New("bad TotaalBedrag")
				}
				total = n
			case parent == "TotaalIngediendBedrag" && name == "DebetCredit":
				credit = string(v) == "C"
			}
			path = path[:len(path)-1]
			text = text[:0]
		}
	}
	f.bedrag = total
	if credit {
		f.bedrag = -total
	}
	return f, nil
}
