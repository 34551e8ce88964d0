package pebble_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/knooppunt/knooppunt/store"
	"github.com/knooppunt/knooppunt/store/pebble"
	"github.com/knooppunt/knooppunt/store/storetest"
)

// TestCheckpoint: a checkpoint taken while the store serves opens as a
// store of its own with everything committed before it (messages, their
// mailbox state, the feed), and nothing committed after.
func TestCheckpoint(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := pebble.Open(ctx, pebble.Config{Dir: filepath.Join(dir, "data")})
	require.NoError(t, err)
	defer s.Close()
	a, err := s.Put(ctx, storetest.Msg("12345678", "0363", "WMO315", "A", ""))
	require.NoError(t, err)
	b, err := s.Put(ctx, storetest.Msg("12345678", "0363", "WMO315", "B", ""))
	require.NoError(t, err)
	require.NoError(t, s.Ack(ctx, "0363", a.ID))
	head, err := s.Head(ctx)
	require.NoError(t, err)

	cp := filepath.Join(dir, "backup")
	require.NoError(t, s.Checkpoint(ctx, cp))
	_, err = s.Put(ctx, storetest.Msg("12345678", "0363", "WMO315", "C", "")) // after the checkpoint
	require.NoError(t, err)
	assert.Error(t, s.Checkpoint(ctx, cp), "the directory must not exist")

	c, err := pebble.Open(ctx, pebble.Config{Dir: cp})
	require.NoError(t, err)
	defer c.Close()
	l, err := c.Pending(ctx, "0363", 10)
	require.NoError(t, err)
	require.Len(t, l, 1, "B pending, A confirmed, C after the checkpoint")
	assert.Equal(t, b.ID, l[0].ID)
	ch, err := c.Head(ctx)
	require.NoError(t, err)
	assert.Equal(t, head, ch, "the feed as it was")
	assert.Equal(t, int64(1), c.Stats().Pending)
	for path, mode := range modes(t, cp) {
		if path == cp {
			assert.Equal(t, store.DirMode, mode, path)
			continue
		}
		assert.Equal(t, store.FileMode, mode, "%s: the copy holds personal data too", path)
	}
}
