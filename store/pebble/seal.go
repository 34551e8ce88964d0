package pebble

import (
	"context"
	"errors"
	"fmt"

	"github.com/cockroachdb/pebble/v2"

	"github.com/knooppunt/knooppunt/store"
)

// sealBody is the value stored for a message body: sealed when a keyring
// is configured, the bytes themselves otherwise.
func (p *Store) sealBody(body []byte, sum [32]byte) []byte {
	if p.cfg.Keys == nil {
		return body
	}
	return p.cfg.Keys.Seal(body, sum[:])
}

// openBody reverses sealBody for the body of the message whose record
// holds sum.
func (p *Store) openBody(v []byte, sum [32]byte) ([]byte, error) {
	return p.cfg.Keys.Open(v, sum[:])
}

// Reseal rewrites every stored body that is in the clear or sealed under
// a key other than the active one, under the active key — after a
// rotation, before the old key is removed from the file, or after
// encryption was switched on for an existing store. It runs beside normal
// traffic, one message per commit, and returns the number rewritten.
func (p *Store) Reseal(ctx context.Context) (int, error) {
	if p.cfg.Keys == nil {
		return 0, fmt.Errorf("resealing: no keyring configured: %w", store.ErrInvalid)
	}
	if err := p.enter(); err != nil {
		return 0, err
	}
	defer p.leave()
	var ids []store.ID
	it, err := p.db.NewIter(&pebble.IterOptions{LowerBound: []byte{tagBody}, UpperBound: []byte{tagBody + 1}})
	if err != nil {
		return 0, fmt.Errorf("resealing: %w", err)
	}
	active := p.cfg.Keys.Active()
	for it.First(); it.Valid(); it.Next() {
		if id, ok := store.SealedKey(it.Value()); ok && id == active {
			continue
		}
		if id, err := decodeID(it.Key()[1:], "body key"); err == nil {
			ids = append(ids, id)
		}
	}
	if err := errors.Join(it.Error(), it.Close()); err != nil {
		return 0, fmt.Errorf("resealing: %w", err)
	}
	n := 0
	for _, id := range ids {
		err := p.submit(ctx.Done(), ctx.Err, func(w *writer) error {
			v, err := w.get(bodyKey(id))
			if errors.Is(err, store.ErrNotFound) {
				return nil // deleted by retention meanwhile: nothing to reseal
			} else if err != nil {
				return err
			}
			mv, err := w.get(metaKey(id))
			if err != nil {
				return err
			}
			rec, err := decodeMeta(mv)
			if err != nil {
				return err
			}
			plain, err := p.openBody(v, rec.SHA256)
			if err != nil {
				return err
			}
			w.set(bodyKey(id), p.cfg.Keys.Seal(plain, rec.SHA256[:]))
			n++
			return nil
		})
		if err != nil {
			return n, fmt.Errorf("resealing message %s: %w", id, err)
		}
	}
	return n, nil
}
