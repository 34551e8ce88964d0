package jetstream_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/knooppunt/knooppunt/store"
	"github.com/knooppunt/knooppunt/store/jetstream"
	"github.com/knooppunt/knooppunt/store/jetstream/natstest"
	"github.com/knooppunt/knooppunt/store/storetest"
)

// TestPing: Ping succeeds while the store can commit, and fails, within
// its context, once it cannot.
func TestPing(t *testing.T) {
	ctx := context.Background()
	srv := natstest.Start(t)
	s, err := jetstream.Open(ctx, jetstream.Config{URL: srv.ClientURL(), Replicas: 1, RequestTimeout: 5 * time.Second})
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	require.NoError(t, s.Ping(ctx))

	srv.Shutdown()
	errs := make(chan error, 3)
	for range 3 {
		go func() {
			pctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
			defer cancel()
			errs <- s.Ping(pctx)
		}()
	}
	for range 3 {
		assert.Error(t, <-errs, "no server: the store cannot commit")
	}
}

// TestReadyThroughAnElection: a node connected to a cluster that cannot
// store stays ready for the election grace, then is not ready until the
// cluster stores again; the grace starts afresh with the next outage. A
// node with no connection at all is not ready at once.
func TestReadyThroughAnElection(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a three-node NATS cluster")
	}
	ctx := context.Background()
	c := natstest.StartCluster(t, 3)
	clock := storetest.NewClock(time.Now())
	// Connected to server 0 alone, which stays up throughout.
	s, err := jetstream.Open(ctx, jetstream.Config{URL: c.NodeURL(0), Replicas: 3, Now: clock.Now,
		RequestTimeout: time.Second, CommitTimeout: 500 * time.Millisecond, ElectionGrace: time.Minute})
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	require.NoError(t, s.Ready(ctx))

	// Two of three servers gone: no quorum, but this node's server answers.
	c.Kill(1)
	c.Kill(2)
	require.Error(t, s.Ping(ctx), "the stream cannot store")
	assert.NoError(t, s.Ready(ctx), "within the grace")
	clock.Advance(59 * time.Second)
	assert.NoError(t, s.Ready(ctx), "still within the grace")
	clock.Advance(2 * time.Second)
	err = s.Ready(ctx)
	require.ErrorIs(t, err, store.ErrUnavailable, "past the grace")

	c.Restart(1)
	c.Restart(2)
	require.Eventually(t, func() bool { return s.Ready(ctx) == nil }, time.Minute, 200*time.Millisecond, "ready once the cluster stores")
	c.Kill(1)
	c.Kill(2)
	require.Error(t, s.Ping(ctx))
	assert.NoError(t, s.Ready(ctx), "a new outage starts a new grace")
}

// TestReadyWithoutConnection: with no server reachable the node is not
// ready, grace or not.
func TestReadyWithoutConnection(t *testing.T) {
	ctx := context.Background()
	srv := natstest.Start(t)
	s, err := jetstream.Open(ctx, jetstream.Config{URL: srv.ClientURL(), Replicas: 1, ElectionGrace: time.Hour})
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	require.NoError(t, s.Ready(ctx))
	srv.Shutdown()
	require.Eventually(t, func() bool { return s.Ready(ctx) != nil }, 30*time.Second, 50*time.Millisecond)
	assert.ErrorIs(t, s.Ready(ctx), store.ErrUnavailable)
}
