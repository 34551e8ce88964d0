package audit

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/knooppunt/knooppunt/store"
)

// The audit record of a message received rides in the store's change feed,
// in the change of the message's own synced commit (store.Reception on
// store.Message and store.Change), which saves a second fsync in a row on
// the ingest path; on this machine's disk two fsyncs take as long side by
// side as one after the other (docs/performance.md). The Follower
// follows the feed from the position the store keeps with the trail's
// head (store.TrailHead), writes the receptions into the trail's file in
// batches, and keeps the new head and position in one synced commit.
//
// A crash between the two steps, or a step that fails between them (an
// append that wrote part of its batch, a head that was not kept), leaves
// the position before receptions the trail may already hold: only one
// batch's, since the follower keeps the position before it reads the
// next. The next step (at start: Recover) therefore compares its batch
// with the trail's received entries and appends the records the trail
// lacks. Every reception reaches the trail once.

// Tuning of the follower.
const (
	// followEvery is how often the follower reads the feed: the trail's
	// file lags the store by about this much.
	followEvery = 50 * time.Millisecond
	// followBatch is the most changes read in one step (one AppendAll,
	// one kept head).
	followBatch = 1000
	// followRetry is the pause after a failed step.
	followRetry = time.Second
)

// Follower writes the receptions of the store's feed into the audit
// trail.
type Follower struct {
	store Receptions
	trail *Log
	log   zerolog.Logger
	// mu makes one step at a time: two would append the same batch.
	mu sync.Mutex
	// pos is the feed position up to which the trail holds every
	// reception. Under mu; read by position without it.
	pos atomic.Uint64
	// check: part of the next batch may be in the trail already (at
	// start, after a crash; after a failed step), so the next step that
	// has receptions compares them with the trail first. Under mu.
	check bool
	// lastErr is the last step's error, for readiness; nil when it went.
	lastErr  atomic.Pointer[error]
	recorded prometheus.Counter
	errors   prometheus.Counter
	stop     chan struct{}
	done     chan struct{}
}

// Hold stops the follower taking steps until release is called: a backup
// copies the trail and the store while neither moves.
func (f *Follower) Hold() (release func()) {
	f.mu.Lock()
	return f.mu.Unlock
}

// Receptions is what the Follower needs of a store that carries the
// receptions of messages: the Pebble store's feed, or a JetStream node's
// log (jetstream.TrailLog).
type Receptions interface {
	// Changes returns up to limit receptions after position after, oldest
	// first. A replicated store may answer from a replica a moment behind
	// its latest commits: the periodic steps read this way.
	Changes(ctx context.Context, after uint64, limit int) ([]store.Change, error)
	// LatestChanges is Changes that misses nothing committed before the
	// call: fewer than limit means there is no more. Flush, Recover and
	// the last step at Close read this way.
	LatestChanges(ctx context.Context, after uint64, limit int) ([]store.Change, error)
	TrailHead(ctx context.Context) (store.TrailHead, bool, error)
	SaveTrailHead(ctx context.Context, head store.TrailHead) error
}

// NewFollower is a follower of st's feed into trail from position
// from, counting in reg (nil: not registered); start it with go run.
func NewFollower(st Receptions, trail *Log, from uint64, log zerolog.Logger, reg prometheus.Registerer) (*Follower, error) {
	f := &Follower{store: st, trail: trail, log: log, stop: make(chan struct{}), done: make(chan struct{}),
		recorded: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "knooppunt", Subsystem: "audit", Name: "receptions_recorded_total",
			Help: "Receptions of messages written from the store's feed into the audit trail.",
		}),
		errors: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "knooppunt", Subsystem: "audit", Name: "reception_errors_total",
			Help: "Failed steps writing receptions from the store's feed into the audit trail; the feed keeps them and they are retried.",
		}),
	}
	f.pos.Store(from)
	if reg != nil {
		for _, c := range []prometheus.Collector{f.recorded, f.errors} {
			if err := reg.Register(c); err != nil {
				return nil, fmt.Errorf("registering audit follower metrics: %w", err)
			}
		}
	}
	return f, nil
}

// Position is the feed position up to which the trail holds every
// reception: the feed must not be trimmed past it.
func (f *Follower) Position() uint64 { return f.pos.Load() }

// Ready fails while the trail takes no records: the node is then not
// ready, as it would refuse every other audited call. A store that cannot
// answer for now (store.ErrUnavailable: its cluster electing a leader)
// is not the trail's fault: the receptions wait in it, and the store's
// own readiness says how long such a spell may last.
func (f *Follower) Ready(context.Context) error {
	if errp := f.lastErr.Load(); errp != nil && !errors.Is(*errp, store.ErrUnavailable) {
		return fmt.Errorf("receptions cannot be written into the audit trail: %w", *errp)
	}
	return nil
}

func (f *Follower) Run() {
	defer close(f.done)
	ctx := context.Background()
	tick := time.NewTicker(followEvery)
	defer tick.Stop()
	failing := false
	for {
		select {
		case <-f.stop:
			if _, err := f.catchUp(ctx, true); err != nil {
				f.log.Error().Err(err).Msg("receptions not yet in the audit trail at stop; the next start writes them from the store's feed")
			}
			return
		case <-tick.C:
		}
		_, err := f.catchUp(ctx, false)
		switch {
		case err != nil && !failing && errors.Is(err, store.ErrUnavailable):
			f.log.Warn().Err(err).Msg("the store cannot answer the audit trail's follower for now; the receptions wait in it and are retried")
			failing = true
		case err != nil && !failing:
			f.log.Error().Err(err).Msg("writing receptions from the store's feed into the audit trail failed; the feed keeps them and they are retried")
			failing = true
		case err == nil && failing:
			f.log.Info().Msg("receptions reach the audit trail again")
			failing = false
		}
		if err != nil {
			select {
			case <-f.stop:
			case <-time.After(followRetry):
			}
		}
	}
}

