// Package jetstream is the store.Store on a NATS JetStream cluster: the
// scale-out and high-availability backend beside the embedded Pebble
// store. Knooppunt nodes keep no state of their own; several serve one
// cluster behind any load balancer, and dedup, leases and retour
// correlation hold across them.
//
// # Design
//
// Everything lives in one stream (Config.Stream), on the subjects listed
// in record.go, so that one atomic batch publish (stream setting
// AllowAtomicPublish) writes a message, its mailbox entry, its dedup key
// and its history together: after any crash a message is wholly present or
// absent. Exclusivity comes from compare-and-set: a write that depends on
// what it read carries the expected last sequence of that subject, and the
// stream leader refuses it if another node wrote in between; the loser
// re-reads and retries. So a dedup key is claimed once in the cluster, a
// lease is taken once, and a confirmation is recorded once.
//
// Leases, deliveries and retention use the store's clock (Config.Now), not
// JetStream consumers: there are no durable consumers at all, so a node or
// a poller that disappears leaves nothing behind, and the 100 ms window in
// which JetStream's consumer acknowledgements are not yet persisted plays
// no part: a confirmation is an ordinary synced write.
//
// # Write path
//
// Writes (Put, List, Ack, Release) are prepared by their callers (reads
// and checks) and handed to one committer goroutine, which packs up to
// CommitBatch of them into one atomic batch (at most 1,000 messages) and
// keeps up to MaxInflight batches in flight (default one). One batch costs one
// replicated, synced commit, whatever the number of operations in it.
// Operations touching the same state subject never share a batch. If a
// batch loses a compare-and-set, its operations are retried one by one so
// that only the loser fails.
//
// # Durability
//
// A write is reported only after the stream leader acknowledged the
// commit, which with Replicas 3 means a quorum stored it. The servers must
// run with sync_interval: always (server.Options.SyncAlways); without it
// JetStream acknowledges writes that sit in the page cache. See
// docs/operations.md.
package jetstream

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	js "github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/knooppunt/knooppunt/store"
)

// Store is the store.Store on JetStream. Create it with Open.
type Store struct {
	cfg    Config
	nc     *nats.Conn
	ownsNC bool
	js     js.JetStream
	stream js.Stream
	sub    subjects
	log    zerolog.Logger

	ops  chan *op
	quit chan struct{} // closed first by Close: no new ops
	stop chan struct{} // closed once no sender can be in flight
	mu   sync.RWMutex  // callers hold it shared; Close takes it
	// closed is set under mu by Close.
	closed    bool
	closeOnce sync.Once
	wg        sync.WaitGroup

	// partyLocks serialise this node's Lists of one mailbox while it has
	// no mailbox index (claims do it with one), so that its own pollers do
	// not fight over the same leases; other nodes are held off by
	// compare-and-set.
	partyLocks [64]sync.Mutex

	// indexMu guards index, this node's view of the mailboxes in arrival
	// order (mailindex.go); nil until first built.
	indexMu sync.Mutex
	index   *mailboxIndex
	claims  uint64 // the last claim handed out (claimIndexed), under indexMu

	ids idGen // committer goroutine only
	// own are the messages this client stored lately, which Follow hands
	// on without reading their bytes back.
	own ownPuts
	// ahead holds the bytes of messages this node just leased, for the
	// Gets that follow.
	ahead readAhead
	// resends holds when each sender that resent a message last did
	// (UnixNano of cfg.Now), for Put.
	resends sync.Map // string → int64
	// outage is when (UnixNano of cfg.Now) the first batch failed for
	// want of the cluster (no leader, no quorum, no server), zero while
	// batches commit; it makes an outage one log line at its start and
	// one at its end, and Ready measures the election grace from it.
	// Written by the committer goroutine only.
	outage  atomic.Int64
	stats   stats
	metrics *metrics
	ping    pinger
}

var (
	_ store.Store            = (*Store)(nil)
	_ store.RefStore         = (*Store)(nil)
	_ store.CorrelationStore = (*Store)(nil)
	_ store.Ledger           = (*Store)(nil)
)

