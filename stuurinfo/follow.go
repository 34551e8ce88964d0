package stuurinfo

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"

	"github.com/rs/zerolog"

	"github.com/knooppunt/knooppunt/store"
)

// Source is an ordered record of every stored message that several nodes
// read, each observation with its position (Observation.Seq): the
// JetStream stream, where every node must count what every node stored.
type Source interface {
	// Follow calls fn in the order stored for every message after
	// position after (0: from the oldest kept), until ctx ends or fn
	// fails, and returns why it stopped.
	Follow(ctx context.Context, after uint64, fn func(*Observation) error) error
}

// FollowerConfig configures a Follower.
type FollowerConfig struct {
	// Source is what is followed. Required.
	Source Source
	// Store answers the look-up of the heenbericht of an answer.
	// Required.
	Store store.Store
	// After is the position to resume from: the smallest position the
	// observers saved (each skips what it has seen).
	After uint64
	// Observers receive the observations, one at a time, in order.
	Observers []Observer
	// Logger receives why following stopped.
	Logger zerolog.Logger
}

// Follower feeds observers from a Source instead of a Tap: where several
// nodes share the store, a node's tap sees only its own puts, the Source
// sees all. Unlike the tap it loses nothing in a crash: the observers save
// their position with their state and resume from it.
type Follower struct {
	cfg     FollowerConfig
	cancel  context.CancelFunc
	done    chan struct{}
	once    sync.Once
	handled atomic.Int64
	err     error // why following stopped, once done is closed
}

// Follow starts following cfg.Source in a goroutine of its own.
func Follow(cfg FollowerConfig) *Follower {
	ctx, cancel := context.WithCancel(context.Background())
	f := &Follower{cfg: cfg, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(f.done)
		f.err = cfg.Source.Follow(ctx, cfg.After, func(o *Observation) error {
			deliver(ctx, cfg.Store, o, cfg.Observers, cfg.Logger)
			f.handled.Add(1)
			return nil
		})
		if f.err != nil && !errors.Is(f.err, context.Canceled) {
			cfg.Logger.Error().Err(f.err).Msg("stuurinfo: following the store stopped")
		}
	}()
	return f
}

// Handled is the number of observations handed to the observers.
func (f *Follower) Handled() int64 { return f.handled.Load() }

// Close stops following once the observation in hand is delivered. Safe
// to call more than once.
func (f *Follower) Close() error {
	f.once.Do(f.cancel)
	<-f.done
	if errors.Is(f.err, context.Canceled) {
		return nil
	}
	return f.err
}
