package rules

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite rules/standard.csv from the rule tables in ../shared")

// modelDir holds the standard's rule tables beside the repository.
const modelDir = "../../shared/istandaarden/model"

// TestStandardTable: standard.csv is what the standard's rule tables in
// ../shared say, so the binary carries their wording without ../shared.
// With -update it is rewritten from them.
//
//	go test ./rules -run TestStandardTable -update
func TestStandardTable(t *testing.T) {
	if _, err := os.Stat(modelDir); err != nil {
		t.Skipf("skipped the comparison with the standard's rule tables: not found in %s", modelDir)
	}
	want := buildStandardCSV(t)
	if *update {
		require.NoError(t, os.WriteFile("standard.csv", want, 0o644))
		return
	}
	assert.Equal(t, string(want), string(standardCSV), "standard.csv is stale: go test ./rules -run TestStandardTable -update")
}

// TestStandardTableParses: the embedded table parses, holds every rule the
// switch registers and every code docs/rules.md names, and words each.
func TestOfficialTexts(t *testing.T) {
	for _, r := range All() {
		texts, ok := Official(r.Code)
		require.True(t, ok, "%s has no official text", r.Code)
		for _, x := range texts {
			assert.NotEmpty(t, x.Definition, r.Code)
			assert.NotEmpty(t, x.Source, r.Code)
			assert.NotEmpty(t, x.Standards, r.Code)
		}
	}
	for _, code := range []string{"TR019", "CS015", "RS001", "RS048", "TR377", "TR409"} {
		_, ok := Official(code)
		assert.True(t, ok, code)
	}
	_, ok := Official("TR999")
	assert.False(t, ok)
	assert.True(t, slices.IsSorted(OfficialCodes()))
	assert.Greater(t, len(OfficialCodes()), 150)
}

// tableRow is one row of standard.csv before it is written.
type tableRow struct {
	code, standards, kind, level, retourcode string
	messages, elements                       []string
	definition, explanation, source          string
}

func (r tableRow) record() []string {
	return []string{r.code, r.standards, r.kind, r.level, r.retourcode,
		strings.Join(r.messages, " "), strings.Join(r.elements, "; "), r.definition, r.explanation, r.source}
}

const (
	sourceTRWmo = "Zorginstituut Nederland, informatiemodel iWmo 3.2, technische regels"
	sourceTRJw  = "Zorginstituut Nederland, informatiemodel iJw 3.2, technische regels"
	sourceCCR   = "Zorginstituut Nederland, informatiemodel iWmo 3.2 and iJw 3.2, condities, constraints en restricties: " +
		"https://informatiemodel.istandaarden.nl/informatiemodel/iWmo/3.2/regels/conditie/, " +
		"https://informatiemodel.istandaarden.nl/informatiemodel/iWmo/3.2/regels/constraint/, " +
		"https://informatiemodel.istandaarden.nl/informatiemodel/ijw/3.2/regels/conditie/, " +
		"https://informatiemodel.istandaarden.nl/informatiemodel/ijw/3.2/regels/constraints/"
)

