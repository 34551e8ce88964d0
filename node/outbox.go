package node

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/knooppunt/knooppunt/audit"
	"github.com/knooppunt/knooppunt/store"
)

// The audit record of a message received goes into the store's outbox in
// the message's own synced commit (gateway.Message.Record,
// store.Message.Record), which saves a second fsync in a row on the ingest
// path; on this machine's disk two fsyncs take as long side by side as one
// after the other (docs/performance.md). The recordMover then writes the
// records into the trail's file in batches and drops them from the outbox.
//
// A crash between the two steps, or a move that fails between them (an
// append that wrote part of its batch, a drop that failed), leaves records
// in the outbox that may already be in the trail: only the oldest batch,
// since the mover drops each batch before it reads the next. The next
// move (at start: recover) therefore compares that batch with the trail's
// received entries and appends the records the trail lacks; the rest it
// appends as they are. Every record reaches the trail once.

// Tuning of the mover.
const (
	// moveEvery is how often the mover empties the outbox: the trail's
	// file lags the store by about this much.
	moveEvery = 50 * time.Millisecond
	// moveBatch is the most records moved in one step (one AppendAll, one
	// drop).
	moveBatch = 1000
	// moveRetry is the pause after a failed step.
	moveRetry = time.Second
)

// encodeRecord is the outbox form of a reception's record.
func encodeRecord(e audit.Entry) ([]byte, error) {
	b, err := json.Marshal(e)
	if err != nil {
		return nil, fmt.Errorf("encoding an audit record: %w", err)
	}
	return b, nil
}

// decodeRecord reads an outbox record back as the trail entry it stands
// for: the record with the id of its message.
func decodeRecord(r store.OutboxRecord) (audit.Entry, error) {
	var e audit.Entry
	if err := json.Unmarshal(r.Data, &e); err != nil {
		return e, fmt.Errorf("decoding outbox record %s: %w", r.Key, err)
	}
	e.MessageID = r.Message.String()
	e.Seq, e.Prev, e.Hash = 0, "", "" // the trail chains it
	return e, nil
}

// recordMover moves the outbox into the audit trail.
type recordMover struct {
	box   store.Outbox
	trail *audit.Log
	log   zerolog.Logger
	// mu makes one move at a time: two would append the same batch.
	mu sync.Mutex
	// check: part of the oldest batch may be in the trail already (at
	// start, after a crash; after a failed move), so the next move
	// compares it with the trail first. Under mu.
	check bool
	// lastErr is the last move's error, for readiness; nil when it moved.
	lastErr atomic.Pointer[error]
	moved   prometheus.Counter
	errors  prometheus.Counter
	stop    chan struct{}
	done    chan struct{}
}

// newMover is a mover of box into trail that counts in reg (nil: not
// registered); start it with go run.
func newMover(box store.Outbox, trail *audit.Log, log zerolog.Logger, reg prometheus.Registerer) (*recordMover, error) {
	m := &recordMover{box: box, trail: trail, log: log, stop: make(chan struct{}), done: make(chan struct{}),
		moved: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "knooppunt", Subsystem: "audit", Name: "outbox_moved_total",
			Help: "Audit records moved from the store's outbox into the trail.",
		}),
		errors: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "knooppunt", Subsystem: "audit", Name: "outbox_move_errors_total",
			Help: "Failed moves of audit records from the store's outbox into the trail; the records stay and are retried.",
		}),
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{m.moved, m.errors} {
			if err := reg.Register(c); err != nil {
				return nil, fmt.Errorf("registering audit outbox metrics: %w", err)
			}
		}
	}
	return m, nil
}

// ready fails while the trail takes no records: the node is then not
// ready, as it would refuse every other audited call.
func (m *recordMover) ready(context.Context) error {
	if errp := m.lastErr.Load(); errp != nil {
		return fmt.Errorf("audit records cannot be moved into the trail: %w", *errp)
	}
	return nil
}

// startMover moves the outbox of box into trail until stop, unmetered.
func startMover(box store.Outbox, trail *audit.Log, log zerolog.Logger) *recordMover {
	m, _ := newMover(box, trail, log, nil) // nothing to register: no error
	go m.run()
	return m
}

func (m *recordMover) run() {
	defer close(m.done)
	ctx := context.Background()
	tick := time.NewTicker(moveEvery)
	defer tick.Stop()
	failing := false
	for {
		select {
		case <-m.stop:
			if _, err := m.moveAll(ctx); err != nil {
				m.log.Error().Err(err).Msg("audit records left in the store's outbox at stop; the next start moves them")
			}
			return
		case <-tick.C:
		}
		_, err := m.moveAll(ctx)
		switch {
		case err != nil && !failing:
			m.log.Error().Err(err).Msg("moving audit records from the store's outbox to the trail failed; they stay in the outbox and are retried")
			failing = true
		case err == nil && failing:
			m.log.Info().Msg("audit records move to the trail again")
			failing = false
		}
		if err != nil {
			select {
			case <-m.stop:
			case <-time.After(moveRetry):
			}
		}
	}
}

