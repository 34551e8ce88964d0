package rules

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/knooppunt/knooppunt/xsd"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// examplesDir holds the published example messages beside the repository.
const examplesDir = "../../shared/istandaarden"

// TestPublishedExamplesInDocs: docs/rules.md lists every published example
// that breaks a rule of the standard, with the rule (or the XSD's refusal
// code) and the lines, and lists no other: the switch finds exactly that.
func TestPublishedExamplesInDocs(t *testing.T) {
	paths, _ := filepath.Glob(filepath.Join(examplesDir, "*", "examples", "*.xml"))
	published, _ := filepath.Glob(filepath.Join(examplesDir, "*", "examples-invalid", "*published*.xml"))
	paths = append(paths, published...)
	if len(paths) == 0 {
		t.Skipf("skipped: the published examples are not found in %s", examplesDir)
	}
	sort.Strings(paths)

	found := map[string]string{} // example → "RULE lines; RULE lines"
	for _, p := range paths {
		msg, err := os.ReadFile(p)
		require.NoError(t, err)
		name, err := filepath.Rel(examplesDir, p)
		require.NoError(t, err)
		lines := map[string][]string{}
		h, doc, err := schemas(t).ValidateTree(msg)
		var xe *xsd.Error
		switch {
		case errors.As(err, &xe):
			for _, v := range xe.Violations {
				lines[xe.Code] = append(lines[xe.Code], fmt.Sprint(v.Line))
			}
		case err != nil:
			t.Fatalf("%s: %v", name, err)
		}
		for _, f := range Check(h, doc) {
			lines[f.Rule] = append(lines[f.Rule], fmt.Sprint(f.Line))
		}
		if len(lines) > 0 {
			found[filepath.ToSlash(name)] = render(lines)
		}
	}
	assert.Equal(t, documentedExamples(t), found, "docs/rules.md, \"Published examples that break a rule\"")
	assert.Contains(t, found, "iwmo-3.2/examples/WMO317.xml", "the examples were read")
}

// render is "RULE 1, 2; RULE 3" in rule order.
func render(lines map[string][]string) string {
	var codes []string
	for c := range lines {
		codes = append(codes, c)
	}
	sort.Strings(codes)
	var parts []string
	for _, c := range codes {
		parts = append(parts, c+" "+strings.Join(lines[c], ", "))
	}
	return strings.Join(parts, "; ")
}

// documentedExamples reads the table of docs/rules.md's section on the
// published examples: example → "RULE lines; …".
func documentedExamples(t *testing.T) map[string]string {
	doc, err := os.ReadFile("../docs/rules.md")
	require.NoError(t, err)
	_, section, ok := strings.Cut(string(doc), "## Published examples that break a rule")
	require.True(t, ok, "docs/rules.md has no section on the published examples")
	section, _, _ = strings.Cut(section, "\n## ")
	row := regexp.MustCompile("(?m)^\\| `([^`]+)` \\| `?([A-Za-z0-9-]+)`? \\| ([0-9, ]+) \\|")
	lines := map[string]map[string][]string{}
	for _, m := range row.FindAllStringSubmatch(section, -1) {
		if lines[m[1]] == nil {
			lines[m[1]] = map[string][]string{}
		}
		lines[m[1]][m[2]] = append(lines[m[1]][m[2]], strings.Split(strings.ReplaceAll(m[3], " ", ""), ",")...)
	}
	require.NotEmpty(t, lines, "no rows in the section on the published examples")
	out := map[string]string{}
	for ex, l := range lines {
		out[ex] = render(l)
	}
	return out
}