// buildStandardCSV reads the rule tables in ../shared and renders
// standard.csv: one row per rule, or one per standard where iWmo and iJw
// word it differently.
func buildStandardCSV(t *testing.T) []byte {
	wmo := readNotes(t, filepath.Join(modelDir, "tr-rules-iwmo-3.2-notes.txt"))
	jw := readNotes(t, filepath.Join(modelDir, "tr-rules-ijw-3.2-notes.txt"))
	// The iWmo definitions come from the table, which has them whole.
	f, err := os.Open(filepath.Join(modelDir, "tr-rules-iwmo-3.2.csv"))
	require.NoError(t, err)
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	require.NoError(t, err)
	for _, rec := range recs[1:] {
		n, ok := wmo[rec[0]]
		require.True(t, ok, "%s is in the table, not in the notes", rec[0])
		n.retourcode, n.level, n.messages, n.definition = rec[1], rec[2], strings.Fields(rec[3]), clean(rec[4])
		wmo[rec[0]] = n
	}

	var rows []tableRow
	for _, code := range union(keys(wmo), keys(jw)) {
		w, inW := wmo[code]
		j, inJ := jw[code]
		// Where the iJw notes give only a heading, what they give besides
		// (the toelichting, if any) is held against iWmo's wording.
		same := inW && inJ && (w.definition == j.definition && w.explanation == j.explanation ||
			j.definition == "" && (j.explanation == "" || j.explanation == w.definition || j.explanation == w.explanation))
		if inJ && j.definition == "" {
			j.definition, j.explanation = j.explanation, ""
		}
		switch {
		case same:
			w.standards = "iwmo ijw"
			w.messages = union(w.messages, j.messages)
			w.source = sourceTRWmo + "; " + sourceTRJw
			rows = append(rows, w)
		default:
			if inW {
				w.standards, w.source = "iwmo", sourceTRWmo
				rows = append(rows, w)
			}
			if inJ {
				j.standards, j.source = "ijw", sourceTRJw
				rows = append(rows, j)
			}
		}
	}
	rows = append(rows, readConditions(t)...)
	sort.SliceStable(rows, func(a, b int) bool { return rows[a].code < rows[b].code })

	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	require.NoError(t, w.Write([]string{"code", "standards", "kind", "level", "retourcode", "messages", "elements", "definition", "explanation", "source"}))
	for _, r := range rows {
		require.NoError(t, w.Write(r.record()))
	}
	w.Flush()
	require.NoError(t, w.Error())
	return buf.Bytes()
}

var (
	noteLine  = regexp.MustCompile(`^\S+ \| (TR[0-9]{3}) \| ([^|]*) \| ([^|]*) \| ([^|]*) \| (.*)$`)
	codeColon = regexp.MustCompile(`^TR[0-9]{3}: `)
	heading   = regexp.MustCompile(`^# TR[0-9]{3} `)
)

// readNotes reads a tr-rules-*-notes.txt: a line per rule, "level | code |
// retourcode | level | messages | definition", then its explanation on an
// indented "TOEL:" line.
func readNotes(t *testing.T, path string) map[string]tableRow {
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	out := map[string]tableRow{}
	var last string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if rest, ok := strings.CutPrefix(strings.TrimSpace(line), "TOEL:"); ok && last != "" {
			r := out[last]
			r.explanation = clean(rest)
			out[last] = r
			continue
		}
		m := noteLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		def := codeColon.ReplaceAllString(strings.TrimSpace(m[5]), "")
		if heading.MatchString(def) {
			def = ""
		}
		last = m[1]
		out[last] = tableRow{
			code: m[1], kind: "technische regel", retourcode: strings.TrimSpace(m[2]), level: strings.TrimSpace(m[3]),
			messages: strings.Split(strings.TrimSpace(m[4]), ","), definition: clean(def),
		}
	}
	require.NoError(t, sc.Err())
	return out
}

// readConditions reads the conditions, constraints and restrictions of both
// standards: iWmo's as a table, iJw's as a section per rule and place. Both
// word every code alike (checked here), so each code is one row.
func readConditions(t *testing.T) []tableRow {
	rows := map[string]*tableRow{}
	add := func(code, kind, text, retourcode, message, place string) {
		r := rows[code]
		if r == nil {
			r = &tableRow{code: code, standards: "iwmo ijw", kind: strings.ToLower(kind), retourcode: retourcode, definition: clean(text), source: sourceCCR}
			rows[code] = r
		}
		assert.Equal(t, clean(text), r.definition, "%s is worded alike everywhere", code)
		if !slices.Contains(r.messages, message) {
			r.messages = append(r.messages, message)
		}
		if !strings.HasPrefix(code, "RS") && !slices.Contains(r.elements, place) {
			r.elements = append(r.elements, place)
		}
	}

	data, err := os.ReadFile(filepath.Join(modelDir, "iwmo-3.2-condities-constraints.md"))
	require.NoError(t, err)
	for _, line := range strings.Split(string(data), "\n") {
		if !strings.HasPrefix(line, "| ") || strings.HasPrefix(line, "| Bericht ") || strings.HasPrefix(line, "| ---") {
			continue
		}
		c := strings.Split(strings.Trim(strings.TrimSpace(line), "|"), "|")
		for k := range c {
			c[k] = strings.TrimSpace(c[k])
		}
		require.Len(t, c, 11, line)
		add(c[7], c[9], c[8], c[10], c[0], place(c[0], c[1], c[2], c[3], c[4]))
	}

	data, err = os.ReadFile(filepath.Join(modelDir, "ijw-3.2-condities-constraints.md"))
	require.NoError(t, err)
	meta := regexp.MustCompile(`(?m)^- ([A-Za-z-]+): (.*)$`)
	text := regexp.MustCompile(`(?s)\n## Regel\n(.*?)\n\n## `)
	for _, block := range regexp.MustCompile(`(?m)^# Regel `).Split(string(data), -1)[1:] {
		m := map[string]string{}
		for _, kv := range meta.FindAllStringSubmatch(block, -1) {
			if _, seen := m[kv[1]]; !seen {
				m[kv[1]] = strings.TrimSpace(kv[2])
			}
		}
		tm := text.FindStringSubmatch(block)
		require.NotNil(t, tm, "no text in the iJw section of %s", m["Regelcode"])
		add(m["Regelcode"], m["Type"], tm[1], m["Retourcode"], m["Bericht"], place(m["Bericht"], m["Berichtklasse"], m["Element"], m["CDT-element"], ""))
	}

	var out []tableRow
	for _, r := range rows {
		out = append(out, *r)
	}
	return out
}

