// Package storetest is the contract every store.Store implementation must
// pass: dedup, mailbox order, leases, redelivery, quarantine, conversations,
// argument checks, retention and Close. An implementation's tests call Run
// with a factory that opens a fresh, empty store.
package storetest

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/knooppunt/knooppunt/store"
)

// Options are the settings a factory must apply to the store it opens:
// the clock and the delivery and retention policy (the janitor's interval
// is the factory's own choice: the contract runs the janitor itself).
type Options struct {
	Now func() time.Time
	store.Policy
}

// Factory opens a fresh, empty store configured by o. It should register
// the store's Close with t.Cleanup; Run closes it too, and Close must
// tolerate that.
type Factory func(t *testing.T, o Options) store.Store

// Janitor is implemented by stores whose retention can be run on demand;
// Run skips the retention tests for stores without it.
type Janitor interface {
	RunJanitor(ctx context.Context) error
}

// Clock is a manual clock for tests: time moves only when told.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a clock standing at t.
func NewClock(t time.Time) *Clock { return &Clock{t: t} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

const (
	visibility = time.Minute
	maxDeliver = 3
	payloadRet = 24 * time.Hour
	metaRet    = 62 * 24 * time.Hour
)

// env is one test's store and clock.
type env struct {
	t     *testing.T
	ctx   context.Context
	clock *Clock
	s     store.Store
}

func newEnv(t *testing.T, open Factory) *env {
	t.Helper()
	c := NewClock(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
	s := open(t, Options{Now: c.Now, Policy: store.Policy{VisibilityTimeout: visibility, MaxDeliveries: maxDeliver,
		PayloadRetention: payloadRet, MetadataRetention: metaRet}})
	t.Cleanup(func() { _ = s.Close() })
	return &env{t: t, ctx: context.Background(), clock: c, s: s}
}

// Msg builds a message from sender to recipient with a body derived from
// ident and variant, so tests can tell bodies apart.
func Msg(sender, recipient, soort, ident, variant string) *store.Message {
	return &store.Message{
		Soort: soort, Sender: sender, Recipient: recipient, Identificatie: ident,
		Body: fmt.Appendf(nil, "<Bericht soort=%q id=%q v=%q/>", soort, ident, variant),
	}
}

func (e *env) put(m *store.Message) store.ID {
	e.t.Helper()
	r, err := e.s.Put(e.ctx, m)
	require.NoError(e.t, err)
	require.False(e.t, r.Duplicate)
	return r.ID
}

func ids(es []store.Entry) []store.ID {
	out := make([]store.ID, len(es))
	for i, e := range es {
		out[i] = e.ID
	}
	return out
}

// Run runs the contract against stores made by open.
func Run(t *testing.T, open Factory) {
	tests := []struct {
		name string
		fn   func(t *testing.T, e *env)
	}{
		{"PutGetMeta", testPutGetMeta},
		{"IDsIncrease", testIDsIncrease},
		{"Dedup", testDedup},
		{"DedupConcurrent", testDedupConcurrent},
		{"ListOrderAndLease", testListOrderAndLease},
		{"ConcurrentPollers", testConcurrentPollers},
		{"PagesOfLeases", testPagesOfLeases},
		{"Pending", testPending},
		{"Mailbox", testMailbox},
		{"AckAndOwnership", testAckAndOwnership},
		{"Quarantine", testQuarantine},
		{"QuarantineAtOnce", testQuarantineAtOnce},
		{"History", testHistory},
		{"Conversation", testConversation},
		{"PutAnswered", testPutAnswered},
		{"Ledger", testLedger},
		{"InvalidArguments", testInvalid},
		{"Retention", testRetention},
		{"Close", testClose},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, newEnv(t, open)) })
	}
}

func testPutGetMeta(t *testing.T, e *env) {
	m := Msg("12345678", "0363", "WMO315", "ID-1", "a")
	m.Received = e.clock.Now().Add(-2 * time.Second)
	m.Validated = e.clock.Now().Add(-time.Second)
	id := e.put(m)
	require.False(t, id.IsZero())

	body, err := e.s.Get(e.ctx, "0363", id)
	require.NoError(t, err)
	assert.Equal(t, m.Body, body)

	meta, err := e.s.Meta(e.ctx, id)
	require.NoError(t, err)
	assert.Equal(t, id, meta.ID)
	assert.Equal(t, "WMO315", meta.Soort)
	assert.Equal(t, "12345678", meta.Sender)
	assert.Equal(t, "0363", meta.Recipient)
	assert.Equal(t, "ID-1", meta.Identificatie)
	assert.Equal(t, int64(len(m.Body)), meta.Size)
	assert.True(t, m.Received.Equal(meta.Received))
	assert.Equal(t, id, meta.Conversation, "a heenbericht starts its own conversation")
	assert.Equal(t, store.StateStored, meta.State)
	var states []store.State
	for _, ev := range meta.History {
		states = append(states, ev.State)
	}
	assert.Equal(t, []store.State{store.StateReceived, store.StateValidated, store.StateStored}, states)
	assert.Equal(t, int64(1), e.s.Stats().Pending)

	// The body is the caller's to reuse after Put.
	m.Body[0] = 'X'
	body, err = e.s.Get(e.ctx, "0363", id)
	require.NoError(t, err)
	assert.Equal(t, byte('<'), body[0])
}

