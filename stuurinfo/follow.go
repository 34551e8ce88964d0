package stuurinfo

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/knooppunt/knooppunt/bericht"
	"github.com/knooppunt/knooppunt/store"
)

// Observer receives every newly stored message, on the follower's own
// goroutine, one at a time, in the order the store committed them.
type Observer interface {
	Observe(o *Observation)
}

// ObserverFunc adapts a function to Observer.
type ObserverFunc func(o *Observation)

// Observe calls f(o).
func (f ObserverFunc) Observe(o *Observation) { f(o) }

// FollowerConfig configures a Follower.
type FollowerConfig struct {
	// Feed is the store's change feed. Required.
	Feed store.Feed
	// Store reads a message's bytes when the feed does not carry them
	// (as their recipient) and the heenbericht of an answer. Required.
	Store store.Store
	// After is the position to resume from: the smallest position the
	// observers saved (each skips what it has seen).
	After uint64
	// Trees, if set, returns the tree validation built of the message
	// whose bytes have this SHA-256, while the node still holds it, so
	// that the products need not read and scan the bytes again; nil when
	// it does not.
	Trees func(sum [32]byte) *bericht.Tree
	// Observers receive the observations, one at a time, in order.
	Observers []Observer
	// Logger receives why following stopped.
	Logger zerolog.Logger
}

// Follower feeds observers from the store's change feed: every message
// stored, by this node or (on a shared store) any other, once, in commit
// order. It loses nothing in a crash: the feed is written in the commit
// that stores the message, and the observers save their position with
// their state and resume after it.
type Follower struct {
	cfg      FollowerConfig
	cancel   context.CancelFunc
	done     chan struct{}
	once     sync.Once
	handled  atomic.Int64
	err      error // why following stopped, once done is closed
	mu       sync.Mutex
	position uint64        // the last change handed on
	moved    chan struct{} // closed when position moves
}

// Follow starts following cfg.Feed in a goroutine of its own.
func Follow(cfg FollowerConfig) *Follower {
	ctx, cancel := context.WithCancel(context.Background())
	f := &Follower{cfg: cfg, cancel: cancel, done: make(chan struct{}), position: cfg.After, moved: make(chan struct{})}
	go func() {
		defer close(f.done)
		f.err = cfg.Feed.Follow(ctx, cfg.After, func(c store.Change) error {
			if c.Op == store.OpPut {
				o, err := f.observation(ctx, c)
				if err != nil {
					return err
				}
				deliver(ctx, cfg.Store, o, cfg.Observers, cfg.Logger)
				f.handled.Add(1)
			}
			f.advance(c.Seq)
			return nil
		})
		if f.err != nil && !errors.Is(f.err, context.Canceled) && !errors.Is(f.err, store.ErrClosed) {
			cfg.Logger.Error().Err(f.err).Msg("stuurinfo: following the store stopped")
		}
	}()
	return f
}

// observation is the message change c stored, with its tree or bytes.
func (f *Follower) observation(ctx context.Context, c store.Change) (*Observation, error) {
	o := &Observation{Seq: c.Seq, ID: c.ID, Soort: c.Soort, Sender: c.Sender, Recipient: c.Recipient,
		Received: c.Received, Answers: c.Answers, Body: c.Body}
	if f.cfg.Trees != nil && c.SHA256 != ([32]byte{}) {
		if o.Tree = f.cfg.Trees(c.SHA256); o.Tree != nil {
			o.Body = nil
			return o, nil
		}
	}
	if o.Body != nil {
		return o, nil
	}
	for pause := getRetry; ; pause = min(2*pause, maxGetRetry) {
		body, err := f.cfg.Store.Get(ctx, c.Recipient, c.ID)
		switch {
		case err == nil:
			o.Body = body
			return o, nil
		case errors.Is(err, store.ErrExpired), errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrSealed):
			// Retention removed the bytes before the follower came by, or
			// this node has no key for them: counted without their content.
			f.cfg.Logger.Debug().Str("code", store.Code(err)).Stringer("id", c.ID).Msg("stuurinfo: message bytes unavailable")
			return o, nil
		case ctx.Err() == nil && (errors.Is(err, store.ErrUnavailable) || errors.Is(err, context.DeadlineExceeded)):
			// A shared store electing a leader: the message waits, and
			// so does every later one, in order.
			f.cfg.Logger.Warn().Err(err).Stringer("id", c.ID).Dur("retry_in", pause).Msg("stuurinfo: the store cannot give a message's bytes for now")
			t := time.NewTimer(pause)
			select {
			case <-ctx.Done():
				t.Stop()
				return nil, ctx.Err()
			case <-t.C:
			}
		default:
			return nil, fmt.Errorf("reading message %s: %w", c.ID, err)
		}
	}
}

// getRetry and maxGetRetry bound the pauses between reads of a message's
// bytes while the store cannot give them.
const (
	getRetry    = 100 * time.Millisecond
	maxGetRetry = 5 * time.Second
)

// advance records that the change at seq was handed on.
func (f *Follower) advance(seq uint64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.position = seq
	close(f.moved)
	f.moved = make(chan struct{})
}

// Position is the feed position up to which every change was handed on.
func (f *Follower) Position() uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.position
}

// WaitFor returns once every change up to position pos was handed on to
// the observers, or with ctx's error when ctx ends first, or with why
// following stopped.
func (f *Follower) WaitFor(ctx context.Context, pos uint64) error {
	for {
		f.mu.Lock()
		at, moved := f.position, f.moved
		f.mu.Unlock()
		if at >= pos {
			return nil
		}
		select {
		case <-moved:
		case <-f.done:
			if f.err != nil {
				return fmt.Errorf("stuurinfo: following the store stopped: %w", f.err)
			}
			return store.ErrClosed
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// deliver completes o with its heenbericht, read from st, and hands it to
// every observer.
func deliver(ctx context.Context, st store.Store, o *Observation, observers []Observer, log zerolog.Logger) {
	if o.Answers != (store.ID{}) {
		if h, err := st.Meta(ctx, o.Answers); err == nil {
			o.AnswersSoort, o.AnswersReceived = h.Soort, h.Received
		} else {
			log.Debug().Str("code", store.Code(err)).Msg("stuurinfo: heenbericht of an answer not found")
		}
	}
	for _, ob := range observers {
		ob.Observe(o)
	}
}

// Handled is the number of observations handed to the observers.
func (f *Follower) Handled() int64 { return f.handled.Load() }

// Close stops following once the observation in hand is delivered. Safe
// to call more than once.
func (f *Follower) Close() error {
	f.once.Do(f.cancel)
	<-f.done
	if errors.Is(f.err, context.Canceled) || errors.Is(f.err, store.ErrClosed) {
		return nil
	}
	return f.err
}
