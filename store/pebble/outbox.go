package pebble

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/cockroachdb/pebble/v2"

	"github.com/knooppunt/knooppunt/store"
)

var _ store.Outbox = (*Store)(nil)

// record files data, if any, in the outbox for message id, in the batch
// being built: it commits with the message, or not at all.
func (w *writer) record(id store.ID, data []byte) {
	if len(data) == 0 {
		return
	}
	v := make([]byte, 0, len(id)+len(data))
	v = append(append(v, id[:]...), data...)
	w.set(outboxKey(w.nextID()), v)
}

// OutboxRecords returns up to limit outbox records, oldest first; see
// Outbox.
func (p *Store) OutboxRecords(ctx context.Context, limit int) ([]store.OutboxRecord, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer p.leave()
	if limit <= 0 {
		return nil, fmt.Errorf("reading the outbox: limit %d: %w", limit, store.ErrInvalid)
	}
	it, err := p.db.NewIter(&pebble.IterOptions{LowerBound: []byte{tagOutbox}, UpperBound: []byte{tagOutbox + 1}})
	if err != nil {
		return nil, fmt.Errorf("reading the outbox: %w", err)
	}
	defer it.Close()
	var out []store.OutboxRecord
	for ok := it.First(); ok && len(out) < limit; ok = it.Next() {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("reading the outbox: %w", err)
		}
		k, v := it.Key(), it.Value()
		if len(k) != 1+len(store.ID{}) || len(v) < len(store.ID{}) {
			return nil, fmt.Errorf("reading the outbox: record of %d bytes under a key of %d: %w", len(v), len(k), store.ErrCorrupt)
		}
		var r store.OutboxRecord
		copy(r.Key[:], k[1:])
		copy(r.Message[:], v)
		r.Data = append([]byte(nil), v[len(store.ID{}):]...)
		out = append(out, r)
	}
	if err := it.Error(); err != nil {
		return nil, fmt.Errorf("reading the outbox: %w", err)
	}
	return out, nil
}

// DropOutbox removes the outbox records up to and including upTo and
// keeps head, in one synced commit; see Outbox.
func (p *Store) DropOutbox(ctx context.Context, upTo store.ID, head store.TrailHead) error {
	end := append(outboxKey(upTo), 0) // just past upTo
	v := binary.BigEndian.AppendUint64(nil, head.Seq)
	v = append(v, head.Hash...)
	err := p.submit(ctx.Done(), ctx.Err, func(w *writer) error {
		w.set(keyTrailHead, v)
		return w.b.DeleteRange([]byte{tagOutbox}, end, nil)
	})
	if err != nil {
		return fmt.Errorf("dropping outbox records: %w", err)
	}
	return nil
}

// TrailHead returns the head DropOutbox kept last; see Outbox.
func (p *Store) TrailHead(ctx context.Context) (store.TrailHead, bool, error) {
	if err := p.enter(); err != nil {
		return store.TrailHead{}, false, err
	}
	defer p.leave()
	v, err := p.get(keyTrailHead)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return store.TrailHead{}, false, nil
	case err != nil:
		return store.TrailHead{}, false, fmt.Errorf("reading the audit trail's head: %w", err)
	case len(v) < 8:
		return store.TrailHead{}, false, fmt.Errorf("reading the audit trail's head: %d bytes: %w", len(v), store.ErrCorrupt)
	}
	return store.TrailHead{Seq: binary.BigEndian.Uint64(v), Hash: string(v[8:])}, true, nil
}
