package xsd

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/knooppunt/knooppunt/bericht"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLoadCoversAllBerichtsoorten(t *testing.T) {
	dirs := []string{""}
	if _, err := os.Stat(shared); err == nil {
		dirs = append(dirs, shared)
	} else {
		t.Logf("official schema set not tested: %s not found", shared)
	}
	for _, dir := range dirs {
		t.Run(fmt.Sprintf("dir=%q", dir), func(t *testing.T) {
			s, err := Load(Config{Dir: dir})
			require.NoError(t, err)
			require.Equal(t, bericht.All(), s.Soorts())
			require.EqualValues(t, DefaultMaxSize, s.MaxSize())
			_, err = s.Validate(generated(t, "WMO301"))
			require.NoError(t, err)
			require.NoError(t, s.Close())
			require.NoError(t, s.Close(), "second Close")
			_, err = s.Validate(generated(t, "WMO301"))
			require.ErrorIs(t, err, ErrClosed)
		})
	}
}

func TestLoadFailures(t *testing.T) {
	files := bericht.SchemaFiles()
	write := func(t *testing.T, names map[string][]byte) string {
		dir := t.TempDir()
		for name, data := range names {
			p := filepath.Join(dir, filepath.FromSlash(name))
			require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o700))
			require.NoError(t, os.WriteFile(p, data, 0o600))
		}
		return dir
	}
	tests := []struct {
		name  string
		files map[string][]byte
		want  string
	}{
		{"no schemas", map[string][]byte{"x/readme.txt": []byte("hi")}, "no iWmo/iJw 3.2 message schema"},
		{"missing import", map[string][]byte{"WMO301.xsd": files["iwmo-3.2/WMO301.xsd"]}, "basisschema.xsd"},
		{"duplicate", map[string][]byte{
			"a/basisschema.xsd": files["iwmo-3.2/basisschema.xsd"], "a/WMO301.xsd": files["iwmo-3.2/WMO301.xsd"],
			"b/basisschema.xsd": files["iwmo-3.2/basisschema.xsd"], "b/WMO301.xsd": files["iwmo-3.2/WMO301.xsd"],
		}, "both define iwmo 3.2 WMO301"},
		{"broken xml", map[string][]byte{"WMO301.xsd": []byte(`<xs:schema targetNamespace="http://www.istandaarden.nl/iwmo/3_2/wmo301/schema"`)}, "compiling schema"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(Config{Dir: write(t, tt.files)})
			require.Error(t, err)
			require.Contains(t, err.Error(), tt.want)
		})
	}
	_, err := Load(Config{Dir: filepath.Join(t.TempDir(), "absent")})
	require.Error(t, err)
	_, err = Load(Config{MaxSize: -1})
	require.Error(t, err)
}

// TestValidExamples validates every published example against both schema
// sets and checks the header view against an independent reading.
func TestValidExamples(t *testing.T) {
	sets := map[string]*Set{"embedded": embeddedSet(t), "official": officialSet(t)}
	for _, ex := range examples(t, "examples") {
		for setName, s := range sets {
			t.Run(ex.name+"/"+setName, func(t *testing.T) {
				h, err := s.Validate(ex.data)
				require.NoError(t, err)
				want, ok := bericht.Lookup(ex.name)
				require.True(t, ok)
				require.Equal(t, want, h.Soort)
				o := oracleHeader(t, ex.data)
				assert.Equal(t, want.Code, h.BerichtCode)
				assert.Equal(t, o["BerichtCode"], h.BerichtCode)
				assert.Equal(t, o["Afzender"], h.Afzender)
				assert.Equal(t, o["Ontvanger"], h.Ontvanger)
				assert.Equal(t, o["BerichtIdentificatie/Identificatie"], h.Identificatie)
				assert.Equal(t, o["BerichtIdentificatie/Dagtekening"], h.Dagtekening)
				assert.Equal(t, o["XsdVersie/BasisschemaXsdVersie"], h.BasisschemaXsdVersie)
				assert.Equal(t, o["XsdVersie/BerichtXsdVersie"], h.BerichtXsdVersie)
				assert.Equal(t, o["IdentificatieRetour"], h.IdentificatieRetour)
				assert.Equal(t, o["DagtekeningRetour"], h.DagtekeningRetour)
				assert.Equal(t, o["DeclaratieIdentificatie/Identificatie"], h.DeclaratieIdentificatie)
				assert.Equal(t, o["DeclaratieIdentificatie/Dagtekening"], h.DeclaratieDagtekening)
				assert.NotEmpty(t, h.Identificatie)
				assert.Equal(t, want.Retour, h.IdentificatieRetour != "", "IdentificatieRetour present iff retour")
				assert.Equal(t, want.Number == 325, h.DeclaratieIdentificatie != "", "DeclaratieIdentificatie present iff 325")
			})
		}
	}
}

