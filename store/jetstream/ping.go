package jetstream

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/knooppunt/knooppunt/store"
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

// Ready reports whether this node should take traffic, for a readiness
// probe. It tells "this node cannot serve" from "the cluster is electing":
//
//   - A node with no connection to any NATS server is not ready.
//   - A node whose stream cannot store (no leader, no quorum, no answer in
//     time) stays ready for ElectionGrace from the first batch that failed
//     so, so that the nodes of a cluster do not all leave the load
//     balancer during an election; their requests answer 503
//     store-unavailable meanwhile. Past the grace (a partition that keeps
//     this node in a minority, a quorum lost for good) it is not ready,
//     until the stream stores again.
//
// Any other failure (the store is closed) is not ready at once.
func (s *Store) Ready(ctx context.Context) error {
	if !s.nc.IsConnected() {
		return fmt.Errorf("not connected to any NATS server (%s): %w", s.nc.Status(), store.ErrUnavailable)
	}
	err := s.Ping(ctx)
	if err == nil {
		return nil
	}
	if !errors.Is(err, store.ErrUnavailable) && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	now := s.cfg.Now()
	since := now // the ping's own batch has not failed yet: the outage starts now at the earliest
	if o := s.outage.Load(); o != 0 {
		since = time.Unix(0, o)
	}
	if down := now.Sub(since); down >= s.cfg.ElectionGrace {
		return fmt.Errorf("stream %s has not stored for %s: %w", s.cfg.Stream, down.Round(time.Second), err)
	}
	return nil
}
