package xsd

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestArenaDecision: the arena allocator goes in on libxml2 2.9.x only,
// compiled against 2.9.x headers.
func TestArenaDecision(t *testing.T) {
	cases := []struct {
		runtime, compiled int
		on                bool
		why               string
	}{
		{20914, 20914, true, "2.9.14"},
		{20900, 20914, true, "2.9.0"},
		{20999, 20914, true, "2.9.99"},
		{20914, 20900, true, "2.9.14"},
		{20817, 20914, false, "libxml2 2.8.17 is loaded"},
		{21000, 20914, false, "libxml2 2.10.0 is loaded"},
		{21104, 20914, false, "libxml2 2.11.4 is loaded"},
		{21207, 20914, false, "libxml2 2.12.7 is loaded"},
		{0, 20914, false, "of unknown version"},
		{20914, 21207, false, "headers of libxml2 2.12.7"},
		{20914, 20817, false, "headers of libxml2 2.8.17"},
	}
	for _, c := range cases {
		on, why := arenaDecision(c.runtime, c.compiled)
		assert.Equal(t, c.on, on, "runtime %d, compiled %d: %s", c.runtime, c.compiled, why)
		assert.Contains(t, why, c.why)
		if !on {
			assert.Contains(t, why, "malloc")
		}
	}
}

// TestArenasReportedAsUsed: what Arenas reports is what validation does:
// documents take arena chunks exactly when it says the arenas are on.
func TestArenasReportedAsUsed(t *testing.T) {
	set := embeddedSet(t)
	on, why := Arenas()
	t.Log(why)
	for _, msg := range mixedMessages(t) {
		set.Validate(msg)
	}
	taken, _, _ := arenaStats()
	if on {
		require.Positive(t, taken, why)
	} else {
		require.Zero(t, taken, why)
	}
}
