package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/knooppunt/knooppunt/store"
)

// switchBox is the mailbox of the switch's own, where a heenbericht it
// answers itself is filed.
const switchBox = "knooppunt"

// testPutAnswered: a heenbericht the switch answers is filed confirmed in
// its own mailbox and never listed, its answer waits in the sender's
// mailbox linked to it, in one write; a resend changes nothing; a
// heenbericht delivered before gets no answer; a refusal of either stores
// neither.
func testPutAnswered(t *testing.T, e *env) {
	heen := Msg("12345678", switchBox, "WMO315", "H1", "")
	answer := Msg("0363", "12345678", "WMO316", "R1", "")
	var before uint64
	feed, isFeed := e.s.(store.Feed)
	if isFeed {
		var err error
		before, err = feed.Head(e.ctx)
		require.NoError(t, err)
	}
	hr, ar, err := e.s.PutAnswered(e.ctx, heen, answer)
	require.NoError(t, err)
	require.False(t, hr.Duplicate || ar.Duplicate)
	require.False(t, hr.ID.IsZero() || ar.ID.IsZero())

	l, err := e.s.List(e.ctx, switchBox, 10)
	require.NoError(t, err)
	assert.Empty(t, l, "the heenbericht is never listed")
	l, err = e.s.Pending(e.ctx, "12345678", 10)
	require.NoError(t, err)
	require.Equal(t, []store.ID{ar.ID}, ids(l), "the answer waits in the sender's mailbox")
	m, err := e.s.Meta(e.ctx, hr.ID)
	require.NoError(t, err)
	states := map[store.State]store.ID{}
	for _, ev := range m.History {
		states[ev.State] = ev.Ref
	}
	assert.Contains(t, states, store.StateConfirmed)
	assert.Equal(t, ar.ID, states[store.StateRetourReceived])
	conv, err := e.s.Conversation(e.ctx, ar.ID)
	require.NoError(t, err)
	require.Len(t, conv, 2)
	assert.Equal(t, hr.ID, conv[0].ID)
	assert.Equal(t, ar.ID, conv[1].ID)
	assert.Equal(t, int64(1), e.s.Stats().Pending)
	if isFeed {
		head, err := feed.Head(e.ctx)
		require.NoError(t, err)
		ctx, cancel := context.WithTimeout(e.ctx, 10*time.Second)
		defer cancel()
		var puts []store.ID
		err = feed.Follow(ctx, before, func(c store.Change) error {
			if c.Op == store.OpPut {
				puts = append(puts, c.ID)
			}
			if c.Seq >= head {
				cancel()
			}
			return nil
		})
		require.ErrorIs(t, err, context.Canceled)
		assert.Equal(t, []store.ID{hr.ID, ar.ID}, puts, "both stored, the heenbericht first")
	}

	// A resend changes nothing.
	hr2, ar2, err := e.s.PutAnswered(e.ctx, Msg("12345678", switchBox, "WMO315", "H1", ""), Msg("0363", "12345678", "WMO316", "R1", ""))
	require.NoError(t, err)
	assert.Equal(t, store.Receipt{ID: hr.ID, Duplicate: true}, hr2)
	assert.Equal(t, store.Receipt{ID: ar.ID, Duplicate: true}, ar2)
	assert.Equal(t, int64(1), e.s.Stats().Pending)

	// Delivered to its recipient before: no answer now.
	delivered := e.put(Msg("12345678", "0363", "WMO315", "H2", ""))
	hr3, ar3, err := e.s.PutAnswered(e.ctx, Msg("12345678", switchBox, "WMO315", "H2", ""), Msg("0363", "12345678", "WMO316", "R2", ""))
	require.NoError(t, err)
	assert.Equal(t, store.Receipt{ID: delivered, Duplicate: true}, hr3)
	assert.Zero(t, ar3)
	_, err = e.s.Lookup(e.ctx, store.Key{Sender: "0363", Soort: "WMO316", Identificatie: "R2"})
	assert.ErrorIs(t, err, store.ErrNotFound, "no answer stored")

	// Stored before in its own mailbox without an answer (as the two
	// steps of earlier versions could leave it): confirmed, and answered now.
	left := e.put(Msg("12345678", switchBox, "WMO315", "H5", ""))
	hr5, ar5, err := e.s.PutAnswered(e.ctx, Msg("12345678", switchBox, "WMO315", "H5", ""), Msg("0363", "12345678", "WMO316", "R5", ""))
	require.NoError(t, err)
	assert.Equal(t, store.Receipt{ID: left, Duplicate: true}, hr5)
	require.False(t, ar5.ID.IsZero() || ar5.Duplicate, "answered now")
	l, err = e.s.List(e.ctx, switchBox, 10)
	require.NoError(t, err)
	assert.Empty(t, l, "confirmed: not listed")
	pending := e.s.Stats().Pending

	// The heenbericht's key with other bytes: neither is stored.
	_, _, err = e.s.PutAnswered(e.ctx, Msg("12345678", switchBox, "WMO315", "H1", "other"), Msg("0363", "12345678", "WMO316", "R3", ""))
	assert.ErrorIs(t, err, store.ErrDuplicate)
	_, err = e.s.Lookup(e.ctx, store.Key{Sender: "0363", Soort: "WMO316", Identificatie: "R3"})
	assert.ErrorIs(t, err, store.ErrNotFound)

	// The answer's key taken: neither is stored.
	e.put(Msg("0363", "99999999", "WMO316", "R4", "first"))
	_, _, err = e.s.PutAnswered(e.ctx, Msg("12345678", switchBox, "WMO315", "H4", ""), Msg("0363", "12345678", "WMO316", "R4", ""))
	assert.ErrorIs(t, err, store.ErrDuplicate)
	_, err = e.s.Lookup(e.ctx, store.Key{Sender: "12345678", Soort: "WMO315", Identificatie: "H4"})
	assert.ErrorIs(t, err, store.ErrNotFound, "the heenbericht is not stored either")
	assert.Equal(t, pending+1, e.s.Stats().Pending, "R4 only")
}
