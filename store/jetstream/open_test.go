package jetstream_test

import (
	"context"
	"fmt"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/knooppunt/knooppunt/store"
	"github.com/knooppunt/knooppunt/store/jetstream"
	"github.com/knooppunt/knooppunt/store/jetstream/natstest"
)

// TestOpenWaitsForTheCluster: a node that starts while its cluster cannot
// answer (two of three servers down, so no leader) keeps asking for the
// stream and opens once the servers are back, instead of failing its
// start; then it stores.
func TestOpenWaitsForTheCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a three-node NATS cluster")
	}
	ctx := context.Background()
	c := natstest.StartCluster(t, 3)
	c.Kill(1)
	c.Kill(2)
	asked := make(chan struct{}) // closed at Open's first "asking again"
	var once sync.Once
	log := zerolog.New(io.Discard).Hook(zerolog.HookFunc(func(_ *zerolog.Event, level zerolog.Level, _ string) {
		if level == zerolog.WarnLevel {
			once.Do(func() { close(asked) })
		}
	}))
	type opened struct {
		s   *jetstream.Store
		err error
	}
	done := make(chan opened, 1)
	go func() {
		s, err := jetstream.Open(ctx, jetstream.Config{URL: c.URL(), Replicas: 3,
			RequestTimeout: time.Second, OpenTimeout: 2 * time.Minute, Logger: log})
		done <- opened{s, err}
	}()
	select {
	case <-asked:
	case o := <-done:
		t.Fatalf("Open returned without asking again: %v", o.err)
	}
	c.Restart(1)
	c.Restart(2)
	o := <-done
	require.NoError(t, o.err)
	defer o.s.Close()
	_, err := o.s.Put(ctx, &store.Message{Soort: "WMO301", Sender: "0363", Recipient: "42420001", Identificatie: "open-1", Body: []byte("<x/>")})
	require.NoError(t, err)
}

// TestOpenTogether: nodes started together on a cluster without their
// stream all open, whichever creates it, however long its first leader
// takes to be elected, and then store and see each other's messages.
func TestOpenTogether(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a three-node NATS cluster")
	}
	ctx := context.Background()
	c := natstest.StartCluster(t, 3)
	for round := range 3 {
		cfg := jetstream.Config{URL: c.URL(), Replicas: 3, Stream: fmt.Sprint("TOGETHER", round), Subject: fmt.Sprint("t", round),
			RequestTimeout: 500 * time.Millisecond, OpenTimeout: 2 * time.Minute, Logger: zerolog.New(io.Discard)}
		const nodes = 3
		stores := make([]*jetstream.Store, nodes)
		errs := make([]error, nodes)
		var wg sync.WaitGroup
		for i := range nodes {
			wg.Go(func() { stores[i], errs[i] = jetstream.Open(ctx, cfg) })
		}
		wg.Wait()
		for i := range nodes {
			require.NoError(t, errs[i], "round %d, node %d", round, i)
			defer stores[i].Close()
		}
		for i, s := range stores {
			_, err := s.Put(ctx, &store.Message{Soort: "WMO301", Sender: "0363", Recipient: "42420001",
				Identificatie: fmt.Sprint("together-", round, "-", i), Body: []byte("<x/>")})
			require.NoError(t, err, "round %d, node %d", round, i)
		}
		l, err := stores[0].List(ctx, "42420001", 10)
		require.NoError(t, err)
		require.Len(t, l, nodes, "round %d: every node's message in the one stream", round)
	}
}
