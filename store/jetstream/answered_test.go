package jetstream_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/knooppunt/knooppunt/store"
	"github.com/knooppunt/knooppunt/store/jetstream"
	"github.com/knooppunt/knooppunt/store/jetstream/natstest"
	"github.com/knooppunt/knooppunt/store/storetest"
)

// openShared opens n store clients on one stream.
func openShared(t *testing.T, n int) []*jetstream.Store {
	t.Helper()
	srv := natstest.Start(t)
	out := make([]*jetstream.Store, n)
	for i := range out {
		s, err := jetstream.Open(context.Background(), jetstream.Config{URL: srv.ClientURL(), Replicas: 1,
			Policy: store.Policy{JanitorInterval: time.Hour}})
		require.NoError(t, err)
		t.Cleanup(func() { _ = s.Close() })
		out[i] = s
	}
	return out
}

func states(t *testing.T, s store.Store, id store.ID) []store.State {
	t.Helper()
	m, err := s.Meta(context.Background(), id)
	require.NoError(t, err)
	var out []store.State
	for _, e := range m.History {
		out = append(out, e.State)
	}
	return out
}

// TestPutAnsweredStoredBefore: a heenbericht stored in the switch's own
// mailbox without its answer (the older two-step path) is confirmed, its
// mailbox entry cleared, and the answer stored, in one write; a resend
// then finds both.
func TestPutAnsweredStoredBefore(t *testing.T) {
	ctx := context.Background()
	s := openShared(t, 1)[0]
	heen, err := s.Put(ctx, storetest.Msg("12345678", "knooppunt", "WMO315", "H1", ""))
	require.NoError(t, err)
	require.Equal(t, int64(1), s.Stats().Pending)

	hr, ar, err := s.PutAnswered(ctx, storetest.Msg("12345678", "knooppunt", "WMO315", "H1", ""), storetest.Msg("0363", "12345678", "WMO316", "R1", ""))
	require.NoError(t, err)
	assert.Equal(t, store.Receipt{ID: heen.ID, Duplicate: true}, hr)
	require.False(t, ar.Duplicate || ar.ID.IsZero())
	l, err := s.Pending(ctx, "knooppunt", 10)
	require.NoError(t, err)
	assert.Empty(t, l, "the heenbericht is confirmed")
	assert.Equal(t, []store.State{store.StateReceived, store.StateStored, store.StateConfirmed, store.StateRetourReceived}, states(t, s, heen.ID))
	conv, err := s.Conversation(ctx, ar.ID)
	require.NoError(t, err)
	require.Len(t, conv, 2)
	assert.Equal(t, heen.ID, conv[0].ID)
	st := s.Stats()
	assert.Equal(t, int64(1), st.Pending, "the answer")
	assert.Equal(t, int64(1), st.Acks)

	hr2, ar2, err := s.PutAnswered(ctx, storetest.Msg("12345678", "knooppunt", "WMO315", "H1", ""), storetest.Msg("0363", "12345678", "WMO316", "R1", ""))
	require.NoError(t, err)
	assert.Equal(t, hr, hr2)
	assert.Equal(t, store.Receipt{ID: ar.ID, Duplicate: true}, ar2)
	assert.Equal(t, int64(1), s.Stats().Acks, "not confirmed twice")
}

