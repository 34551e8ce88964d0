package pebble

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/bloom"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/rs/zerolog"

	"github.com/knooppunt/knooppunt/store"
)

// Pebble is the Store on a local Pebble database. Create it with Open.
//
// Every write (Put, List, Ack, Release and the janitor's deletions) runs in
// one committer goroutine, which drains its request channel into a batch of
// up to Config.CommitBatch operations and commits it with one fsync; the
// callers wait for that commit. Running the operations' read-check-write
// logic in that one goroutine, on an indexed batch that sees its own
// writes, is what makes dedup exact within a commit group and leases
// exclusive without locks. Reads (Get, Meta, Lookup, Conversation,
// Quarantined) go to Pebble directly.
type Store struct {
	cfg Config
	db  *pebble.DB
	log zerolog.Logger

	reqs chan *request
	// failed holds the error that stopped the write path, if any.
	failed atomic.Pointer[error]
	quit   chan struct{} // closed first by Close: no new requests
	stop   chan struct{} // closed once no sender can be in flight
	mu     sync.RWMutex  // senders hold it shared; Close takes it to fence them
	// closed is set under mu by Close.
	closed    bool
	closeOnce sync.Once
	closeErr  error
	wg        sync.WaitGroup

	// Committer-owned state: touched only by the committer goroutine.
	state struct {
		ids   idGen
		heads map[string]store.ID // mailbox heads known so far; zero ID: none yet
		// truncated is the head up to which the janitor last range-deleted
		// a mailbox; removedSince counts entries that left it since its
		// consumed span was last compacted.
		truncated    map[string]store.ID
		removedSince map[string]int
		// skips remembers, per mailbox, the run of leased entries at its
		// front that List may jump over.
		skips    map[string]skipRun
		counters counters
		eventSeq uint32
		feedSeq  uint64 // the newest change's position
	}
	feed feedState

	stats   statCounters
	metrics *metrics
}

var (
	_ store.Store            = (*Store)(nil)
	_ store.RefStore         = (*Store)(nil)
	_ store.CorrelationStore = (*Store)(nil)
	_ store.Ledger           = (*Store)(nil)
)

// Open opens the store in cfg.Dir, creating it if the directory is absent
// or empty. A directory holding anything other than a knooppunt store fails
// with ErrForeignDir and is left untouched; unreadable data fails with
// ErrCorrupt. Leases are deadlines kept with each mailbox entry, so a lease
// that expired while the store was down is simply visible again after Open,
// and the persisted counters are read back as they were last committed.
//
// On the operating system's file system (cfg.FS nil or vfs.Default) the
// store creates its directory with mode 0700 and every file 0600, whatever
// the umask, and logs a warning for an existing directory or file that
// group or others may read (store.CheckMode).
func Open(ctx context.Context, cfg Config) (*Store, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("opening store: %w", err)
	}
	log := cfg.Logger.With().Str("component", "store").Logger()
	if cfg.FS == vfs.Default {
		warnModes(log, cfg.Dir)
		cfg.FS = privateFS{vfs.Default}
	}
	fresh, err := checkDir(cfg)
	if err != nil {
		return nil, err
	}
	p := &Store{
		cfg:  cfg,
		log:  log,
		reqs: make(chan *request, cfg.QueueDepth),
		quit: make(chan struct{}),
		stop: make(chan struct{}),
	}
	opts := &pebble.Options{
		FS:                 cfg.FS,
		FormatMajorVersion: pebble.FormatNewest,
		MemTableSize:       cfg.MemTableSize,
		CacheSize:          cfg.CacheSize,
		Logger:             pebbleLogger{p.log},
		ErrorIfNotExists:   !fresh,
	}
	// Dedup and Ack look up keys that mostly do not exist (or not yet):
	// bloom filters answer those without reading blocks.
	opts.Levels[0].FilterPolicy = bloom.FilterPolicy(10)
	opts.EnsureDefaults()
	if err := opts.Validate(); err != nil {
		return nil, fmt.Errorf("opening store %s: pebble options: %w", cfg.Dir, err)
	}
	if !fresh {
		// Look before writing: a read-write open replays and rewrites the
		// WAL and MANIFEST, which must not happen to a foreign database.
		ro := *opts
		ro.ReadOnly = true
		db, err := openPebble(cfg.Dir, &ro)
		if err != nil {
			return nil, err
		}
		err = checkMarker(db)
		_ = db.Close()
		if err != nil {
			return nil, fmt.Errorf("opening store %s: %w", cfg.Dir, err)
		}
	}
	db, err := openPebble(cfg.Dir, opts)
	if err != nil {
		return nil, err
	}
	p.db = db
	if err := p.recover(); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("opening store %s: %w", cfg.Dir, err)
	}
	p.state.ids.rand = func(b []byte) { _, _ = rand.Read(b) }
	p.state.heads = make(map[string]store.ID)
	p.state.truncated = make(map[string]store.ID)
	p.state.removedSince = make(map[string]int)
	p.state.skips = make(map[string]skipRun)
	p.stats.pending.Store(p.state.counters.pending)
	p.stats.quarantined.Store(p.state.counters.quarantined)
	p.metrics = newMetrics(p, cfg.Registerer)
	p.wg.Add(2)
	go p.commitLoop()
	go p.janitorLoop()
	p.log.Info().Int64("pending", p.state.counters.pending).Int64("quarantined", p.state.counters.quarantined).Msg("store opened")
	return p, nil
}

