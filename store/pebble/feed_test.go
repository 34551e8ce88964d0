package pebble_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/knooppunt/knooppunt/store"
	"github.com/knooppunt/knooppunt/store/pebble"
	"github.com/knooppunt/knooppunt/store/storetest"
)

// changes reads the whole feed after position after.
func changes(t *testing.T, s *pebble.Store, after uint64) []store.Change {
	t.Helper()
	cs, err := s.Changes(context.Background(), after, 1000)
	require.NoError(t, err)
	return cs
}

// TestFeedRecordsEveryChange: a stored message, a confirmation, a
// quarantine (immediate or by deliveries) and a release each add one change
// in commit order, with the message's facts; an identical resend, a
// refused Put and a repeated Ack add none.
func TestFeedRecordsEveryChange(t *testing.T) {
	ctx := context.Background()
	clock := storetest.NewClock(t0)
	s, err := pebble.Open(ctx, memConfig(vfs.NewMem(), clock))
	require.NoError(t, err)
	defer s.Close()
	head, err := s.Head(ctx)
	require.NoError(t, err)
	require.Zero(t, head, "a new store's feed is empty")

	a := storetest.Msg("12345678", "0363", "WMO315", "A", "")
	ra, err := s.Put(ctx, a)
	require.NoError(t, err)
	_, err = s.Put(ctx, a) // identical resend
	require.NoError(t, err)
	_, err = s.Put(ctx, storetest.Msg("12345678", "0363", "WMO315", "A", "other")) // conflict
	require.ErrorIs(t, err, store.ErrDuplicate)
	b := storetest.Msg("0363", "12345678", "WMO316", "B", "")
	b.Answers = ra.ID
	rb, err := s.Put(ctx, b)
	require.NoError(t, err)
	require.NoError(t, s.Ack(ctx, "0363", ra.ID))
	require.NoError(t, s.Ack(ctx, "0363", ra.ID)) // idempotent: no change
	require.NoError(t, s.Quarantine(ctx, "12345678", rb.ID, "refused"))
	require.NoError(t, s.Release(ctx, rb.ID))
	c, err := s.Put(ctx, storetest.Msg("12345678", "0599", "WMO315", "C", ""))
	require.NoError(t, err)
	for range 3 { // MaxDeliveries 2: the third listing quarantines it
		_, err := s.List(ctx, "0599", 10)
		require.NoError(t, err)
		clock.Advance(2 * 60e9)
	}

	cs := changes(t, s, 0)
	want := []struct {
		op                       store.Op
		id                       store.ID
		soort, sender, recipient string
	}{
		{store.OpPut, ra.ID, "WMO315", "12345678", "0363"},
		{store.OpPut, rb.ID, "WMO316", "0363", "12345678"},
		{store.OpAck, ra.ID, "WMO315", "12345678", "0363"},
		{store.OpQuarantine, rb.ID, "WMO316", "0363", "12345678"},
		{store.OpRelease, rb.ID, "WMO316", "0363", "12345678"},
		{store.OpPut, c.ID, "WMO315", "12345678", "0599"},
		{store.OpQuarantine, c.ID, "WMO315", "12345678", "0599"},
	}
	require.Len(t, cs, len(want))
	for i, w := range want {
		got := cs[i]
		assert.Equal(t, uint64(i+1), got.Seq, "change %d", i)
		assert.Equal(t, w.op, got.Op, "change %d", i)
		assert.Equal(t, w.id, got.ID, "change %d", i)
		assert.Equal(t, []string{w.soort, w.sender, w.recipient}, []string{got.Soort, got.Sender, got.Recipient}, "change %d", i)
		assert.False(t, got.At.IsZero(), "change %d", i)
	}
	assert.Equal(t, ra.ID, cs[1].Answers, "an answer names its heenbericht")
	assert.Equal(t, sha256.Sum256(a.Body), cs[0].SHA256)
	assert.Equal(t, int64(len(a.Body)), cs[0].Size)
	assert.Equal(t, t0, cs[0].Received, "received defaults to the commit time")
	head, err = s.Head(ctx)
	require.NoError(t, err)
	assert.Equal(t, uint64(len(want)), head)
	assert.Equal(t, cs[3:], changes(t, s, 3), "reading resumes after a position")
}