// TestPutAnsweredCorrelation: both messages' correlations are indexed in
// the one write; a traceerId taken by another message stores neither.
func TestPutAnsweredCorrelation(t *testing.T) {
	ctx := context.Background()
	s := openShared(t, 1)[0]
	with := func(m *store.Message, traceer, conversatie byte) *store.Message {
		m.Correlation = &store.Correlation{Traceer: store.UUID{traceer}, Conversatie: store.UUID{conversatie}}
		return m
	}
	hr, ar, err := s.PutAnswered(ctx, with(storetest.Msg("12345678", "knooppunt", "WMO315", "H1", ""), 1, 9),
		with(storetest.Msg("0363", "12345678", "WMO316", "R1", ""), 2, 9))
	require.NoError(t, err)
	id, ok, err := s.ByTraceer(ctx, store.UUID{1})
	require.NoError(t, err)
	assert.True(t, ok)
	assert.Equal(t, hr.ID, id)
	id, ok, err = s.ByTraceer(ctx, store.UUID{2})
	require.NoError(t, err)
	assert.True(t, ok)
	assert.Equal(t, ar.ID, id)
	id, ok, err = s.ByConversatie(ctx, store.UUID{9})
	require.NoError(t, err)
	assert.True(t, ok)
	assert.Equal(t, hr.ID, id, "the heenbericht holds the conversatieId")

	_, _, err = s.PutAnswered(ctx, with(storetest.Msg("12345678", "knooppunt", "WMO315", "H2", ""), 3, 8),
		with(storetest.Msg("0363", "12345678", "WMO316", "R2", ""), 1, 8))
	assert.ErrorIs(t, err, store.ErrTraceerTaken)
	_, err = s.Lookup(ctx, store.Key{Sender: "12345678", Soort: "WMO315", Identificatie: "H2"})
	assert.ErrorIs(t, err, store.ErrNotFound, "the heenbericht is not stored either")
	_, ok, err = s.ByTraceer(ctx, store.UUID{3})
	require.NoError(t, err)
	assert.False(t, ok)
}

// TestPutAnsweredRace: of concurrent calls with the same keys on several
// clients exactly one stores the pair; the others get its receipts as
// duplicates.
func TestPutAnsweredRace(t *testing.T) {
	ctx := context.Background()
	stores := openShared(t, 3)
	const calls = 12
	type result struct {
		hr, ar store.Receipt
		err    error
	}
	results := make([]result, calls)
	var wg sync.WaitGroup
	for i := range calls {
		wg.Go(func() {
			s := stores[i%len(stores)]
			hr, ar, err := s.PutAnswered(ctx, storetest.Msg("12345678", "knooppunt", "WMO315", "H1", ""), storetest.Msg("0363", "12345678", "WMO316", "R1", ""))
			results[i] = result{hr, ar, err}
		})
	}
	wg.Wait()
	var won []result
	for _, r := range results {
		require.NoError(t, r.err)
		if !r.hr.Duplicate {
			assert.False(t, r.ar.Duplicate)
			won = append(won, r)
		}
	}
	require.Len(t, won, 1, "exactly one stores the pair")
	for _, r := range results {
		assert.Equal(t, won[0].hr.ID, r.hr.ID)
		assert.Equal(t, won[0].ar.ID, r.ar.ID)
	}
	l, err := stores[0].Pending(ctx, "12345678", 10)
	require.NoError(t, err)
	assert.Len(t, l, 1, "one answer")

	// A Put of the heenbericht racing a PutAnswered: one of the two files
	// it, and the answer is stored only if PutAnswered did.
	var put store.Receipt
	var hr, ar store.Receipt
	var perr, aerr error
	wg.Go(func() {
		put, perr = stores[0].Put(ctx, storetest.Msg("12345678", "0363", "WMO315", "H2", ""))
	})
	wg.Go(func() {
		hr, ar, aerr = stores[1].PutAnswered(ctx, storetest.Msg("12345678", "knooppunt", "WMO315", "H2", ""), storetest.Msg("0363", "12345678", "WMO316", "R2", ""))
	})
	wg.Wait()
	require.NoError(t, errors.Join(perr, aerr))
	assert.Equal(t, put.ID, hr.ID)
	assert.True(t, put.Duplicate != hr.Duplicate, "one of the two stores it")
	_, err = stores[2].Lookup(ctx, store.Key{Sender: "0363", Soort: "WMO316", Identificatie: "R2"})
	if put.Duplicate {
		require.NoError(t, err)
		assert.False(t, ar.ID.IsZero())
	} else {
		assert.ErrorIs(t, err, store.ErrNotFound)
		assert.Zero(t, ar)
	}
}