// moveAll moves batches until the outbox is empty and returns how many
// records it took.
func (m *recordMover) moveAll(ctx context.Context) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	total := 0
	for {
		n, err := m.moveBatch(ctx)
		total += n
		m.check = err != nil
		m.moved.Add(float64(n))
		if err != nil {
			m.errors.Inc()
			m.lastErr.Store(&err)
			return total, err
		}
		m.lastErr.Store(nil)
		if n < moveBatch {
			return total, nil
		}
	}
}

// recover moves what a previous run left in the outbox, checking the
// oldest batch against the trail. It runs at start, before the node
// serves.
func (m *recordMover) recover(ctx context.Context) (int, error) {
	m.mu.Lock()
	m.check = true
	m.mu.Unlock()
	n, err := m.moveAll(ctx)
	if err != nil {
		return n, fmt.Errorf("moving records left in the outbox: %w", err)
	}
	return n, nil
}

// flush moves the outbox now, for a reader of the trail that must see
// every record of an answer already given.
func (m *recordMover) flush(ctx context.Context) error {
	if m == nil {
		return nil
	}
	_, err := m.moveAll(ctx)
	return err
}

// close stops the mover after a last move. Safe twice.
func (m *recordMover) close() {
	select {
	case <-m.stop:
	default:
		close(m.stop)
	}
	<-m.done
}

// moveBatch appends the oldest batch of the outbox to the trail (with
// check set, only the records the trail lacks) and drops the batch. It
// returns how many records it took. Under mu.
func (m *recordMover) moveBatch(ctx context.Context) (int, error) {
	recs, err := m.box.OutboxRecords(ctx, moveBatch)
	if err != nil || len(recs) == 0 {
		return 0, err
	}
	entries := make([]audit.Entry, len(recs))
	for i, r := range recs {
		if entries[i], err = decodeRecord(r); err != nil {
			return 0, err
		}
	}
	if m.check {
		if entries, err = notInTrail(ctx, m.trail, entries); err != nil {
			return 0, err
		}
	}
	if len(entries) > 0 {
		if err := m.trail.AppendAll(ctx, entries); err != nil {
			return 0, err
		}
	}
	// The trail's head goes into the store with the drop: a later start
	// finds a trail that was cut off, deleted or replaced.
	seq, hash := m.trail.Head()
	if err := m.box.DropOutbox(ctx, recs[len(recs)-1].Key, store.TrailHead{Seq: seq, Hash: hash}); err != nil {
		return 0, err
	}
	return len(recs), nil
}

// checkTrail holds the trail to the head the store kept with its last
// outbox move: a trail that ends before it was cut off or deleted, and
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
			return nil, fmt.Errorf("reading the audit trail for records left in the outbox: %w", err)
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

// startOutbox recovers what a previous run left in the store's outbox and
// starts the mover, when the store has an outbox and the node an audit
// trail. It reports whether the gateway may hand the store its records.
func (n *Node) startOutbox(ctx context.Context) (bool, error) {
	if n.local == nil || n.audit == nil {
		return false, nil
	}
	box := n.local
	if head, ok, err := box.TrailHead(ctx); err != nil {
		return false, err
	} else if ok {
		if err := checkTrail(ctx, n.audit, head); err != nil {
			return false, err
		}
	}
	m, err := newMover(box, n.audit, n.log.With().Str("component", "audit-outbox").Logger(), n.metrics)
	if err != nil {
		return false, err
	}
	moved, err := m.recover(ctx)
	if err != nil {
		return false, err
	}
	if moved > 0 {
		n.log.Info().Int("records", moved).Msg("moved audit records a previous run left in the store's outbox to the trail")
	}
	n.mover = m
	go m.run()
	return true, nil
}

// stopOutbox stops the mover after a last move; safe when none runs and
// more than once. It runs before the store closes.
func (n *Node) stopOutbox() {
	if n.mover != nil {
		n.mover.close()
	}
}

// auditPort is the gateway's Auditor: the trail, whose queries first move
// the outbox, so that an auditor sees the record of every message whose
// answer has left.
type auditPort struct {
	log   *audit.Log
	mover *recordMover // nil: no outbox
}

func (a auditPort) Append(ctx context.Context, e audit.Entry) (audit.Entry, error) {
	return a.log.Append(ctx, e)
}

func (a auditPort) AppendAll(ctx context.Context, entries []audit.Entry) error {
	return a.log.AppendAll(ctx, entries)
}

func (a auditPort) Query(ctx context.Context, f audit.Filter) ([]audit.Entry, bool, error) {
	if err := a.mover.flush(ctx); err != nil {
		return nil, false, fmt.Errorf("moving the store's outbox to the trail: %w", err)
	}
	return a.log.Query(ctx, f)
}

// FlushAudit moves the audit records the store still holds into the trail,
// so that Audit().Query sees them all.
func (n *Node) FlushAudit(ctx context.Context) error { return n.mover.flush(ctx) }

// auditReady is the node's readiness check of the audit trail's intake.
func (n *Node) auditReady(ctx context.Context) error {
	if n.mover == nil {
		return nil
	}
	return n.mover.ready(ctx)
}