// TestPublishedInvalidExamples: every known-invalid example is refused, by
// both schema sets, with the same code.
func TestPublishedInvalidExamples(t *testing.T) {
	for _, ex := range examples(t, "examples-invalid") {
		t.Run(ex.name, func(t *testing.T) {
			want := CodeInvalid
			if strings.Contains(ex.name, "berichtcode") {
				want = CodeBerichtCode
			}
			for _, s := range []*Set{officialSet(t), embeddedSet(t)} {
				_, err := s.Validate(ex.data)
				e := refusal(t, err)
				require.Equal(t, want, e.Code, "%v", err)
				if want == CodeInvalid {
					require.NotEmpty(t, e.Violations)
					for _, v := range e.Violations {
						require.Positive(t, v.Line)
						require.Positive(t, v.Column)
						require.NotEmpty(t, v.Message)
					}
				}
			}
		})
	}
}

func utf16le(s string) []byte {
	var b []byte
	for _, u := range utf16.Encode([]rune(s)) {
		b = append(b, byte(u), byte(u>>8))
	}
	return b
}

// TestRefusals walks every refusal code, each from inputs built from a
// published example or written inline.
// prescanCodes are the refusals of the pre-scan, which carry one
// positioned violation each.
var prescanCodes = map[string]bool{
	CodeCharacter: true, CodeXMLVersion: true, CodeMarkupInRoot: true, CodeAfterRoot: true,
	CodeTooManyAttrs: true, CodeNameTooLong: true, CodeTooDeep: true, CodeTooMany: true,
}

// attrs is n attributes a0="1" a1="1" …
func attrs(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, ` a%d="1"`, i)
	}
	return b.String()
}

// nsDecls is n namespace declarations xmlns:n0="urn:n0" …
func nsDecls(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, ` xmlns:n%d="urn:n%d"`, i, i)
	}
	return b.String()
}

