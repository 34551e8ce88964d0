package pebble

import (
	"context"
	"encoding/binary"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/knooppunt/knooppunt/store"
)

// TestEarlierOutboxMovesToTheFeed: the records an earlier version left in
// its outbox, and its trail head without a feed position, are read by
// this one: the records become OpReceived changes at the feed's end, once.
func TestEarlierOutboxMovesToTheFeed(t *testing.T) {
	ctx := context.Background()
	fs := vfs.NewMem()
	s, err := Open(ctx, Config{Dir: "db", FS: fs})
	require.NoError(t, err)
	m := &store.Message{Sender: "12345678", Recipient: "0363", Soort: "WMO315", Identificatie: "A", Body: []byte("<a/>")}
	r, err := s.Put(ctx, m)
	require.NoError(t, err)
	require.NoError(t, s.Close())

	// What the earlier version wrote: an outbox record (message id, then
	// the trail entry as JSON) and a head of seq(8) hash.
	db, err := pebble.Open("db", &pebble.Options{FS: fs})
	require.NoError(t, err)
	rec := append(r.ID[:], `{"seq":0,"time":"2026-01-02T03:04:05Z","principal":"12345678","action":"received","remote":"192.0.2.1:1","prev":"","hash":""}`...)
	require.NoError(t, db.Set(append([]byte{tagOutbox}, make([]byte, 16)...), rec, pebble.Sync))
	require.NoError(t, db.Set(keyTrailHead, append(binary.BigEndian.AppendUint64(nil, 41), "h41"...), pebble.Sync))
	require.NoError(t, db.Close())

	for range 2 { // the second Open finds nothing left to move
		s, err = Open(ctx, Config{Dir: "db", FS: fs})
		require.NoError(t, err)
		cs, err := s.Changes(ctx, 0, 10)
		require.NoError(t, err)
		require.Len(t, cs, 2)
		assert.Equal(t, store.OpPut, cs[0].Op)
		assert.Nil(t, cs[0].Reception)
		assert.Equal(t, store.OpReceived, cs[1].Op)
		assert.Equal(t, r.ID, cs[1].ID)
		assert.Equal(t, &store.Reception{At: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), Principal: "12345678", Remote: "192.0.2.1:1"}, cs[1].Reception)
		head, ok, err := s.TrailHead(ctx)
		require.NoError(t, err)
		require.True(t, ok)
		assert.Equal(t, store.TrailHead{Seq: 41, Hash: "h41"}, head)
		require.NoError(t, s.Close())
	}
}
