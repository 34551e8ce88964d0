package pebble_test

import (
	"context"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/knooppunt/knooppunt/store"
	"github.com/knooppunt/knooppunt/store/pebble"
	"github.com/knooppunt/knooppunt/store/storetest"
)

func TestQuarantineAtOnce(t *testing.T) {
	ctx := context.Background()
	fs := vfs.NewMem()
	clock := storetest.NewClock(t0)
	cfg := memConfig(fs, clock)
	cfg.MaxDeliveries = 10
	s, err := pebble.Open(ctx, cfg)
	require.NoError(t, err)
	a, err := s.Put(ctx, storetest.Msg("12345678", "0363", "WMO315", "ID-a", ""))
	require.NoError(t, err)
	b, err := s.Put(ctx, storetest.Msg("12345678", "0363", "WMO315", "ID-b", ""))
	require.NoError(t, err)

	// Leased once, far below MaxDeliveries: quarantined all the same.
	l, err := s.List(ctx, "0363", 1)
	require.NoError(t, err)
	require.Equal(t, []store.ID{a.ID}, entryIDs(l))
	require.NoError(t, s.Quarantine(ctx, "0363", a.ID, "attempts"))
	require.NoError(t, s.Quarantine(ctx, "0363", a.ID, "attempts"), "quarantining twice is idempotent")
	st := s.Stats()
	assert.Equal(t, int64(1), st.Pending)
	assert.Equal(t, int64(1), st.Quarantined)

	// Gone from the mailbox even after its lease ends.
	clock.Advance(time.Hour)
	l, err = s.List(ctx, "0363", 10)
	require.NoError(t, err)
	assert.Equal(t, []store.ID{b.ID}, entryIDs(l))

	// Durable, in the history, listable, releasable.
	require.NoError(t, s.Close())
	s, err = pebble.Open(ctx, cfg)
	require.NoError(t, err)
	defer s.Close()
	require.NoError(t, s.Check(ctx))
	q, err := s.Quarantined(ctx, store.ID{}, 10)
	require.NoError(t, err)
	require.Equal(t, []store.ID{a.ID}, entryIDs(q))
	assert.Equal(t, "0363", q[0].Recipient)
	m, err := s.Meta(ctx, a.ID)
	require.NoError(t, err)
	assert.Equal(t, store.StateQuarantined, m.State)
	require.NoError(t, s.Release(ctx, a.ID))
	clock.Advance(time.Hour)
	l, err = s.List(ctx, "0363", 10)
	require.NoError(t, err)
	assert.Contains(t, entryIDs(l), a.ID)
	assert.Equal(t, int64(0), s.Stats().Quarantined)
}

func TestQuarantineRefuses(t *testing.T) {
	ctx := context.Background()
	s, err := pebble.Open(ctx, memConfig(vfs.NewMem(), storetest.NewClock(t0)))
	require.NoError(t, err)
	defer s.Close()
	r, err := s.Put(ctx, storetest.Msg("12345678", "0363", "WMO315", "ID-a", ""))
	require.NoError(t, err)
	tests := []struct {
		name, party, reason string
		id                  store.ID
		want                error
	}{
		{"other party", "0599", "attempts", r.ID, store.ErrNotFound},
		{"unknown id", "0363", "attempts", store.ID{1}, store.ErrNotFound},
		{"zero id", "0363", "attempts", store.ID{}, store.ErrInvalid},
		{"no reason", "0363", "", r.ID, store.ErrInvalid},
		{"no party", "", "attempts", r.ID, store.ErrInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.ErrorIs(t, s.Quarantine(ctx, tc.party, tc.id, tc.reason), tc.want)
		})
	}
	assert.Equal(t, int64(1), s.Stats().Pending, "nothing moved")
	require.NoError(t, s.Ack(ctx, "0363", r.ID))
	require.ErrorIs(t, s.Quarantine(ctx, "0363", r.ID, "attempts"), store.ErrNotFound, "a confirmed message is not pending")
}