// checkDir decides whether cfg.Dir is a fresh place for a store (absent or
// empty) or must hold an existing Pebble database. Anything else is
// refused before Pebble writes a byte.
func checkDir(cfg Config) (fresh bool, err error) {
	names, err := cfg.FS.List(cfg.Dir)
	if errors.Is(err, os.ErrNotExist) {
		if err := cfg.FS.MkdirAll(cfg.Dir, 0o700); err != nil {
			return false, fmt.Errorf("creating store directory %s: %w", cfg.Dir, err)
		}
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("reading store directory %s: %w", cfg.Dir, err)
	}
	if len(names) == 0 {
		return true, nil
	}
	desc, err := pebble.Peek(cfg.Dir, cfg.FS)
	if err != nil {
		return false, fmt.Errorf("inspecting store directory %s: %w: %w", cfg.Dir, store.ErrForeignDir, err)
	}
	if !desc.Exists {
		return false, fmt.Errorf("opening store %s: %d entries but no database: %w", cfg.Dir, len(names), store.ErrForeignDir)
	}
	return false, nil
}

func openPebble(dir string, opts *pebble.Options) (*pebble.DB, error) {
	db, err := pebble.Open(dir, opts)
	switch {
	case err == nil:
		return db, nil
	case pebble.IsCorruptionError(err):
		return nil, fmt.Errorf("opening store %s: %w: %w", dir, store.ErrCorrupt, err)
	case errors.Is(err, syscall.EWOULDBLOCK), errors.Is(err, syscall.EAGAIN),
		strings.Contains(err.Error(), "lock held by current process"):
		// Pebble's LOCK file is held: another process (or this one) has
		// the store open.
		return nil, fmt.Errorf("%w: another knooppunt process holds the lock on %s; stop it, or choose another --data", store.ErrLocked, dir)
	}
	return nil, fmt.Errorf("opening store %s: %w", dir, err)
}

// checkMarker accepts a database that carries the format marker, or is
// entirely empty (a crash right after creation).
func checkMarker(db *pebble.DB) error {
	v, err := getFrom(db, keyFormat)
	switch {
	case errors.Is(err, store.ErrNotFound):
		it, err := db.NewIter(nil)
		if err != nil {
			return fmt.Errorf("scanning database: %w", err)
		}
		found := it.First()
		if err := it.Close(); err != nil {
			return fmt.Errorf("scanning database: %w", err)
		}
		if found {
			return fmt.Errorf("database lacks the knooppunt format marker: %w", store.ErrForeignDir)
		}
		return nil
	case err != nil:
		return fmt.Errorf("reading format marker: %w", err)
	case !bytes.Equal(v, formatValue):
		return fmt.Errorf("format %q, want %q: %w", v, formatValue, store.ErrForeignDir)
	}
	return nil
}

// recover reads the format marker, the counters and the id floor. A Pebble
// database without the marker is refused unless it is entirely empty (a
// crash right after creation), in which case it is claimed.
func (p *Store) recover() error {
	if err := checkMarker(p.db); err != nil {
		return err
	}
	if _, err := p.get(keyFormat); errors.Is(err, store.ErrNotFound) {
		b := p.db.NewBatch()
		_ = b.Set(keyFormat, formatValue, nil)
		_ = b.Set(keyCounters, counters{}.encode(), nil)
		if err := b.Commit(pebble.Sync); err != nil {
			return fmt.Errorf("writing format marker: %w", err)
		}
		if err := b.Close(); err != nil {
			return err
		}
	} else if err != nil {
		return fmt.Errorf("reading format marker: %w", err)
	}
	v, err := p.get(keyCounters)
	if err != nil {
		return fmt.Errorf("reading counters: %w", err)
	}
	if p.state.counters, err = decodeCounters(v); err != nil {
		return err
	}
	v, err = p.get(keyLastID)
	switch {
	case errors.Is(err, store.ErrNotFound):
	case err != nil:
		return fmt.Errorf("reading last id: %w", err)
	default:
		if p.state.ids.last, err = decodeID(v, "last id"); err != nil {
			return err
		}
	}
	if err := p.loadFeed(); err != nil {
		return err
	}
	return p.convertOutbox()
}

