package jetstream_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/knooppunt/knooppunt/store/jetstream"
	"github.com/knooppunt/knooppunt/store/jetstream/natstest"
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
