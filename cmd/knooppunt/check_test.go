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
	// What is wrong, and where: the element and its line, never its value.
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(bad) + `:([0-9]+): CS002 \(0001\) at /Bericht/Client/Bsn: Bsn \(line ([0-9]+)\) fails the elfproef$`).FindStringSubmatch(out)
	require.NotNil(t, m, out)
	assert.Equal(t, m[1], m[2])

	// Standard input, and a refusal by the XSD reported as validate does.
	code, out, _ = checkRun(t, "<x/>", "-")
	assert.Equal(t, 1, code)
	assert.Equal(t, "<stdin>:1:1: the root element is not Bericht\n", out)
}

// TestCheckExplain: --explain prints the rule's official text, its source,
// what the switch does with it and both sides; an unknown rule is a usage
// error.
func TestCheckExplain(t *testing.T) {
	code, out, errs := checkRun(t, "", "--explain", "TR380")
	require.Equal(t, 0, code, errs)
	for _, want := range []string{
		"TR380, technische regel of iWmo 3.2 and iJw 3.2",
		"Vullen met een datum die groter is dan de dagtekening van het bericht.",
		"control level: bericht inhoud (xslt); retourcode 0001",
		"Source: Zorginstituut Nederland",
		"rules.Check",
		"Breaks it: a NieuwProduct whose GewensteIngangsdatum is the Dagtekening",
		"Keeps it: a NieuwProduct whose GewensteIngangsdatum is the day after",
	} {
		assert.Contains(t, out, want)
	}

	code, out, _ = checkRun(t, "", "--explain", "rs037")
	require.Equal(t, 0, code)
	assert.Contains(t, out, "Vullen met 9 cijfers.")
	assert.Contains(t, out, "Enforced by the XSD")

	code, out, errs = checkRun(t, "", "--explain", "TR999")
	assert.Equal(t, 2, code)
	assert.Empty(t, out)
	assert.Equal(t, "knooppunt check: no rule \"TR999\" in iWmo 3.2 or iJw 3.2 (codes look like TR002, CD005, CS002, RS001)\n", errs)

	code, _, errs = checkRun(t, "", "--explain", "TR380", "x.xml")
	assert.Equal(t, 2, code)
	assert.Contains(t, errs, "--explain takes no FILE")
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
	assert.Regexp(t, fmt.Sprintf(`^VerzoekAntwoord \(line %d\) rejects the verzoek \(1\), but the Antwoord \(line [0-9]+\) has no RedenAfwijzingVerzoek$`, r.Findings[0].Line), r.Findings[0].Text)
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