// Open connects to the cluster, creates the stream if it is absent (with
// cfg.Replicas) and checks its settings if it exists. Pending and
// quarantined counts are read from the stream.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &Store{
		cfg:     cfg,
		sub:     subjects{p: cfg.Subject},
		log:     cfg.Logger.With().Str("component", "store").Str("backend", "jetstream").Logger(),
		ops:     make(chan *op, 4*cfg.CommitBatch),
		quit:    make(chan struct{}),
		stop:    make(chan struct{}),
		metrics: newMetrics(),
	}
	s.ids.rand = func(b []byte) { _, _ = rand.Read(b) }
	if cfg.Conn != nil {
		s.nc = cfg.Conn
	} else {
		opts := append([]nats.Option{
			nats.Name("knooppunt-store"),
			nats.MaxReconnects(-1),
			nats.ReconnectWait(250 * time.Millisecond),
			nats.RetryOnFailedConnect(false),
		}, cfg.Options...)
		nc, err := nats.Connect(cfg.URL, opts...)
		if err != nil {
			return nil, fmt.Errorf("opening jetstream store: connecting: %w", err)
		}
		s.nc, s.ownsNC = nc, true
	}
	if err := s.setup(ctx); err != nil {
		if s.ownsNC {
			s.nc.Close()
		}
		return nil, fmt.Errorf("opening jetstream store: %w", err)
	}
	s.metrics.register(s, cfg.Registerer)
	s.wg.Add(3)
	go s.commitLoop()
	go s.janitorLoop()
	go s.indexLoop()
	st := s.stats.snapshot()
	s.log.Info().Str("stream", cfg.Stream).Int64("pending", st.Pending).Int64("quarantined", st.Quarantined).Msg("store opened")
	return s, nil
}

// streamConfig is the stream the store needs.
func (s *Store) streamConfig() js.StreamConfig {
	return js.StreamConfig{
		Name:               s.cfg.Stream,
		Description:        "knooppunt message store",
		Subjects:           []string{s.sub.all()},
		Storage:            js.FileStorage,
		Retention:          js.LimitsPolicy,
		Replicas:           s.cfg.Replicas,
		MaxMsgsPerSubject:  -1,
		Discard:            js.DiscardNew,
		Duplicates:         time.Second, // the store dedups by key, not by Nats-Msg-Id
		AllowRollup:        true,
		AllowDirect:        true,
		AllowMsgTTL:        true,
		AllowAtomicPublish: true,
	}
}

func (s *Store) setup(ctx context.Context) error {
	j, err := js.New(s.nc)
	if err != nil {
		return err
	}
	s.js = j
	give := time.Now().Add(s.cfg.OpenTimeout)
	st, err := s.openStream(ctx, give)
	if err != nil {
		return err
	}
	s.stream = st
	return s.whileElecting(ctx, give, func() error {
		// Ids must keep increasing across restarts: start above the newest.
		last, ok, err := s.lastLeader(ctx, s.sub.allMeta())
		if err != nil {
			return err
		}
		if ok {
			if id, err := idFromSubject(last.subject); err == nil {
				s.ids.last = id
			}
			s.metrics.seen(last.seq)
		}
		return s.recount(ctx)
	})
}

// openStream finds the stream, or creates it. A cluster that has just
// started, or whose stream another node created a moment ago, may still be
// electing a leader: a request then runs out of time or is told
// "temporarily unavailable" (or nobody answers at all), or, for a new
// stream, that too few servers are online for its replicas. openStream
// then asks again (whileElecting) until give, instead of failing the
// node's start; so it does when another node created the stream between
// this one's lookup and its create.
func (s *Store) openStream(ctx context.Context, give time.Time) (st js.Stream, err error) {
	err = s.whileElecting(ctx, give, func() error {
		var err error
		st, err = s.openStreamOnce(ctx)
		var ae *js.APIError
		if errors.Is(err, js.ErrStreamNameAlreadyInUse) || // another node created it a moment ago
			errors.As(err, &ae) && (ae.ErrorCode == errCodeUnavailable || ae.ErrorCode == errCodeNoPeers) {
			err = fmt.Errorf("%w: %w", store.ErrUnavailable, err)
		}
		return err
	})
	return st, err
}

// whileElecting runs fn, and again with a growing pause while it fails
// because the cluster cannot answer yet (unavailable: an election, no
// quorum yet, JetStream not started, a timeout), until give. Nodes that
// start together with their cluster, or while it elects a leader, come up
// once it can answer instead of failing their start.
func (s *Store) whileElecting(ctx context.Context, give time.Time, fn func() error) error {
	pause := 250 * time.Millisecond
	for attempt := 1; ; attempt++ {
		err := fn()
		if err == nil || !errors.Is(unavailable(ctx, err), store.ErrUnavailable) || ctx.Err() != nil || time.Now().Add(pause).After(give) {
			return err
		}
		s.log.Warn().Err(err).Int("attempt", attempt).Msg("the JetStream cluster does not answer yet; asking again")
		t := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
		pause = min(2*pause, 2*time.Second)
	}
}

