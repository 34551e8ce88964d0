package storetest

import (
	"context"
	"crypto/sha256"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/knooppunt/knooppunt/store"
)

// Correlator is a store that keeps the correlations of the messages it
// stores.
type Correlator interface {
	store.Store
	store.CorrelationStore
}

// CorrelationFactory opens a fresh, empty store with correlations,
// configured by o. reopen, called on the same test, opens the same data
// again (a restart, or another node of a cluster).
type CorrelationFactory func(t *testing.T, o Options) (s Correlator, reopen func() Correlator)

// RunCorrelations is the contract of Message.Correlation: a correlation
// is stored with its message and found again by message, traceerId and
// conversatieId after reopening, in Meta and in Pending; a traceerId
// names one message, also when several race for it, and a Put that would
// take one from another message stores nothing; an identical resend adds
// its traceerId for the original; a conversatieId leads to its first
// message; bad input is refused with store.ErrInvalid; and everything is
// gone after the metadata retention.
func RunCorrelations(t *testing.T, open CorrelationFactory) {
	ctx := context.Background()
	clock := NewClock(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
	const metaRet = 48 * time.Hour
	s, reopen := open(t, Options{Now: clock.Now, Policy: store.Policy{VisibilityTimeout: visibility, MaxDeliveries: maxDeliver,
		PayloadRetention: payloadRet, MetadataRetention: metaRet}})
	uuid := func(s string) store.UUID {
		t.Helper()
		u, err := store.ParseUUID(s)
		require.NoError(t, err)
		return u
	}
	heen := store.Correlation{
		Traceer:            uuid("6f1c7e0a-3b1d-4c2e-9f00-0123456789ab"),
		Conversatie:        uuid("0b8e9d2c-1a2b-4c3d-8e4f-5a6b7c8d9e0f"),
		ReferentieID:       "factuur 2026-0042",
		Verwerkingscontext: []byte(`[{"sleutel":"batch","waarde":["7"]}]`),
	}
	antwoord := store.Correlation{
		Traceer:       uuid("a1b2c3d4-e5f6-4789-8abc-def012345678"),
		Conversatie:   heen.Conversatie,
		AlsAntwoordOp: heen.Traceer,
	}
	resend := uuid("11111111-2222-4333-8444-555555555555")
	unknown := uuid("33333333-4444-4555-8666-777777777777")
	with := func(m *store.Message, c store.Correlation) *store.Message {
		m.Correlation = &c
		return m
	}
	put := func(m *store.Message) store.ID {
		t.Helper()
		r, err := s.Put(ctx, m)
		require.NoError(t, err)
		require.False(t, r.Duplicate)
		return r.ID
	}
	byID := func(what string, find func(context.Context, store.UUID) (store.ID, bool, error), u store.UUID, want store.ID) {
		t.Helper()
		got, ok, err := find(ctx, u)
		require.NoError(t, err)
		assert.True(t, ok, what)
		assert.Equal(t, want, got, what)
	}
	absent := func(what string, find func(context.Context, store.UUID) (store.ID, bool, error), u store.UUID) {
		t.Helper()
		_, ok, err := find(ctx, u)
		require.NoError(t, err)
		assert.False(t, ok, what)
	}
	correlation := func(what string, id store.ID, want *store.Correlation) {
		t.Helper()
		c, ok, err := s.Correlation(ctx, id)
		require.NoError(t, err)
		if want == nil {
			assert.False(t, ok, what)
			return
		}
		assert.True(t, ok, what)
		assert.Equal(t, *want, c, what)
	}
	pending := func(party string, id store.ID) store.Entry {
		t.Helper()
		es, err := s.Pending(ctx, party, store.MaxListLimit)
		require.NoError(t, err)
		for _, e := range es {
			if e.ID == id {
				return e
			}
		}
		require.Failf(t, "not pending", "%s in %s", id, party)
		return store.Entry{}
	}
	// refused checks that a refused Put stored nothing.
	refused := func(what string, m *store.Message, err, want error) {
		t.Helper()
		require.ErrorIs(t, err, want, what)
		_, err = s.Lookup(ctx, m.Key())
		assert.ErrorIs(t, err, store.ErrNotFound, "%s: nothing stored", what)
	}

	m1 := with(Msg("12345678", "0363", "WMO315", "A", ""), heen)
	heenID := put(m1)
	plain := put(Msg("12345678", "0363", "WMO315", "P", ""))

	s = reopen()
	correlation("the heenbericht's correlation", heenID, &heen)
	correlation("a message without a correlation", plain, nil)
	correlation("an unknown message", store.ID{42}, nil)
	byID("traceerId of the heenbericht", s.ByTraceer, heen.Traceer, heenID)
	byID("a conversatieId leads to its first message", s.ByConversatie, heen.Conversatie, heenID)
	absent("an unknown traceerId", s.ByTraceer, unknown)
	absent("an unknown conversatieId", s.ByConversatie, unknown)
	meta, err := s.Meta(ctx, heenID)
	require.NoError(t, err)
	require.NotNil(t, meta.Correlation, "Meta carries the correlation")
	assert.Equal(t, heen, *meta.Correlation)
	meta, err = s.Meta(ctx, plain)
	require.NoError(t, err)
	assert.Nil(t, meta.Correlation, "Meta of a message without a correlation")
	e := pending("0363", heenID)
	require.NotNil(t, e.Correlation, "Pending carries the correlation")
	assert.Equal(t, heen, *e.Correlation)
	assert.Equal(t, sha256.Sum256(m1.Body), e.SHA256, "Pending carries the checksum")
	assert.Equal(t, heenID, e.Conversation, "a heenbericht is its own conversation")
	e = pending("0363", plain)
	assert.Nil(t, e.Correlation)
	assert.Equal(t, plain, e.Conversation)

	// An answer in the same conversation.
	m2 := with(Msg("0363", "12345678", "WMO316", "R", ""), antwoord)
	m2.Answers = heenID
	answer := put(m2)
	correlation("an answer keeps its alsAntwoordOp and empty referentieId", answer, &antwoord)
	byID("traceerId of the answer", s.ByTraceer, antwoord.Traceer, answer)
	byID("a conversatieId keeps its first message", s.ByConversatie, heen.Conversatie, heenID)
	e = pending("12345678", answer)
	assert.Equal(t, heenID, e.Conversation, "an answer is in its heenbericht's conversation")
	require.NotNil(t, e.Correlation)
	assert.Equal(t, antwoord, *e.Correlation)
	assert.Equal(t, sha256.Sum256(m2.Body), e.SHA256)

	// Another message under a taken traceerId: nothing is stored.
	before, err := s.Pending(ctx, "0363", store.MaxListLimit)
	require.NoError(t, err)
	feed, isFeed := s.(store.Feed)
	var head uint64
	if isFeed {
		head, err = feed.Head(ctx)
		require.NoError(t, err)
	}
	other := uuid("22222222-3333-4444-8555-666666666666")
	m3 := with(Msg("12345678", "0363", "WMO315", "B", ""), store.Correlation{Traceer: heen.Traceer, Conversatie: other})
	_, err = s.Put(ctx, m3)
	refused("a traceerId taken by another message", m3, err, store.ErrTraceerTaken)
	assert.Equal(t, "traceer-taken", store.Code(err))
	after, err := s.Pending(ctx, "0363", store.MaxListLimit)
	require.NoError(t, err)
	assert.Equal(t, ids(before), ids(after), "a refused Put leaves the mailbox")
	if isFeed {
		h, err := feed.Head(ctx)
		require.NoError(t, err)
		assert.Equal(t, head, h, "a refused Put is no change")
	}
	absent("a refused Put indexes no conversatieId", s.ByConversatie, other)
	byID("a refused Put leaves the traceerId", s.ByTraceer, heen.Traceer, heenID)

	// Identical resends.
	r, err := s.Put(ctx, with(Msg("12345678", "0363", "WMO315", "A", ""), heen))
	require.NoError(t, err)
	assert.Equal(t, store.Receipt{ID: heenID, Duplicate: true}, r, "a resend under the same traceerId")
	again := heen
	again.Traceer, again.ReferentieID = resend, "resent"
	r, err = s.Put(ctx, with(Msg("12345678", "0363", "WMO315", "A", ""), again))
	require.NoError(t, err)
	assert.Equal(t, store.Receipt{ID: heenID, Duplicate: true}, r, "a resend under a new traceerId")
	byID("the resend's traceerId names the original", s.ByTraceer, resend, heenID)
	byID("the first traceerId still names it", s.ByTraceer, heen.Traceer, heenID)
	correlation("a message keeps its first correlation", heenID, &heen)
	r, err = s.Put(ctx, Msg("12345678", "0363", "WMO315", "A", ""))
	require.NoError(t, err)
	assert.Equal(t, store.Receipt{ID: heenID, Duplicate: true}, r, "a resend without a correlation")
	third := heen
	third.Traceer = antwoord.Traceer
	_, err = s.Put(ctx, with(Msg("12345678", "0363", "WMO315", "A", ""), third))
	require.ErrorIs(t, err, store.ErrTraceerTaken, "a resend under the traceerId of a third message")
	byID("the third message keeps its traceerId", s.ByTraceer, antwoord.Traceer, answer)

	// Racing for one traceerId, one message is stored and the others are
	// refused.
	race := store.Correlation{Traceer: uuid("55555555-6666-4777-8888-999999999999"), Conversatie: uuid("66666666-7777-4888-8999-aaaaaaaaaaaa")}
	const racers = 8
	type result struct {
		m   *store.Message
		r   store.Receipt
		err error
	}
	results := make(chan result, racers)
	for i := range racers {
		go func() {
			m := with(Msg("12345678", "0363", "WMO315", fmt.Sprintf("race-%d", i), ""), race)
			r, err := s.Put(ctx, m)
			results <- result{m, r, err}
		}()
	}
	var winner store.ID
	won := 0
	for range racers {
		res := <-results
		if res.err == nil {
			won++
			winner = res.r.ID
			continue
		}
		refused("a racer that lost", res.m, res.err, store.ErrTraceerTaken)
	}
	require.Equal(t, 1, won, "one racer takes the traceerId")
	byID("the winner has the traceerId", s.ByTraceer, race.Traceer, winner)
	byID("the winner has the conversatieId", s.ByConversatie, race.Conversatie, winner)
	correlation("the winner's correlation", winner, &race)

	// Bad correlations are refused and store nothing.
	good := store.Correlation{Traceer: uuid("44444444-5555-4666-8777-888888888888"), Conversatie: uuid("77777777-8888-4999-8aaa-bbbbbbbbbbbb")}
	for _, tc := range []struct {
		what string
		edit func(c *store.Correlation)
	}{
		{"zero traceerId", func(c *store.Correlation) { c.Traceer = store.UUID{} }},
		{"zero conversatieId", func(c *store.Correlation) { c.Conversatie = store.UUID{} }},
		{"referentieId too long", func(c *store.Correlation) { c.ReferentieID = strings.Repeat("r", store.MaxReferentieIDLen+1) }},
		{"verwerkingscontext too long", func(c *store.Correlation) {
			c.Verwerkingscontext = []byte(strings.Repeat("v", store.MaxVerwerkingscontextLen+1))
		}},
		{"referentieId with NUL", func(c *store.Correlation) { c.ReferentieID = "r\x00x" }},
	} {
		bad := good
		tc.edit(&bad)
		m := with(Msg("12345678", "0363", "WMO315", "BAD", ""), bad)
		_, err := s.Put(ctx, m)
		refused(tc.what, m, err, store.ErrInvalid)
	}
	absent("refused input indexes no traceerId", s.ByTraceer, good.Traceer)
	absent("refused input indexes no conversatieId", s.ByConversatie, good.Conversatie)
	good.ReferentieID = strings.Repeat("r", store.MaxReferentieIDLen)
	longest := put(with(Msg("12345678", "0363", "WMO315", "LONG", ""), good))
	correlation("a referentieId of the largest length", longest, &good)

	// After confirmation and the metadata retention everything is gone,
	// and the traceerIds are free again.
	for _, c := range []struct {
		party string
		id    store.ID
	}{{"0363", heenID}, {"12345678", answer}, {"0363", winner}, {"0363", longest}} {
		require.NoError(t, s.Ack(ctx, c.party, c.id))
	}
	clock.Advance(metaRet + time.Second)
	if j, ok := s.(Janitor); ok {
		require.NoError(t, j.RunJanitor(ctx))
	}
	for _, id := range []store.ID{heenID, answer, winner, longest} {
		correlation("a correlation past the retention is gone", id, nil)
	}
	for _, u := range []store.UUID{heen.Traceer, resend, antwoord.Traceer, race.Traceer, good.Traceer} {
		absent("a traceerId past the retention is gone", s.ByTraceer, u)
	}
	for _, u := range []store.UUID{heen.Conversatie, race.Conversatie, good.Conversatie} {
		absent("a conversatieId past the retention is gone", s.ByConversatie, u)
	}
	reused := put(with(Msg("12345678", "0363", "WMO315", "C", ""), heen))
	byID("a traceerId past the retention is free", s.ByTraceer, heen.Traceer, reused)
	byID("a conversatieId past the retention is free", s.ByConversatie, heen.Conversatie, reused)
	reused = put(with(Msg("12345678", "0363", "WMO315", "D", ""), store.Correlation{Traceer: resend, Conversatie: other}))
	byID("a resend's traceerId past the retention is free", s.ByTraceer, resend, reused)
}
