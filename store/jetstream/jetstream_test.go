package jetstream_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	js "github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/knooppunt/knooppunt/store"
	"github.com/knooppunt/knooppunt/store/jetstream"
	"github.com/knooppunt/knooppunt/store/jetstream/natstest"
	"github.com/knooppunt/knooppunt/store/storetest"
)

// open runs the contract against one embedded server per test, R1.
func open(t *testing.T, o storetest.Options) store.Store {
	t.Helper()
	srv := natstest.Start(t)
	s, err := jetstream.Open(context.Background(), jetstream.Config{
		URL: srv.ClientURL(), Replicas: 1, Now: o.Now, Policy: janitorHourly(o.Policy),
	})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, s.Close()) })
	return s
}

// janitorHourly is p with the janitor left to the contract, which runs
// it on demand.
func janitorHourly(p store.Policy) store.Policy {
	p.JanitorInterval = time.Hour
	return p
}

func TestContract(t *testing.T) {
	storetest.Run(t, open)
}

// TestHistoryReadsListingEvents: a listing a store recorded as an event of
// its own, before entries kept their listings, stays in the history
// beside the listings after it.
func TestHistoryReadsListingEvents(t *testing.T) {
	ctx := context.Background()
	clock := storetest.NewClock(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
	s := open(t, storetest.Options{Now: clock.Now, Policy: store.Policy{VisibilityTimeout: time.Minute, MaxDeliveries: 5}}).(*jetstream.Store)
	r, err := s.Put(ctx, storetest.Msg("12345678", "0363", "WMO315", "A", ""))
	require.NoError(t, err)
	clock.Advance(time.Second)
	require.NoError(t, s.AddEvent(ctx, r.ID, store.StateListed))
	clock.Advance(time.Second)
	l, err := s.List(ctx, "0363", 10)
	require.NoError(t, err)
	require.Len(t, l, 1)
	clock.Advance(time.Second)
	require.NoError(t, s.Ack(ctx, "0363", r.ID))

	m, err := s.Meta(ctx, r.ID)
	require.NoError(t, err)
	var states []store.State
	for _, ev := range m.History[len(m.History)-3:] {
		states = append(states, ev.State)
	}
	assert.Equal(t, []store.State{store.StateListed, store.StateListed, store.StateConfirmed}, states)
	assert.Len(t, m.History, 5, "received, stored, two listings, confirmed: %v", m.History)
}

func TestConfigValidate(t *testing.T) {
	cases := []struct {
		name string
		cfg  jetstream.Config
		ok   bool
	}{
		{"url", jetstream.Config{URL: "nats://127.0.0.1:4222"}, true},
		{"no url", jetstream.Config{}, false},
		{"stream with dot", jetstream.Config{URL: "x", Stream: "a.b"}, false},
		{"subject with wildcard", jetstream.Config{URL: "x", Subject: "kp>"}, false},
		{"replicas", jetstream.Config{URL: "x", Replicas: 7}, false},
		{"retention order", jetstream.Config{URL: "x", Policy: store.Policy{PayloadRetention: 2 * time.Hour, MetadataRetention: time.Hour}}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := jetstream.Open(context.Background(), tc.cfg)
			if tc.ok {
				// Valid, but nothing listens: the dial fails, not validation.
				require.Error(t, err)
				assert.NotErrorIs(t, err, store.ErrInvalid)
				return
			}
			assert.ErrorIs(t, err, store.ErrInvalid)
		})
	}
}