func testIDsIncrease(t *testing.T, e *env) {
	var prev store.ID
	for i := range 20 {
		id := e.put(Msg("12345678", "0363", "WMO315", fmt.Sprint("ID-", i), ""))
		assert.Equal(t, 1, compareIDs(id, prev), "id %d not above its predecessor", i)
		parsed, err := store.ParseID(id.String())
		require.NoError(t, err)
		assert.Equal(t, id, parsed)
		prev = id
	}
}

func compareIDs(a, b store.ID) int {
	for i := range a {
		switch {
		case a[i] < b[i]:
			return -1
		case a[i] > b[i]:
			return 1
		}
	}
	return 0
}

func testDedup(t *testing.T, e *env) {
	m := Msg("12345678", "0363", "WMO315", "ID-1", "a")
	id := e.put(m)

	r, err := e.s.Put(e.ctx, Msg("12345678", "0363", "WMO315", "ID-1", "a"))
	require.NoError(t, err, "an identical resend is idempotent")
	assert.Equal(t, store.Receipt{ID: id, Duplicate: true}, r)

	_, err = e.s.Put(e.ctx, Msg("12345678", "0363", "WMO315", "ID-1", "b"))
	var dup *store.DuplicateError
	require.ErrorAs(t, err, &dup)
	assert.Equal(t, id, dup.Original)
	assert.ErrorIs(t, err, store.ErrDuplicate)
	assert.Equal(t, "duplicate", store.Code(err))

	// Another sender, soort or identificatie is another key.
	for _, other := range []*store.Message{
		Msg("87654321", "0363", "WMO315", "ID-1", "b"),
		Msg("12345678", "0363", "WMO317", "ID-1", "b"),
		Msg("12345678", "0363", "WMO315", "ID-2", "b"),
	} {
		assert.NotEqual(t, id, e.put(other))
	}
	list, err := e.s.List(e.ctx, "0363", store.MaxListLimit)
	require.NoError(t, err)
	assert.Len(t, list, 4, "the duplicates were not filed")
}

func testDedupConcurrent(t *testing.T, e *env) {
	const n = 32
	same := make([]store.Receipt, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			r, err := e.s.Put(e.ctx, Msg("12345678", "0363", "WMO315", "SAME", "a"))
			assert.NoError(t, err)
			same[i] = r
		})
	}
	wg.Wait()
	fresh := 0
	for _, r := range same {
		assert.Equal(t, same[0].ID, r.ID)
		if !r.Duplicate {
			fresh++
		}
	}
	assert.Equal(t, 1, fresh, "exactly one Put stored the message")

	errs := make([]error, n)
	rs := make([]store.Receipt, n)
	for i := range n {
		wg.Go(func() {
			rs[i], errs[i] = e.s.Put(e.ctx, Msg("12345678", "0363", "WMO315", "DIFF", fmt.Sprint(i)))
		})
	}
	wg.Wait()
	var winner store.ID
	wins := 0
	for i := range n {
		if errs[i] == nil {
			wins++
			winner = rs[i].ID
		}
	}
	require.Equal(t, 1, wins, "exactly one of different bodies wins")
	for i := range n {
		if errs[i] != nil {
			var dup *store.DuplicateError
			require.ErrorAs(t, errs[i], &dup)
			assert.Equal(t, winner, dup.Original)
		}
	}
	assert.Equal(t, int64(2), e.s.Stats().Pending)
}

