package bericht_test

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/knooppunt/knooppunt/bericht"
	"github.com/knooppunt/knooppunt/bericht/mutation"
	"github.com/knooppunt/knooppunt/sample"
	"github.com/knooppunt/knooppunt/xsd"
)

// official is where the published iStandaarden material sits beside the
// repository; the tests that need it skip when it is absent.
const official = "../../shared/istandaarden"

func requireOfficial(t *testing.T, what string) {
	t.Helper()
	if _, err := os.Stat(official); err != nil {
		t.Skipf("skipped: %s not present: %s needs the official XSDs and examples", official, what)
	}
}

// verdict is what libxml2 says about a document against one schema.
type verdict string

const (
	valid     verdict = "valid"
	invalid   verdict = "invalid"
	malformed verdict = "malformed" // not well-formed: no schema involved
)

// schemaSet is one compiled schema per berichtsoort.
type schemaSet map[string]*xsd.Schema

// loadSchemas compiles the schema file names for every berichtsoort, and
// frees them when the test ends.
func loadSchemas(t *testing.T, file func(bericht.Soort) string) schemaSet {
	t.Helper()
	set := schemaSet{}
	t.Cleanup(func() {
		for _, s := range set {
			s.Close()
		}
	})
	for _, s := range bericht.All() {
		schema, err := xsd.CompileFile(file(s))
		require.NoError(t, err)
		set[s.Name] = schema
	}
	return set
}

func (set schemaSet) verdict(t *testing.T, soort string, doc []byte) verdict {
	t.Helper()
	schema := set[soort]
	require.NotNil(t, schema, soort)
	err := schema.Validate(doc)
	if err == nil {
		return valid
	}
	var e *xsd.Error
	require.ErrorAs(t, err, &e)
	switch e.Code {
	case xsd.CodeInvalid:
		return invalid
	case xsd.CodeInternal:
		require.NoError(t, err)
	}
	return malformed
}

// example is one published message with the berichtsoort its file name
// gives.
type example struct {
	file  string
	soort bericht.Soort
	doc   []byte
}

func examples(t *testing.T) []example {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(official, "*", "examples*", "*.xml"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	var out []example
	for _, f := range files {
		name, _, _ := strings.Cut(strings.TrimSuffix(filepath.Base(f), ".xml"), "_")
		s, ok := bericht.Lookup(name)
		require.True(t, ok, "example %s names no berichtsoort", f)
		doc, err := os.ReadFile(f)
		require.NoError(t, err)
		out = append(out, example{file: f, soort: s, doc: doc})
	}
	return out
}

// TestSchemasAgreeWithOfficial compiles the official XSDs and the
// project's generated ones and requires the same verdict from both on
// every published example and on every mutation of them: each class of
// change applied in turn to every element it can target (some 20,000
// variants).
func TestSchemasAgreeWithOfficial(t *testing.T) {
	requireOfficial(t, "the differential test")

	dir := t.TempDir()
	for name, data := range bericht.SchemaFiles() {
		path := filepath.Join(dir, filepath.FromSlash(name))
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(t, os.WriteFile(path, data, 0o644))
	}
	ours := loadSchemas(t, func(s bericht.Soort) string {
		return filepath.Join(dir, fmt.Sprintf("%s-%s", s.Standard, s.Release), s.Name+".xsd")
	})
	theirs := loadSchemas(t, func(s bericht.Soort) string {
		return filepath.Join(official, fmt.Sprintf("%s-%s", s.Standard, s.Release), "xsd", s.Name+".xsd")
	})

	exs := examples(t)
	verdicts := map[verdict]int{}
	for _, ex := range exs {
		want := theirs.verdict(t, ex.soort.Name, ex.doc)
		got := ours.verdict(t, ex.soort.Name, ex.doc)
		require.Equal(t, want, got, "verdict on %s", ex.file)
		if strings.Contains(ex.file, "examples-invalid") {
			assert.NotEqual(t, valid, want, "%s is published as invalid", ex.file)
		} else {
			assert.Equal(t, valid, want, "%s is published as valid", ex.file)
		}
		verdicts[want]++
	}
	t.Logf("published examples: %d, all agree (%s)", len(exs), counts(verdicts))

	// The bases to mutate: the valid published examples and, unless
	// -short, a synthetic message of every berichtsoort from package
	// sample (two clients, two products each), which covers JW315 and
	// JW318, of which no valid example is published, and gives repeated
	// elements something to move between.
	var bases []example
	for _, ex := range exs {
		if !strings.Contains(ex.file, "examples-invalid") {
			bases = append(bases, ex)
		}
	}
	published := len(bases)
	if !testing.Short() {
		gen := sample.New(32)
		for _, s := range bericht.All() {
			msg, err := gen.Generate(s, sample.Options{Clients: 2, Products: 2})
			require.NoError(t, err, s.Name)
			ex := example{file: "sample " + s.Name, soort: s, doc: msg.XML}
			want := theirs.verdict(t, s.Name, ex.doc)
			require.Equal(t, want, ours.verdict(t, s.Name, ex.doc), "verdict on %s", ex.file)
			if want == valid {
				bases = append(bases, ex)
			} else {
				t.Logf("%s: not valid against the official XSDs, not mutated", ex.file)
			}
		}
	}

	rng := rand.New(rand.NewPCG(2026, 32))
	perClass := map[mutation.Class]map[verdict]int{}
	total, fromPublished, disagree := 0, 0, 0
	for i, ex := range bases {
		m, err := mutation.New(ex.soort, ex.doc)
		require.NoError(t, err, ex.file)
		for _, class := range mutation.Classes() {
			if perClass[class] == nil {
				perClass[class] = map[verdict]int{}
			}
			var mus []mutation.Mutation
			for range rounds(class) {
				mus = append(mus, m.MutateEach(class, rng)...)
			}
			for _, mu := range mus {
				want := theirs.verdict(t, ex.soort.Name, mu.Doc)
				got := ours.verdict(t, ex.soort.Name, mu.Doc)
				total++
				if i < published {
					fromPublished++
				}
				perClass[class][want]++
				if want != got {
					disagree++
					if disagree <= 20 { // enough to see the pattern
						t.Errorf("%s, %s: official says %s, ours %s", filepath.Base(ex.file), mu.What, want, got)
					}
				}
			}
		}
	}
	for _, class := range mutation.Classes() {
		c := perClass[class]
		t.Logf("%-12s %5d mutations (%s)", class, c[valid]+c[invalid]+c[malformed], counts(c))
		assert.Positive(t, c[valid], "class %s: no mutation stayed valid, so the class tests little", class)
		assert.Positive(t, c[invalid], "class %s: no mutation became invalid", class)
	}
	t.Logf("mutations: %d (%d of %d published examples, %d of %d synthetic messages), agreement %d/%d",
		total, fromPublished, published, total-fromPublished, len(bases)-published, total-disagree, total)
	require.GreaterOrEqual(t, fromPublished, 2000, "the differential test needs at least 2,000 mutations of the published examples")
}

// rounds is how often each class goes over every target: a value class
// draws a different value each round, so it gets more than one, except in
// -short mode.
func rounds(c mutation.Class) int {
	switch c {
	case mutation.Pattern, mutation.Enumeration, mutation.Length, mutation.Range, mutation.TimeZone:
		if !testing.Short() {
			return 4
		}
	}
	return 1
}

func counts(c map[verdict]int) string {
	keys := make([]string, 0, len(c))
	for v := range c {
		keys = append(keys, string(v))
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %d", k, c[verdict(k)]))
	}
	return strings.Join(parts, ", ")
}
