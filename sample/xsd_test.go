package sample

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/knooppunt/knooppunt/bericht"
	"github.com/knooppunt/knooppunt/xsd"
)

const xsdRoot = "../../shared/istandaarden"

// schemaSet holds the 28 official schemas, compiled once per test binary.
type schemaSet struct {
	byName map[string]*xsd.Schema
}

var (
	loadOnce sync.Once
	schemas  *schemaSet
	loadErr  error
)

func loadSchemas(t testing.TB) *schemaSet {
	t.Helper()
	if _, err := os.Stat(xsdRoot); os.IsNotExist(err) {
		t.Skip("skipped: official XSDs not present at " + xsdRoot + " (XSD validation of generated messages not run)")
	}
	loadOnce.Do(func() {
		set := &schemaSet{byName: map[string]*xsd.Schema{}}
		for _, s := range bericht.All() {
			path := filepath.Join(xsdRoot, string(s.Standard)+"-"+s.Release, "xsd", s.Name+".xsd")
			sc, err := xsd.CompileFile(path)
			if err != nil {
				loadErr = err
				return
			}
			set.byName[s.Name] = sc
		}
		schemas = set
	})
	require.NoError(t, loadErr)
	return schemas
}

// validate checks msg against the schema of s and returns every violation.
func (set *schemaSet) validate(s bericht.Soort, msg []byte) error {
	err := set.byName[s.Name].Validate(msg)
	var e *xsd.Error
	if !errors.As(err, &e) || len(e.Violations) == 0 {
		return err
	}
	lines := make([]string, len(e.Violations))
	for i, v := range e.Violations {
		lines[i] = fmt.Sprintf("line %d, column %d: %s", v.Line, v.Column, v.Message)
	}
	return fmt.Errorf("validating %s: %s: %s", s.Name, e.Code, strings.Join(lines, "; "))
}

// optionVariants are the Options each seed is generated with.
var optionVariants = []Options{
	{},
	{Products: 1},
	{Clients: 3, Products: 4},
	{Clients: 2, Products: 12},
}

func TestEveryBerichtsoortValidates(t *testing.T) {
	set := loadSchemas(t)
	seeds := 100
	if testing.Short() {
		seeds = 25
	}
	for _, s := range bericht.All() {
		t.Run(s.Name, func(t *testing.T) {
			for seed := range seeds {
				g := New(int64(seed))
				opt := optionVariants[seed%len(optionVariants)]
				m, err := g.Generate(s, opt)
				require.NoError(t, err)
				require.NoError(t, set.validate(s, m.XML), "seed %d options %+v\n%s", seed, opt, m.XML)
				require.Equal(t, s, m.Header.Soort)
			}
		})
	}
}

// TestEveryAnswerValidates answers every heenbericht approved, rejected on
// the header and rejected in a class, and validates all three.
func TestEveryAnswerValidates(t *testing.T) {
	set := loadSchemas(t)
	answers := []AnswerOptions{
		{},
		{RetourCodes: []string{"0001"}},
		{RetourCodes: []string{"8848", "9056"}},
		{Reject: "9063"},
	}
	for _, s := range heenSoorten() {
		t.Run(s.Name, func(t *testing.T) {
			for seed := range 40 {
				g := New(int64(seed))
				heen, err := g.Heen(s, optionVariants[seed%len(optionVariants)])
				require.NoError(t, err)
				for _, ao := range answers {
					a, err := g.Answer(heen, ao)
					require.NoError(t, err)
					require.Equal(t, s.Pair, a.Soort.Name)
					require.NoError(t, set.validate(a.Soort, a.XML), "seed %d answer %+v\n%s", seed, ao, a.XML)
				}
			}
		})
	}
}

func heenSoorten() []bericht.Soort {
	var out []bericht.Soort
	for _, s := range bericht.All() {
		if !s.Answers() {
			out = append(out, s)
		}
	}
	return out
}

// TestInvalidOverrideIsRejected makes sure the validation above can fail:
// an Afzender the caller forces to a bad value must not pass the XSD.
func TestInvalidOverrideIsRejected(t *testing.T) {
	set := loadSchemas(t)
	s, _ := bericht.Lookup("WMO301")
	m, err := New(1).Generate(s, Options{Afzender: "03630"})
	require.NoError(t, err)
	err = set.validate(s, m.XML)
	require.Error(t, err)
	require.True(t, strings.Contains(err.Error(), "Afzender"), err.Error())
}

// BenchmarkValidateGenerated is the baseline for BenchmarkGenerate: parsing
// and XSD-validating the same messages with libxml2, as the switch does.
func BenchmarkValidateGenerated(b *testing.B) {
	set := loadSchemas(b)
	for _, tc := range []struct {
		name string
		opt  Options
	}{
		{"WMO301", Options{Products: 3}},
		{"JW323", Options{Clients: 10, Products: 3}},
	} {
		s, _ := bericht.Lookup(tc.name)
		m, err := New(1).Generate(s, tc.opt)
		require.NoError(b, err)
		b.Run(tc.name, func(b *testing.B) {
			for b.Loop() {
				if err := set.validate(s, m.XML); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
