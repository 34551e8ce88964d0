//go:build kparenadebug

package xsd

import (
	"fmt"
	"os"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// planted counts the misuse TestArenaDebugCatchesMisuse commits on purpose;
// TestMain allows exactly that much.
var planted arenaCounts

// TestMain runs the package's tests with the checks on and fails the run if
// any document's memory was misused or is still held once they are done.
func TestMain(m *testing.M) {
	code := m.Run()
	if on, _ := Arenas(); on && code == 0 {
		if got := arenaDebugCounts(); got != planted {
			fmt.Fprintf(os.Stderr, "arena checks after all tests: %+v, want %+v\n", got, planted)
			code = 1
		}
	}
	os.Exit(code)
}

// TestArenaDebugClean: validations on several goroutines, of every kind of
// input, free every block libxml2 takes, never free one twice, never write
// to a freed chunk, and give every chunk back.
func TestArenaDebugClean(t *testing.T) {
	if on, why := Arenas(); !on {
		t.Skip("skipped: " + why)
	}
	set := embeddedSet(t)
	inputs := arenaInputs(t)
	schema := compiledTestSchema(t)
	before := arenaDebugCounts()
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 2 * len(inputs) {
				set.ValidateTree(inputs[(i+g)%len(inputs)])
				schema.Validate(items("ABC", "abc"))
			}
		}()
	}
	wg.Wait()
	after := arenaDebugCounts()
	require.Equal(t, before, after)
	require.Zero(t, after.arenas, "arenas not freed")
	require.Zero(t, after.chunks, "chunks not given back")
}

// TestArenaDebugCatchesMisuse: each check fires on the misuse it is there
// for, exactly once.
func TestArenaDebugCatchesMisuse(t *testing.T) {
	if on, why := Arenas(); !on {
		t.Skip("skipped: " + why)
	}
	embeddedSet(t)
	before := arenaDebugCounts()
	arenaMisuse()
	planted.unfreed++
	planted.doubleFreed++
	planted.poison++
	after := arenaDebugCounts()
	require.Equal(t, arenaCounts{
		arenas:      before.arenas,
		chunks:      before.chunks,
		unfreed:     before.unfreed + 1,
		doubleFreed: before.doubleFreed + 1,
		poison:      before.poison + 1,
	}, after)
}