func testListOrderAndLease(t *testing.T, e *env) {
	var want []store.ID
	for i := range 5 {
		want = append(want, e.put(Msg("12345678", "0363", "WMO315", fmt.Sprint("ID-", i), "")))
	}
	e.put(Msg("12345678", "0599", "WMO315", "OTHER", "")) // another mailbox

	l1, err := e.s.List(e.ctx, "0363", 3)
	require.NoError(t, err)
	assert.Equal(t, want[:3], ids(l1))
	for _, en := range l1 {
		assert.Equal(t, 1, en.Deliveries)
		assert.Equal(t, "0363", en.Recipient)
		assert.Equal(t, "12345678", en.Sender)
		assert.Equal(t, "WMO315", en.Soort)
		assert.Positive(t, en.Size)
	}
	l2, err := e.s.List(e.ctx, "0363", 10)
	require.NoError(t, err)
	assert.Equal(t, want[3:], ids(l2), "leased messages are not listed again")
	l3, err := e.s.List(e.ctx, "0363", 10)
	require.NoError(t, err)
	assert.Empty(t, l3)

	e.clock.Advance(visibility - time.Second)
	l4, err := e.s.List(e.ctx, "0363", 10)
	require.NoError(t, err)
	assert.Empty(t, l4, "leases still hold")

	e.clock.Advance(2 * time.Second)
	l5, err := e.s.List(e.ctx, "0363", 10)
	require.NoError(t, err)
	assert.Equal(t, want, ids(l5), "expired leases make messages visible again, in order")
	for _, en := range l5 {
		assert.Equal(t, 2, en.Deliveries)
	}
	meta, err := e.s.Meta(e.ctx, want[0])
	require.NoError(t, err)
	assert.Equal(t, store.StateListed, meta.State)
}