// loadFeed reads the feed's newest position and where it starts.
func (p *Store) loadFeed() error {
	v, err := p.get(keyFeedSeq)
	switch {
	case errors.Is(err, store.ErrNotFound):
	case err != nil:
		return fmt.Errorf("reading the feed position: %w", err)
	case len(v) != 8:
		return fmt.Errorf("reading the feed position: %d bytes: %w", len(v), store.ErrCorrupt)
	default:
		p.state.feedSeq = binary.BigEndian.Uint64(v)
	}
	first := p.state.feedSeq
	it, err := p.db.NewIter(&pebble.IterOptions{LowerBound: []byte{tagFeed}, UpperBound: feedUpper})
	if err != nil {
		return fmt.Errorf("reading the feed: %w", err)
	}
	if it.First() && len(it.Key()) == 9 {
		first = binary.BigEndian.Uint64(it.Key()[1:]) - 1
	}
	if err := it.Close(); err != nil {
		return fmt.Errorf("reading the feed: %w", err)
	}
	p.feed.committed(p.state.feedSeq)
	p.feed.trimmed(first)
	return nil
}

// get returns a copy of the value of k, or ErrNotFound.
func (p *Store) get(k []byte) ([]byte, error) {
	return getFrom(p.db, k)
}

type reader interface {
	Get(key []byte) ([]byte, io.Closer, error)
}

func getFrom(r reader, k []byte) ([]byte, error) {
	v, c, err := r.Get(k)
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, store.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	out := bytes.Clone(v)
	return out, c.Close()
}

// enter admits a call unless the store is closed.
func (p *Store) enter() error {
	p.mu.RLock()
	if p.closed {
		p.mu.RUnlock()
		return store.ErrClosed
	}
	return nil
}

func (p *Store) leave() { p.mu.RUnlock() }

// Ready reports whether the store can take writes: it is open and its
// write path has not failed (see fail).
func (p *Store) Ready(ctx context.Context) error {
	if err := p.enter(); err != nil {
		return err
	}
	defer p.leave()
	if errp := p.failed.Load(); errp != nil {
		return fmt.Errorf("the store's write path failed: %w", *errp)
	}
	return ctx.Err()
}

// Close stops the janitor, fails requests that have not reached a batch
// with ErrClosed, lets the batch being committed finish, and closes
// Pebble. Later calls return nil.
func (p *Store) Close() error {
	first := false
	p.closeOnce.Do(func() {
		first = true
		close(p.quit) // wakes senders blocked on a full channel
		p.mu.Lock()   // waits for admitted readers and senders to leave
		p.closed = true
		p.mu.Unlock()
		close(p.stop)
		p.wg.Wait()
		p.metrics.unregister()
		if err := p.db.Close(); err != nil {
			p.closeErr = fmt.Errorf("closing store: %w", err)
		}
		p.log.Info().Msg("store closed")
	})
	if !first {
		return nil
	}
	return p.closeErr
}

// Stats returns the current counters.
func (p *Store) Stats() store.Stats { return p.stats.snapshot() }

// skipRun says that every entry of a mailbox from its head up to (not
// including) at is leased at least until until. It lives in memory only.
type skipRun struct {
	at    store.ID
	until time.Time
}

// statCounters are the atomically updated Stats.
type statCounters struct {
	pending, quarantined        atomic.Int64
	puts, duplicates, conflicts atomic.Int64
	deliveries, acks, commits   atomic.Int64
	expired, purged             atomic.Int64
}

func (s *statCounters) snapshot() store.Stats {
	return store.Stats{
		Pending: s.pending.Load(), Quarantined: s.quarantined.Load(),
		Puts: s.puts.Load(), Duplicates: s.duplicates.Load(), Conflicts: s.conflicts.Load(),
		Deliveries: s.deliveries.Load(), Acks: s.acks.Load(), Commits: s.commits.Load(),
		Expired: s.expired.Load(), Purged: s.purged.Load(),
	}
}

// pebbleLogger routes Pebble's log lines to zerolog. Pebble's Infof lines
// (flushes, compactions) go to debug level.
type pebbleLogger struct{ l zerolog.Logger }

func (l pebbleLogger) Infof(format string, args ...any) {
	l.l.Debug().Str("source", "pebble").Msgf(format, args...)
}

func (l pebbleLogger) Errorf(format string, args ...any) {
	l.l.Error().Str("source", "pebble").Msgf(format, args...)
}

// Fatalf is called by Pebble on a broken invariant, after which it must
// not continue: log, then panic (Pebble's own default exits the process).
func (l pebbleLogger) Fatalf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	l.l.WithLevel(zerolog.FatalLevel).Str("source", "pebble").Msg(msg)
	panic("pebble: " + msg)
}
