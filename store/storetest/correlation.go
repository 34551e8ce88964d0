package storetest

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/knooppunt/knooppunt/store"
)

// CorrelationFactory opens a fresh backend with correlations, configured
// by o. reopen, called on the same test, opens the same data again (a
// restart, or another node of a cluster).
type CorrelationFactory func(t *testing.T, o Options) (cs store.CorrelationStore, reopen func() store.CorrelationStore)

// RunCorrelations is the contract of correlations: a correlation is found
// again by message, traceerId and conversatieId after reopening; a
// traceerId names one message, also when several race for it; a message
// keeps its first correlation and a conversatieId its first message;
// everything is gone after the metadata retention; and bad input is
// refused with store.ErrInvalid.
func RunCorrelations(t *testing.T, open CorrelationFactory) {
	ctx := context.Background()
	clock := NewClock(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
	cs, reopen := open(t, Options{Now: clock.Now, Policy: store.Policy{VisibilityTimeout: visibility, MaxDeliveries: maxDeliver,
		PayloadRetention: payloadRet, MetadataRetention: 48 * time.Hour}})
	uuid := func(s string) store.UUID {
		t.Helper()
		u, err := store.ParseUUID(s)
		require.NoError(t, err)
		return u
	}
	heen := store.Correlation{
		Traceer:      uuid("6f1c7e0a-3b1d-4c2e-9f00-0123456789ab"),
		Conversatie:  uuid("0b8e9d2c-1a2b-4c3d-8e4f-5a6b7c8d9e0f"),
		ReferentieID: "factuur 2026-0042",
	}
	antwoord := store.Correlation{
		Traceer:       uuid("a1b2c3d4-e5f6-4789-8abc-def012345678"),
		Conversatie:   heen.Conversatie,
		AlsAntwoordOp: heen.Traceer,
	}
	resend := uuid("11111111-2222-4333-8444-555555555555")
	id, answer, other := store.ID{7}, store.ID{8}, store.ID{9}

	require.NoError(t, cs.Correlate(ctx, id, heen))
	require.NoError(t, cs.Correlate(ctx, id, heen), "the same pair again")
	require.NoError(t, cs.Correlate(ctx, answer, antwoord))

	cs = reopen()
	c, ok, err := cs.Correlation(ctx, id)
	require.NoError(t, err)
	assert.True(t, ok)
	assert.Equal(t, heen, c)
	c, ok, err = cs.Correlation(ctx, answer)
	require.NoError(t, err)
	assert.True(t, ok)
	assert.Equal(t, antwoord, c, "an answer keeps its alsAntwoordOp and empty referentieId")
	byID := func(what string, find func(context.Context, store.UUID) (store.ID, bool, error), u store.UUID, want store.ID) {
		t.Helper()
		got, ok, err := find(ctx, u)
		require.NoError(t, err)
		assert.True(t, ok, what)
		assert.Equal(t, want, got, what)
	}
	byID("traceerId of the heenbericht", cs.ByTraceer, heen.Traceer, id)
	byID("traceerId of the answer", cs.ByTraceer, antwoord.Traceer, answer)
	byID("a conversatieId leads to its first message", cs.ByConversatie, heen.Conversatie, id)
	require.NoError(t, cs.Correlate(ctx, id, heen), "the same pair again after reopening")

	err = cs.Correlate(ctx, other, store.Correlation{Traceer: heen.Traceer, Conversatie: uuid("22222222-3333-4444-8555-666666666666")})
	require.ErrorIs(t, err, store.ErrDuplicate, "a traceerId taken by another message")
	assert.Contains(t, err.Error(), heen.Traceer.String())
	_, ok, err = cs.Correlation(ctx, other)
	require.NoError(t, err)
	assert.False(t, ok, "a refused correlation records nothing")
	_, ok, err = cs.ByConversatie(ctx, uuid("22222222-3333-4444-8555-666666666666"))
	require.NoError(t, err)
	assert.False(t, ok, "a refused correlation records nothing")
	byID("a refused correlation leaves the traceerId", cs.ByTraceer, heen.Traceer, id)

	again := heen
	again.Traceer, again.ReferentieID = resend, "resent"
	require.NoError(t, cs.Correlate(ctx, id, again), "a resend under a new traceerId")
	c, ok, err = cs.Correlation(ctx, id)
	require.NoError(t, err)
	assert.True(t, ok)
	assert.Equal(t, heen, c, "a message keeps its first correlation")
	byID("the first traceerId", cs.ByTraceer, heen.Traceer, id)
	byID("the resend's traceerId", cs.ByTraceer, resend, id)

	_, ok, err = cs.Correlation(ctx, store.ID{42})
	require.NoError(t, err)
	assert.False(t, ok, "an unknown message")
	_, ok, err = cs.ByTraceer(ctx, uuid("33333333-4444-4555-8666-777777777777"))
	require.NoError(t, err)
	assert.False(t, ok, "an unknown traceerId")
	_, ok, err = cs.ByConversatie(ctx, uuid("33333333-4444-4555-8666-777777777777"))
	require.NoError(t, err)
	assert.False(t, ok, "an unknown conversatieId")

	clock.Advance(49 * time.Hour)
	_, ok, err = cs.Correlation(ctx, id)
	require.NoError(t, err)
	assert.False(t, ok, "a correlation past the retention is gone")
	for _, u := range []store.UUID{heen.Traceer, antwoord.Traceer, resend} {
		_, ok, err = cs.ByTraceer(ctx, u)
		require.NoError(t, err)
		assert.False(t, ok, "a traceerId past the retention is gone")
	}
	_, ok, err = cs.ByConversatie(ctx, heen.Conversatie)
	require.NoError(t, err)
	assert.False(t, ok, "a conversatieId past the retention is gone")
	require.NoError(t, cs.Correlate(ctx, other, heen), "a traceerId past the retention is free")
	byID("a traceerId taken again", cs.ByTraceer, heen.Traceer, other)
	byID("a conversatieId taken again", cs.ByConversatie, heen.Conversatie, other)

	// Racing for one traceerId, one message wins and the others are
	// refused.
	race := store.Correlation{Traceer: uuid("55555555-6666-4777-8888-999999999999"), Conversatie: uuid("66666666-7777-4888-8999-aaaaaaaaaaaa")}
	const racers = 8
	errs := make(chan error, racers)
	for i := range racers {
		go func() { errs <- cs.Correlate(ctx, store.ID{100, byte(i)}, race) }()
	}
	won := 0
	for range racers {
		if err := <-errs; err == nil {
			won++
		} else {
			assert.ErrorIs(t, err, store.ErrDuplicate)
		}
	}
	assert.Equal(t, 1, won, "one racer takes the traceerId")
	winner, ok, err := cs.ByTraceer(ctx, race.Traceer)
	require.NoError(t, err)
	require.True(t, ok)
	byID("the winner has the conversatieId", cs.ByConversatie, race.Conversatie, winner)
	for i := range racers {
		_, ok, err := cs.Correlation(ctx, store.ID{100, byte(i)})
		require.NoError(t, err)
		assert.Equal(t, store.ID{100, byte(i)} == winner, ok, "only the winner has a correlation")
	}

	ok1 := store.Correlation{Traceer: uuid("44444444-5555-4666-8777-888888888888"), Conversatie: heen.Conversatie}
	assert.ErrorIs(t, cs.Correlate(ctx, store.ID{}, ok1), store.ErrInvalid, "zero id")
	bad := ok1
	bad.Traceer = store.UUID{}
	assert.ErrorIs(t, cs.Correlate(ctx, store.ID{10}, bad), store.ErrInvalid, "zero traceerId")
	bad = ok1
	bad.Conversatie = store.UUID{}
	assert.ErrorIs(t, cs.Correlate(ctx, store.ID{10}, bad), store.ErrInvalid, "zero conversatieId")
	bad = ok1
	bad.ReferentieID = strings.Repeat("r", store.MaxReferentieIDLen+1)
	assert.ErrorIs(t, cs.Correlate(ctx, store.ID{10}, bad), store.ErrInvalid, "referentieId too long")
	bad = ok1
	bad.ReferentieID = "r\x00x"
	assert.ErrorIs(t, cs.Correlate(ctx, store.ID{10}, bad), store.ErrInvalid, "referentieId with NUL")
	_, ok, err = cs.ByTraceer(ctx, ok1.Traceer)
	require.NoError(t, err)
	assert.False(t, ok, "refused input records nothing")
	ok1.ReferentieID = strings.Repeat("r", store.MaxReferentieIDLen)
	require.NoError(t, cs.Correlate(ctx, store.ID{10}, ok1), "a referentieId of the largest length")
	c, ok, err = cs.Correlation(ctx, store.ID{10})
	require.NoError(t, err)
	assert.True(t, ok)
	assert.Equal(t, ok1, c)
}
