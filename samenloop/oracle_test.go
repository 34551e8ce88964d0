package samenloop

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/knooppunt/knooppunt/bericht"
	"github.com/knooppunt/knooppunt/sample"
)

// parseMessageXML is the encoding/xml reading that parseMessage replaced,
// kept as the oracle it is held to. It reads a WMO301 (gemeente = Afzender, lines ToegewezenProduct)
// or WMO307 (gemeente = Ontvanger, lines StopProduct). Errors never quote
// content.
func parseMessageXML(soort string, body []byte) (parsed, error) {
	var p parsed
	gemeenteElem, lineElem, beginElem := "Afzender", "ToegewezenProduct", "Ingangsdatum"
	if soort == "WMO307" {
		gemeenteElem, lineElem, beginElem = "Ontvanger", "StopProduct", "Begindatum"
	}
	dec := xml.NewDecoder(bytes.NewReader(body))
	var path []string
	var f *fact
	var text []byte
	for {
		tok, err := dec.RawToken()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return p, fmt.Errorf("parsing %s: malformed XML", soort)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			path = append(path, t.Name.Local)
			text = text[:0]
			if t.Name.Local == lineElem {
				p.facts = append(p.facts, fact{})
				f = &p.facts[len(p.facts)-1]
			}
		case xml.CharData:
			text = append(text, t...)
		case xml.EndElement:
			if len(path) == 0 {
				return p, fmt.Errorf("parsing %s: malformed XML", soort)
			}
			name := path[len(path)-1]
			parent := ""
			if len(path) > 1 {
				parent = path[len(path)-2]
			}
			v := string(bytes.TrimSpace(text))
			if err := p.takeXML(&f, parent, name, v, gemeenteElem, lineElem, beginElem); err != nil {
				return p, fmt.Errorf("parsing %s: %w", soort, err)
			}
			path = path[:len(path)-1]
			text = text[:0]
		}
	}
	if p.gemeente == "" || p.bsn == 0 || len(p.facts) == 0 {
		return p, fmt.Errorf("parsing %s: %w", soort, errNoContent)
	}
	return p, nil
}

// takeXML files one element's text.
func (p *parsed) takeXML(f **fact, parent, name, v, gemeenteElem, lineElem, beginElem string) error {
	switch {
	case parent == "Header" && name == gemeenteElem:
		p.gemeente = v
	case parent == "Client" && name == "Bsn":
		n, ok := parseBSN(v)
		if !ok {
			return errors.New("bsn fails the elfproef")
		}
		p.bsn = n
	case name == lineElem:
		*f = nil
	case *f == nil:
	case parent == lineElem && name == "ToewijzingNummer":
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return errors.New("bad ToewijzingNummer")
		}
		(*f).nummer, (*f).hasNr = uint32(n), true
	case parent == "Product" && name == "Categorie":
		(*f).product = v + (*f).product
	case parent == "Product" && name == "Code":
		(*f).product += "/" + v
	case parent == lineElem && name == beginElem:
		d, err := parseDay(v)
		if err != nil {
			return fmt.Errorf("%s %w", name, err)
		}
		(*f).begin = d
	case parent == lineElem && name == "Einddatum":
		d, err := parseDay(v)
		if err != nil {
			return fmt.Errorf("%s %w", name, err)
		}
		(*f).einde = d
	case parent == lineElem && name == "RedenWijziging":
		(*f).reden = v
	}
	return nil
}

// oracleCorpus is iWmo 301s and 307s from the generator over many seeds:
// single messages with one to many product lines and several gemeenten,
// and the 301s and 307s of whole trajecten (changes, stops, einddatums).
func oracleCorpus(t testing.TB, seeds int) map[string][][]byte {
	t.Helper()
	out := map[string][][]byte{}
	for seed := int64(1); seed <= int64(seeds); seed++ {
		g := sample.New(seed)
		for _, name := range []string{"WMO301", "WMO307"} {
			for i, products := range []int{0, 1, 3, 12} {
				opt := sample.Options{Products: products}
				if i%2 == 1 {
					opt.Afzender, opt.Ontvanger = "0599", "0363"
				}
				if name == "WMO307" {
					opt.Afzender, opt.Ontvanger = opt.Ontvanger, opt.Afzender
				}
				m, err := g.Heen(soort(t, name), opt)
				require.NoError(t, err)
				out[name] = append(out[name], m.XML)
			}
		}
		msgs, err := g.Traject(bericht.IWmo, sample.TrajectOptions{Products: int(seed%4) + 1})
		require.NoError(t, err)
		for _, m := range msgs {
			if n := m.Soort.Name; n == "WMO301" || n == "WMO307" {
				out[n] = append(out[n], m.XML)
			}
		}
	}
	return out
}

// TestParseMessageOracle holds the scanner to encoding/xml's reading of
// every generated 301 and 307.
func TestParseMessageOracle(t *testing.T) {
	seeds := 200
	if testing.Short() {
		seeds = 20
	}
	n := 0
	for name, bodies := range oracleCorpus(t, seeds) {
		for _, body := range bodies {
			want, err := parseMessageXML(name, body)
			require.NoError(t, err, "the oracle reads every generated %s", name)
			got, err := parseMessage(name, body)
			require.NoError(t, err)
			require.Equal(t, want, got, "%s", name)
			require.NotEmpty(t, got.facts)
			n++
		}
	}
	require.Greater(t, n, 8*seeds, "corpus too small")
}

