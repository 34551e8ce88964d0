package storetest

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/knooppunt/knooppunt/store"
)

// testMailbox: the summary counts the unconfirmed messages of one mailbox,
// the leased ones among them and the oldest's arrival, and follows List,
// lease expiry and Ack; other mailboxes do not count.
func testMailbox(t *testing.T, e *env) {
	summary := func(party string) store.MailboxSummary {
		t.Helper()
		s, err := e.s.Mailbox(e.ctx, party)
		require.NoError(t, err)
		return s
	}
	assert.Equal(t, store.MailboxSummary{}, summary("0363"), "an unknown mailbox")

	other := e.put(Msg("12345678", "0599", "WMO315", "O-1", ""))
	var box []store.ID
	for _, ident := range []string{"M-1", "M-2", "M-3"} {
		box = append(box, e.put(Msg("12345678", "0363", "WMO315", ident, "")))
	}
	otherWant := store.MailboxSummary{Pending: 1, Oldest: other.Time()}
	check := func(want store.MailboxSummary, msg string) {
		t.Helper()
		got := summary("0363")
		assert.True(t, want.Oldest.Equal(got.Oldest), "%s: oldest %v, want %v", msg, got.Oldest, want.Oldest)
		got.Oldest = want.Oldest
		assert.Equal(t, want, got, msg)
		o := summary("0599")
		assert.True(t, otherWant.Oldest.Equal(o.Oldest), "%s: the other mailbox's oldest", msg)
		o.Oldest = otherWant.Oldest
		assert.Equal(t, otherWant, o, "%s: the other mailbox", msg)
	}
	check(store.MailboxSummary{Pending: 3, Oldest: box[0].Time()}, "after Put")

	l, err := e.s.List(e.ctx, "0363", 2)
	require.NoError(t, err)
	require.Equal(t, box[:2], ids(l))
	check(store.MailboxSummary{Pending: 3, Leased: 2, Oldest: box[0].Time()}, "after List")

	require.NoError(t, e.s.Ack(e.ctx, "0363", box[0]))
	check(store.MailboxSummary{Pending: 2, Leased: 1, Oldest: box[1].Time()}, "after Ack")

	e.clock.Advance(visibility + 1)
	check(store.MailboxSummary{Pending: 2, Oldest: box[1].Time()}, "after the lease expired")

	for _, party := range []string{"", "03\x0063"} {
		_, err := e.s.Mailbox(e.ctx, party)
		assert.ErrorIs(t, err, store.ErrInvalid, "party %q", party)
	}
}