func TestRefusals(t *testing.T) {
	s := embeddedSet(t)
	wmo := generated(t, "WMO301")
	jw := generated(t, "JW305")
	body := string(wmo[bytes.Index(wmo, []byte("<wmo301:Bericht")):])
	_, name := setText(t, wmo, "iwmo:Achternaam", "")
	decl := `<?xml version="1.0" encoding="UTF-8"?>` + "\n"
	replace := func(old, new string) []byte {
		require.Contains(t, string(wmo), old)
		return []byte(strings.Replace(string(wmo), old, new, 1))
	}
	small, err := Load(Config{MaxSize: int64(len(wmo) - 1)})
	require.NoError(t, err)
	t.Cleanup(func() { small.Close() })

	onlyIWmo := t.TempDir()
	for name, data := range bericht.SchemaFiles() {
		if strings.HasPrefix(name, "iwmo-3.2/") {
			require.NoError(t, os.WriteFile(filepath.Join(onlyIWmo, filepath.Base(name)), data, 0o600))
		}
	}
	iwmoSet, err := Load(Config{Dir: onlyIWmo})
	require.NoError(t, err)
	t.Cleanup(func() { iwmoSet.Close() })

	laughs := `<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<lolz>&lol3;</lolz>`
	xxe := decl + `<!DOCTYPE Bericht [<!ENTITY x SYSTEM "file:///etc/passwd">]>` + "\n" +
		strings.Replace(body, "<wmo301:Afzender>", "<wmo301:Afzender>&x;", 1)

	tests := []struct {
		name string
		set  *Set
		msg  []byte
		code string
	}{
		{"empty", s, nil, CodeEmpty},
		{"too large", small, wmo, CodeTooLarge},
		{"utf-8 bom", s, append([]byte{0xEF, 0xBB, 0xBF}, wmo...), CodeByteOrderMark},
		{"invalid utf-8", s, replace(name, name[:1]+"\xff"+name[1:]), CodeNotUTF8},
		{"utf-16", s, utf16le(string(wmo)), CodeNotUTF8},
		{"utf-16 with bom", s, append([]byte{0xFF, 0xFE}, utf16le(string(wmo))...), CodeNotUTF8},
		{"latin-1 declared", s, replace(`encoding="UTF-8"`, `encoding="ISO-8859-1"`), CodeNotUTF8},
		{"doctype", s, []byte(decl + "<!DOCTYPE Bericht>\n" + body), CodeDoctype},
		{"doctype after comment", s, []byte(decl + "<!-- hi -->\n<!DOCTYPE Bericht SYSTEM \"http://example.org/x.dtd\">\n" + body), CodeDoctype},
		{"billion laughs", s, []byte(laughs), CodeDoctype},
		{"xxe", s, []byte(xxe), CodeDoctype},
		{"truncated", s, wmo[:len(wmo)/2], CodeNotWellFormed},
		{"tag mismatch", s, replace("</wmo301:Afzender>", "</wmo301:Ontvanger>"), CodeNotWellFormed},
		{"undefined prefix", s, []byte(strings.NewReplacer("<wmo301:Afzender>", "<x:Afzender>", "</wmo301:Afzender>", "</x:Afzender>").Replace(string(wmo))), CodeNotWellFormed},
		{"undefined entity", s, replace(name, "&"+name+";"), CodeNotWellFormed},
		{"two roots", s, append(append([]byte{}, wmo...), "<wmo301:Bericht/>"...), CodeAfterRoot},
		{"nul after the root", s, append(append([]byte{}, wmo...), "\x00<!DOCTYPE x [<!ENTITY a SYSTEM \"file:///etc/passwd\">]><evil>&a;</evil>"...), CodeCharacter},
		{"control character", s, replace(name, name[:1]+"\x01"+name[1:]), CodeCharacter},
		{"U+FFFE", s, replace(name, name[:1]+"\uFFFE"+name[1:]), CodeCharacter},
		{"comment after the root", s, append(append([]byte{}, wmo...), "<!-- x -->"...), CodeAfterRoot},
		{"pi after the root", s, append(append([]byte{}, wmo...), "<?x y?>"...), CodeAfterRoot},
		{"white space after the root", s, append(append([]byte{}, wmo...), " \n\t\r\n"...), ""},
		{"comment before the root", s, []byte(decl + "<!-- made by hand -->\n" + body), ""},
		{"comment inside", s, replace("<wmo301:Afzender>03", "<wmo301:Afzender>03<!--63-->"), CodeMarkupInRoot},
		{"pi inside", s, replace("<wmo301:Afzender>03", "<wmo301:Afzender>03<?x y?>"), CodeMarkupInRoot},
		{"pi in the prolog", s, []byte(decl + "<?xml-stylesheet href=\"x\"?>\n" + body), CodeMarkupInRoot},
		{"xml 1.1", s, []byte(strings.Replace(decl, `version="1.0"`, `version="1.1"`, 1) + body), CodeXMLVersion},
		{"too many attributes", s, replace("<wmo301:Afzender>", "<wmo301:Afzender"+attrs(9)+">"), CodeTooManyAttrs},
		{"too many namespaces", s, replace("<wmo301:Client>", "<wmo301:Client"+nsDecls(9)+">"), CodeTooManyAttrs},
		{"long name", s, replace("<wmo301:Client>", "<wmo301:Client><wmo301:"+strings.Repeat("X", 29)+"/>"), CodeNameTooLong},
		{"long prefix", s, replace("<wmo301:Client>", "<wmo301:Client><"+strings.Repeat("p", 29)+":X xmlns:"+strings.Repeat("p", 29)+"=\"urn:x\"/>"), CodeNameTooLong},
		{"long attribute name", s, replace("<wmo301:Client>", "<wmo301:Client "+strings.Repeat("a", 29)+"=\"1\">"), CodeNameTooLong},
		{"too deep", s, replace("<wmo301:Client>", "<wmo301:Client>"+strings.Repeat("<x>", 20)+strings.Repeat("</x>", 20)), CodeTooDeep},
		{"text only", s, []byte("hello"), CodeNotWellFormed},
		{"root not Bericht", s, []byte(`<Toewijzing xmlns="http://www.istandaarden.nl/iwmo/3_2/wmo301/schema"/>`), CodeNotBericht},
		{"release 3.1", s, []byte(strings.Replace(string(wmo), "iwmo/3_2/wmo301", "iwmo/3_1/wmo301", -1)), CodeUnknownRelease},
		{"ijw release 3.0", s, []byte(`<Bericht xmlns="http://www.istandaarden.nl/ijw/3_0/jw301/schema"/>`), CodeUnknownRelease},
		{"unknown namespace", s, []byte(`<Bericht xmlns="urn:example:other"/>`), CodeUnknownNS},
		{"unknown message", s, []byte(`<Bericht xmlns="http://www.istandaarden.nl/iwmo/3_2/wmo303/schema"/>`), CodeUnknownNS},
		{"no namespace", s, []byte(`<Bericht/>`), CodeUnknownNS},
		{"not carried", iwmoSet, jw, CodeNotCarried},
		{"berichtcode", s, replace("<wmo301:BerichtCode>414<", "<wmo301:BerichtCode>436<"), CodeBerichtCode},
		{"xsd: bsn too short", s, first(setText(t, wmo, "wmo301:Bsn", "99990000")), CodeInvalid},
		{"xsd: missing header", s, []byte(`<Bericht xmlns="http://www.istandaarden.nl/iwmo/3_2/wmo301/schema"/>`), CodeInvalid},
		{"xsd: unknown element", s, replace("<wmo301:Afzender>", "<wmo301:Extra/><wmo301:Afzender>"), CodeInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.set.Validate(tt.msg)
			if tt.code == "" {
				require.NoError(t, err)
				return
			}
			e := refusal(t, err)
			require.Equal(t, tt.code, e.Code, "%v", err)
			require.NotEmpty(t, e.Detail)
			require.True(t, strings.HasPrefix(err.Error(), "xsd: "+tt.code))
			switch {
			case tt.code == CodeEmpty: // nothing to point at
				require.Empty(t, e.Violations)
			case tt.code == CodeInvalid:
				require.NotEmpty(t, e.Violations)
			default: // every other refusal points at the place it concerns
				require.Len(t, e.Violations, 1)
				require.Positive(t, e.Violations[0].Line)
				require.Positive(t, e.Violations[0].Column)
			}
		})
	}
	// The same inputs with the refusal undone are accepted, so each case
	// fails for the reason it names.
	_, err = s.Validate(wmo)
	require.NoError(t, err)
	_, err = iwmoSet.Validate(wmo)
	require.NoError(t, err)
	_, err = s.Validate(jw)
	require.NoError(t, err)
}

