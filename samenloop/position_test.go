package samenloop

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/knooppunt/knooppunt/sample"
)

// TestObserveAtSkipsWhatItHolds: a message at or before the engine's
// position changes nothing, and the position survives a save and a load,
// so a replay of a shared source after a restart is harmless.
func TestObserveAtSkipsWhatItHolds(t *testing.T) {
	g := sample.New(31)
	first, _ := wmo301(t, g, "0363")
	second, _ := wmo301(t, g, "0384")
	e := newEngine(t, newMemStore(), time.Now())
	require.NoError(t, e.ObserveAt(5, "WMO301", first.XML))
	v := e.Version()
	require.Positive(t, v)
	assert.Equal(t, uint64(5), e.Position())

	require.NoError(t, e.ObserveAt(5, "WMO301", second.XML), "the same position again")
	require.NoError(t, e.ObserveAt(3, "WMO301", second.XML), "an older position")
	assert.Equal(t, v, e.Version(), "neither was read")
	require.NoError(t, e.ObserveAt(6, "WMO305", nil), "a berichtsoort it ignores still moves the position")
	assert.Equal(t, uint64(6), e.Position())

	path := filepath.Join(t.TempDir(), "samenloop.gob")
	require.NoError(t, e.SaveFile(path))
	loaded := newEngine(t, newMemStore(), time.Now())
	require.NoError(t, loaded.LoadFile(path))
	assert.Equal(t, uint64(6), loaded.Position())
	require.NoError(t, loaded.ObserveAt(7, "WMO301", second.XML))
	assert.Len(t, loaded.tw, 2, "both toewijzingen, the first from the file")
}
