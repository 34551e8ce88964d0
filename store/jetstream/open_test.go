package jetstream_test

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/knooppunt/knooppunt/store"
	"github.com/knooppunt/knooppunt/store/jetstream"
	"github.com/knooppunt/knooppunt/store/jetstream/natstest"
)

// lockedBuffer is a log sink safe for the store's goroutines and the test.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

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
	var logs lockedBuffer
	type opened struct {
		s   *jetstream.Store
		err error
	}
	done := make(chan opened, 1)
	go func() {
		s, err := jetstream.Open(ctx, jetstream.Config{URL: c.URL(), Replicas: 3,
			RequestTimeout: time.Second, OpenTimeout: 2 * time.Minute, Logger: zerolog.New(&logs)})
		done <- opened{s, err}
	}()
	for !strings.Contains(logs.String(), "does not answer yet") {
		select {
		case o := <-done:
			t.Fatalf("Open returned without asking again: %v\n%s", o.err, logs.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	c.Restart(1)
	c.Restart(2)
	o := <-done
	require.NoError(t, o.err, logs.String())
	defer o.s.Close()
	_, err := o.s.Put(ctx, &store.Message{Soort: "WMO301", Sender: "0363", Recipient: "42420001", Identificatie: "open-1", Body: []byte("<x/>")})
	require.NoError(t, err)
}