func TestNotWellFormedPosition(t *testing.T) {
	wmo := generated(t, "WMO301")
	off := bytes.Index(wmo, []byte("</wmo301:Afzender>"))
	require.Positive(t, off)
	msg := append(append(append([]byte{}, wmo[:off]...), "</wmo301:Oops>"...), wmo[off+len("</wmo301:Afzender>"):]...)
	_, err := embeddedSet(t).Validate(msg)
	e := refusal(t, err)
	require.Equal(t, CodeNotWellFormed, e.Code)
	wantLine, _ := lineCol(msg, off)
	require.Equal(t, wantLine, e.Violations[0].Line, e.Violations[0].Message)
	require.Contains(t, e.Violations[0].Message, "mismatch")
}

func TestParseErrorRedacted(t *testing.T) {
	msg, name := setText(t, generated(t, "WMO301"), "iwmo:Achternaam", "")
	msg, _ = setText(t, msg, "iwmo:Achternaam", "&"+name+";")
	_, err := embeddedSet(t).Validate(msg)
	e := refusal(t, err)
	require.Equal(t, CodeNotWellFormed, e.Code)
	require.Contains(t, e.Violations[0].Message, name)
	require.NotContains(t, e.Violations[0].Redacted, name)
	require.NotContains(t, err.Error(), name)
}

