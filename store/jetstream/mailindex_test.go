package jetstream_test

import (
	"context"
	"fmt"
	"slices"
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

// fill puts n messages for party, from 16 writers, and returns their ids
// in arrival order.
func fill(t testing.TB, s store.Store, party string, n int) []store.ID {
	ctx := context.Background()
	ids := make([]store.ID, n)
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for w := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += 16 {
				r, err := s.Put(ctx, &store.Message{Soort: "WMO301", Sender: "0363", Recipient: party,
					Identificatie: fmt.Sprintf("%s-%d", party, i), Body: []byte(fmt.Sprintf("<b>%d</b>", i))})
				if err != nil {
					errs <- err
					return
				}
				ids[i] = r.ID
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	slices.SortFunc(ids, compare)
	return ids
}

// TestListOldestFirstInADeepMailbox: a message whose lease expired is
// listed again before younger ones, also when the mailbox holds more
// entries than a scan in stream order reads (a lease rewrites the entry
// at the stream's end), and confirmed messages are not listed.
func TestListOldestFirstInADeepMailbox(t *testing.T) {
	if testing.Short() {
		t.Skip("fills a mailbox of 10,500 messages; skipped with -short")
	}
	ctx := context.Background()
	clock := storetest.NewClock(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
	s, err := jetstream.Open(ctx, jetstream.Config{URL: natstest.Start(t).ClientURL(), Replicas: 1, Now: clock.Now,
		Policy: store.Policy{VisibilityTimeout: time.Minute}})
	require.NoError(t, err)
	defer s.Close()
	ids := fill(t, s, "42420001", 10500)
	wait, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	require.NoError(t, s.WaitIndexed(wait))

	l, err := s.List(ctx, "42420001", 2)
	require.NoError(t, err)
	require.Equal(t, ids[:2], []store.ID{l[0].ID, l[1].ID})
	require.NoError(t, s.Ack(ctx, "42420001", ids[1]))
	clock.Advance(2 * time.Minute)
	l, err = s.List(ctx, "42420001", 2)
	require.NoError(t, err)
	assert.Equal(t, []store.ID{ids[0], ids[2]}, []store.ID{l[0].ID, l[1].ID}, "the expired lease first, the confirmed one gone")
	p, err := s.Pending(ctx, "42420001", 1)
	require.NoError(t, err)
	assert.Equal(t, ids[3], p[0].ID, "leased ones are left out of Pending")
	sum, err := s.Mailbox(ctx, "42420001")
	require.NoError(t, err)
	assert.Equal(t, store.MailboxSummary{Pending: 10499, Leased: 2, Oldest: ids[0].Time()}, sum)
}

// TestSuspectIndexChecksTheStream: an index that may have missed a
// tombstone (it could not follow the stream for a while) checks what it
// answers against the stream, drops what is gone, and is rebuilt.
func TestSuspectIndexChecksTheStream(t *testing.T) {
	ctx := context.Background()
	s, err := jetstream.Open(ctx, jetstream.Config{URL: natstest.Start(t).ClientURL(), Replicas: 1})
	require.NoError(t, err)
	defer s.Close()
	ids := fill(t, s, "42420001", 3)
	wait, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	require.NoError(t, s.WaitIndexed(wait))

	ghost := store.ID{0x01} // older than every id the store hands out
	require.NoError(t, s.InjectGhost(ctx, "42420001", ghost))
	p, err := s.Pending(ctx, "42420001", 2)
	require.NoError(t, err)
	assert.Equal(t, ids[:2], []store.ID{p[0].ID, p[1].ID}, "the ghost is checked, found gone and left out")
	l, err := s.List(ctx, "42420001", 3)
	require.NoError(t, err)
	assert.Len(t, l, 3)
	require.NoError(t, s.WaitIndexed(wait), "a suspect index is built anew")
}

// TestConcurrentListsShareAMailbox: this node's listings of one mailbox
// that run at once take different messages, each once, and the index
// knows at once the sequence each lease was stored at, which the
// confirmation's compare-and-set names.
func TestConcurrentListsShareAMailbox(t *testing.T) {
	ctx := context.Background()
	s, err := jetstream.Open(ctx, jetstream.Config{URL: natstest.Start(t).ClientURL(), Replicas: 1,
		Policy: store.Policy{VisibilityTimeout: time.Hour}})
	require.NoError(t, err)
	defer s.Close()
	ids := fill(t, s, "42420001", 60)
	wait, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	require.NoError(t, s.WaitIndexed(wait))

	var mu sync.Mutex
	var listed []store.ID
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for {
				l, err := s.List(ctx, "42420001", 3)
				if !assert.NoError(t, err) || len(l) == 0 {
					return
				}
				mu.Lock()
				for _, e := range l {
					listed = append(listed, e.ID)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	slices.SortFunc(listed, compare)
	require.Equal(t, ids, listed, "every message listed once")
	for _, id := range ids {
		indexed, stream, err := s.EntrySeqs(ctx, "42420001", id)
		require.NoError(t, err)
		require.NotZero(t, stream)
		assert.Equal(t, stream, indexed, "the index has the lease's sequence")
		require.NoError(t, s.Ack(ctx, "42420001", id))
	}
	p, err := s.Pending(ctx, "42420001", 10)
	require.NoError(t, err)
	assert.Empty(t, p)
	assert.Equal(t, int64(60), s.Stats().Acks)
}

// BenchmarkListDepth lists the ten oldest messages of mailboxes of
// different depths; each round the leases of the last have expired, so
// every List leases the same ten again (a synced write). Run with
//
//	go test -run '^$' -bench BenchmarkListDepth -benchtime 200x -count 3 ./store/jetstream/
//
// A listing's time should not follow the depth.
func BenchmarkListDepth(b *testing.B) {
	for _, depth := range []int{100, 10_000, 100_000} {
		b.Run(fmt.Sprintf("pending-%d", depth), func(b *testing.B) {
			ctx := context.Background()
			clock := storetest.NewClock(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
			s, err := jetstream.Open(ctx, jetstream.Config{URL: natstest.Start(b).ClientURL(), Replicas: 1, Now: clock.Now,
				Policy: store.Policy{VisibilityTimeout: time.Minute, MaxDeliveries: 1000}})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			ids := fill(b, s, "42420001", depth)
			wait, cancel := context.WithTimeout(ctx, 5*time.Minute)
			defer cancel()
			if err := s.WaitIndexed(wait); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for range b.N {
				clock.Advance(2 * time.Minute)
				l, err := s.List(ctx, "42420001", 10)
				if err != nil || len(l) != 10 || l[0].ID != ids[0] {
					b.Fatalf("List: %v, %d entries, index usable %v", err, len(l), s.IndexUsable())
				}
			}
		})
	}
}

// TestListSharesACatchUpOnlyFromAfterItArrived: listings that wait for
// the index while another catches it up take that catch-up's view only
// if it began after they arrived, so a message another node stored
// before a listing began is always listed, however busy the index is.
func TestListSharesACatchUpOnlyFromAfterItArrived(t *testing.T) {
	ctx := context.Background()
	url := natstest.Start(t).ClientURL()
	cfg := jetstream.Config{URL: url, Replicas: 1, Policy: store.Policy{VisibilityTimeout: time.Hour}}
	a, err := jetstream.Open(ctx, cfg)
	require.NoError(t, err)
	defer a.Close()
	b, err := jetstream.Open(ctx, cfg)
	require.NoError(t, err)
	defer b.Close()
	wait, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	require.NoError(t, a.WaitIndexed(wait))

	// Other listings on a keep its index busy throughout.
	busy, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer stop()
	for range 8 {
		wg.Go(func() {
			for busy.Err() == nil {
				_, err := a.List(busy, "99990001", 5)
				if busy.Err() == nil {
					assert.NoError(t, err)
				}
			}
		})
	}
	for i := range 50 {
		r, err := b.Put(ctx, &store.Message{Soort: "WMO301", Sender: "0363", Recipient: "42420001",
			Identificatie: fmt.Sprintf("shared-%d", i), Body: []byte(fmt.Sprintf("<b>%d</b>", i))})
		require.NoError(t, err)
		l, err := a.List(ctx, "42420001", 1)
		require.NoError(t, err)
		require.Len(t, l, 1, "message %d, stored by the other node before the listing began", i)
		require.Equal(t, r.ID, l[0].ID)
		require.NoError(t, a.Ack(ctx, "42420001", r.ID))
	}
}
