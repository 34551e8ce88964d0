package pebble

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/knooppunt/knooppunt/store"
)

// request is one write operation for the committer. apply runs in the
// committer goroutine against the group's batch; it must do all its checks
// before its first write, so that an error leaves nothing in the batch.
type request struct {
	apply func(w *writer) error
	err   error
	done  chan struct{}
}

// submit hands apply to the committer and waits until the batch that
// carries it is durable (or failed). Once a request is in the channel it
// is not abandoned for ctx: the caller learns the outcome, so an error
// means nothing was written.
func (p *Store) submit(ctxDone <-chan struct{}, ctxErr func() error, apply func(w *writer) error) error {
	if err := p.enter(); err != nil {
		return err
	}
	r := &request{apply: apply, done: make(chan struct{})}
	select {
	case p.reqs <- r:
	case <-p.quit:
		p.leave()
		return store.ErrClosed
	case <-ctxDone:
		p.leave()
		return ctxErr()
	}
	p.leave()
	<-r.done
	return r.err
}

// writer is the committer's view of the batch being built.
type writer struct {
	p     *Store
	b     *pebble.Batch
	now   time.Time
	newID bool
	delta counters
	stats struct{ puts, duplicates, conflicts, deliveries, acks, expired, purged int64 }
	// headsDirty records mailbox heads changed in this batch, so a failed
	// commit can forget them.
	headsDirty bool
	// feedChanged: the batch appends to the change feed.
	feedChanged bool
}

func (w *writer) set(k, v []byte) { _ = w.b.Set(k, v, nil) }
func (w *writer) del(k []byte)    { _ = w.b.Delete(k, nil) }

// get reads through the batch: the group's own writes, then the database.
func (w *writer) get(k []byte) ([]byte, error) { return getFrom(w.b, k) }

func (w *writer) nextID() store.ID {
	w.newID = true
	return w.p.state.ids.next(w.now)
}

// event appends a history event to message id.
func (w *writer) event(id store.ID, s store.State, at time.Time, ref store.ID) {
	w.p.state.eventSeq++
	w.set(eventKey(id, at, w.p.state.eventSeq), encodeEvent(s, ref))
}

// The write path: the committer goroutine drains the request channel into a
// group of up to CommitBatch operations, applies them to one indexed batch
// (so each operation sees the writes of those before it: dedup, leases and
// mailbox heads are exact within a group) and commits the batch with one
// fsync. Only then are the callers released. A synced Pebble commit
// publishes its writes only after the fsync, so no reader ever sees data a
// crash could take away.
//
// Callers released by one commit need a moment to come back with their next
// operation; committing at once would split them into a small group and a
// large one, each paying an fsync. So while the group is smaller than the
// previous one, the committer waits for more, at most half the duration of
// the previous commit (and never over maxWait): a delay that costs less
// than the extra fsync it saves. A lone caller (previous group of one)
// never waits.

// maxWait bounds how long the committer waits for returning callers.
const maxWait = time.Millisecond

// commitLoop is the committer goroutine.
func (p *Store) commitLoop() {
	defer p.wg.Done()
	last := 1
	var lastTook time.Duration
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		var group []*request
		select {
		case r := <-p.reqs:
			group = append(make([]*request, 0, max(last, 16)), r)
		case <-p.stop:
			p.drain()
			return
		}
		armed := false
	fill:
		for len(group) < p.cfg.CommitBatch {
			select {
			case r := <-p.reqs:
				group = append(group, r)
				continue
			default:
			}
			if len(group) >= last {
				break
			}
			if !armed {
				armed = true
				timer.Reset(min(lastTook/2, maxWait))
			}
			select {
			case r := <-p.reqs:
				group = append(group, r)
			case <-timer.C:
				armed = false
				break fill
			}
		}
		if armed {
			timer.Stop()
		}
		last = len(group)
		start := time.Now()
		p.commitGroup(group)
		lastTook = time.Since(start)
	}
}

// drain fails every request still queued at Close. No sender can add one:
// Close closed stop only after fencing them out.
func (p *Store) drain() {
	for {
		select {
		case r := <-p.reqs:
			r.err = store.ErrClosed
			close(r.done)
		default:
			return
		}
	}
}

// fail records a write-path failure after which the store can no longer
// promise durability; every later write returns it.
func (p *Store) fail(err error) error {
	p.failed.CompareAndSwap(nil, &err)
	p.log.Error().Err(err).Msg("store write path failed; refusing further writes")
	return err
}

