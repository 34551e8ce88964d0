package jetstream_test

import (
	"context"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/knooppunt/knooppunt/store"
	"github.com/knooppunt/knooppunt/store/jetstream"
	"github.com/knooppunt/knooppunt/store/jetstream/natstest"
	"github.com/knooppunt/knooppunt/store/storetest"
)

// TestClusterFailures runs two store clients (two Knooppunt nodes) on a
// three-node R3 cluster under load from eight writers. It kills the
// stream leader's NATS node and restarts it, cuts the new leader's routes
// and heals them, and drops one client's connection mid-write, as a
// SIGKILL of its Knooppunt node would; its writers move to the other
// client, as a load balancer sends them. Writers resend on error, as a
// sender does on a 5xx. Afterwards every message whose Put succeeded is
// in its mailbox exactly once, is delivered and confirmed, and nothing
// else is; the cluster kept accepting writes within seconds throughout.
//
// KNOOPPUNT_SOAK=1 makes each phase last 20 s instead of 2 s.
func TestClusterFailures(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a three-node NATS cluster")
	}
	phase := 2 * time.Second
	if os.Getenv("KNOOPPUNT_SOAK") != "" {
		phase = 20 * time.Second
	}
	ctx := context.Background()
	c := natstest.StartCluster(t, 3)
	clock := storetest.NewClock(time.Now())
	openC := func(nc *nats.Conn) *jetstream.Store {
		s, err := jetstream.Open(ctx, jetstream.Config{
			URL: c.URL(), Conn: nc, Replicas: 3, Now: clock.Now, RequestTimeout: 2 * time.Second,
			Policy: store.Policy{VisibilityTimeout: time.Minute, MaxDeliveries: 1000, JanitorInterval: time.Hour},
		})
		require.NoError(t, err)
		t.Cleanup(func() { _ = s.Close() })
		return s
	}
	a := openC(nil)
	ncB, err := nats.Connect(c.URL(), nats.MaxReconnects(-1))
	require.NoError(t, err)
	b := openC(ncB)
	clients := []*jetstream.Store{a, b}
	var bDead atomic.Bool
	parties := []string{"0363", "0599", "0344"}

	type sent struct {
		m  *store.Message
		id store.ID
	}
	var (
		mu       sync.Mutex
		stored   []sent
		lastOK   atomic.Int64 // unix nanos of the latest successful Put
		maxGap   atomic.Int64
		failures atomic.Int64
		stop     = make(chan struct{})
		wg       sync.WaitGroup
	)
	lastOK.Store(time.Now().UnixNano())
	for w := range 8 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				m := storetest.Msg(fmt.Sprintf("1000%04d", w), parties[i%len(parties)], "WMO315", fmt.Sprintf("W%d-%d", w, i), "")
				for {
					s := clients[w%2]
					if bDead.Load() {
						s = a // the load balancer's choice once b is gone
					}
					r, err := s.Put(ctx, m)
					if err == nil {
						now := time.Now().UnixNano()
						if gap := now - lastOK.Swap(now); gap > maxGap.Load() {
							maxGap.Store(gap)
						}
						mu.Lock()
						stored = append(stored, sent{m, r.ID})
						mu.Unlock()
						break
					}
					failures.Add(1)
					time.Sleep(50 * time.Millisecond)
				}
			}
		})
	}
	time.Sleep(phase)
	killed := max(c.StreamLeader("KNOOPPUNT"), 0)
	c.Kill(killed)
	t.Logf("killed node %d, the stream leader", killed)
	time.Sleep(phase)
	c.Restart(killed)
	t.Logf("restarted node %d", killed)
	time.Sleep(phase)
	cut := c.StreamLeader("KNOOPPUNT")
	if cut < 0 {
		cut = (killed + 1) % 3
	}
	c.Partition(cut)
	cutAt := time.Now()
	t.Logf("partitioned node %d, the stream leader", cut)
	// The cut lasts until the majority has elected a leader of its own
	// (an election takes seconds, longer than a short phase), and a phase
	// more of writes.
	for c.StreamLeaderBesides("KNOOPPUNT", cut) < 0 {
		require.Less(t, time.Since(cutAt), 30*time.Second, "the majority elected no leader while node %d was cut off", cut)
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("node %d leads the majority %s after the cut", c.StreamLeaderBesides("KNOOPPUNT", cut), time.Since(cutAt).Round(time.Millisecond))
	time.Sleep(phase)
	c.Heal(cut)
	t.Logf("healed node %d", cut)
	time.Sleep(phase)
	// The second Knooppunt node dies: its connection drops mid-write and
	// its writers move to the first.
	bDead.Store(true)
	ncB.Close()
	t.Log("dropped client b's connection")
	time.Sleep(phase)
	close(stop)
	wg.Wait()
	t.Logf("%d messages stored, %d failed attempts (resent), longest gap between successful writes %s",
		len(stored), failures.Load(), time.Duration(maxGap.Load()))
	require.NotEmpty(t, stored)
	assert.Less(t, time.Duration(maxGap.Load()), 15*time.Second, "the cluster kept accepting")

	// Every message stored once: a resend finds the original.
	want := map[store.ID]bool{}
	for _, s := range stored {
		require.False(t, want[s.id], "id %s returned twice", s.id)
		want[s.id] = true
	}
	// The resend is tried again on error, as the writers do: on a loaded
	// machine the healed cluster may still time out a request, and what
	// is checked here is the answer, not how soon it comes.
	resend := func(m *store.Message) store.Receipt {
		deadline := time.Now().Add(time.Minute)
		for {
			r, err := a.Put(ctx, m)
			if err == nil || time.Now().After(deadline) {
				require.NoError(t, err)
				return r
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	for i, s := range stored {
		if i%50 == 0 { // a sample keeps this fast
			require.Equal(t, store.Receipt{ID: s.id, Duplicate: true}, resend(s.m))
		}
	}

	// Drain every mailbox and confirm, until every stored message came.
	// As with the resend, a request is tried again on error, and a round
	// that brings nothing new is tried again: on a loaded machine a
	// restarted server may still be catching up, or the healed cluster
	// electing. A listing that failed may have leased what it did not
	// return: the clock moves past the lease, so those come back.
	got := map[store.ID]int{}
	deadline := time.Now().Add(time.Minute)
	for len(got) < len(want) && time.Now().Before(deadline) {
		fresh := 0
		for _, p := range parties {
			for {
				l, err := a.List(ctx, p, store.MaxListLimit)
				if err != nil {
					t.Logf("listing %s: %v (tried again)", p, err)
					break
				}
				if len(l) == 0 {
					break
				}
				var ackers sync.WaitGroup
				for _, e := range l {
					if got[e.ID]++; got[e.ID] == 1 {
						fresh++
					}
					ackers.Go(func() {
						for err := a.Ack(ctx, p, e.ID); err != nil; err = a.Ack(ctx, p, e.ID) {
							if !assert.ErrorIs(t, err, store.ErrUnavailable) || time.Now().After(deadline) {
								return
							}
							time.Sleep(100 * time.Millisecond)
						}
					})
				}
				ackers.Wait()
			}
		}
		if fresh == 0 && len(got) < len(want) {
			clock.Advance(2 * time.Minute)
			time.Sleep(100 * time.Millisecond)
		}
	}
	for id := range want {
		assert.Equal(t, 1, got[id], "message %s delivered once", id)
	}
	assert.Len(t, got, len(want), "nothing but the stored messages")

	// Confirmed stays confirmed, also after the leases would have run out.
	clock.Advance(2 * time.Minute)
	for _, p := range parties {
		l, err := a.List(ctx, p, store.MaxListLimit)
		require.NoError(t, err)
		assert.Empty(t, l, "mailbox %s after confirmation", p)
	}
}