// place names where a condition or constraint applies: "WMO301
// Contact/Adres_Adres/LandCode".
func place(message string, parts ...string) string {
	var path []string
	for _, p := range parts {
		if p != "" {
			path = append(path, p)
		}
	}
	return fmt.Sprintf("%s %s", message, strings.Join(path, "/"))
}

// clean makes one line of a text: white space collapsed, escaped newlines
// dropped.
func clean(s string) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(s, `\n`, " ")), " ")
}

func keys(m map[string]tableRow) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// union is the sorted union of a and b.
func union(a, b []string) []string {
	out := slices.Concat(a, b)
	sort.Strings(out)
	return slices.Compact(out)
}

// TestExplain: Explain quotes the standard's wording per standard, says
// what the switch does, and describes both sides where the switch checks.
func TestExplain(t *testing.T) {
	var b strings.Builder
	require.NoError(t, Explain(&b, "tr302"))
	out := b.String()
	assert.True(t, strings.HasPrefix(out, "TR302, technische regel of iWmo 3.2 and iJw 3.2\n"), out)
	assert.Contains(t, out, "The standard (iWmo 3.2):")
	assert.Contains(t, out, "The standard (iJw 3.2):")
	assert.Contains(t, out, "Een Product mag alleen vaker in een toewijzingsbericht voorkomen")
	assert.Contains(t, out, "categorie 11, 12, 13 en 14", "the iWmo toelichting")
	assert.Contains(t, out, "Source: Zorginstituut Nederland")
	assert.Contains(t, out, "rules.Check, control level 2")
	assert.Contains(t, out, "Breaks it: two ToegewezenProducten")
	assert.Contains(t, out, "Keeps it: ")
	for _, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		assert.LessOrEqual(t, utf8.RuneCountInString(line), explainWidth, line)
	}

	b.Reset()
	require.NoError(t, Explain(&b, "TR314"))
	assert.Contains(t, b.String(), "control level: berichtoverstijgend; retourcode 8021")
	assert.Contains(t, b.String(), "Checks the part one message decides")
	assert.Contains(t, b.String(), "Breaks it: ")

	b.Reset()
	require.NoError(t, Explain(&b, "RS037"))
	assert.Contains(t, b.String(), "Vullen met 9 cijfers.")
	assert.Contains(t, b.String(), "Enforced by the XSD")
	assert.NotContains(t, b.String(), "Breaks it")

	b.Reset()
	require.NoError(t, Explain(&b, "TR019"))
	assert.Contains(t, b.String(), "needs earlier messages")
	assert.Contains(t, b.String(), "retourcode 9019")

	b.Reset()
	require.NoError(t, Explain(&b, "CD005"))
	assert.Contains(t, b.String(), "Applies to: WMO301 Contact/Adres_Adres/LandCode")

	err := Explain(&b, "XX999")
	require.ErrorIs(t, err, ErrUnknownRule)
	assert.Contains(t, err.Error(), `"XX999"`)
}
