package jetstream

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	js "github.com/nats-io/nats.go/jetstream"

	"github.com/knooppunt/knooppunt/store"
)

// untilClose is a context that ends when Close begins, for the store's
// background loops; cancel it when the loop ends.
func (s *Store) untilClose() (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(context.Background())
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		select {
		case <-s.quit:
			cancel()
		case <-ctx.Done():
		}
	}()
	return ctx, cancel
}

// janitorLoop runs RunJanitor every JanitorInterval until Close.
func (s *Store) janitorLoop() {
	defer s.wg.Done()
	ctx, cancel := s.untilClose()
	defer cancel()
	t := time.NewTicker(s.cfg.JanitorInterval)
	defer t.Stop()
	for {
		select {
		case <-s.quit:
			return
		case <-t.C:
			if err := s.RunJanitor(ctx); err != nil && !errors.Is(err, store.ErrClosed) && ctx.Err() == nil {
				s.log.Error().Err(err).Msg("janitor pass failed")
			}
		}
	}
}

// RunJanitor runs one retention pass now: it walks the confirmation log
// from each cursor, removes the payloads and then the metadata whose
// retention ended, advances the cursors (compare-and-set, so concurrent
// passes on other nodes do not both move them), trims the log below both
// cursors and recounts the pending and quarantined gauges.
func (s *Store) RunJanitor(ctx context.Context) error {
	if err := s.enter(); err != nil {
		return err
	}
	defer s.leave()
	if err := s.retention(ctx, "payload", s.cfg.PayloadRetention, s.expirePayload); err != nil {
		return fmt.Errorf("removing expired payloads: %w", err)
	}
	if err := s.retention(ctx, "metadata", s.cfg.MetadataRetention, s.purge); err != nil {
		return fmt.Errorf("removing expired metadata: %w", err)
	}
	return s.trimAndRecount(ctx)
}

// trimAndRecount drops the confirmations both cursors have passed and
// recounts the gauges.
func (s *Store) trimAndRecount(ctx context.Context) error {
	c, _, err := s.cursor(ctx, "metadata")
	if err != nil {
		return err
	}
	if c.Seq > 0 {
		pctx, cancel := s.reqCtx(ctx)
		err := s.stream.Purge(pctx, js.WithPurgeSubject(s.sub.confirmations()), js.WithPurgeSequence(c.Seq+1))
		cancel()
		if err != nil {
			return fmt.Errorf("trimming confirmation log: %w", err)
		}
	}
	return s.recount(ctx)
}

func (s *Store) cursor(ctx context.Context, name string) (cursorRec, uint64, error) {
	var c cursorRec
	m, found, err := s.lastLeader(ctx, s.sub.cursor(name))
	if err != nil || !found {
		return c, 0, err
	}
	return c, m.seq, decode(m.data, &c, "janitor cursor")
}

// retention processes the due confirmations after cursor name with fn.
func (s *Store) retention(ctx context.Context, name string, keep time.Duration, fn func(context.Context, store.ID) error) error {
	c, cseq, err := s.cursor(ctx, name)
	if err != nil {
		return err
	}
	now := s.cfg.Now().UTC()
	done := c.Seq
	err = s.scan(ctx, s.sub.confirmations(), c.Seq+1, func(m stored) (bool, error) {
		var r confirmRec
		if err := decode(m.data, &r, "confirmation"); err != nil {
			return false, err
		}
		if unixTime(r.At).Add(keep).After(now) {
			return false, nil
		}
		if err := fn(ctx, r.ID); err != nil {
			return false, err
		}
		done = m.seq
		return true, nil
	})
	if done > c.Seq {
		h := nats.Header{"Nats-Rollup": []string{"sub"}}
		h.Set("Nats-Expected-Last-Subject-Sequence", fmt.Sprint(cseq))
		_, _, perr := s.publishBatch(ctx, []*nats.Msg{{Subject: s.sub.cursor(name), Header: h, Data: encode(cursorRec{Seq: done})}})
		if perr != nil && !errors.Is(perr, errConflict) { // conflict: another node's pass moved it
			err = errors.Join(err, fmt.Errorf("advancing janitor cursor: %w", perr))
		}
	}
	return err
}

func (s *Store) purgeSubject(ctx context.Context, subject string) error {
	ctx, cancel := s.reqCtx(ctx)
	defer cancel()
	if err := s.stream.Purge(ctx, js.WithPurgeSubject(subject)); err != nil {
		return fmt.Errorf("purging %s: %w", s.kind(subject), err)
	}
	return nil
}

// expirePayload removes a confirmed message's bytes and records that.
func (s *Store) expirePayload(ctx context.Context, id store.ID) error {
	if _, found, err := s.lastLeader(ctx, s.sub.body(id, 0)); err != nil || !found {
		return err
	}
	e := eventRec{State: store.StateExpired, At: s.cfg.Now().UTC().UnixNano()}
	if _, _, err := s.publishBatch(ctx, []*nats.Msg{{Subject: s.sub.events(id), Data: encode(e)}}); err != nil {
		return err
	}
	if err := s.purgeSubject(ctx, s.sub.bodies(id)); err != nil {
		return err
	}
	s.stats.expired.Add(1)
	return nil
}

// purge removes everything the store keeps about a confirmed message.
func (s *Store) purge(ctx context.Context, id store.ID) error {
	m, found, err := s.lastLeader(ctx, s.sub.meta(id))
	if err != nil || !found {
		return err
	}
	rec, err := decodeMeta(m.data)
	if err != nil {
		return err
	}
	subjects := []string{s.sub.bodies(id), s.sub.events(id)}
	dk := s.sub.dedup(store.Key{Sender: rec.Sender, Soort: rec.Soort, Identificatie: rec.Identificatie})
	if d, found, err := s.lastLeader(ctx, dk); err != nil {
		return err
	} else if found {
		var dr dedupRec
		if decode(d.data, &dr, "dedup entry") == nil && dr.ID == id {
			subjects = append(subjects, dk)
		}
	}
	if rec.Conversation == id {
		subjects = append(subjects, s.sub.conv(id))
	}
	corr, err := s.purgeCorrelation(ctx, id, rec)
	if err != nil {
		return err
	}
	subjects = append(subjects, corr...)
	if err := s.unledger(ctx, id, rec.Ledger); err != nil {
		return err
	}
	// The record goes last: while it exists, a failed pass is repeated.
	subjects = append(subjects, s.sub.meta(id))
	for _, subj := range subjects {
		if err := s.purgeSubject(ctx, subj); err != nil {
			return err
		}
	}
	s.stats.purged.Add(1)
	return nil
}