// TestSharedAcrossClients runs two store clients on one stream: what one
// stores the other finds, dedup holds across them, and a lease taken by
// one hides the message from the other.
func TestSharedAcrossClients(t *testing.T) {
	ctx := context.Background()
	srv := natstest.Start(t)
	clock := storetest.NewClock(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
	openC := func() *jetstream.Store {
		s, err := jetstream.Open(ctx, jetstream.Config{URL: srv.ClientURL(), Replicas: 1, Now: clock.Now, Policy: store.Policy{VisibilityTimeout: time.Minute}})
		require.NoError(t, err)
		t.Cleanup(func() { _ = s.Close() })
		return s
	}
	a, b := openC(), openC()
	r, err := a.Put(ctx, storetest.Msg("12345678", "0363", "WMO315", "X", "1"))
	require.NoError(t, err)
	r2, err := b.Put(ctx, storetest.Msg("12345678", "0363", "WMO315", "X", "1"))
	require.NoError(t, err)
	assert.Equal(t, store.Receipt{ID: r.ID, Duplicate: true}, r2)
	_, err = b.Put(ctx, storetest.Msg("12345678", "0363", "WMO315", "X", "2"))
	assert.ErrorIs(t, err, store.ErrDuplicate)

	l, err := b.List(ctx, "0363", 10)
	require.NoError(t, err)
	require.Len(t, l, 1)
	l2, err := a.List(ctx, "0363", 10)
	require.NoError(t, err)
	assert.Empty(t, l2, "leased by the other client")
	require.NoError(t, a.Ack(ctx, "0363", r.ID), "any node confirms")
	clock.Advance(2 * time.Minute)
	l3, err := b.List(ctx, "0363", 10)
	require.NoError(t, err)
	assert.Empty(t, l3)

	// A new client counts what is pending and hands out ids above the old.
	r3, err := a.Put(ctx, storetest.Msg("12345678", "0363", "WMO315", "Y", ""))
	require.NoError(t, err)
	c := openC()
	assert.Equal(t, int64(1), c.Stats().Pending)
	r4, err := c.Put(ctx, storetest.Msg("12345678", "0363", "WMO315", "Z", ""))
	require.NoError(t, err)
	assert.Positive(t, compare(r4.ID, r3.ID), "ids increase across clients on a frozen clock")
}

func compare(a, b store.ID) int {
	for i := range a {
		if a[i] != b[i] {
			return int(a[i]) - int(b[i])
		}
	}
	return 0
}

// TestLargeBody stores a message larger than a stream message may be.
func TestLargeBody(t *testing.T) {
	ctx := context.Background()
	s := open(t, storetest.Options{})
	body := make([]byte, 3<<20+17)
	for i := range body {
		body[i] = byte(i * 7)
	}
	m := storetest.Msg("12345678", "0363", "WMO315", "BIG", "")
	m.Body = body
	r, err := s.Put(ctx, m)
	require.NoError(t, err)
	got, err := s.Get(ctx, "0363", r.ID)
	require.NoError(t, err)
	assert.Equal(t, body, got)
}

// TestGetChecksTheBytes: the bytes of a listed message, which Get reads
// without the message's record, are checked against the digest the
// mailbox entry copies: bytes replaced in the stream are refused, and
// another party does not get them.
func TestGetChecksTheBytes(t *testing.T) {
	ctx := context.Background()
	srv := natstest.Start(t)
	nc, err := nats.Connect(srv.ClientURL())
	require.NoError(t, err)
	defer nc.Close()
	s, err := jetstream.Open(ctx, jetstream.Config{Conn: nc, Replicas: 1})
	require.NoError(t, err)
	defer s.Close()
	wait, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	require.NoError(t, s.WaitIndexed(wait))
	m := storetest.Msg("12345678", "0363", "WMO315", "CHECKED", "")
	r, err := s.Put(ctx, m)
	require.NoError(t, err)
	l, err := s.List(ctx, "0363", 1)
	require.NoError(t, err)
	require.Len(t, l, 1)

	got, err := s.Get(ctx, "0363", r.ID)
	require.NoError(t, err)
	assert.Equal(t, m.Body, got)
	_, err = s.Get(ctx, "99990001", r.ID)
	assert.ErrorIs(t, err, store.ErrNotFound)

	other := append([]byte(nil), m.Body...)
	other[len(other)/2] ^= 1
	_, err = nc.RequestMsg(&nats.Msg{Subject: "kp.b." + r.ID.String() + ".0", Data: other,
		Header: nats.Header{"Nats-Rollup": []string{"sub"}}}, 5*time.Second)
	require.NoError(t, err)
	_, err = s.Get(ctx, "0363", r.ID)
	assert.ErrorIs(t, err, store.ErrCorrupt)
}

// directGets counts the direct gets of the stream KNOOPPUNT that read
// subjects of kind (the token after the prefix: "b" for message bytes),
// alone or among the subjects of a batched get, as a connection of its own
// sees them: each call returns the count so far.
func directGets(t *testing.T, url, kind string) func() int {
	t.Helper()
	watch, err := nats.Connect(url)
	require.NoError(t, err)
	t.Cleanup(watch.Close)
	one, err := watch.SubscribeSync("$JS.API.DIRECT.GET.KNOOPPUNT.kp." + kind + ".>")
	require.NoError(t, err)
	batched, err := watch.SubscribeSync("$JS.API.DIRECT.GET.KNOOPPUNT")
	require.NoError(t, err)
	require.NoError(t, watch.Flush())
	n := 0
	return func() int {
		t.Helper()
		// What the server routed before this round trip has arrived.
		require.NoError(t, watch.Flush())
		for _, err := one.NextMsg(0); err == nil; _, err = one.NextMsg(0) {
			n++
		}
		for m, err := batched.NextMsg(0); err == nil; m, err = batched.NextMsg(0) {
			if strings.Contains(string(m.Data), `"kp.`+kind+`.`) {
				n++
			}
		}
		return n
	}
}

// TestGetReadsAhead: the messages a listing leased are fetched with no
// request of their own, by their recipient only, and not after their
// lease ended or their confirmation.
func TestGetReadsAhead(t *testing.T) {
	ctx := context.Background()
	srv := natstest.Start(t)
	clock := storetest.NewClock(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
	s, err := jetstream.Open(ctx, jetstream.Config{URL: srv.ClientURL(), Replicas: 1, Now: clock.Now,
		Policy: store.Policy{VisibilityTimeout: time.Minute, MaxDeliveries: 5}})
	require.NoError(t, err)
	defer s.Close()
	bodyReads := directGets(t, srv.ClientURL(), "b")
	put := func(ident string) (store.ID, []byte) {
		t.Helper()
		m := storetest.Msg("12345678", "0363", "WMO315", ident, "")
		r, err := s.Put(ctx, m)
		require.NoError(t, err)
		return r.ID, m.Body
	}
	list := func(n int) {
		t.Helper()
		l, err := s.List(ctx, "0363", 10)
		require.NoError(t, err)
		require.Len(t, l, n)
	}
	get := func(id store.ID, body []byte) {
		t.Helper()
		got, err := s.Get(ctx, "0363", id)
		require.NoError(t, err)
		assert.Equal(t, body, got)
	}

	a, abody := put("A")
	b, bbody := put("B")
	list(2)
	assert.Equal(t, 1, bodyReads(), "both read with the listing")
	_, err = s.Get(ctx, "99990001", b)
	assert.ErrorIs(t, err, store.ErrNotFound, "another party")
	n := bodyReads()
	get(a, abody)
	get(b, bbody)
	assert.Equal(t, n, bodyReads(), "fetched with no read of their own")
	require.NoError(t, s.Ack(ctx, "0363", a))
	require.NoError(t, s.Ack(ctx, "0363", b))

	c, cbody := put("C")
	list(1)
	clock.Advance(time.Minute)
	get(c, cbody)
	assert.Equal(t, n+2, bodyReads(), "read with the listing, and again once its lease ended")

	d, dbody := put("D")
	list(2) // C again, and D
	require.NoError(t, s.Ack(ctx, "0363", d))
	get(d, dbody)
	assert.Equal(t, n+4, bodyReads(), "read with the listing, and again once confirmed")
}

// TestBatchWithAResend: a batch that loses a compare-and-set for one of
// its messages, a resend, is committed again at once without it, rather
// than message by message.
func TestBatchWithAResend(t *testing.T) {
	ctx := context.Background()
	s := open(t, storetest.Options{}).(*jetstream.Store)
	first := storetest.Msg("12345678", "0363", "WMO315", "A", "")
	_, err := s.Put(ctx, first)
	require.NoError(t, err)
	commits := s.Stats().Commits

	errs := s.PutTogether(storetest.Msg("12345678", "0363", "WMO315", "B", ""), first,
		storetest.Msg("12345678", "0363", "WMO315", "C", ""), storetest.Msg("12345678", "0363", "WMO315", "D", ""))
	assert.Equal(t, []error{nil, jetstream.ErrConflict, nil, nil}, errs)
	assert.Equal(t, commits+1, s.Stats().Commits, "the three new messages in one commit")
	for _, ident := range []string{"B", "C", "D"} {
		_, err := s.Lookup(ctx, store.Key{Sender: "12345678", Soort: "WMO315", Identificatie: ident})
		assert.NoError(t, err, ident)
	}
	r, err := s.Put(ctx, first)
	require.NoError(t, err)
	assert.True(t, r.Duplicate, "a resend on its own")
}

// TestPutReadsTheKeyAfterAResend: a new message is stored without
// reading its dedup key first, unless its sender resent one within the
// last minute.
func TestPutReadsTheKeyAfterAResend(t *testing.T) {
	ctx := context.Background()
	srv := natstest.Start(t)
	clock := storetest.NewClock(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
	s, err := jetstream.Open(ctx, jetstream.Config{URL: srv.ClientURL(), Replicas: 1, Now: clock.Now})
	require.NoError(t, err)
	defer s.Close()
	reads := directGets(t, srv.ClientURL(), "d")
	put := func(sender, ident string) store.Receipt {
		t.Helper()
		r, err := s.Put(ctx, storetest.Msg(sender, "0363", "WMO315", ident, ""))
		require.NoError(t, err)
		return r
	}

	put("12345678", "A")
	assert.Zero(t, reads(), "a new message")
	assert.True(t, put("12345678", "A").Duplicate)
	assert.Equal(t, 1, reads(), "a resend, read once its claim failed")
	put("12345678", "B")
	assert.Equal(t, 2, reads(), "its sender's next message, read first")
	put("87654321", "C")
	assert.Equal(t, 2, reads(), "another sender's")
	clock.Advance(time.Minute)
	put("12345678", "D")
	assert.Equal(t, 2, reads(), "a minute later")
}

// TestForeignStream refuses a stream of the same name with other settings.
func TestForeignStream(t *testing.T) {
	srv := natstest.Start(t)
	nc, err := nats.Connect(srv.ClientURL())
	require.NoError(t, err)
	defer nc.Close()
	_, err = jetstream.Open(context.Background(), jetstream.Config{Conn: nc, Replicas: 1, Subject: "a"})
	require.NoError(t, err)
	_, err = jetstream.Open(context.Background(), jetstream.Config{Conn: nc, Replicas: 1, Subject: "b"})
	assert.ErrorIs(t, err, store.ErrForeignDir)
}

func TestRefsContract(t *testing.T) {
	storetest.RunRefs(t, func(t *testing.T, o storetest.Options) (store.RefStore, func() store.RefStore) {
		srv := natstest.Start(t)
		openC := func() store.RefStore {
			s, err := jetstream.Open(context.Background(), jetstream.Config{URL: srv.ClientURL(), Replicas: 1,
				Now: o.Now, Policy: janitorHourly(o.Policy)})
			require.NoError(t, err)
			t.Cleanup(func() { _ = s.Close() })
			return s
		}
		return openC(), openC
	})
}

func TestCorrelationsContract(t *testing.T) {
	storetest.RunCorrelations(t, func(t *testing.T, o storetest.Options) (storetest.Correlator, func() storetest.Correlator) {
		srv := natstest.Start(t)
		openC := func() storetest.Correlator {
			s, err := jetstream.Open(context.Background(), jetstream.Config{URL: srv.ClientURL(), Replicas: 1,
				Now: o.Now, Policy: janitorHourly(o.Policy)})
			require.NoError(t, err)
			t.Cleanup(func() { _ = s.Close() })
			return s
		}
		return openC(), openC
	})
}

// TestCorrelationIndexPurged: the janitor removes a message's correlation
// indexes with its record, the traceerIds of its resends included, and
// leaves those naming other messages.
func TestCorrelationIndexPurged(t *testing.T) {
	ctx := context.Background()
	srv := natstest.Start(t)
	clock := storetest.NewClock(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
	s, err := jetstream.Open(ctx, jetstream.Config{URL: srv.ClientURL(), Replicas: 1, Now: clock.Now,
		Policy: janitorHourly(store.Policy{PayloadRetention: time.Hour, MetadataRetention: 2 * time.Hour})})
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	put := func(ident string, c store.Correlation) store.Receipt {
		t.Helper()
		m := storetest.Msg("12345678", "0363", "WMO315", ident, "")
		m.Correlation = &c
		r, err := s.Put(ctx, m)
		require.NoError(t, err)
		return r
	}
	heen := put("A", store.Correlation{Traceer: store.UUID{1}, Conversatie: store.UUID{2}})
	r := put("A", store.Correlation{Traceer: store.UUID{3}, Conversatie: store.UUID{2}})
	require.True(t, r.Duplicate)
	kept := put("B", store.Correlation{Traceer: store.UUID{4}, Conversatie: store.UUID{5}})

	require.NoError(t, s.Ack(ctx, "0363", heen.ID))
	clock.Advance(3 * time.Hour)
	require.NoError(t, s.RunJanitor(ctx))

	nc, err := nats.Connect(srv.ClientURL())
	require.NoError(t, err)
	defer nc.Close()
	j, err := js.New(nc)
	require.NoError(t, err)
	st, err := j.Stream(ctx, jetstream.DefaultStream)
	require.NoError(t, err)
	info, err := st.Info(ctx, js.WithSubjectFilter(jetstream.DefaultSubject+".f.>"))
	require.NoError(t, err)
	assert.Len(t, info.State.Subjects, 2, "only the indexes of the message kept: %v", info.State.Subjects)
	id, ok, err := s.ByTraceer(ctx, store.UUID{4})
	require.NoError(t, err)
	assert.True(t, ok)
	assert.Equal(t, kept.ID, id)
}