// commitGroup applies a group, commits it with fsync and releases its
// callers.
func (p *Store) commitGroup(group []*request) {
	defer func() {
		for _, r := range group {
			close(r.done)
		}
	}()
	if errp := p.failed.Load(); errp != nil {
		for _, r := range group {
			r.err = *errp
		}
		return
	}
	start := time.Now()
	w := &writer{p: p, b: p.db.NewIndexedBatch(), now: p.cfg.Now().UTC()}
	for _, r := range group {
		r.err = r.apply(w)
	}
	var err error
	wrote := !w.b.Empty()
	if wrote {
		if w.delta != (counters{}) {
			c := counters{p.state.counters.pending + w.delta.pending, p.state.counters.quarantined + w.delta.quarantined}
			w.set(keyCounters, c.encode())
		}
		if w.newID {
			last := p.state.ids.last
			w.set(keyLastID, last[:])
		}
		if w.feedChanged {
			w.set(keyFeedSeq, binary.BigEndian.AppendUint64(nil, p.state.feedSeq))
		}
		err = w.b.Commit(pebble.Sync)
	}
	_ = w.b.Close()
	if err != nil {
		// The in-memory state (heads, skips, counters) may now describe
		// writes that did not happen, and Pebble cannot say whether the
		// WAL holds them: stop writing rather than guess.
		err = p.fail(fmt.Errorf("committing to store: %w", err))
		for _, r := range group {
			if r.err == nil {
				r.err = err
			}
		}
		return
	}
	if w.feedChanged {
		p.feed.committed(p.state.feedSeq) // only now may followers read it
	}
	p.state.counters.pending += w.delta.pending
	p.state.counters.quarantined += w.delta.quarantined
	s := &p.stats
	s.pending.Store(p.state.counters.pending)
	s.quarantined.Store(p.state.counters.quarantined)
	s.puts.Add(w.stats.puts)
	s.duplicates.Add(w.stats.duplicates)
	s.conflicts.Add(w.stats.conflicts)
	s.deliveries.Add(w.stats.deliveries)
	s.acks.Add(w.stats.acks)
	s.expired.Add(w.stats.expired)
	s.purged.Add(w.stats.purged)
	if wrote {
		s.commits.Add(1)
		p.metrics.commits.Observe(len(group), time.Since(start))
	}
}

// head returns the head of party's mailbox: no entry of party sorts below
// it. The zero ID means the mailbox has never advanced.
func (w *writer) head(party string) (store.ID, error) {
	if h, ok := w.p.state.heads[party]; ok {
		return h, nil
	}
	v, err := w.get(headKey(party))
	var h store.ID
	switch {
	case errors.Is(err, store.ErrNotFound):
	case err != nil:
		return h, fmt.Errorf("reading mailbox head: %w", err)
	default:
		if h, err = decodeID(v, "mailbox head"); err != nil {
			return h, err
		}
	}
	w.p.state.heads[party] = h
	return h, nil
}

// setHead records a new head of party's mailbox.
func (w *writer) setHead(party string, h store.ID) {
	w.p.state.heads[party] = h
	w.set(headKey(party), h[:])
}

// removed advances party's head after the entry id left the mailbox (it
// must already be deleted in the batch): to the first remaining entry, or
// past id if none remains. Seeking from the head passes only the
// tombstones of entries confirmed out of order.
func (w *writer) removed(party string, id store.ID) error {
	h, err := w.head(party)
	if err != nil {
		return err
	}
	w.p.state.removedSince[party]++
	if less(id, h) {
		return nil
	}
	lo := queuePrefix(party)
	if !h.IsZero() {
		lo = queueKey(party, h)
	}
	it, err := w.b.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: queueUpper(party)})
	if err != nil {
		return fmt.Errorf("seeking mailbox head: %w", err)
	}
	next := succ(id)
	if it.First() {
		if k, ok := queueKeyID(it.Key()); ok {
			next = k
		}
	}
	if err := it.Close(); err != nil {
		return fmt.Errorf("seeking mailbox head: %w", err)
	}
	if less(next, h) || next == h {
		return nil
	}
	w.setHead(party, next)
	return nil
}

func less(id, o store.ID) bool {
	for i := range id {
		if id[i] != o[i] {
			return id[i] < o[i]
		}
	}
	return false
}