// replaceAll is an edit that replaces every match of pattern with repl.
func replaceAll(pattern, repl string) func(string) string {
	r := regexp.MustCompile(pattern)
	return func(s string) string { return r.ReplaceAllString(s, repl) }
}

// variantEdits turn a generated message into XML forms the generator never
// writes, some of them invalid.
var variantEdits = []struct {
	name string
	edit func(string) string
}{
	{"unchanged", func(s string) string { return s }},
	{"char reference", replaceAll(`>0363<`, ">&#48;3&#x36;3<")},
	{"entity", replaceAll(`>0363<`, ">&amp;0363<")},
	{"unknown entity", replaceAll(`>0363<`, ">&nbsp;0363<")},
	{"cdata", replaceAll(`>0363<`, "><![CDATA[0363]]><")},
	{"comment inside text", replaceAll(`>0363<`, ">03<!-- x -->63<")},
	{"processing instruction", replaceAll(`>0363<`, "><?pi x?>0363<")},
	{"spaces around value", replaceAll(`>0363<`, ">\n  0363\t<")},
	{"space in end tags", replaceAll(`(</[A-Za-z0-9:]+)>`, "$1 >")},
	{"other prefix", replaceAll(`<(/?)([A-Za-z0-9]+):`, "<${1}q:")},
	{"attribute with >", replaceAll(`(<[A-Za-z0-9]+:Bsn)>`, `$1 a="x>y">`)},
	{"attribute single quotes", replaceAll(`(<[A-Za-z0-9]+:Bsn)>`, `$1 a='x>"y'>`)},
	{"self-closing RedenWijziging", replaceAll(`(</[A-Za-z0-9]+:(Ingangsdatum|Begindatum)>)`, "$1<r:RedenWijziging/>")},
	{"empty Einddatum", replaceAll(`(</[A-Za-z0-9]+:(Ingangsdatum|Begindatum)>)`, "$1<r:Einddatum></r:Einddatum>")},
	{"doctype", replaceAll(`^(<\?xml[^>]*\?>)`, "$1<!DOCTYPE x [<!ELEMENT x ANY>]>")},
	{"bad bsn", replaceAll(`(Bsn>)\d`, "${1}0")},
	{"no lines", replaceAll(`(ToegewezenProduct|StopProduct)`, "X$1")},
	{"truncated", func(s string) string { return s[:len(s)/2] }},
	{"unclosed tag", func(s string) string { return s + "<" }},
	{"stray end tag", func(s string) string { return s + "</x>" }},
}

// TestParseMessageOracleVariants covers XML forms the generator never
// writes but a valid message may hold: references, CDATA, comments,
// processing instructions, self-closing and empty elements, other prefixes
// and whitespace, attributes holding '>'. The scanner must read them as
// encoding/xml does, including where both refuse.
func TestParseMessageOracleVariants(t *testing.T) {
	g := sample.New(42)
	m301, err := g.Heen(soort(t, "WMO301"), sample.Options{Afzender: "0363", Products: 2})
	require.NoError(t, err)
	m307, err := g.Heen(soort(t, "WMO307"), sample.Options{Ontvanger: "0363", Products: 2})
	require.NoError(t, err)
	for _, m := range []*sample.Message{m301, m307} {
		name := m.Soort.Name
		for _, tc := range variantEdits {
			t.Run(name+"/"+tc.name, func(t *testing.T) {
				body := []byte(tc.edit(string(m.XML)))
				if tc.name != "unchanged" {
					require.NotEqual(t, string(m.XML), string(body), "the edit must apply")
				}
				want, wantErr := parseMessageXML(name, body)
				got, gotErr := parseMessage(name, body)
				require.Equal(t, wantErr == nil, gotErr == nil, "oracle: %v, scanner: %v", wantErr, gotErr)
				if wantErr == nil {
					require.Equal(t, want, got)
				}
			})
		}
	}
}

// BenchmarkParse compares the scanner with the encoding/xml reading it
// replaced, on the same generated WMO301s and WMO307s.
func BenchmarkParse(b *testing.B) {
	corpus := oracleCorpus(b, 4)
	for _, impl := range []struct {
		name  string
		parse func(string, []byte) (parsed, error)
	}{{"scanner", parseMessage}, {"encodingxml", parseMessageXML}} {
		for _, name := range []string{"WMO301", "WMO307"} {
			bodies := corpus[name]
			b.Run(impl.name+"/"+name, func(b *testing.B) {
				b.ReportAllocs()
				size := 0
				for _, body := range bodies {
					size += len(body)
				}
				b.SetBytes(int64(size / len(bodies)))
				i := 0
				for b.Loop() {
					if _, err := impl.parse(name, bodies[i%len(bodies)]); err != nil {
						b.Fatal(err)
					}
					i++
				}
			})
		}
	}
}
