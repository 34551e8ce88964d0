package pebble

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/knooppunt/knooppunt/store"
)

// janitorChunk is the most retention deletions one committer operation
// carries, so the janitor never holds up Puts for long.
const janitorChunk = 1000

// compactAfter is how many entries must have left a mailbox since its
// consumed span was last compacted before it is compacted again.
const compactAfter = 10000

// janitorLoop runs RunJanitor every JanitorInterval until Close.
func (p *Store) janitorLoop() {
	defer p.wg.Done()
	// Close cancels a running pass (a compaction can take seconds).
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		<-p.quit
		cancel()
	}()
	t := time.NewTicker(p.cfg.JanitorInterval)
	defer t.Stop()
	for {
		select {
		case <-p.quit:
			return
		case <-t.C:
			if err := p.RunJanitor(ctx); err != nil && !errors.Is(err, store.ErrClosed) && ctx.Err() == nil {
				p.log.Error().Err(err).Msg("janitor pass failed")
			}
		}
	}
}

// RunJanitor runs one retention pass now: it removes the payloads, the
// metadata and the reference numbers whose retention ended, range-deletes
// the consumed span of every mailbox below its head, and compacts spans that have grown large.
// The background janitor calls it every JanitorInterval; operators and
// tests may call it directly.
func (p *Store) RunJanitor(ctx context.Context) error {
	for {
		n, err := p.expire(ctx, retPayload)
		if err != nil {
			return fmt.Errorf("removing expired payloads: %w", err)
		}
		if n < janitorChunk {
			break
		}
	}
	for {
		n, err := p.expire(ctx, retMetadata)
		if err != nil {
			return fmt.Errorf("removing expired metadata: %w", err)
		}
		if n < janitorChunk {
			break
		}
	}
	for {
		n, err := p.expireRefs(ctx)
		if err != nil {
			return fmt.Errorf("removing expired references: %w", err)
		}
		if n < janitorChunk {
			break
		}
	}
	var spans [][2][]byte
	err := p.submit(ctx.Done(), ctx.Err, func(w *writer) error {
		spans = spans[:0]
		for party, h := range w.p.state.heads {
			if h.IsZero() || w.p.state.truncated[party] == h {
				continue
			}
			lo, hi := queuePrefix(party), queueKey(party, h)
			_ = w.b.DeleteRange(lo, hi, nil)
			w.p.state.truncated[party] = h
			if w.p.state.removedSince[party] >= compactAfter {
				w.p.state.removedSince[party] = 0
				spans = append(spans, [2][]byte{lo, hi})
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("truncating mailboxes: %w", err)
	}
	for _, s := range spans {
		if err := p.compact(ctx, s[0], s[1]); err != nil {
			return err
		}
	}
	return nil
}

func (p *Store) compact(ctx context.Context, lo, hi []byte) error {
	if err := p.enter(); err != nil {
		return err
	}
	defer p.leave()
	start := time.Now()
	if err := p.db.Compact(ctx, lo, hi, false); err != nil {
		return fmt.Errorf("compacting consumed mailbox span: %w", err)
	}
	p.log.Debug().Dur("took", time.Since(start)).Msg("compacted consumed mailbox span")
	return nil
}

// expire processes up to janitorChunk due entries of one retention table
// and range-deletes what it consumed. It returns how many it processed.
func (p *Store) expire(ctx context.Context, kind byte) (int, error) {
	n := 0
	err := p.submit(ctx.Done(), ctx.Err, func(w *writer) error {
		n = 0
		lo := []byte{tagRetention, kind}
		hi := retentionBound(kind, w.now)
		it, err := w.b.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: hi})
		if err != nil {
			return err
		}
		var ids []store.ID
		var last []byte
		for ok := it.First(); ok && len(ids) < janitorChunk; ok = it.Next() {
			id, err := decodeID(it.Key()[10:], "retention key")
			if err != nil {
				_ = it.Close()
				return err
			}
			ids = append(ids, id)
			last = append(last[:0], it.Key()...)
		}
		if err := it.Close(); err != nil {
			return err
		}
		if len(ids) == 0 {
			return nil
		}
		for _, id := range ids {
			if kind == retPayload {
				if err := w.expirePayload(id); err != nil {
					return err
				}
			} else if err := w.purge(id); err != nil {
				return err
			}
		}
		end := hi
		if len(ids) == janitorChunk {
			end = append(last, 0)
		}
		_ = w.b.DeleteRange(lo, end, nil)
		n = len(ids)
		return nil
	})
	return n, err
}

func (w *writer) expirePayload(id store.ID) error {
	if _, err := w.get(metaKey(id)); errors.Is(err, store.ErrNotFound) {
		return nil
	} else if err != nil {
		return err
	}
	w.del(bodyKey(id))
	w.event(id, store.StateExpired, w.now, store.ID{})
	w.stats.expired++
	return nil
}

// purge removes everything the store keeps about message id.
func (w *writer) purge(id store.ID) error {
	v, err := w.get(metaKey(id))
	if errors.Is(err, store.ErrNotFound) {
		return nil
	} else if err != nil {
		return err
	}
	rec, err := decodeMeta(v)
	if err != nil {
		return err
	}
	lo, hi := metaSpan(id)
	_ = w.b.DeleteRange(lo, hi, nil)
	w.del(bodyKey(id))
	dk := dedupKey(store.Key{Sender: rec.Sender, Soort: rec.Soort, Identificatie: rec.Identificatie})
	if v, err := w.get(dk); err == nil {
		if orig, _, err := decodeDedup(v); err == nil && orig == id {
			w.del(dk)
		}
	}
	if rec.Correlation != nil {
		if err := w.unindex(id, rec.Correlation); err != nil {
			return err
		}
	}
	if err := w.unledger(id); err != nil {
		return err
	}
	if rec.Conversation == id {
		clo, chi := convSpan(id)
		_ = w.b.DeleteRange(clo, chi, nil)
	} else {
		w.del(convKey(rec.Conversation, id))
	}
	w.stats.purged++
	return nil
}
