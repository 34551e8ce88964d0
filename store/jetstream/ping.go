package jetstream

import (
	"context"
	"fmt"
	"sync"
)

// pingTTL is how long the servers keep the last ping.
const pingTTL = "1m"

// pinger runs one ping at a time: callers arriving while one is under way
// wait for its answer instead of queueing another write.
type pinger struct {
	mu       sync.Mutex
	inflight *pingCall
}

type pingCall struct {
	done chan struct{}
	err  error
}

// Ping reports whether the store can commit now: it writes a small state
// message through the committer, so it waits behind the batches in flight
// and is acknowledged only by a quorum, exactly as a Put is. A node cut off
// from the stream's quorum still answers reads from its server, so a
// readiness probe must write to see it. Ping returns when ctx ends even if
// the write has not; one ping is in flight at a time.
func (s *Store) Ping(ctx context.Context) error {
	s.ping.mu.Lock()
	c := s.ping.inflight
	if c == nil {
		c = &pingCall{done: make(chan struct{})}
		s.ping.inflight = c
		go func() {
			err := s.submit(context.Background(), func(b *builder) {
				b.setTTL(s.sub.cursor("ping"), []byte(b.now.UTC().Format("2006-01-02T15:04:05.000Z")), -1, pingTTL)
			})
			s.ping.mu.Lock()
			s.ping.inflight = nil
			s.ping.mu.Unlock()
			c.err = err
			close(c.done)
		}()
	}
	s.ping.mu.Unlock()
	select {
	case <-c.done:
		if c.err != nil {
			return fmt.Errorf("pinging the stream: %w", c.err)
		}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("pinging the stream: %w", ctx.Err())
	}
}
