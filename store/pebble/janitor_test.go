package pebble

import (
	"context"
	"fmt"
	"testing"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/knooppunt/knooppunt/store"
)

// TestJanitorCompactsConsumedSpan: once enough entries left a mailbox, the
// janitor range-deletes and compacts the span below its head, after which
// not even a scan from the mailbox's first key meets a tombstone.
func TestJanitorCompactsConsumedSpan(t *testing.T) {
	ctx := context.Background()
	p, err := Open(ctx, Config{Dir: "db", FS: vfs.NewMem()})
	require.NoError(t, err)
	defer p.Close()
	var ids []store.ID
	for i := range 40 {
		r, err := p.Put(ctx, &store.Message{Soort: "WMO315", Sender: "12345678", Recipient: "0363",
			Identificatie: fmt.Sprint("ID-", i), Body: []byte("<x/>")})
		require.NoError(t, err)
		ids = append(ids, r.ID)
	}
	for _, id := range ids[:30] {
		require.NoError(t, p.Ack(ctx, "0363", id))
	}
	// Pretend many more entries left, so the next pass compacts.
	require.NoError(t, p.submit(nil, nil, func(w *writer) error {
		w.p.state.removedSince["0363"] = compactAfter
		return nil
	}))
	require.NoError(t, p.RunJanitor(ctx))
	require.NoError(t, p.Check(ctx))

	it, err := p.db.NewIter(&pebble.IterOptions{LowerBound: queuePrefix("0363"), UpperBound: queueUpper("0363")})
	require.NoError(t, err)
	require.True(t, it.First())
	first, _ := queueKeyID(it.Key())
	stats := it.Stats()
	require.NoError(t, it.Close())
	assert.Equal(t, ids[30], first, "the first remaining entry")
	assert.Zero(t, stats.InternalStats.PointsCoveredByRangeTombstones+stats.InternalStats.PointCount-uint64(1), "no tombstones left to skip")

	l, err := p.List(ctx, "0363", store.MaxListLimit)
	require.NoError(t, err)
	assert.Len(t, l, 10)
}
