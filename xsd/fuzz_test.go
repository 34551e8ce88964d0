package xsd

import (
	"bytes"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/knooppunt/knooppunt/bericht"
	"github.com/knooppunt/knooppunt/sample"
)

// knownCodes are the codes Validate may refuse with.
var knownCodes = map[string]bool{
	CodeEmpty: true, CodeTooLarge: true, CodeByteOrderMark: true, CodeNotUTF8: true,
	CodeDoctype: true, CodeNotWellFormed: true, CodeNotBericht: true, CodeUnknownNS: true,
	CodeUnknownRelease: true, CodeNotCarried: true, CodeBerichtCode: true, CodeInvalid: true,
	CodeCharacter: true, CodeXMLVersion: true, CodeMarkupInRoot: true, CodeAfterRoot: true,
	CodeTooManyAttrs: true, CodeNameTooLong: true, CodeTooDeep: true, CodeTooMany: true,
}

// FuzzValidate feeds arbitrary bytes to the entry point: it must never
// panic or crash, every refusal must carry a known code, and a message it
// accepts must name a berichtsoort. A short CI run:
//
//	go test ./xsd -run '^$' -fuzz FuzzValidate -fuzztime 20s
func FuzzValidate(f *testing.F) {
	g := sample.New(3)
	for _, s := range bericht.All() {
		m, err := g.Generate(s, sample.Options{Products: 1})
		if err != nil {
			f.Fatal(err)
		}
		f.Add(m.XML)
		f.Add(m.XML[:len(m.XML)/2])
	}
	if _, err := os.Stat(shared); err == nil {
		for _, sub := range []string{"examples", "examples-invalid"} {
			for _, ex := range examples(f, sub) {
				f.Add(ex.data)
			}
		}
	}
	wmo, _ := g.Generate(bericht.All()[0], sample.Options{})
	body := wmo.XML[bytes.Index(wmo.XML, []byte("<wmo301:Bericht")):]
	for _, seed := range []string{
		"",
		"<",
		"\xEF\xBB\xBF" + string(wmo.XML),
		"<!DOCTYPE Bericht [<!ENTITY a \"b\">]>" + string(body),
		`<?xml version="1.0" encoding="ISO-8859-1"?><a/>`,
		"<a>" + strings.Repeat("<b>", 300) + strings.Repeat("</b>", 300) + "</a>",
		`<Bericht xmlns="http://www.istandaarden.nl/iwmo/3_2/wmo301/schema" a="` + strings.Repeat("x", 70000) + `"/>`,
		`<Bericht xmlns="http://www.istandaarden.nl/ijw/3_1/jw301/schema"/>`,
		"<a>&#0;</a>",
		"<a>\xff</a>",
		"\x00<\x00a\x00/\x00>",
	} {
		f.Add([]byte(seed))
	}
	s, err := Load(Config{MaxSize: 1 << 20})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { s.Close() })
	f.Fuzz(func(t *testing.T, msg []byte) {
		h, err := s.Validate(msg)
		if err == nil {
			if h.Soort.Name == "" {
				t.Fatalf("accepted without a berichtsoort")
			}
			return
		}
		var e *Error
		if !errors.As(err, &e) {
			t.Fatalf("not an *Error: %T %v", err, err)
		}
		if !knownCodes[e.Code] {
			t.Fatalf("unknown code %q: %v", e.Code, err)
		}
		for _, v := range e.Violations {
			if v.Line < 0 || v.Column < 0 || strings.ContainsAny(v.Message, "\n\r") {
				t.Fatalf("bad violation %+v", v)
			}
		}
	})
}
