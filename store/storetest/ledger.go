package storetest

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/knooppunt/knooppunt/store"
)

// ledgerKey is a ledger key for tests: any 32 bytes will do.
func ledgerKey(name string) [32]byte { return sha256.Sum256([]byte(name)) }

// withAanleveringen gives m the lines, as "name:status" pairs.
func withAanleveringen(m *store.Message, lines ...string) *store.Message {
	for _, l := range lines {
		name, status := l[:len(l)-2], l[len(l)-1:]
		m.Aanleveringen = append(m.Aanleveringen, store.Aanlevering{Key: ledgerKey(name), Status: status})
	}
	return m
}

// testLedger is the contract of Message.Aanleveringen and store.Ledger: a
// key delivered twice is refused (TR074), one removed without an earlier
// delivery too (TR063), each for its own line and with nothing stored;
// delivered, removed and delivered again is accepted; an identical resend
// is a duplicate; of concurrent deliveries of one key exactly one is
// stored; PutAnswered leaves the ledger alone; and an entry goes with the
// metadata of the message that wrote it last.
func testLedger(t *testing.T, e *env) {
	l, ok := e.s.(store.Ledger)
	if !ok {
		t.Skip("the store keeps no aanleveringen ledger")
	}
	delivered := func(what, name string, want bool) {
		t.Helper()
		got, err := l.Delivered(e.ctx, ledgerKey(name))
		require.NoError(t, err)
		assert.Equal(t, want, got, "%s: %s delivered", what, name)
	}
	feed, isFeed := e.s.(store.Feed)
	head := func() uint64 {
		if !isFeed {
			return 0
		}
		h, err := feed.Head(e.ctx)
		require.NoError(t, err)
		return h
	}
	// refused checks that Put refuses m with exactly want and stores
	// nothing.
	refused := func(what string, m *store.Message, want ...store.AanleveringRefusal) {
		t.Helper()
		before := head()
		_, err := e.s.Put(e.ctx, m)
		require.ErrorIs(t, err, store.ErrAanlevering, what)
		assert.Equal(t, "aanlevering", store.Code(err))
		ae, ok := errors.AsType[*store.AanleveringError](err)
		require.True(t, ok, what)
		assert.Equal(t, want, ae.Refused, what)
		_, err = e.s.Lookup(e.ctx, m.Key())
		assert.ErrorIs(t, err, store.ErrNotFound, "%s: nothing stored", what)
		assert.Equal(t, before, head(), "%s: no change in the feed", what)
	}
	delivered("an unknown key", "A", false)

	first := withAanleveringen(Msg("12345678", "0363", "WMO305", "L1", ""), "A:1")
	e.put(first)
	delivered("after status 1", "A", true)

	refused("status 1 again, in a new message",
		withAanleveringen(Msg("12345678", "0363", "WMO305", "L2", ""), "B:1", "A:1"),
		store.AanleveringRefusal{Line: 1, Conflict: store.AlreadyDelivered})
	delivered("a refused message writes none of its lines", "B", false)
	refused("status 3 without an earlier aanlevering",
		withAanleveringen(Msg("12345678", "0363", "WMO307", "L3", ""), "C:3"),
		store.AanleveringRefusal{Line: 0, Conflict: store.NotDelivered})
	refused("every refused line is named",
		withAanleveringen(Msg("12345678", "0363", "WMO305", "L4", ""), "A:1", "B:1", "C:3"),
		store.AanleveringRefusal{Line: 0, Conflict: store.AlreadyDelivered}, store.AanleveringRefusal{Line: 2, Conflict: store.NotDelivered})

	e.put(withAanleveringen(Msg("12345678", "0363", "WMO307", "L5", ""), "A:3"))
	delivered("after status 3", "A", false)
	refused("status 3 twice",
		withAanleveringen(Msg("12345678", "0363", "WMO307", "L6", ""), "A:3"),
		store.AanleveringRefusal{Line: 0, Conflict: store.NotDelivered})
	e.put(withAanleveringen(Msg("12345678", "0363", "WMO305", "L7", ""), "A:1"))
	delivered("status 1 after status 3", "A", true)

	// An identical resend of the first message, whose key is delivered
	// (again): a duplicate, not a refusal.
	r, err := e.s.Put(e.ctx, withAanleveringen(Msg("12345678", "0363", "WMO305", "L1", ""), "A:1"))
	require.NoError(t, err, "an identical resend")
	assert.True(t, r.Duplicate)
	delivered("a resend changes nothing", "A", true)

	// One message delivering and removing a key sees its own lines.
	e.put(withAanleveringen(Msg("12345678", "0363", "WMO305", "L8", ""), "D:1", "D:3"))
	delivered("delivered and removed within one message", "D", false)
	refused("a key delivered twice within one message",
		withAanleveringen(Msg("12345678", "0363", "WMO305", "L9", ""), "E:1", "E:1"),
		store.AanleveringRefusal{Line: 1, Conflict: store.AlreadyDelivered})

	// Lines the ledger cannot take.
	bad := withAanleveringen(Msg("12345678", "0363", "WMO305", "L10", ""), "F:2")
	_, err = e.s.Put(e.ctx, bad)
	require.ErrorIs(t, err, store.ErrInvalid, "status 2")
	many := Msg("12345678", "0363", "WMO305", "L11", "")
	for i := range store.MaxAanleveringen + 1 {
		withAanleveringen(many, fmt.Sprintf("many-%d:1", i))
	}
	_, err = e.s.Put(e.ctx, many)
	require.ErrorIs(t, err, store.ErrInvalid, "too many lines")

	// The switch's own answer to a heenbericht: it is never delivered, so
	// the ledger does not see it.
	heen := withAanleveringen(Msg("12345678", switchBox, "WMO305", "L12", ""), "G:1")
	_, _, err = e.s.PutAnswered(e.ctx, heen, Msg("0363", "12345678", "WMO306", "R12", ""))
	require.NoError(t, err)
	delivered("a heenbericht the switch answered", "G", false)

	// Concurrent deliveries of one key: exactly one is stored.
	const racers = 8
	type result struct {
		m   *store.Message
		r   store.Receipt
		err error
	}
	results := make(chan result, racers)
	for i := range racers {
		go func() {
			m := withAanleveringen(Msg("12345678", "0363", "WMO305", fmt.Sprintf("race-%d", i), ""), "H:1")
			r, err := e.s.Put(e.ctx, m)
			results <- result{m, r, err}
		}()
	}
	won := 0
	for range racers {
		res := <-results
		if res.err == nil {
			won++
			continue
		}
		require.ErrorIs(t, res.err, store.ErrAanlevering, "a racer that lost")
		ae, ok := errors.AsType[*store.AanleveringError](res.err)
		require.True(t, ok)
		assert.Equal(t, []store.AanleveringRefusal{{Line: 0, Conflict: store.AlreadyDelivered}}, ae.Refused)
		_, err := e.s.Lookup(e.ctx, res.m.Key())
		assert.ErrorIs(t, err, store.ErrNotFound, "a racer that lost stored nothing")
	}
	assert.Equal(t, 1, won, "one racer delivers the key")
	delivered("after the race", "H", true)

	// Retention: an entry goes with the metadata of the message that
	// wrote it last, and stays while a later message holds it.
	j, ok := e.s.(Janitor)
	if !ok {
		return
	}
	gone := e.put(withAanleveringen(Msg("12345678", "0363", "WMO305", "L13", ""), "J:1", "K:1"))
	removed := e.put(withAanleveringen(Msg("12345678", "0363", "WMO307", "L14", ""), "K:3"))
	again := e.put(withAanleveringen(Msg("12345678", "0363", "WMO305", "L15", ""), "K:1"))
	for _, id := range []store.ID{gone, removed} {
		require.NoError(t, e.s.Ack(e.ctx, "0363", id))
	}
	e.clock.Advance(metaRet + time.Second)
	require.NoError(t, j.RunJanitor(e.ctx))
	_, err = e.s.Meta(e.ctx, gone)
	require.ErrorIs(t, err, store.ErrNotFound, "the metadata is gone")
	delivered("past the retention of the message that wrote it", "J", false)
	delivered("written since by a message still kept", "K", true)
	e.put(withAanleveringen(Msg("12345678", "0363", "WMO305", "L16", ""), "J:1"))
	delivered("a key past the retention is delivered afresh", "J", true)
	_, err = e.s.Meta(e.ctx, again)
	require.NoError(t, err, "the message holding K is kept")
}
