package mutation_test

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/knooppunt/knooppunt/bericht"
	"github.com/knooppunt/knooppunt/bericht/mutation"
)

// header is a synthetic WMO301 fragment: a header only, enough to give
// every class a target.
const header = `<?xml version="1.0" encoding="UTF-8"?>
<m:Bericht xmlns:b="http://www.istandaarden.nl/iwmo/3_2/basisschema/schema" xmlns:m="http://www.istandaarden.nl/iwmo/3_2/wmo301/schema">
	<m:Header>
		<m:BerichtCode>414</m:BerichtCode>
		<m:BerichtVersie>3</m:BerichtVersie>
		<m:BerichtSubversie>2</m:BerichtSubversie>
		<m:Afzender>0599</m:Afzender>
		<m:Ontvanger>12345678</m:Ontvanger>
		<m:BerichtIdentificatie>
			<b:Identificatie>ABC1</b:Identificatie>
			<b:Dagtekening>2026-01-31</b:Dagtekening>
		</m:BerichtIdentificatie>
		<m:XsdVersie>
			<b:BasisschemaXsdVersie>1.0.0</b:BasisschemaXsdVersie>
			<b:BerichtXsdVersie>1.0.0</b:BerichtXsdVersie>
		</m:XsdVersie>
	</m:Header>
</m:Bericht>
`

func newMutator(t *testing.T) *mutation.Mutator {
	t.Helper()
	s, ok := bericht.Lookup("WMO301")
	require.True(t, ok)
	m, err := mutation.New(s, []byte(header))
	require.NoError(t, err)
	return m
}

func TestEveryClassChangesTheMessage(t *testing.T) {
	m := newMutator(t)
	for _, c := range mutation.Classes() {
		t.Run(string(c), func(t *testing.T) {
			mu, ok := m.Mutate(c, rand.New(rand.NewPCG(1, 2)))
			if c == mutation.Enumeration {
				assert.False(t, ok, "the header has no codelist")
				return
			}
			require.True(t, ok, "the header offers a target for %s", c)
			assert.Equal(t, c, mu.Class)
			assert.True(t, strings.HasPrefix(mu.What, string(c)+" "), mu.What)
			assert.NotEqual(t, header, string(mu.Doc), "%s: %s left the message as it was", c, mu.What)
		})
	}
}

func TestMutateEachTargetsEveryElement(t *testing.T) {
	m := newMutator(t)
	rng := rand.New(rand.NewPCG(1, 2))
	tests := []struct {
		class mutation.Class
		want  int
	}{
		{mutation.Remove, 12},     // every element below the root
		{mutation.Empty, 13},      // every element
		{mutation.TimeZone, 1},    // Dagtekening
		{mutation.Range, 2},       // BerichtVersie, BerichtSubversie
		{mutation.Enumeration, 0}, // the header has no codelist
	}
	for _, tt := range tests {
		got := m.MutateEach(tt.class, rng)
		assert.Equal(t, tt.want, len(got), tt.class)
	}
	removed := m.MutateEach(mutation.Remove, rng)
	require.NotEmpty(t, removed)
	assert.Equal(t, "remove Bericht/Header", removed[0].What)
	assert.NotContains(t, string(removed[0].Doc), "Header")
}

func TestDeterministic(t *testing.T) {
	m := newMutator(t)
	run := func() []string {
		rng := rand.New(rand.NewPCG(7, 7))
		var out []string
		for _, c := range mutation.Classes() {
			for range 5 {
				if mu, ok := m.Mutate(c, rng); ok {
					out = append(out, string(mu.Doc))
				}
			}
		}
		return out
	}
	assert.Equal(t, run(), run(), "the same seed gives the same variants")
}

func TestNewRejectsMalformed(t *testing.T) {
	s, _ := bericht.Lookup("WMO301")
	_, err := mutation.New(s, []byte("<a><b></a>"))
	assert.Error(t, err)
	_, err = mutation.New(s, []byte(""))
	assert.Error(t, err)
}