func TestInvalidUTF8Position(t *testing.T) {
	msg, _ := setText(t, generated(t, "WMO301"), "iwmo:Achternaam", "Ümit Özdemir")
	off := bytes.Index(msg, []byte("zdemir"))
	msg[off] = 0xC3 // a lead byte followed by ASCII, after multi-byte characters
	_, err := embeddedSet(t).Validate(msg)
	e := refusal(t, err)
	require.Equal(t, CodeNotUTF8, e.Code)
	line, col := lineCol(msg, off)
	require.Equal(t, []int{line, col}, []int{e.Violations[0].Line, e.Violations[0].Column})
}

// TestViolationPosition: each XSD violation points at the '<' of the
// offending element, in an indented message and in one on a single line,
// with multi-byte characters counted as one column.
func TestViolationPosition(t *testing.T) {
	msg := generated(t, "WMO301")
	msg, _ = setText(t, msg, "wmo301:Bsn", "99990000")
	msg, _ = setText(t, msg, "wmo301:Afzender", "384")
	msg, _ = setText(t, msg, "iwmo:Achternaam", "Tïm Émile</iwmo:Achternaam><iwmo:Achternaam>X")
	bad := string(msg)
	oneLine := strings.NewReplacer("\n", "", "\t", "").Replace(bad)
	oneLine = strings.Replace(oneLine, "?>", "?>\n", 1) // keep the declaration on line 1
	for name, msg := range map[string]string{"indented": bad, "one line": oneLine} {
		t.Run(name, func(t *testing.T) {
			_, err := embeddedSet(t).Validate([]byte(msg))
			e := refusal(t, err)
			require.Equal(t, CodeInvalid, e.Code)
			require.Len(t, e.Violations, 3, "%v", e.Violations)
			for i, tag := range []string{"<wmo301:Afzender>", "<wmo301:Bsn>", "<iwmo:Achternaam>X"} {
				off := strings.Index(msg, tag)
				line, col := lineCol([]byte(msg), off)
				v := e.Violations[i]
				assert.Equal(t, []int{line, col}, []int{v.Line, v.Column}, "%s: %s", tag, v.Message)
			}
		})
	}
}

func TestRedacted(t *testing.T) {
	wmo := generated(t, "WMO301")
	tests := []struct{ name, elem, text, value string }{
		{"pattern", "wmo301:Bsn", "99990000", "99990000"},
		{"whitespace", "wmo301:Bsn", "  99990 000 ", "99990 000"},
		{"date", "iwmo:Datum", "1967-02-30", "1967-02-30"},
		{"quote in value", "wmo301:Bsn", "O'Brien", "O'Brien"},
		{"newline in value", "wmo301:Bsn", "9999\n0000", "0000"},
		{"long name", "iwmo:Voorletters", "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "ABCDEFGHIJKLMNOPQRSTUVWXYZ"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg, _ := setText(t, wmo, tt.elem, tt.text)
			_, err := embeddedSet(t).Validate(msg)
			e := refusal(t, err)
			require.Equal(t, CodeInvalid, e.Code)
			require.NotEmpty(t, e.Violations)
			for _, v := range e.Violations {
				require.NotContains(t, v.Redacted, tt.value)
				require.True(t, strings.HasPrefix(v.Redacted, "Element '"), v.Redacted)
				require.NotContains(t, v.Message, "\n")
			}
			require.NotContains(t, err.Error(), tt.value)
		})
	}
	// The full message keeps the value for the sender.
	msg, _ := setText(t, wmo, "wmo301:Bsn", "99990000")
	_, err := embeddedSet(t).Validate(msg)
	require.Contains(t, refusal(t, err).Violations[0].Message, "'99990000'")
}

