package retour_test

import (
	"os"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/knooppunt/knooppunt/xsd"
)

// official is where the published XSDs live beside the clone.
const official = "../../shared/istandaarden"

var (
	embeddedOnce sync.Once
	embeddedSet  *xsd.Set
	embeddedErr  error
	officialOnce sync.Once
	officialSet  *xsd.Set
	officialErr  error
)

// embedded is the switch's own schema set, loaded once for the package.
func embedded(t testing.TB) *xsd.Set {
	t.Helper()
	embeddedOnce.Do(func() { embeddedSet, embeddedErr = xsd.Load(xsd.Config{}) })
	require.NoError(t, embeddedErr)
	return embeddedSet
}

// officialSchemas is the set of published XSDs, or a skip when they are
// absent.
func officialSchemas(t testing.TB) *xsd.Set {
	t.Helper()
	if _, err := os.Stat(official); err != nil {
		t.Skip("skipped: official XSDs not present at " + official + " (answers checked against the embedded schemas only)")
	}
	officialOnce.Do(func() { officialSet, officialErr = xsd.Load(xsd.Config{Dir: official}) })
	require.NoError(t, officialErr)
	return officialSet
}

// schemaSets are the sets every answer must pass: embedded always, the
// official ones when present.
func schemaSets(t *testing.T) map[string]*xsd.Set {
	t.Helper()
	sets := map[string]*xsd.Set{"embedded": embedded(t)}
	if _, err := os.Stat(official); err == nil {
		sets["official"] = officialSchemas(t)
	} else {
		t.Log("official XSDs not present at " + official + ": checking against the embedded schemas only")
	}
	return sets
}