// catchUp takes steps until the follower has reached the feed's head and
// returns how many receptions it recorded. With latest the head is the
// store's latest commit (Receptions.LatestChanges); without, what a
// replica has of it.
func (f *Follower) catchUp(ctx context.Context, latest bool) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	total := 0
	for {
		read, n, err := f.step(ctx, latest)
		total += n
		f.recorded.Add(float64(n))
		if err != nil {
			f.check = true
			f.errors.Inc()
			f.lastErr.Store(&err)
			return total, err
		}
		f.lastErr.Store(nil)
		if read < followBatch {
			return total, nil
		}
	}
}

// Recover writes what a previous run left unrecorded, comparing the first
// receptions with the trail. It runs at start, before the node serves.
func (f *Follower) Recover(ctx context.Context) (int, error) {
	f.mu.Lock()
	f.check = true
	f.mu.Unlock()
	n, err := f.catchUp(ctx, true)
	if err != nil {
		return n, fmt.Errorf("writing receptions the previous run left: %w", err)
	}
	return n, nil
}

// Flush catches up now, for a reader of the trail that must see every
// record of an answer already given.
func (f *Follower) Flush(ctx context.Context) error {
	if f == nil {
		return nil
	}
	_, err := f.catchUp(ctx, true)
	return err
}

// Close stops the follower after a last step. Safe twice.
func (f *Follower) Close() {
	select {
	case <-f.stop:
	default:
		close(f.stop)
	}
	<-f.done
}

// step reads the next batch of the feed, appends its receptions to the
// trail (with check set, only those the trail lacks) and keeps the trail's
// head with the batch's last position. It returns how many changes it read
// and how many receptions it recorded. Under mu.
func (f *Follower) step(ctx context.Context, latest bool) (read, recorded int, err error) {
	from := f.pos.Load()
	changes := f.store.Changes
	if latest {
		changes = f.store.LatestChanges
	}
	cs, err := changes(ctx, from, followBatch)
	if err != nil || len(cs) == 0 {
		return 0, 0, err
	}
	var entries []Entry
	for _, c := range cs {
		if r := c.Reception; r != nil {
			entries = append(entries, Entry{Time: r.At, Principal: r.Principal, Action: Received,
				MessageID: c.ID.String(), Remote: r.Remote})
		}
	}
	if f.check && len(entries) > 0 {
		if entries, err = notInTrail(ctx, f.trail, entries); err != nil {
			return 0, 0, err
		}
		f.check = false // a failed step sets it again (catchUp)
	}
	if len(entries) > 0 {
		if err := f.trail.AppendAll(ctx, entries); err != nil {
			return 0, 0, err
		}
	}
	// The trail's head goes into the store with the position: a later
	// start finds a trail that was cut off, deleted or replaced.
	last := cs[len(cs)-1].Seq
	seq, hash := f.trail.Head()
	if err := f.store.SaveTrailHead(ctx, store.TrailHead{Seq: seq, Hash: hash, Feed: last}); err != nil {
		return 0, 0, err
	}
	f.pos.Store(last)
	return len(cs), len(entries), nil
}

// CheckHead holds the trail to the head the store kept with its
// follower's last step: a trail that ends before it was cut off or deleted, and
// one whose entry there has another hash was replaced. Either stops the
// start: the switch would otherwise begin a new chain beside a store that
// holds what the missing entries recorded.
func CheckHead(ctx context.Context, trail *Log, want store.TrailHead) error {
	if want.Seq == 0 {
		return nil
	}
	seq, _ := trail.Head()
	if seq < want.Seq {
		return fmt.Errorf("the audit trail ends at entry %d, but the store recorded it up to entry %d: the trail was cut off, deleted or replaced; restore it from a backup of the same moment as the store's", seq, want.Seq)
	}
	page, _, err := trail.Query(ctx, Filter{After: want.Seq - 1, Limit: 1})
	if err != nil {
		return fmt.Errorf("reading the audit trail at entry %d: %w", want.Seq, err)
	}
	if len(page) == 0 || page[0].Seq != want.Seq {
		return nil // pruned by retention since: nothing left to compare
	}
	if page[0].Hash != want.Hash {
		return fmt.Errorf("the audit trail's entry %d is not the one the store recorded: the trail was replaced; restore it from a backup of the same moment as the store's", want.Seq)
	}
	return nil
}

// recordKey identifies a reception's record in the trail.
type recordKey struct {
	id, principal, remote string
	at                    int64
}

func keyOf(e Entry) recordKey {
	return recordKey{id: e.MessageID, principal: e.Principal, remote: e.Remote, at: e.Time.UnixNano()}
}

// notInTrail returns those of entries that the trail does not hold.
func notInTrail(ctx context.Context, trail *Log, entries []Entry) ([]Entry, error) {
	// The records' times come from the gateway before the commit, so
	// commit order and time order may differ by a little.
	from := entries[0].Time
	for _, e := range entries {
		if e.Time.Before(from) {
			from = e.Time
		}
	}
	inTrail := map[recordKey]bool{}
	f := Filter{Action: Received, From: from.Add(-time.Minute), Limit: MaxQueryLimit}
	for {
		page, more, err := trail.Query(ctx, f)
		if err != nil {
			return nil, fmt.Errorf("reading the audit trail for receptions it may hold: %w", err)
		}
		for _, e := range page {
			inTrail[keyOf(e)] = true
			f.After = e.Seq
		}
		if !more {
			break
		}
	}
	lacking := entries[:0]
	for _, e := range entries {
		if !inTrail[keyOf(e)] {
			lacking = append(lacking, e)
		}
	}
	return lacking, nil
}