func TestMaxViolations(t *testing.T) {
	// Basisschema children in release 3.1's namespace: one violation each.
	many := bytes.Replace(generated(t, "WMO301"), []byte("iwmo/3_2/basisschema"), []byte("iwmo/3_1/basisschema"), 1)
	_, err := embeddedSet(t).Validate(many)
	all := refusal(t, err)
	require.Greater(t, len(all.Violations), 3)
	require.Zero(t, all.Omitted)

	few, err := Load(Config{MaxViolations: 2})
	require.NoError(t, err)
	defer few.Close()
	_, err = few.Validate(many)
	e := refusal(t, err)
	require.Equal(t, all.Violations[:2], e.Violations)
	require.Equal(t, len(all.Violations)-2, e.Omitted)
	require.Contains(t, err.Error(), fmt.Sprintf("and %d more", len(all.Violations)-1))
}

// TestHeaderOnRefusal: a message refused for its BerichtCode or by the XSD
// still yields its header, so the retour can be addressed.
func TestHeaderOnRefusal(t *testing.T) {
	wmo := generated(t, "WMO301")
	for _, msg := range [][]byte{
		first(setText(t, wmo, "wmo301:BerichtCode", "415")),
		first(setText(t, wmo, "wmo301:Bsn", "9")),
	} {
		h, err := embeddedSet(t).Validate(msg)
		require.Error(t, err)
		o := oracleHeader(t, msg)
		require.Equal(t, o["Afzender"], h.Afzender)
		require.Equal(t, o["BerichtIdentificatie/Identificatie"], h.Identificatie)
		require.Equal(t, "WMO301", h.Soort.Name)
	}
}

// TestHostileInputs: inputs built to hurt a parser are refused cleanly.
func TestHostileInputs(t *testing.T) {
	wmo := generated(t, "WMO301")
	ns := `xmlns="http://www.istandaarden.nl/iwmo/3_2/wmo301/schema"`
	deep := "<Bericht " + ns + ">" + strings.Repeat("<a>", 100000) + strings.Repeat("</a>", 100000) + "</Bericht>"
	tests := map[string][]byte{
		"deep nesting":     []byte(deep),
		"huge attribute":   []byte("<Bericht " + ns + ` a="` + strings.Repeat("x", 12<<20) + `"/>`),
		"many attributes":  []byte("<Bericht " + ns + strings.Repeat(` a="1"`, 2) + "/>"),
		"long name":        []byte("<" + strings.Repeat("B", 100000) + "/>"),
		"nul byte":         append(append([]byte{}, wmo[:100]...), 0),
		"char ref to nul":  first(setText(t, wmo, "iwmo:Achternaam", "&#0;")),
		"external ns only": []byte(`<x:Bericht xmlns:x="http://www.istandaarden.nl/iwmo/3_2/wmo301/schema"><x:Header/></x:Bericht>`),
	}
	for name, msg := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := embeddedSet(t).Validate(msg)
			e := refusal(t, err)
			require.NotEqual(t, CodeInternal, e.Code)
		})
	}
}

func TestErrorsAreErrors(t *testing.T) {
	_, err := embeddedSet(t).Validate([]byte("<x"))
	var e *Error
	require.True(t, errors.As(fmt.Errorf("wrapped: %w", err), &e))
	require.Equal(t, CodeNotWellFormed, e.Code)
}

func TestEncodingDeclaration(t *testing.T) {
	wmo := string(generated(t, "WMO301"))
	body := wmo[strings.Index(wmo, "<wmo301:Bericht"):]
	tests := []struct {
		decl string
		ok   bool
	}{
		{"", true},
		{`<?xml version="1.0"?>`, true},
		{`<?xml version="1.0" encoding="UTF-8"?>`, true},
		{`<?xml version='1.0' encoding='utf-8' standalone='yes'?>`, true},
		{`<?xml version="1.0" encoding = "Utf-8" ?>`, true},
		{`<?xml version="1.0" encoding="UTF-16"?>`, false},
		{`<?xml version="1.0" encoding="windows-1252"?>`, false},
		{`<?xml version="1.0" encoding='ISO-8859-1'?>`, false},
	}
	for _, tt := range tests {
		t.Run(tt.decl, func(t *testing.T) {
			_, err := embeddedSet(t).Validate([]byte(tt.decl + "\n" + body))
			if tt.ok {
				require.NoError(t, err)
				return
			}
			require.Equal(t, CodeNotUTF8, refusal(t, err).Code)
		})
	}
}

