package insight

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/knooppunt/knooppunt/bericht"
	"github.com/knooppunt/knooppunt/routing"
	"github.com/knooppunt/knooppunt/sample"
	"github.com/knooppunt/knooppunt/store"
	"github.com/knooppunt/knooppunt/store/pebble"
	"github.com/knooppunt/knooppunt/stuurinfo"
)

// berichten is the number of WMO301s the stuurinformatie counts.
func berichten(p *Products) int64 {
	var n int64
	for _, r := range p.Aggregates().Rows(stuurinfo.Query{Granularity: stuurinfo.Month, Totals: true}) {
		if r.Berichtsoort == "WMO301" {
			n += r.Berichten
		}
	}
	return n
}

// TestProductsResumeWhereTheySaved: the products count every message on
// the store's feed once. A restart on the same state files resumes after
// what they saved, and a save trims the feed up to it.
func TestProductsResumeWhereTheySaved(t *testing.T) {
	ctx := context.Background()
	data := filepath.Join(t.TempDir(), "data")
	st, err := pebble.Open(ctx, pebble.Config{Dir: data})
	require.NoError(t, err)
	defer st.Close()
	s, _ := bericht.Lookup("WMO301")
	sent := 0
	put := func(n int) {
		for range n {
			sent++
			m, err := sample.New(int64(sent)).Heen(s, sample.Options{Identificatie: fmt.Sprintf("RESUME%d", sent)})
			require.NoError(t, err)
			_, err = st.Put(ctx, &store.Message{Soort: "WMO301", Sender: m.Header.Sender(), Recipient: m.Header.Recipient(),
				Identificatie: m.Header.Identificatie, Body: m.XML})
			require.NoError(t, err)
		}
	}
	cfg := Config{Store: st, Dir: data, Book: routing.NewBook(routing.DevRegistry()),
		Logger: zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel)}

	put(3)
	p, err := Start(cfg)
	require.NoError(t, err)
	require.NoError(t, p.CaughtUp(ctx))
	assert.EqualValues(t, 3, berichten(p))
	_, err = Start(cfg)
	require.ErrorContains(t, err, "another knooppunt process holds the lock", "one user of the state files at a time")
	require.NoError(t, p.Close(ctx))
	require.NoError(t, p.Close(ctx), "safe twice")

	put(2)
	p, err = Start(cfg)
	require.NoError(t, err)
	defer p.Close(ctx)
	require.NoError(t, p.CaughtUp(ctx))
	assert.EqualValues(t, 5, berichten(p), "the three saved are not counted again")

	files, release := p.Hold()
	release()
	assert.ElementsMatch(t, []string{filepath.Join(data, ProductsDir, "stuurinfo.gob"), filepath.Join(data, ProductsDir, "samenloop.gob")}, files)
	left, err := st.TrimFeed(ctx, 0)
	require.NoError(t, err)
	assert.Zero(t, left, "the feed is trimmed up to what both states saved")
}

// TestTrees: a tree is held while any put of its bytes is under way, taken
// once, and not held when the cache is full.
func TestTrees(t *testing.T) {
	c := NewTrees()
	tree := &bericht.Tree{}
	a, b := [32]byte{1}, [32]byte{2}
	require.True(t, c.Hold(a, tree))
	require.True(t, c.Hold(a, tree), "identical bytes sent twice at once")
	c.Release(a)
	assert.Same(t, tree, c.Take(a), "still held by the other put")
	assert.Nil(t, c.Take(a), "taken once")
	require.True(t, c.Hold(b, tree))
	c.Release(b)
	assert.Nil(t, c.Take(b), "released by its only put")
	for i := range maxTrees {
		require.True(t, c.Hold([32]byte{3, byte(i), byte(i >> 8)}, tree))
	}
	assert.False(t, c.Hold(a, tree), "full")
	assert.Nil(t, c.Take(a))
}