// TestFeedSurvivesReopenAndTrim: positions go on after a reopen, a trim
// removes only what is at or below its position, and a trimmed position
// is never handed out again.
func TestFeedSurvivesReopenAndTrim(t *testing.T) {
	ctx := context.Background()
	fs := vfs.NewMem()
	clock := storetest.NewClock(t0)
	s, err := pebble.Open(ctx, memConfig(fs, clock))
	require.NoError(t, err)
	for _, id := range []string{"A", "B", "C"} {
		_, err := s.Put(ctx, storetest.Msg("12345678", "0363", "WMO315", id, ""))
		require.NoError(t, err)
	}
	left, err := s.TrimFeed(ctx, 3)
	require.NoError(t, err)
	assert.Zero(t, left)
	require.NoError(t, s.Close())

	s, err = pebble.Open(ctx, memConfig(fs, clock))
	require.NoError(t, err)
	defer s.Close()
	head, err := s.Head(ctx)
	require.NoError(t, err)
	assert.Equal(t, uint64(3), head, "the position survives an empty feed")
	for _, id := range []string{"D", "E"} {
		_, err := s.Put(ctx, storetest.Msg("12345678", "0363", "WMO315", id, ""))
		require.NoError(t, err)
	}
	cs := changes(t, s, 0)
	require.Len(t, cs, 2)
	assert.Equal(t, []uint64{4, 5}, []uint64{cs[0].Seq, cs[1].Seq})
	left, err = s.TrimFeed(ctx, 4)
	require.NoError(t, err)
	assert.EqualValues(t, 1, left)
	cs = changes(t, s, 0)
	require.Len(t, cs, 1)
	assert.Equal(t, uint64(5), cs[0].Seq)
}

// TestFollow: a follower gets what was stored before it started and what
// is stored while it waits, in order, and stops when its context ends, when
// its function fails, or when the store closes.
func TestFollow(t *testing.T) {
	ctx := context.Background()
	s, err := pebble.Open(ctx, memConfig(vfs.NewMem(), storetest.NewClock(t0)))
	require.NoError(t, err)
	_, err = s.Put(ctx, storetest.Msg("12345678", "0363", "WMO315", "A", ""))
	require.NoError(t, err)

	fctx, cancel := context.WithCancel(ctx)
	got := make(chan store.Change)
	done := make(chan error, 1)
	go func() {
		done <- s.Follow(fctx, 0, func(c store.Change) error {
			got <- c
			return nil
		})
	}()
	assert.Equal(t, uint64(1), (<-got).Seq)
	_, err = s.Put(ctx, storetest.Msg("12345678", "0363", "WMO315", "B", ""))
	require.NoError(t, err)
	assert.Equal(t, uint64(2), (<-got).Seq, "a change committed while the follower waits")
	cancel()
	require.ErrorIs(t, <-done, context.Canceled)

	stop := errors.New("enough")
	err = s.Follow(ctx, 0, func(store.Change) error { return stop })
	require.ErrorIs(t, err, stop)

	go func() { done <- s.Follow(ctx, 2, func(store.Change) error { return nil }) }()
	require.NoError(t, s.Close())
	require.ErrorIs(t, <-done, store.ErrClosed)
}

// TestFeedEndsBeforeReferences: the reference tables share the feed's key
// tag; reading the feed to its end, and opening a store whose feed is
// empty, must not take a reference entry for a change.
func TestFeedEndsBeforeReferences(t *testing.T) {
	ctx := context.Background()
	fs := vfs.NewMem()
	clock := storetest.NewClock(t0)
	s, err := pebble.Open(ctx, memConfig(fs, clock))
	require.NoError(t, err)
	// Claims whose keys are as long as a feed key, and every other kind.
	_, err = s.ClaimRef(ctx, "0363", "abcde", sha256.Sum256([]byte("x")))
	require.NoError(t, err)
	require.NoError(t, s.AddDi01(ctx, "r1", "0363"))
	require.NoError(t, s.Close())

	s, err = pebble.Open(ctx, memConfig(fs, clock))
	require.NoError(t, err)
	defer s.Close()
	head, err := s.Head(ctx)
	require.NoError(t, err)
	assert.Zero(t, head, "references are no changes")
	assert.Empty(t, changes(t, s, 0))

	m := storetest.Msg("12345678", "0363", "WMO315", "A", "")
	m.Correlation = &store.Correlation{Traceer: store.UUID{2}, Conversatie: store.UUID{3}} // indexed under the same tag
	r, err := s.Put(ctx, m)
	require.NoError(t, err)
	require.NoError(t, s.BindMessage(ctx, r.ID, "r1"))
	cs := changes(t, s, 0)
	require.Len(t, cs, 1, "the feed ends at its last change, before the references")
	assert.Equal(t, r.ID, cs[0].ID)
}