// openStreamOnce is one try of openStream.
func (s *Store) openStreamOnce(ctx context.Context) (js.Stream, error) {
	want := s.streamConfig()
	cctx, cancel := s.reqCtx(ctx)
	defer cancel()
	st, err := s.js.Stream(cctx, s.cfg.Stream)
	switch {
	case errors.Is(err, js.ErrStreamNotFound) && s.cfg.MustExist:
		return nil, fmt.Errorf("stream %s: %w", s.cfg.Stream, store.ErrNotFound)
	case errors.Is(err, js.ErrStreamNotFound):
		st, err = s.js.CreateStream(cctx, want)
		if err != nil {
			return nil, fmt.Errorf("creating stream %s: %w", s.cfg.Stream, err)
		}
	case err != nil:
		return nil, fmt.Errorf("finding stream %s: %w", s.cfg.Stream, err)
	default:
		c := st.CachedInfo().Config
		if !c.AllowAtomicPublish || !c.AllowRollup || !c.AllowDirect || !c.AllowMsgTTL || c.DenyPurge ||
			len(c.Subjects) != 1 || c.Subjects[0] != want.Subjects[0] {
			return nil, fmt.Errorf("stream %s exists with other settings than this store needs: %w", s.cfg.Stream, store.ErrForeignDir)
		}
	}
	return st, nil
}

// recount sets the pending and quarantined gauges from the stream.
func (s *Store) recount(ctx context.Context) error {
	var pending, quarantined int64
	err := s.scan(ctx, s.sub.allMailboxes(), 0, func(m stored) (bool, error) {
		if len(m.data) > 0 {
			pending++
		}
		return true, nil
	})
	if err != nil {
		return err
	}
	err = s.scan(ctx, s.sub.allQuarantine(), 0, func(m stored) (bool, error) {
		if len(m.data) > 0 {
			quarantined++
		}
		return true, nil
	})
	if err != nil {
		return err
	}
	s.stats.pending.Store(pending)
	s.stats.quarantined.Store(quarantined)
	return nil
}

// enter admits a call unless the store is closed.
func (s *Store) enter() error {
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return store.ErrClosed
	}
	return nil
}

func (s *Store) leave() { s.mu.RUnlock() }

// Close stops the janitor, fails operations not yet in a batch with
// store.ErrClosed, waits for batches in flight, unregisters the metrics
// and closes the connection if Open made it. Later calls return nil.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		close(s.quit)
		s.mu.Lock() // waits for admitted callers to leave
		s.closed = true
		s.mu.Unlock()
		close(s.stop)
		s.wg.Wait()
		s.metrics.unregister()
		if s.ownsNC {
			s.nc.Close()
		}
		s.log.Info().Msg("store closed")
	})
	return nil
}

// Stats returns the counters. Pending and Quarantined are counted from the
// stream at Open and at each janitor pass, and follow this node's own
// writes in between; with several nodes they lag others' writes by up to
// one JanitorInterval.
func (s *Store) Stats() store.Stats { return s.stats.snapshot() }

type stats struct {
	pending, quarantined        atomic.Int64
	puts, duplicates, conflicts atomic.Int64
	deliveries, acks, commits   atomic.Int64
	expired, purged             atomic.Int64
}

func (s *stats) snapshot() store.Stats {
	return store.Stats{
		Pending: s.pending.Load(), Quarantined: s.quarantined.Load(),
		Puts: s.puts.Load(), Duplicates: s.duplicates.Load(), Conflicts: s.conflicts.Load(),
		Deliveries: s.deliveries.Load(), Acks: s.acks.Load(), Commits: s.commits.Load(),
		Expired: s.expired.Load(), Purged: s.purged.Load(),
	}
}

// idGen hands out strictly increasing ids (see store.ID). Only the
// committer goroutine uses it.
type idGen struct {
	last store.ID
	rand func([]byte)
}

func (g *idGen) next(now time.Time) store.ID {
	g.last = store.NextID(g.last, now, g.rand)
	return g.last
}