func testConcurrentPollers(t *testing.T, e *env) {
	const n = 120
	for i := range n {
		e.put(Msg("12345678", "0363", "WMO315", fmt.Sprint("ID-", i), ""))
	}
	var mu sync.Mutex
	seen := map[store.ID]int{}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for {
				l, err := e.s.List(e.ctx, "0363", 7)
				if !assert.NoError(t, err) || len(l) == 0 {
					return
				}
				mu.Lock()
				for _, en := range l {
					seen[en.ID]++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	assert.Len(t, seen, n)
	for id, c := range seen {
		assert.Equal(t, 1, c, "message %s delivered to two pollers", id)
	}
}

func testPagesOfLeases(t *testing.T, e *env) {
	const n = 3*store.MaxListLimit + 17
	var want []store.ID
	for i := range n {
		want = append(want, e.put(Msg("12345678", "0363", "WMO315", fmt.Sprint("ID-", i), "")))
	}
	var got []store.ID
	for {
		l, err := e.s.List(e.ctx, "0363", store.MaxListLimit)
		require.NoError(t, err)
		if len(l) == 0 {
			break
		}
		got = append(got, ids(l)...)
	}
	require.Equal(t, want, got, "page after page, every message once, in order")

	// Confirm some, let the leases of the rest expire: the rest comes back.
	for _, id := range want[:300] {
		require.NoError(t, e.s.Ack(e.ctx, "0363", id))
	}
	e.clock.Advance(visibility + time.Second)
	got = got[:0]
	for {
		l, err := e.s.List(e.ctx, "0363", 100)
		require.NoError(t, err)
		if len(l) == 0 {
			break
		}
		got = append(got, ids(l)...)
	}
	assert.Equal(t, want[300:], got)
}

func testPending(t *testing.T, e *env) {
	var want []store.ID
	for i := range 4 {
		want = append(want, e.put(Msg("12345678", "0363", "WMO315", fmt.Sprint("ID-", i), "")))
	}
	e.put(Msg("12345678", "0599", "WMO315", "OTHER", "")) // another mailbox
	pending := func(limit int) []store.ID {
		t.Helper()
		l, err := e.s.Pending(e.ctx, "0363", limit)
		require.NoError(t, err)
		return ids(l)
	}

	l, err := e.s.Pending(e.ctx, "0363", 10)
	require.NoError(t, err)
	assert.Equal(t, want, ids(l), "oldest first")
	for _, en := range l {
		assert.Equal(t, 0, en.Deliveries)
		assert.Equal(t, "0363", en.Recipient)
		assert.Equal(t, "12345678", en.Sender)
		assert.Equal(t, "WMO315", en.Soort)
		assert.Positive(t, en.Size)
	}
	assert.Equal(t, want[:2], pending(2), "limit is honoured")
	assert.Equal(t, want, pending(10), "listed again until confirmed")
	assert.Equal(t, int64(0), e.s.Stats().Deliveries, "no delivery counted")
	meta, err := e.s.Meta(e.ctx, want[0])
	require.NoError(t, err)
	assert.Equal(t, store.StateStored, meta.State, "no fetched event")

	// Pending leased nothing: List gets the same messages.
	l, err = e.s.List(e.ctx, "0363", 2)
	require.NoError(t, err)
	require.Equal(t, want[:2], ids(l))
	assert.Equal(t, want[2:], pending(10), "messages under List's lease are left out")
	e.clock.Advance(visibility - time.Second)
	assert.Equal(t, want[2:], pending(10), "while the lease holds")
	e.clock.Advance(2 * time.Second)
	l, err = e.s.Pending(e.ctx, "0363", 10)
	require.NoError(t, err)
	assert.Equal(t, want, ids(l), "back once the lease expires, in order")
	assert.Equal(t, []int{1, 1, 0, 0}, []int{l[0].Deliveries, l[1].Deliveries, l[2].Deliveries, l[3].Deliveries},
		"the deliveries List counted")

	require.NoError(t, e.s.Ack(e.ctx, "0363", want[1]))
	require.NoError(t, e.s.Ack(e.ctx, "0363", want[2]))
	assert.Equal(t, []store.ID{want[0], want[3]}, pending(10), "confirmed messages are gone")

	// A message List delivered MaxDeliveries times is due for quarantine,
	// and once quarantined it is out of the mailbox until released.
	for i := 2; i <= maxDeliver; i++ {
		l, err := e.s.List(e.ctx, "0363", 1)
		require.NoError(t, err)
		require.Equal(t, []store.ID{want[0]}, ids(l))
		require.Equal(t, i, l[0].Deliveries)
		e.clock.Advance(visibility + time.Second)
	}
	assert.Equal(t, want[3:], pending(10), "due for quarantine")
	l, err = e.s.List(e.ctx, "0363", 1)
	require.NoError(t, err)
	require.Equal(t, want[3:], ids(l))
	e.clock.Advance(visibility + time.Second)
	assert.Equal(t, want[3:], pending(10), "quarantined")
	require.NoError(t, e.s.Release(e.ctx, want[0]))
	assert.Equal(t, []store.ID{want[0], want[3]}, pending(10), "released")

	for _, id := range []store.ID{want[0], want[3]} {
		require.NoError(t, e.s.Ack(e.ctx, "0363", id))
	}
	l, err = e.s.Pending(e.ctx, "0363", 10)
	require.NoError(t, err)
	assert.NotNil(t, l, "an empty mailbox gives an empty slice")
	assert.Empty(t, l)
	l, err = e.s.Pending(e.ctx, "9999", 10)
	require.NoError(t, err)
	assert.Empty(t, l, "a mailbox that never held a message")

	for _, limit := range []int{0, -1, store.MaxListLimit + 1} {
		_, err := e.s.Pending(e.ctx, "0363", limit)
		assert.ErrorIs(t, err, store.ErrInvalid, "limit %d", limit)
	}
	for _, party := range []string{"", "03\x0063", fmt.Sprintf("%0*d", store.MaxPartyLen+1, 0)} {
		_, err := e.s.Pending(e.ctx, party, 1)
		assert.ErrorIs(t, err, store.ErrInvalid, "party %q", party)
	}
}

func testAckAndOwnership(t *testing.T, e *env) {
	a := e.put(Msg("12345678", "0363", "WMO315", "A", ""))
	b := e.put(Msg("12345678", "0363", "WMO315", "B", ""))

	_, err := e.s.Get(e.ctx, "0599", a)
	assert.ErrorIs(t, err, store.ErrNotFound, "only the mailbox owner reads")
	assert.ErrorIs(t, e.s.Ack(e.ctx, "0599", a), store.ErrNotFound, "only the owner confirms")
	var unknown store.ID
	unknown[0] = 0xff
	assert.ErrorIs(t, e.s.Ack(e.ctx, "0363", unknown), store.ErrNotFound)
	_, err = e.s.Get(e.ctx, "0363", unknown)
	assert.ErrorIs(t, err, store.ErrNotFound)
	assert.Equal(t, "not-found", store.Code(err))

	l, err := e.s.List(e.ctx, "0363", 10)
	require.NoError(t, err)
	require.Len(t, l, 2)
	require.NoError(t, e.s.Ack(e.ctx, "0363", a))
	require.NoError(t, e.s.Ack(e.ctx, "0363", a), "Ack is idempotent")
	assert.ErrorIs(t, e.s.Ack(e.ctx, "0599", a), store.ErrNotFound, "also once confirmed")
	assert.Equal(t, int64(1), e.s.Stats().Pending)

	// A confirmed message stays readable until retention removes it.
	_, err = e.s.Get(e.ctx, "0363", a)
	require.NoError(t, err)
	meta, err := e.s.Meta(e.ctx, a)
	require.NoError(t, err)
	assert.Equal(t, store.StateConfirmed, meta.State)

	e.clock.Advance(visibility + time.Second)
	l, err = e.s.List(e.ctx, "0363", 10)
	require.NoError(t, err)
	assert.Equal(t, []store.ID{b}, ids(l), "a confirmed message is never listed again")

	// Acking without listing first is allowed.
	c := e.put(Msg("12345678", "0363", "WMO315", "C", ""))
	require.NoError(t, e.s.Ack(e.ctx, "0363", c))
}

func testQuarantine(t *testing.T, e *env) {
	a := e.put(Msg("12345678", "0363", "WMO315", "A", ""))
	b := e.put(Msg("12345678", "0363", "WMO315", "B", ""))
	l, err := e.s.List(e.ctx, "0363", 10)
	require.NoError(t, err)
	require.Equal(t, []store.ID{a, b}, ids(l))
	require.NoError(t, e.s.Ack(e.ctx, "0363", b))
	for i := 2; i <= maxDeliver; i++ {
		e.clock.Advance(visibility + time.Second)
		l, err := e.s.List(e.ctx, "0363", 10)
		require.NoError(t, err)
		require.Equal(t, []store.ID{a}, ids(l), "delivery %d", i)
		require.Equal(t, i, l[0].Deliveries)
	}
	e.clock.Advance(visibility + time.Second)
	l, err = e.s.List(e.ctx, "0363", 10)
	require.NoError(t, err)
	assert.Empty(t, l, "after MaxDeliveries the message is quarantined, not listed")
	st := e.s.Stats()
	assert.Equal(t, int64(0), st.Pending)
	assert.Equal(t, int64(1), st.Quarantined)

	q, err := e.s.Quarantined(e.ctx, store.ID{}, 10)
	require.NoError(t, err)
	require.Equal(t, []store.ID{a}, ids(q))
	assert.Equal(t, "0363", q[0].Recipient)
	q, err = e.s.Quarantined(e.ctx, a, 10)
	require.NoError(t, err)
	assert.Empty(t, q, "paging starts after the given id")
	meta, err := e.s.Meta(e.ctx, a)
	require.NoError(t, err)
	assert.Equal(t, store.StateQuarantined, meta.State)
	body, err := e.s.Get(e.ctx, "0363", a)
	require.NoError(t, err, "quarantine keeps the message")
	assert.NotEmpty(t, body)

	require.NoError(t, e.s.Release(e.ctx, a))
	assert.ErrorIs(t, e.s.Release(e.ctx, a), store.ErrNotFound, "no longer quarantined")
	l, err = e.s.List(e.ctx, "0363", 10)
	require.NoError(t, err)
	require.Equal(t, []store.ID{a}, ids(l), "a released message is delivered again")
	assert.Equal(t, 1, l[0].Deliveries, "with its delivery count reset")
	require.NoError(t, e.s.Ack(e.ctx, "0363", a))
	st = e.s.Stats()
	assert.Equal(t, int64(0), st.Pending)
	assert.Equal(t, int64(0), st.Quarantined)
}

// after is the history of message id after it was stored, as states and
// times since t0.
func (e *env) after(id store.ID, t0 time.Time) (states []store.State, at []time.Duration) {
	e.t.Helper()
	m, err := e.s.Meta(e.ctx, id)
	require.NoError(e.t, err)
	i := slices.IndexFunc(m.History, func(ev store.Event) bool { return ev.State == store.StateStored })
	require.GreaterOrEqual(e.t, i, 0, "history without stored: %v", m.History)
	for _, ev := range m.History[i+1:] {
		states = append(states, ev.State)
		at = append(at, ev.At.Sub(t0))
	}
	require.Equal(e.t, states[len(states)-1], m.State, "the state is the last event's")
	return states, at
}

func testHistory(t *testing.T, e *env) {
	const (
		listed      = store.StateListed
		confirmed   = store.StateConfirmed
		quarantined = store.StateQuarantined
		released    = store.StateReleased
		retour      = store.StateRetourReceived
	)
	t0 := e.clock.Now()
	a := e.put(Msg("12345678", "0363", "WMO315", "A", ""))
	list := func(want ...store.ID) {
		t.Helper()
		l, err := e.s.List(e.ctx, "0363", 10)
		require.NoError(t, err)
		require.ElementsMatch(t, want, ids(l))
	}

	// Each listing that leases it, while it is pending and once confirmed.
	e.clock.Advance(time.Second)
	list(a)
	e.clock.Advance(visibility + time.Second)
	list(a)
	states, at := e.after(a, t0)
	assert.Equal(t, []store.State{listed, listed}, states)
	assert.Equal(t, []time.Duration{time.Second, visibility + 2*time.Second}, at)
	e.clock.Advance(time.Second)
	require.NoError(t, e.s.Ack(e.ctx, "0363", a))
	states, at = e.after(a, t0)
	assert.Equal(t, []store.State{listed, listed, confirmed}, states)
	assert.Equal(t, []time.Duration{time.Second, visibility + 2*time.Second, visibility + 3*time.Second}, at)

	// Through quarantine and back.
	t0 = e.clock.Now()
	b := e.put(Msg("12345678", "0363", "WMO315", "B", ""))
	for range maxDeliver {
		e.clock.Advance(visibility + time.Second)
		list(b)
	}
	e.clock.Advance(visibility + time.Second)
	list()
	require.NoError(t, e.s.Release(e.ctx, b))
	list(b)
	states, _ = e.after(b, t0)
	want := append(slices.Repeat([]store.State{listed}, maxDeliver), quarantined, released, listed)
	assert.Equal(t, want, states)
	require.NoError(t, e.s.Ack(e.ctx, "0363", b))
	states, _ = e.after(b, t0)
	assert.Equal(t, append(want, confirmed), states)

	// An answer between a listing and the confirmation: in time order.
	t0 = e.clock.Now()
	c := e.put(Msg("12345678", "0363", "WMO315", "C", ""))
	e.clock.Advance(time.Second)
	list(c)
	e.clock.Advance(time.Second)
	r := Msg("0363", "12345678", "WMO316", "R-C", "")
	r.Answers = c
	e.put(r)
	e.clock.Advance(time.Second)
	require.NoError(t, e.s.Ack(e.ctx, "0363", c))
	states, at = e.after(c, t0)
	assert.Equal(t, []store.State{listed, retour, confirmed}, states)
	assert.Equal(t, []time.Duration{time.Second, 2 * time.Second, 3 * time.Second}, at)
}

func testConversation(t *testing.T, e *env) {
	heen := e.put(Msg("12345678", "0363", "WMO315", "H-1", ""))
	found, err := e.s.Lookup(e.ctx, store.Key{Sender: "12345678", Soort: "WMO315", Identificatie: "H-1"})
	require.NoError(t, err)
	assert.Equal(t, heen, found.ID)
	_, err = e.s.Lookup(e.ctx, store.Key{Sender: "12345678", Soort: "WMO315", Identificatie: "H-2"})
	assert.ErrorIs(t, err, store.ErrNotFound)

	e.clock.Advance(time.Minute)
	m := Msg("0363", "12345678", "WMO316", "R-1", "")
	m.Answers = heen
	retour := e.put(m)

	conv, err := e.s.Conversation(e.ctx, retour)
	require.NoError(t, err)
	require.Len(t, conv, 2)
	assert.Equal(t, heen, conv[0].ID)
	assert.Equal(t, retour, conv[1].ID)
	assert.Equal(t, heen, conv[1].Conversation)
	conv2, err := e.s.Conversation(e.ctx, heen)
	require.NoError(t, err)
	assert.Equal(t, []store.ID{heen, retour}, []store.ID{conv2[0].ID, conv2[1].ID})

	hm, err := e.s.Meta(e.ctx, heen)
	require.NoError(t, err)
	assert.Equal(t, store.StateRetourReceived, hm.State)
	last := hm.History[len(hm.History)-1]
	assert.Equal(t, retour, last.Ref)
	assert.Equal(t, time.Minute, last.At.Sub(hm.History[len(hm.History)-2].At), "time from storing to retour")

	m = Msg("0363", "12345678", "WMO316", "R-2", "")
	m.Answers[0] = 0xff
	_, err = e.s.Put(e.ctx, m)
	assert.ErrorIs(t, err, store.ErrNotFound, "an answer to an unknown heenbericht")
}

func testInvalid(t *testing.T, e *env) {
	ok := func() *store.Message { return Msg("12345678", "0363", "WMO315", "ID", "") }
	cases := []struct {
		name string
		edit func(m *store.Message)
	}{
		{"no soort", func(m *store.Message) { m.Soort = "" }},
		{"no sender", func(m *store.Message) { m.Sender = "" }},
		{"no recipient", func(m *store.Message) { m.Recipient = "" }},
		{"no identificatie", func(m *store.Message) { m.Identificatie = "" }},
		{"NUL in recipient", func(m *store.Message) { m.Recipient = "03\x0063" }},
		{"long identificatie", func(m *store.Message) { m.Identificatie = string(make([]byte, 65)) }},
		{"empty body", func(m *store.Message) { m.Body = nil }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := ok()
			tc.edit(m)
			_, err := e.s.Put(e.ctx, m)
			assert.ErrorIs(t, err, store.ErrInvalid)
			assert.Equal(t, "invalid", store.Code(err))
		})
	}
	_, err := e.s.Put(e.ctx, nil)
	assert.ErrorIs(t, err, store.ErrInvalid)
	for _, limit := range []int{0, -1, store.MaxListLimit + 1} {
		_, err := e.s.List(e.ctx, "0363", limit)
		assert.ErrorIs(t, err, store.ErrInvalid, "limit %d", limit)
		_, err = e.s.Quarantined(e.ctx, store.ID{}, limit)
		assert.ErrorIs(t, err, store.ErrInvalid, "limit %d", limit)
	}
	_, err = e.s.List(e.ctx, "", 1)
	assert.ErrorIs(t, err, store.ErrInvalid)
	assert.ErrorIs(t, e.s.Ack(e.ctx, "0363", store.ID{}), store.ErrInvalid)
	assert.Equal(t, int64(0), e.s.Stats().Pending)
}

func testRetention(t *testing.T, e *env) {
	j, ok := e.s.(Janitor)
	if !ok {
		t.Skip("store has no RunJanitor: retention not testable on demand")
	}
	heen := e.put(Msg("12345678", "0363", "WMO315", "A", ""))
	keep := e.put(Msg("12345678", "0363", "WMO315", "B", ""))
	m := Msg("0363", "12345678", "WMO316", "R", "")
	m.Answers = heen
	retour := e.put(m)
	require.NoError(t, e.s.Ack(e.ctx, "0363", heen))
	require.NoError(t, e.s.Ack(e.ctx, "12345678", retour))

	e.clock.Advance(payloadRet - time.Second)
	require.NoError(t, j.RunJanitor(e.ctx))
	_, err := e.s.Get(e.ctx, "0363", heen)
	require.NoError(t, err, "payload kept until PayloadRetention")

	e.clock.Advance(2 * time.Second)
	require.NoError(t, j.RunJanitor(e.ctx))
	_, err = e.s.Get(e.ctx, "0363", heen)
	assert.ErrorIs(t, err, store.ErrExpired)
	assert.Equal(t, "expired", store.Code(err))
	meta, err := e.s.Meta(e.ctx, heen)
	require.NoError(t, err, "metadata outlives the payload")
	assert.Equal(t, store.StateExpired, meta.State)
	_, err = e.s.Get(e.ctx, "0363", keep)
	require.NoError(t, err, "unconfirmed messages are never expired")

	e.clock.Advance(metaRet)
	require.NoError(t, j.RunJanitor(e.ctx))
	_, err = e.s.Meta(e.ctx, heen)
	assert.ErrorIs(t, err, store.ErrNotFound)
	_, err = e.s.Lookup(e.ctx, store.Key{Sender: "12345678", Soort: "WMO315", Identificatie: "A"})
	assert.ErrorIs(t, err, store.ErrNotFound)
	_, err = e.s.Conversation(e.ctx, retour)
	assert.ErrorIs(t, err, store.ErrNotFound)
	_, err = e.s.Get(e.ctx, "0363", keep)
	require.NoError(t, err)
	st := e.s.Stats()
	assert.Equal(t, int64(1), st.Pending)
	assert.Equal(t, int64(2), st.Expired)
	assert.Equal(t, int64(2), st.Purged)
}

func testClose(t *testing.T, e *env) {
	id := e.put(Msg("12345678", "0363", "WMO315", "A", ""))
	require.NoError(t, e.s.Ready(e.ctx), "an open store is ready")
	require.NoError(t, e.s.Close())
	assert.Error(t, e.s.Ready(e.ctx), "a closed store is not ready")
	require.NoError(t, e.s.Close(), "Close twice is fine")
	_, err := e.s.Put(e.ctx, Msg("12345678", "0363", "WMO315", "B", ""))
	assert.ErrorIs(t, err, store.ErrClosed)
	_, err = e.s.List(e.ctx, "0363", 1)
	assert.ErrorIs(t, err, store.ErrClosed)
	_, err = e.s.Pending(e.ctx, "0363", 1)
	assert.ErrorIs(t, err, store.ErrClosed)
	_, err = e.s.Get(e.ctx, "0363", id)
	assert.ErrorIs(t, err, store.ErrClosed)
	assert.ErrorIs(t, e.s.Ack(e.ctx, "0363", id), store.ErrClosed)
	_, err = e.s.Meta(e.ctx, id)
	assert.ErrorIs(t, err, store.ErrClosed)
	assert.Equal(t, "closed", store.Code(err))
}

func testQuarantineAtOnce(t *testing.T, e *env) {
	q := e.s
	a := e.put(Msg("12345678", "0363", "WMO315", "ID-a", ""))
	b := e.put(Msg("12345678", "0363", "WMO315", "ID-b", ""))
	other := e.put(Msg("12345678", "0599", "WMO315", "ID-c", ""))

	// Leased once, below MaxDeliveries: quarantined all the same.
	l, err := e.s.List(e.ctx, "0363", 1)
	require.NoError(t, err)
	require.Equal(t, []store.ID{a}, ids(l))
	require.NoError(t, q.Quarantine(e.ctx, "0363", a, "attempts"))
	require.NoError(t, q.Quarantine(e.ctx, "0363", a, "attempts"), "quarantining twice is idempotent")
	st := e.s.Stats()
	assert.Equal(t, int64(2), st.Pending)
	assert.Equal(t, int64(1), st.Quarantined)

	e.clock.Advance(2 * visibility)
	l, err = e.s.List(e.ctx, "0363", 10)
	require.NoError(t, err)
	assert.Equal(t, []store.ID{b}, ids(l), "gone from the mailbox after its lease ended")
	list, err := e.s.Quarantined(e.ctx, store.ID{}, 10)
	require.NoError(t, err)
	require.Equal(t, []store.ID{a}, ids(list))
	assert.Equal(t, "0363", list[0].Recipient)
	m, err := e.s.Meta(e.ctx, a)
	require.NoError(t, err)
	assert.Equal(t, store.StateQuarantined, m.State)

	for _, tc := range []struct {
		name, party, reason string
		id                  store.ID
		want                error
	}{
		{"other party", "0599", "attempts", a, store.ErrNotFound},
		{"unknown id", "0363", "attempts", store.ID{1}, store.ErrNotFound},
		{"zero id", "0363", "attempts", store.ID{}, store.ErrInvalid},
		{"no reason", "0363", "", b, store.ErrInvalid},
		{"no party", "", "attempts", b, store.ErrInvalid},
	} {
		require.ErrorIs(t, q.Quarantine(e.ctx, tc.party, tc.id, tc.reason), tc.want, tc.name)
	}
	require.NoError(t, e.s.Ack(e.ctx, "0599", other))
	require.ErrorIs(t, q.Quarantine(e.ctx, "0599", other, "attempts"), store.ErrNotFound, "a confirmed message is not pending")

	require.NoError(t, e.s.Release(e.ctx, a))
	e.clock.Advance(2 * visibility)
	l, err = e.s.List(e.ctx, "0363", 10)
	require.NoError(t, err)
	assert.Contains(t, ids(l), a, "released back into its mailbox")
	assert.Zero(t, e.s.Stats().Quarantined)
}

// Measure runs b.N calls of fn on writers goroutines (fn gets the call's
// index) and reports msgs/s and the p50 and p99 latency: the shape of the
// concurrent-writer benchmarks of every backend, so their figures compare.
// A failed call fails the benchmark.
func Measure(b *testing.B, writers int, fn func(i int) error) {
	var next, failed atomic.Int64
	lat := make([]time.Duration, b.N)
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for range writers {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= b.N {
					return
				}
				t0 := time.Now()
				if err := fn(i); err != nil {
					failed.Add(1)
				}
				lat[i] = time.Since(t0)
			}
		})
	}
	wg.Wait()
	el := time.Since(start)
	b.StopTimer()
	if failed.Load() > 0 {
		b.Fatalf("%d of %d calls failed", failed.Load(), b.N)
	}
	slices.Sort(lat)
	b.ReportMetric(float64(b.N)/el.Seconds(), "msgs/s")
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}

// NewKeyring writes a key file with one fresh data key in a temporary
// directory and loads it, for tests of encryption at rest; it returns the
// keyring and the file's path (to add keys to).
func NewKeyring(t testing.TB) (*store.Keyring, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "keys")
	_, err := store.AddKey(path, time.Now())
	require.NoError(t, err)
	k, err := store.LoadKeyring(path)
	require.NoError(t, err)
	return k, path
}
