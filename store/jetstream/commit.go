package jetstream

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/knooppunt/knooppunt/store"
)

// Limits of one atomic batch: the server refuses more than 1,000 messages;
// the byte bound keeps a batch of large messages reasonable.
const (
	maxBatchMsgs  = 1000
	maxBatchBytes = 16 << 20
	maxBatchOps   = 512
	// chunkSize is the largest piece of a message body one stream message
	// carries; servers need max_payload above it (the default 1 MB is).
	chunkSize = 512 << 10
	// tombstoneTTL is how long an emptied state subject keeps its
	// tombstone before the server removes it.
	tombstoneTTL = "30s"
	// maxAttempts bounds the retries of an operation that keeps losing
	// compare-and-set races.
	maxAttempts = 50
)

// op is one write operation: build turns it into stream messages inside
// the committer (which hands out ids), and the committer reports the
// batch's outcome in err.
type op struct {
	build func(b *builder)
	b     builder
	err   error
	// first is the stream sequence of the op's first message once its
	// batch committed (an atomic batch takes consecutive sequences); 0
	// when the server did not say how many messages the batch stored.
	first uint64
	done  chan struct{}
	// carried marks an op that was pushed out of an earlier group.
	carried bool
}

// builder collects the messages of one op.
type builder struct {
	s     *Store
	now   time.Time
	msgs  []*nats.Msg
	state []string // state subjects written: no two ops in a batch share one
	// expects are the op's compare-and-sets: each subject's last sequence
	// as the op expects it (0: absent).
	expects []expectation
	size    int
}

// expectation is one compare-and-set of an op.
type expectation struct {
	subject string
	seq     uint64
}

// holds reports whether every compare-and-set of o expects what got, the
// last message of each subject (absent: none), says.
func (o *op) holds(got map[string]stored) bool {
	for _, e := range o.b.expects {
		if got[e.subject].seq != e.seq {
			return false
		}
	}
	return true
}

func (b *builder) newID() store.ID { return b.s.ids.next(b.now) }

// set writes the current value of a state subject. expect >= 0 makes it a
// compare-and-set against the subject's last sequence (0: absent).
func (b *builder) set(subject string, data []byte, expect int64) { b.setTTL(subject, data, expect, "") }

// create writes the first value of a state subject named by a message id
// the op has just made, which holds nothing yet.
func (b *builder) create(subject string, data []byte) {
	b.state = append(b.state, subject)
	b.add1(&nats.Msg{Subject: subject, Data: data})
}

// next is the position in the op of the message the builder adds next:
// the op's first sequence plus next is that message's sequence.
func (b *builder) next() uint64 { return uint64(len(b.msgs)) }

// clear replaces a state subject's value with a tombstone that expires.
func (b *builder) clear(subject string, expect int64) { b.setTTL(subject, nil, expect, tombstoneTTL) }

// setTTL is set with a per-message TTL (a duration the servers parse, such
// as "30s"), after which the servers remove the value; "" keeps it.
//
// A value replaces the subject's earlier ones (Nats-Rollup), except where
// the compare-and-set expects the subject empty or the subject is new
// (create): rolling up costs the servers a purge of the subject for each
// message, and there is nothing to purge.
func (b *builder) setTTL(subject string, data []byte, expect int64, ttl string) {
	h := nats.Header{}
	if expect != 0 {
		h.Set("Nats-Rollup", "sub")
	}
	if ttl != "" {
		h.Set("Nats-TTL", ttl)
	}
	if expect >= 0 {
		h.Set("Nats-Expected-Last-Subject-Sequence", strconv.FormatInt(expect, 10))
		b.expects = append(b.expects, expectation{subject, uint64(expect)})
	}
	b.state = append(b.state, subject)
	b.add1(&nats.Msg{Subject: subject, Header: h, Data: data})
}

// quarantine moves the mailbox entry r of message id (at sequence seq of
// party's mailbox) to quarantine, with compare-and-set on the entry. The
// "quarantined" event takes over the entry's listings.
func (b *builder) quarantine(party string, id store.ID, r entryRec, seq uint64) {
	listed := r.Listed
	r.VisibleAt, r.Recipient, r.Listed = 0, party, nil
	b.clear(b.s.sub.entry(party, id), int64(seq))
	b.set(b.s.sub.quarantine(id), encode(r), -1)
	b.ending(id, store.StateQuarantined, listed)
}

// add appends to a log subject.
func (b *builder) add(subject string, data []byte) {
	b.add1(&nats.Msg{Subject: subject, Data: data})
}

func (b *builder) add1(m *nats.Msg) {
	b.size += len(m.Subject) + len(m.Data) + 64
	b.msgs = append(b.msgs, m)
}

func (b *builder) event(id store.ID, st store.State, ref store.ID) {
	e := eventRec{State: st, At: b.now.UnixNano()}
	if !ref.IsZero() {
		e.Ref = &ref
	}
	b.add(b.s.sub.events(id), encode(e))
}

