package node

import (
	"context"
	"time"

	"github.com/rs/zerolog"

	"github.com/knooppunt/knooppunt/store"
)

// The store's change feed is trimmed only past what its followers have
// saved: the products trim it after each save of their state (insight.go),
// to the smallest of the positions they and the audit trail's follower
// (audit.Follower) saved. When the products are off, feedTrimmer trims it to its
// head, or to the trail's follower when one runs.

// feedTrimInterval is how often feedTrimmer trims (a variable for tests).
var feedTrimInterval = time.Minute

// feedBound is the length past which a feed that does not shrink is
// logged as a fault: its follower is stuck, and the feed grows with the
// traffic until it catches up (knooppunt_store_feed_changes).
const feedBound = 1_000_000

// trimFeed trims feed up to upTo and warns when it stays over feedBound.
func trimFeed(ctx context.Context, feed store.Feed, upTo uint64, log zerolog.Logger) {
	left, err := feed.TrimFeed(ctx, upTo)
	switch {
	case err != nil:
		log.Warn().Err(err).Msg("trimming the store's change feed")
	case left > feedBound:
		log.Warn().Int64("changes", left).Uint64("position", upTo).
			Msg("the store's change feed keeps growing: its follower is behind")
	}
}

// feedTrimmer trims a feed the products do not follow, every interval, to
// its head or bound's position, whichever is smaller (bound nil: none).
type feedTrimmer struct {
	stop chan struct{}
	done chan struct{}
}

func startFeedTrimmer(feed store.Feed, bound func() uint64, every time.Duration, log zerolog.Logger) *feedTrimmer {
	ft := &feedTrimmer{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(ft.done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-ft.stop:
				return
			case <-t.C:
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			if head, err := feed.Head(ctx); err == nil {
				if bound != nil {
					head = min(head, bound())
				}
				trimFeed(ctx, feed, head, log)
			}
			cancel()
		}
	}()
	return ft
}

// Close stops the trimmer; safe on nil and twice.
func (ft *feedTrimmer) Close() {
	if ft == nil {
		return
	}
	select {
	case <-ft.stop:
	default:
		close(ft.stop)
	}
	<-ft.done
}

// trailAt is the position of the audit trail's follower, past which the
// feed must not be trimmed; nil when none runs.
func (n *Node) trailAt() func() uint64 {
	if n.trail == nil {
		return nil
	}
	return n.trail.Position
}
