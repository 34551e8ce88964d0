package jetstream

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/assert"

	"github.com/knooppunt/knooppunt/store"
)

// TestUnavailable: the conditions in which a cluster cannot answer right
// now are store.ErrUnavailable, with the cause kept; a deadline of the
// caller's own, a lost compare-and-set and other errors are not.
func TestUnavailable(t *testing.T) {
	ctx := context.Background()
	gone, cancel := context.WithCancel(ctx)
	cancel()
	for _, tt := range []struct {
		name string
		ctx  context.Context
		err  error
		want bool
	}{
		{"no responders", ctx, fmt.Errorf("reading: %w", nats.ErrNoResponders), true},
		{"nats timeout", ctx, nats.ErrTimeout, true},
		{"connection closed", ctx, nats.ErrConnectionClosed, true},
		{"reconnecting", ctx, nats.ErrConnectionReconnecting, true},
		{"no stream leader", ctx, &apiError{ErrCode: errCodeUnavailable}, true},
		{"too few servers", ctx, &apiError{ErrCode: errCodeNoPeers}, true},
		{"the request's own deadline", ctx, context.DeadlineExceeded, true},
		{"the caller's deadline", gone, context.DeadlineExceeded, false},
		{"a lost compare-and-set", ctx, errConflict, false},
		{"not found", ctx, &apiError{ErrCode: errCodeMsgNotFound}, false},
		{"something else", ctx, errors.New("boom"), false},
		{"nil", ctx, nil, false},
	} {
		err := unavailable(tt.ctx, tt.err)
		assert.Equal(t, tt.want, errors.Is(err, store.ErrUnavailable), tt.name)
		if tt.err != nil {
			assert.ErrorIs(t, err, tt.err, "%s: the cause is kept", tt.name)
		}
	}
}

// TestRetryGivesUp: an operation that keeps losing its compare-and-set
// races is tried maxAttempts times and then unavailable for now (503 to
// the caller), not a fault; an operation that wins is not retried.
func TestRetryGivesUp(t *testing.T) {
	s := &Store{quit: make(chan struct{})}
	calls := 0
	err := s.retry(context.Background(), func() error { calls++; return errConflict })
	assert.Equal(t, maxAttempts, calls)
	assert.ErrorIs(t, err, store.ErrUnavailable)
	assert.ErrorIs(t, err, errConflict)

	calls = 0
	err = s.retry(context.Background(), func() error {
		if calls++; calls < 3 {
			return errConflict
		}
		return nil
	})
	assert.NoError(t, err)
	assert.Equal(t, 3, calls)
}
