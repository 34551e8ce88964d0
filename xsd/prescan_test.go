package xsd

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestPrescanBounds: each bound lets its value through and refuses one
// more, at the line and column of the offending tag.
func TestPrescanBounds(t *testing.T) {
	b := Bounds{MaxAttributes: 2, MaxName: 5, MaxDepth: 3, MaxElements: 4}
	tests := []struct {
		name, msg, code string
		line, col       int
	}{
		{"at every bound", `<a x="1" y='2'><b><c/><ccccc/></b></a>`, "", 0, 0},
		{"one attribute more", "<a>\n <b x=\"1\" y=\"2\" z=\"3\"/></a>", CodeTooManyAttrs, 2, 2},
		{"namespace declarations count", `<a xmlns="urn:a" xmlns:p="urn:p" xmlns:q="urn:q"/>`, CodeTooManyAttrs, 1, 1},
		{"long local name", `<a><p:bbbbbb xmlns:p="urn:p"/></a>`, CodeNameTooLong, 1, 4},
		{"long prefix", `<a><pppppp:b/></a>`, CodeNameTooLong, 1, 4},
		{"long attribute name", `<a><b aaaaaa="1"/></a>`, CodeNameTooLong, 1, 4},
		{"one level more", `<a><b><c><d/></c></b></a>`, CodeTooDeep, 1, 10},
		{"an empty element is a level", `<a><b><c/><c/></b></a>`, "", 0, 0},
		{"one element more", `<a><b/><b/><b/><b/></a>`, CodeTooMany, 1, 16},
		{"attribute value with markup", `<a x="&lt;/a&gt; y=" y='>'/>`, "", 0, 0},
		{"cdata with markup", `<a><![CDATA[</a><!-- <? ]]></a>`, "", 0, 0},
		{"comment in the prolog", "<?xml version='1.0'?>\n<!-- c -->\n<a/>", "", 0, 0},
		{"version 1.1", `<?xml version="1.1"?><a/>`, CodeXMLVersion, 1, 1},
		{"a NUL", "<a>\x00</a>", CodeCharacter, 1, 4},
		{"a NUL after the root", "<a/>\x00<b/>", CodeCharacter, 1, 5},
		{"U+FFFF", "<a>\uffff</a>", CodeCharacter, 1, 4},
		{"tab, line feed and return", "<a>\t\n\r</a>", "", 0, 0},
		{"trailing root", "<a/>\n<a/>", CodeAfterRoot, 2, 1},
		{"trailing text", "<a></a>x", CodeAfterRoot, 1, 8},
		{"comment inside", "<a><!--c--></a>", CodeMarkupInRoot, 1, 4},
		{"processing instruction inside", "<a><?p?></a>", CodeMarkupInRoot, 1, 4},
		{"processing instruction before", "<?p?><a/>", CodeMarkupInRoot, 1, 1},
		{"doctype", "<!DOCTYPE a><a/>", CodeDoctype, 1, 1},
		// Markup the scan cannot follow is the parser's to refuse.
		{"end tag first", "</a>", "", 0, 0},
		{"unclosed tag", "<a x=", "", 0, 0},
		{"unclosed root", "<a><b>", "", 0, 0},
		{"text only", "hello", "", 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := Prescan([]byte(tt.msg), b)
			if tt.code == "" {
				require.Nil(t, e)
				return
			}
			require.NotNil(t, e)
			assert.Equal(t, tt.code, e.Code, e.Error())
			require.Len(t, e.Violations, 1)
			assert.Equal(t, tt.line, e.Violations[0].Line)
			assert.Equal(t, tt.col, e.Violations[0].Column)
		})
	}
}

// TestPrescanQuotesNothing: a refusal's texts hold none of the message's
// names or values.
func TestPrescanQuotesNothing(t *testing.T) {
	secret := "Jansen123456782"
	for _, msg := range []string{
		`<a><` + secret + strings.Repeat("x", 40) + `/></a>`,
		`<a ` + secret + `="1" b="1" c="1" d="1" e="1" f="1" g="1" h="1" i="1"/>`,
		`<a>` + secret + "\x00</a>",
		`<a/>` + secret,
		`<a><!--` + secret + `--></a>`,
	} {
		e := Prescan([]byte(msg), MessageBounds())
		require.NotNil(t, e, msg)
		assert.NotContains(t, e.Error(), secret)
		assert.NotContains(t, e.Detail, secret)
		for _, v := range e.Violations {
			assert.NotContains(t, v.Message, secret)
			assert.NotContains(t, v.Redacted, secret)
		}
	}
}

// FuzzPrescan: no input makes the pre-scan panic; a refusal has a code of
// its own and one violation at a position inside the message.
func FuzzPrescan(f *testing.F) {
	for _, s := range []string{
		`<?xml version="1.0"?><a x="1"><b/><![CDATA[x]]></a>`,
		"<a><!--c--></a>", "<a/>\x00", `<?xml version="1.1"?><a/>`,
		`<a b="1" c="2" d="3" e="4" f="5" g="6" h="7" i="8" j="9"/>`,
		"<!DOCTYPE a><a/>", "</a>", "<a x='", "<a><b></a>", "<a>0123456\x1f89abcdef\uffff</a>",
	} {
		f.Add([]byte(s))
	}
	codes := map[string]bool{
		CodeCharacter: true, CodeXMLVersion: true, CodeMarkupInRoot: true, CodeAfterRoot: true,
		CodeTooManyAttrs: true, CodeNameTooLong: true, CodeTooDeep: true, CodeTooMany: true, CodeDoctype: true,
	}
	b := Bounds{MaxAttributes: 3, MaxName: 8, MaxDepth: 4, MaxElements: 16}
	f.Fuzz(func(t *testing.T, msg []byte) {
		if i, j := illegalChar(msg), illegalCharIn(msg, 0, len(msg)); i != j {
			t.Fatalf("illegalChar %d, byte by byte %d", i, j)
		}
		if !utf8.Valid(msg) {
			return // Validate refuses invalid UTF-8 before the pre-scan
		}
		e := Prescan(msg, b)
		if e == nil {
			return
		}
		if !codes[e.Code] {
			t.Fatalf("unknown code %q", e.Code)
		}
		if len(e.Violations) != 1 {
			t.Fatalf("%d violations", len(e.Violations))
		}
		v := e.Violations[0]
		lines := strings.Count(string(msg), "\n") + 1
		if v.Line < 1 || v.Line > lines || v.Column < 1 {
			t.Fatalf("position %d:%d outside the message of %d lines", v.Line, v.Column, lines)
		}
	})
}

// BenchmarkPrescan measures the pre-scan alone on a generated WMO301 and
// on a valid 1 MiB declaratie, to set against BenchmarkValidate.
func BenchmarkPrescan(b *testing.B) {
	for name, msg := range map[string][]byte{"WMO301": generated(b, "WMO301"), "JW323-1MiB": validOfSize(b, 1<<20)} {
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(msg)))
			for b.Loop() {
				if e := Prescan(msg, MessageBounds()); e != nil {
					b.Fatal(e)
				}
			}
		})
	}
}
