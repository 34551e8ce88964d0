package xsd

import (
	"sync"
	"testing"

	"github.com/knooppunt/knooppunt/bericht"
	"github.com/knooppunt/knooppunt/sample"
	"github.com/stretchr/testify/require"
)

// arenaInputs are mixedMessages, which take every path of parse and
// validation, and a valid message large enough to need many chunks and
// blocks too big for one.
func arenaInputs(t *testing.T) [][]byte {
	t.Helper()
	s, ok := bericht.Lookup("JW323")
	require.True(t, ok)
	big, err := sample.New(7).Generate(s, sample.Options{Products: 3000})
	require.NoError(t, err)
	require.Greater(t, len(big.XML), 1<<20)
	return append(mixedMessages(t), big.XML)
}

// TestArenaSameVerdicts: with its memory in arenas, libxml2 says exactly
// what it says on plain malloc, for every kind of input.
func TestArenaSameVerdicts(t *testing.T) {
	set := embeddedSet(t)
	inputs := arenaInputs(t)
	t.Cleanup(func() { useArenas(true) })
	useArenas(false)
	plain := make([]string, len(inputs))
	for i, msg := range inputs {
		plain[i] = verdict(set.Validate(msg))
	}
	useArenas(true)
	for i, msg := range inputs {
		require.Equal(t, plain[i], verdict(set.Validate(msg)), "input %d", i)
	}
}

// TestArenaGivesChunksBack: after many validations on several goroutines
// every chunk taken is free again, and a second round reuses them instead
// of taking new ones.
func TestArenaGivesChunksBack(t *testing.T) {
	set := embeddedSet(t)
	inputs := arenaInputs(t)
	round := func() {
		var wg sync.WaitGroup
		for g := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range 3 * len(inputs) {
					set.Validate(inputs[(i+g)%len(inputs)])
				}
			}()
		}
		wg.Wait()
	}
	round()
	taken, warm, cold := arenaStats()
	require.Positive(t, taken)
	require.Equal(t, taken, warm+cold, "chunks still held after every document was freed")
	round()
	taken2, warm, cold := arenaStats()
	require.Equal(t, taken2, warm+cold)
	require.LessOrEqual(t, taken2, taken+taken/4, "the second round took new chunks instead of reusing the free ones")
}
