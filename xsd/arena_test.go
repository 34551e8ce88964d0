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
// every chunk taken is free again, and validations after that reuse the
// free chunks instead of taking new ones. The second part runs on one
// goroutine, so it needs at most the chunks of one document at a time,
// which the first part already took: its count does not depend on how the
// goroutines interleaved.
func TestArenaGivesChunksBack(t *testing.T) {
	if on, why := Arenas(); !on {
		t.Skip("skipped: " + why)
	}
	set := embeddedSet(t)
	inputs := arenaInputs(t)
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
	taken, warm, cold := arenaStats()
	require.Positive(t, taken)
	require.Equal(t, taken, warm+cold, "chunks still held after every document was freed")

	for range 2 {
		for _, msg := range inputs {
			set.Validate(msg)
		}
	}
	taken2, warm, cold := arenaStats()
	require.Equal(t, taken2, warm+cold, "chunks still held after every document was freed")
	require.Equal(t, taken, taken2, "validations one at a time took new chunks instead of reusing the free ones")
}
