package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/knooppunt/knooppunt/bericht"
	"github.com/knooppunt/knooppunt/sample"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func checkRun(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(append([]string{"check"}, args...), strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

// violating is a generated message of berichtsoort name that breaks rule.
func violating(t *testing.T, name, rule string) []byte {
	t.Helper()
	s, ok := bericht.Lookup(name)
	require.True(t, ok, name)
	m, err := sample.New(9).Generate(s, sample.Options{Violate: rule})
	require.NoError(t, err)
	return m.XML
}

func TestCheckCommand(t *testing.T) {
	good := writeMessages(t, "WMO301", "JW319")
	bad := writeFile(t, "bad.xml", violating(t, "WMO301", "CS002"))

	code, out, errs := checkRun(t, "", good...)
	require.Equal(t, 0, code, errs)
	assert.Equal(t, fmt.Sprintf("%s: ok iwmo 3.2 WMO301\n%s: ok ijw 3.2 JW319\n", good[0], good[1]), out)

	code, out, _ = checkRun(t, "", append(good, bad)...)
	assert.Equal(t, 1, code)
	assert.Regexp(t, `(?m)^`+regexp.QuoteMeta(bad)+`:[0-9]+: CS002 \(0001\) at /Bericht/Client/Bsn: a Bsn passes the elfproef$`, out)

	// Standard input, and a refusal by the XSD reported as validate does.
	code, out, _ = checkRun(t, "<x/>", "-")
	assert.Equal(t, 1, code)
	assert.Contains(t, out, "<stdin>: ")
	assert.Contains(t, out, "not-bericht")
}

func TestCheckCommandJSON(t *testing.T) {
	bad := writeFile(t, "bad.xml", violating(t, "JW319", "CD085"))
	code, out, _ := checkRun(t, "", "--json", bad)
	require.Equal(t, 1, code)
	var r checkResult
	require.NoError(t, json.Unmarshal([]byte(out), &r))
	assert.True(t, r.Valid, "the message meets its schema")
	require.NotEmpty(t, r.Findings)
	assert.Equal(t, "CD085", r.Findings[0].Rule)
	assert.Equal(t, "0001", r.Findings[0].Retourcode)
	assert.Positive(t, r.Findings[0].Line)
}

func TestCheckCommandUsage(t *testing.T) {
	code, _, errs := checkRun(t, "")
	assert.Equal(t, 2, code)
	assert.Contains(t, errs, "no FILE given")
	code, out, _ := checkRun(t, "", "--help")
	assert.Equal(t, 0, code)
	assert.Contains(t, out, "Usage: knooppunt check")
	code, _, errs = checkRun(t, "", "/no/such/file.xml")
	assert.Equal(t, 2, code)
	assert.Contains(t, errs, "/no/such/file.xml")
}
