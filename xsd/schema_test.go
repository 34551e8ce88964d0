package xsd

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// testSchema writes a schema that imports a second one from its own
// directory, as the StUF envelope schema does, and returns the main file.
func testSchema(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	types := `<?xml version="1.0" encoding="UTF-8"?>
<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="urn:test:types" elementFormDefault="qualified">
  <xs:simpleType name="Code"><xs:restriction base="xs:string"><xs:pattern value="[A-Z]{3}"/></xs:restriction></xs:simpleType>
</xs:schema>
`
	main := `<?xml version="1.0" encoding="UTF-8"?>
<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:t="urn:test:types"
           targetNamespace="urn:test:main" elementFormDefault="qualified">
  <xs:import namespace="urn:test:types" schemaLocation="types.xsd"/>
  <xs:element name="root">
    <xs:complexType>
      <xs:sequence><xs:element name="item" type="t:Code" maxOccurs="unbounded"/></xs:sequence>
    </xs:complexType>
  </xs:element>
</xs:schema>
`
	require.NoError(t, os.WriteFile(filepath.Join(dir, "types.xsd"), []byte(types), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "main.xsd"), []byte(main), 0o600))
	return filepath.Join(dir, "main.xsd")
}

func compiledTestSchema(t *testing.T) *Schema {
	t.Helper()
	s, err := CompileFile(testSchema(t))
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	return s
}

// items returns a document of the test schema with one item per code.
func items(codes ...string) []byte {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n" + `<m:root xmlns:m="urn:test:main">` + "\n")
	for _, c := range codes {
		b.WriteString("  <m:item>" + c + "</m:item>\n")
	}
	b.WriteString("</m:root>\n")
	return []byte(b.String())
}

func TestSchemaValidate(t *testing.T) {
	s := compiledTestSchema(t)
	require.NoError(t, s.Validate(items("ABC", "XYZ")), "valid through the imported type")

	cases := []struct {
		name string
		doc  []byte
		code string
	}{
		{"empty", nil, CodeEmpty},
		{"invalid UTF-8", append(items("ABC"), 0xFF), CodeNotUTF8},
		{"UTF-16", utf16le(string(items("ABC"))), CodeNotUTF8},
		{"other encoding declared", bytes.Replace(items("ABC"), []byte("UTF-8"), []byte("ISO-8859-1"), 1), CodeNotUTF8},
		{"DOCTYPE", bytes.Replace(items("ABC"), []byte("?>"), []byte(`?><!DOCTYPE m:root [<!ENTITY e "ABC">]>`), 1), CodeDoctype},
		{"not well-formed", []byte(`<m:root xmlns:m="urn:test:main"><m:item>ABC</m:root>`), CodeNotWellFormed},
		{"undeclared prefix", []byte(`<x:root><x:item>ABC</x:item></x:root>`), CodeNotWellFormed},
		{"pattern", items("ABC", "abc"), CodeInvalid},
		{"wrong root", []byte(`<m:other xmlns:m="urn:test:main"/>`), CodeInvalid},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := refusal(t, s.Validate(c.doc))
			assert.Equal(t, c.code, e.Code, e.Error())
		})
	}
}

// TestSchemaViolationPositions: every violation is reported, each at the
// start tag of its element.
func TestSchemaViolationPositions(t *testing.T) {
	s := compiledTestSchema(t)
	doc := items("ABC", "abc", "DEF", "toolong")
	e := refusal(t, s.Validate(doc))
	require.Equal(t, CodeInvalid, e.Code)
	require.Len(t, e.Violations, 2)
	for i, bad := range []string{"abc", "toolong"} {
		line, col := lineCol(doc, bytes.Index(doc, []byte("<m:item>"+bad)))
		v := e.Violations[i]
		assert.Equal(t, [2]int{line, col}, [2]int{v.Line, v.Column}, v.Message)
		assert.Contains(t, v.Message, "'"+bad+"'")
		assert.NotContains(t, v.Redacted, bad, "the redacted text quotes no value")
	}

	bad := []byte(`<m:root xmlns:m="urn:test:main">` + "\n<m:item>ABC</m:item>\n  <m:item>ABC</m:itm></m:root>")
	e = refusal(t, s.Validate(bad))
	require.Equal(t, CodeNotWellFormed, e.Code)
	require.Len(t, e.Violations, 1)
	assert.Equal(t, 3, e.Violations[0].Line)
}

func TestSchemaMaxViolations(t *testing.T) {
	s := compiledTestSchema(t)
	codes := make([]string, DefaultMaxViolations+20)
	for i := range codes {
		codes[i] = "x"
	}
	e := refusal(t, s.Validate(items(codes...)))
	assert.Len(t, e.Violations, DefaultMaxViolations)
	assert.Equal(t, 20, e.Omitted)
}

func TestCompileFileErrors(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.xsd")
	_, err := CompileFile(missing)
	require.Error(t, err)
	assert.Contains(t, err.Error(), missing)

	broken := filepath.Join(dir, "broken.xsd")
	require.NoError(t, os.WriteFile(broken, []byte(`<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">
  <xs:element name="a" type="xs:nosuchtype"/>
</xs:schema>`), 0o600))
	_, err = CompileFile(broken)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "nosuchtype")
	assert.Contains(t, err.Error(), "line 2")
}

func TestSchemaClose(t *testing.T) {
	s, err := CompileFile(testSchema(t))
	require.NoError(t, err)
	require.NoError(t, s.Close())
	require.NoError(t, s.Close())
	require.ErrorIs(t, s.Validate(items("ABC")), ErrClosed)
}

// TestCompileFileBesideLoad: schemas compiled from files while schema sets
// load and validate on other goroutines all compile, and give the same
// verdicts as when compiled alone.
func TestCompileFileBesideLoad(t *testing.T) {
	path := testSchema(t)
	set := embeddedSet(t)
	msgs := mixedMessages(t)
	want := make([]string, len(msgs))
	for i, m := range msgs {
		want[i] = verdict(set.Validate(m))
	}
	var wg sync.WaitGroup
	errs := make(chan error, 12)
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 3 {
				var err error
				if g%2 == 0 {
					var s *Schema
					if s, err = CompileFile(path); err == nil {
						err = s.Validate(items("ABC"))
						s.Close()
					}
				} else {
					var n *Set
					if n, err = Load(Config{}); err == nil {
						n.Close()
					}
				}
				errs <- err
			}
		}()
	}
	for i, m := range msgs {
		assert.Equal(t, want[i], verdict(set.Validate(m)), "message %d", i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		assert.NoError(t, err)
	}
}
