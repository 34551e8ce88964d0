package store

import (
	"context"
	"time"

	"github.com/rs/zerolog"
)

// A feed is trimmed only past what its followers have saved: the
// information products trim it after each save of their state, to the
// smallest of the positions they and the audit trail's follower saved;
// a Trimmer trims a feed the products do not follow.

// FeedBound is the length past which a feed that does not shrink is
// logged as a fault: its follower is stuck, and the feed grows with the
// traffic until it catches up (knooppunt_store_feed_changes).
const FeedBound = 1_000_000

// TrimLogged trims feed up to upTo, logging a failure, and warns when the
// feed stays over FeedBound.
func TrimLogged(ctx context.Context, feed Feed, upTo uint64, log zerolog.Logger) {
	left, err := feed.TrimFeed(ctx, upTo)
	switch {
	case err != nil:
		log.Warn().Err(err).Msg("trimming the store's change feed")
	case left > FeedBound:
		log.Warn().Int64("changes", left).Uint64("position", upTo).
			Msg("the store's change feed keeps growing: its follower is behind")
	}
}

// Trimmer trims a feed no product follows, every interval, to its head
// or its bound's position, whichever is smaller.
type Trimmer struct {
	stop chan struct{}
	done chan struct{}
}

// StartTrimmer starts trimming feed every interval; bound, if not nil, is
// the position of a follower the feed must keep (the audit trail's).
func StartTrimmer(feed Feed, bound func() uint64, every time.Duration, log zerolog.Logger) *Trimmer {
	t := &Trimmer{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(t.done)
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			select {
			case <-t.stop:
				return
			case <-tick.C:
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			if head, err := feed.Head(ctx); err == nil {
				if bound != nil {
					head = min(head, bound())
				}
				TrimLogged(ctx, feed, head, log)
			}
			cancel()
		}
	}()
	return t
}

// Close stops the trimmer; safe on nil and twice.
func (t *Trimmer) Close() {
	if t == nil {
		return
	}
	select {
	case <-t.stop:
	default:
		close(t.stop)
	}
	<-t.done
}