// ending records event st, which removes message id's mailbox entry, with
// the times that entry was listed (entryRec.Listed).
func (b *builder) ending(id store.ID, st store.State, listed []int64) {
	b.add(b.s.sub.events(id), encode(eventRec{State: st, At: b.now.UnixNano(), Listed: listed}))
}

// submit hands build to the committer and waits for the batch that carries
// it. Once accepted, the op is not abandoned for ctx: an error means the
// batch failed (for a lost compare-and-set, errConflict), success that it
// is stored. build may run more than once (an op pushed out of a full
// batch is built again for the next).
func (s *Store) submit(ctx context.Context, build func(b *builder)) error {
	_, err := s.submitSeq(ctx, build)
	return err
}

// submitSeq is submit that also returns the stream sequence of the op's
// first message (see op.first).
func (s *Store) submitSeq(ctx context.Context, build func(b *builder)) (uint64, error) {
	if err := s.enter(); err != nil {
		return 0, err
	}
	o := &op{build: build, done: make(chan struct{})}
	select {
	case s.ops <- o:
	case <-s.quit:
		s.leave()
		return 0, store.ErrClosed
	case <-ctx.Done():
		s.leave()
		return 0, ctx.Err()
	}
	s.leave()
	<-o.done
	return o.first, o.err
}

// group is one batch being assembled.
type group struct {
	ops   []*op
	state map[string]bool
	msgs  int
	size  int
}

// add builds o into g unless it touches a state subject g already
// touches or would overfill g.
func (s *Store) add(g *group, o *op) bool {
	o.b = builder{s: s, now: s.cfg.Now().UTC()}
	o.build(&o.b)
	if len(g.ops) > 0 && (g.msgs+len(o.b.msgs) > maxBatchMsgs || g.size+o.b.size > maxBatchBytes) {
		return false
	}
	for _, subj := range o.b.state {
		if g.state[subj] {
			return false
		}
	}
	for _, subj := range o.b.state {
		g.state[subj] = true
	}
	g.ops = append(g.ops, o)
	g.msgs += len(o.b.msgs)
	g.size += o.b.size
	return true
}

// commitLoop is the committer goroutine: it packs waiting ops into groups
// and publishes up to MaxInflight groups at a time. A group is packed only
// once a slot is free, so that it carries every op that came while the
// batches in flight were committed: packed earlier, it would hold the few
// that were waiting then, and the rest would wait for the next one too.
func (s *Store) commitLoop() {
	defer s.wg.Done()
	var inflight sync.WaitGroup
	sem := make(chan struct{}, s.cfg.MaxInflight)
	var carry []*op
	for {
		sem <- struct{}{}
		g := &group{state: map[string]bool{}}
		var next []*op
		for _, o := range carry {
			if len(g.ops) >= s.cfg.CommitBatch || !s.add(g, o) {
				next = append(next, o)
			}
		}
		carry = next
		if len(g.ops) == 0 {
			select {
			case o := <-s.ops:
				s.add(g, o)
			case <-s.stop:
				<-sem
				inflight.Wait()
				s.drain(carry)
				return
			}
		}
	fill:
		for len(g.ops) < s.cfg.CommitBatch {
			select {
			case o := <-s.ops:
				if !s.add(g, o) {
					o.carried = true
					carry = append(carry, o)
				}
			default:
				break fill
			}
		}
		carried := false
		for _, o := range g.ops {
			carried = carried || o.carried
		}
		if carried {
			// It lost its place to an op on the same subject: let that
			// one land first, or its compare-and-set fails for nothing.
			inflight.Wait()
		}
		inflight.Add(1)
		go func() {
			defer func() { <-sem; inflight.Done() }()
			s.commit(g)
		}()
	}
}

// drain fails the ops left at Close. No sender can add one: Close closes
// stop only after fencing them out.
func (s *Store) drain(carry []*op) {
	for _, o := range carry {
		o.err = store.ErrClosed
		close(o.done)
	}
	for {
		select {
		case o := <-s.ops:
			o.err = store.ErrClosed
			close(o.done)
		default:
			return
		}
	}
}

// commit publishes a group and releases its callers.
func (s *Store) commit(g *group) {
	defer func() {
		for _, o := range g.ops {
			close(o.done)
		}
	}()
	err := s.publishOps(g.ops)
	if err == nil {
		if since := s.outage.Load(); since != 0 {
			d := s.cfg.Now().Sub(time.Unix(0, since)).Round(time.Millisecond)
			s.log.Warn().Str("stream", s.cfg.Stream).Dur("outage", d).Msgf("stream %s stores again after %s", s.cfg.Stream, d)
			s.outage.Store(0)
		}
		return
	}
	if !errors.Is(err, errConflict) || len(g.ops) == 1 {
		switch {
		case errors.Is(err, errConflict):
		case errors.Is(err, store.ErrUnavailable) && s.outage.Load() == 0:
			s.outage.Store(s.cfg.Now().UnixNano())
			s.wg.Add(1)
			go s.reportOutage(err)
		case errors.Is(err, store.ErrUnavailable):
			// Said at the outage's start; requests answer 503 meanwhile.
		default:
			s.log.Warn().Err(err).Int("operations", len(g.ops)).Msg("batch failed")
		}
		for _, o := range g.ops {
			o.err = err
		}
		return
	}
	s.settleRace(g.ops)
}