// first returns the first of two results.
func first[A, B any](a A, _ B) A { return a }

// TestRefusalPositions: the refusals before the XSD point at what they
// concern: the BerichtCode element, the DOCTYPE, the root element, the
// encoding in the declaration, the first byte past the size limit.
func TestRefusalPositions(t *testing.T) {
	s := embeddedSet(t)
	wmo := generated(t, "WMO301")
	decl := `<?xml version="1.0" encoding="UTF-8"?>` + "\n"
	body := string(wmo[bytes.Index(wmo, []byte("<wmo301:Bericht")):])
	// lineCol is the position of the first occurrence of marker in msg.
	lineCol := func(msg []byte, marker string) [2]int {
		i := bytes.Index(msg, []byte(marker))
		require.GreaterOrEqual(t, i, 0, marker)
		line, col := position(msg, i)
		return [2]int{line, col}
	}
	small, err := Load(Config{MaxSize: 100})
	require.NoError(t, err)
	t.Cleanup(func() { small.Close() })

	code := bytes.Replace(wmo, []byte("<wmo301:BerichtCode>414<"), []byte("<wmo301:BerichtCode>436<"), 1)
	codeName := bytes.Replace(wmo, []byte("<wmo301:BerichtCode>414<"), []byte("<wmo301:BerichtCode>Jansen<"), 1)
	doctype := []byte(decl + "<!-- <!DOCTYPE in a comment> -->\n\n  <!DOCTYPE Bericht>\n" + body)
	notBericht := []byte(decl + "\n  <Toewijzing xmlns=\"http://www.istandaarden.nl/iwmo/3_2/wmo301/schema\"/>")
	release := []byte(strings.Replace(string(wmo), "iwmo/3_2/wmo301", "iwmo/3_1/wmo301", -1))
	latin := bytes.Replace(wmo, []byte(`encoding="UTF-8"`), []byte(`encoding="ISO-8859-1"`), 1)
	tests := []struct {
		name string
		set  *Set
		msg  []byte
		code string
		want [2]int
	}{
		{"berichtcode", s, code, CodeBerichtCode, lineCol(code, "<wmo301:BerichtCode>")},
		{"berichtcode not a code", s, codeName, CodeBerichtCode, lineCol(codeName, "<wmo301:BerichtCode>")},
		{"doctype after a comment", s, doctype, CodeDoctype, [2]int{4, 3}},
		{"root not Bericht", s, notBericht, CodeNotBericht, [2]int{3, 3}},
		{"release 3.1", s, release, CodeUnknownRelease, lineCol(release, "<wmo301:Bericht")},
		{"latin-1 declared", s, latin, CodeNotUTF8, lineCol(latin, "encoding=")},
		{"byte-order mark", s, append([]byte{0xEF, 0xBB, 0xBF}, wmo...), CodeByteOrderMark, [2]int{1, 1}},
		{"too large", small, wmo, CodeTooLarge, func() [2]int { l, c := position(wmo, 100); return [2]int{l, c} }()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.set.Validate(tt.msg)
			e := refusal(t, err)
			require.Equal(t, tt.code, e.Code, "%v", err)
			require.Len(t, e.Violations, 1)
			v := e.Violations[0]
			assert.Equal(t, tt.want, [2]int{v.Line, v.Column})
			assert.Equal(t, e.Detail, v.Message)
			assert.Equal(t, e.Detail, v.Redacted)
			assert.NotContains(t, v.Message, "Jansen")
		})
	}
}

// TestBerichtCodePublishedPosition: the published example with a wrong
// BerichtCode is refused at line 4, where xmllint places it too.
func TestBerichtCodePublishedPosition(t *testing.T) {
	for _, ex := range examples(t, "examples-invalid") {
		if !strings.Contains(ex.name, "berichtcode") {
			continue
		}
		_, err := embeddedSet(t).Validate(ex.data)
		e := refusal(t, err)
		require.Equal(t, CodeBerichtCode, e.Code)
		require.Len(t, e.Violations, 1)
		assert.Equal(t, 4, e.Violations[0].Line)
		return
	}
	t.Fatal("no published example with a wrong BerichtCode")
}
