package node

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/knooppunt/knooppunt/audit"
	"github.com/knooppunt/knooppunt/store"
	"github.com/knooppunt/knooppunt/store/pebble"
)

// The audit record of a message received rides in the store's change feed,
// in the change of the message's own synced commit (store.Reception on
// store.Message and store.Change), which saves a second fsync in a row on
// the ingest path; on this machine's disk two fsyncs take as long side by
// side as one after the other (docs/performance.md). The trailFollower
// follows the feed from the position the store keeps with the trail's
// head (store.TrailHead), writes the receptions into the trail's file in
// batches, and keeps the new head and position in one synced commit.
//
// A crash between the two steps, or a step that fails between them (an
// append that wrote part of its batch, a head that was not kept), leaves
// the position before receptions the trail may already hold: only one
// batch's, since the follower keeps the position before it reads the
// next. The next step (at start: recover) therefore compares its batch
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

// trailFollower writes the receptions of the store's feed into the audit
// trail.
type trailFollower struct {
	store *pebble.Store
	trail *audit.Log
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

// newTrailFollower is a follower of st's feed into trail from position
// from, counting in reg (nil: not registered); start it with go run.
func newTrailFollower(st *pebble.Store, trail *audit.Log, from uint64, log zerolog.Logger, reg prometheus.Registerer) (*trailFollower, error) {
	f := &trailFollower{store: st, trail: trail, log: log, stop: make(chan struct{}), done: make(chan struct{}),
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

// position is the feed position up to which the trail holds every
// reception: the feed must not be trimmed past it.
func (f *trailFollower) position() uint64 { return f.pos.Load() }

// ready fails while the trail takes no records: the node is then not
// ready, as it would refuse every other audited call.
func (f *trailFollower) ready(context.Context) error {
	if errp := f.lastErr.Load(); errp != nil {
		return fmt.Errorf("receptions cannot be written into the audit trail: %w", *errp)
	}
	return nil
}

func (f *trailFollower) run() {
	defer close(f.done)
	ctx := context.Background()
	tick := time.NewTicker(followEvery)
	defer tick.Stop()
	failing := false
	for {
		select {
		case <-f.stop:
			if _, err := f.catchUp(ctx); err != nil {
				f.log.Error().Err(err).Msg("receptions not yet in the audit trail at stop; the next start writes them from the store's feed")
			}
			return
		case <-tick.C:
		}
		_, err := f.catchUp(ctx)
		switch {
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
// returns how many receptions it recorded.
func (f *trailFollower) catchUp(ctx context.Context) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	total := 0
	for {
		read, n, err := f.step(ctx)
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

// recover writes what a previous run left unrecorded, comparing the first
// receptions with the trail. It runs at start, before the node serves.
func (f *trailFollower) recover(ctx context.Context) (int, error) {
	f.mu.Lock()
	f.check = true
	f.mu.Unlock()
	n, err := f.catchUp(ctx)
	if err != nil {
		return n, fmt.Errorf("writing receptions the previous run left: %w", err)
	}
	return n, nil
}

// flush catches up now, for a reader of the trail that must see every
// record of an answer already given.
func (f *trailFollower) flush(ctx context.Context) error {
	if f == nil {
		return nil
	}
	_, err := f.catchUp(ctx)
	return err
}

// close stops the follower after a last step. Safe twice.
func (f *trailFollower) close() {
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
func (f *trailFollower) step(ctx context.Context) (read, recorded int, err error) {
	from := f.pos.Load()
	cs, err := f.store.Changes(ctx, from, followBatch)
	if err != nil || len(cs) == 0 {
		return 0, 0, err
	}
	var entries []audit.Entry
	for _, c := range cs {
		if r := c.Reception; r != nil {
			entries = append(entries, audit.Entry{Time: r.At, Principal: r.Principal, Action: audit.Received,
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

// checkTrail holds the trail to the head the store kept with its
// follower's last step: a trail that ends before it was cut off or deleted, and
// one whose entry there has another hash was replaced. Either stops the
// start: the switch would otherwise begin a new chain beside a store that
// holds what the missing entries recorded.
func checkTrail(ctx context.Context, trail *audit.Log, want store.TrailHead) error {
	if want.Seq == 0 {
		return nil
	}
	seq, _ := trail.Head()
	if seq < want.Seq {
		return fmt.Errorf("the audit trail ends at entry %d, but the store recorded it up to entry %d: the trail was cut off, deleted or replaced; restore it from a backup of the same moment as the store's", seq, want.Seq)
	}
	page, _, err := trail.Query(ctx, audit.Filter{After: want.Seq - 1, Limit: 1})
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

func keyOf(e audit.Entry) recordKey {
	return recordKey{id: e.MessageID, principal: e.Principal, remote: e.Remote, at: e.Time.UnixNano()}
}

// notInTrail returns those of entries that the trail does not hold.
func notInTrail(ctx context.Context, trail *audit.Log, entries []audit.Entry) ([]audit.Entry, error) {
	// The records' times come from the gateway before the commit, so
	// commit order and time order may differ by a little.
	from := entries[0].Time
	for _, e := range entries {
		if e.Time.Before(from) {
			from = e.Time
		}
	}
	inTrail := map[recordKey]bool{}
	f := audit.Filter{Action: audit.Received, From: from.Add(-time.Minute), Limit: audit.MaxQueryLimit}
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

// startTrail starts the audit trail's follower of the store's feed,
// after writing what a previous run left unrecorded, when the store
// carries receptions on its feed (Pebble) and the node has a trail. It
// reports whether the gateway may leave the records of receptions to it.
func (n *Node) startTrail(ctx context.Context) (bool, error) {
	if n.local == nil || n.audit == nil {
		return false, nil
	}
	head, ok, err := n.local.TrailHead(ctx)
	if err != nil {
		return false, err
	}
	if ok {
		if err := checkTrail(ctx, n.audit, head); err != nil {
			return false, err
		}
	}
	f, err := newTrailFollower(n.local, n.audit, head.Feed, n.log.With().Str("component", "audit-follower").Logger(), n.metrics)
	if err != nil {
		return false, err
	}
	recorded, err := f.recover(ctx)
	if err != nil {
		return false, err
	}
	if recorded > 0 {
		n.log.Info().Int("records", recorded).Msg("wrote receptions a previous run left in the store's feed into the audit trail")
	}
	n.trail = f
	go f.run()
	return true, nil
}

// stopTrail stops the follower after a last step; safe when none runs
// and more than once. It runs before the store closes.
func (n *Node) stopTrail() {
	if n.trail != nil {
		n.trail.close()
	}
}

// auditPort is the gateway's Auditor: the trail, whose queries first
// catch its follower up, so that an auditor sees the record of every
// message whose answer has left.
type auditPort struct {
	log    *audit.Log
	follow *trailFollower // nil: none
}

func (a auditPort) Append(ctx context.Context, e audit.Entry) (audit.Entry, error) {
	return a.log.Append(ctx, e)
}

func (a auditPort) AppendAll(ctx context.Context, entries []audit.Entry) error {
	return a.log.AppendAll(ctx, entries)
}

func (a auditPort) Query(ctx context.Context, f audit.Filter) ([]audit.Entry, bool, error) {
	if err := a.follow.flush(ctx); err != nil {
		return nil, false, fmt.Errorf("writing the store's receptions into the trail: %w", err)
	}
	return a.log.Query(ctx, f)
}

// FlushAudit writes the receptions the store's feed holds into the trail,
// so that Audit().Query sees them all.
func (n *Node) FlushAudit(ctx context.Context) error { return n.trail.flush(ctx) }

// auditReady is the node's readiness check of the audit trail's intake.
func (n *Node) auditReady(ctx context.Context) error {
	if n.trail == nil {
		return nil
	}
	return n.trail.ready(ctx)
}
