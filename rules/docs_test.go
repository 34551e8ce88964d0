package rules

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestDocsListEveryRule: docs/rules.md names every registered rule and, when
// the reference material is beside the repository, every CD, CS and RS rule
// and every technical rule of both standards.
func TestDocsListEveryRule(t *testing.T) {
	doc, err := os.ReadFile("../docs/rules.md")
	require.NoError(t, err)
	listed := map[string]bool{}
	for _, code := range regexp.MustCompile(`\b(?:TR|CD|CS|RS)[0-9]{3}\b`).FindAllString(string(doc), -1) {
		listed[code] = true
	}
	// "RS008–RS021" lists a range.
	for _, m := range regexp.MustCompile(`RS([0-9]{3})–RS([0-9]{3})`).FindAllStringSubmatch(string(doc), -1) {
		from, _ := strconv.Atoi(m[1])
		to, _ := strconv.Atoi(m[2])
		for n := from; n <= to; n++ {
			listed[fmt.Sprintf("RS%03d", n)] = true
		}
	}
	for _, r := range All() {
		assert.True(t, listed[r.Code], "docs/rules.md does not list %s", r.Code)
	}

	const model = "../../shared/istandaarden/model"
	sources, _ := filepath.Glob(filepath.Join(model, "*-condities-constraints.md"))
	notes, _ := filepath.Glob(filepath.Join(model, "tr-rules-*"))
	if len(sources) == 0 || len(notes) == 0 {
		t.Skipf("skipped the check against the standard's rule lists: not found in %s", model)
	}
	for _, p := range append(sources, notes...) {
		data, err := os.ReadFile(p)
		require.NoError(t, err)
		for _, code := range regexp.MustCompile(`\b(?:TR|CD|CS|RS)[0-9]{3}\b`).FindAllString(string(data), -1) {
			assert.True(t, listed[code], "docs/rules.md does not list %s (from %s)", code, filepath.Base(p))
		}
	}
}