// publishOps commits ops in one atomic batch and gives each the sequence
// of its first message.
func (s *Store) publishOps(ops []*op) error {
	n := 0
	for _, o := range ops {
		n += len(o.b.msgs)
	}
	msgs := make([]*nats.Msg, 0, n)
	for _, o := range ops {
		msgs = append(msgs, o.b.msgs...)
	}
	start := time.Now()
	first, seq, err := s.publishBatch(context.Background(), msgs)
	if err != nil {
		return err
	}
	if first != 0 {
		for _, o := range ops {
			o.first = first
			first += uint64(len(o.b.msgs))
		}
	}
	s.stats.commits.Add(1)
	s.metrics.observeCommit(len(ops), time.Since(start), seq)
	return nil
}

// settleRace commits the ops of a batch that lost a compare-and-set: the
// winners found by raceWinners together again, and should that read fail
// or that batch lose too (the read came from a replica behind), each op
// alone.
func (s *Store) settleRace(ops []*op) {
	if winners, ok := s.raceWinners(ops); ok {
		ops = winners
		if len(ops) > 1 && s.publishOps(ops) == nil {
			return
		}
	}
	for _, o := range ops {
		o.err = s.publishOps([]*op{o})
	}
}

// raceWinners reads, with one request, the last sequence of every subject
// ops compare-and-set. It fails each op whose expectation no longer holds
// with errConflict (its caller reads again) and returns the others; false
// if the read failed.
func (s *Store) raceWinners(ops []*op) ([]*op, bool) {
	var subjects []string
	for _, o := range ops {
		for _, e := range o.b.expects {
			subjects = append(subjects, e.subject)
		}
	}
	if len(subjects) == 0 {
		return nil, false
	}
	got, err := s.lastOf(context.Background(), subjects)
	if err != nil {
		return nil, false
	}
	var winners []*op
	for _, o := range ops {
		if o.holds(got) {
			winners = append(winners, o)
		} else {
			o.err = errConflict
		}
	}
	return winners, true
}

// retry runs fn until it does not lose a compare-and-set race, backing
// off a little more each time. Races lost maxAttempts times (an election
// under way, replicas behind) make the store unavailable for now: the
// error wraps both store.ErrUnavailable and errConflict.
func (s *Store) retry(ctx context.Context, fn func() error) error {
	for attempt := 1; ; attempt++ {
		err := fn()
		if !errors.Is(err, errConflict) {
			return err
		}
		if attempt == maxAttempts {
			return fmt.Errorf("%w: lost %d compare-and-set races in a row: %w", store.ErrUnavailable, maxAttempts, err)
		}
		d := time.Duration(rand.Int64N(int64(attempt)*int64(time.Millisecond))) + 100*time.Microsecond
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-s.quit:
			t.Stop()
			return store.ErrClosed
		}
	}
}

// reportOutage logs, once per outage, that the stream cannot store and
// how many of the cluster's servers this node reaches: an operator can
// tell a lost quorum (most unreachable) from an election (all reachable)
// or this node's own network (none).
func (s *Store) reportOutage(cause error) {
	defer s.wg.Done()
	urls := s.nc.Servers()
	var reached atomic.Int32
	var wg sync.WaitGroup
	for _, u := range urls {
		wg.Go(func() {
			host := u
			if pu, err := url.Parse(u); err == nil && pu.Host != "" {
				host = pu.Host
			}
			if c, err := net.DialTimeout("tcp", host, time.Second); err == nil {
				c.Close()
				reached.Add(1)
			}
		})
	}
	wg.Wait()
	n, total := int(reached.Load()), len(urls)
	var why string
	switch {
	case n == 0:
		why = fmt.Sprintf("none of the %d NATS servers is reachable from this node: look at this node's network", total)
	case 2*n <= total:
		why = fmt.Sprintf("%d of %d NATS servers reachable from this node, fewer than a quorum", n, total)
	default:
		why = fmt.Sprintf("it has no leader (%d of %d NATS servers reachable from this node: an election, or a quorum lost elsewhere)", n, total)
	}
	s.log.Error().Err(cause).Str("stream", s.cfg.Stream).Int("servers_reachable", n).Int("servers", total).
		Msgf("stream %s cannot store: %s; requests answer 503 store-unavailable until it stores again", s.cfg.Stream, why)
}
