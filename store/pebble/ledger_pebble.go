package pebble

import (
	"context"
	"errors"
	"fmt"

	"github.com/cockroachdb/pebble/v2"

	"github.com/knooppunt/knooppunt/store"
)

// The aanleveringen ledger on Pebble (ledger.go). Put checks a message's
// aanleveringen inside the committer, reading through the group's batch,
// before its first write, and writes them with the message: two Puts of
// one key, in one group or in two, are decided in order, so exactly one
// of two deliveries of a key is stored.
//
//	l k <key:32>             status(1) message id(16): the last status of key and the message that wrote it
//	l m <id:16> <key:32>     a key message id wrote, for purge
//
// purge removes, with a message's record, the entries it wrote last; an
// entry another message wrote since stays, named by that message.
const (
	ledgerEntry   = 'k'
	ledgerMessage = 'm'
)

func ledgerKey(key [32]byte) []byte {
	k := make([]byte, 0, 34)
	k = append(k, tagLedger, ledgerEntry)
	return append(k, key[:]...)
}

func ledgerMessageKey(id store.ID, key [32]byte) []byte {
	k := make([]byte, 0, 50)
	k = append(k, tagLedger, ledgerMessage)
	k = append(k, id[:]...)
	return append(k, key[:]...)
}

// ledgerMessageSpan bounds the keys message id wrote.
func ledgerMessageSpan(id store.ID) (lo, hi []byte) {
	lo = append([]byte{tagLedger, ledgerMessage}, id[:]...)
	return lo, prefixEnd(lo)
}

func encodeLedger(status string, id store.ID) []byte {
	v := make([]byte, 0, 17)
	v = append(v, status[0])
	return append(v, id[:]...)
}

// decodeLedger reads a ledger entry: its status and the message that wrote it.
func decodeLedger(v []byte) (string, store.ID, error) {
	var id store.ID
	if len(v) != 1+len(id) || (v[0] != store.StatusDelivered[0] && v[0] != store.StatusRemoved[0]) {
		return "", id, fmt.Errorf("decoding aanleveringen ledger entry of %d bytes: %w", len(v), store.ErrCorrupt)
	}
	copy(id[:], v[1:])
	return string(v[:1]), id, nil
}

// delivered reads key's entry through get.
func delivered(get func([]byte) ([]byte, error), key [32]byte) (bool, error) {
	v, err := get(ledgerKey(key))
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("reading aanleveringen ledger: %w", err)
	}
	status, _, err := decodeLedger(v)
	return status == store.StatusDelivered, err
}

// checkLedger plans pl's aanleveringen against the ledger as the batch
// sees it; it writes nothing. A refusal is an *AanleveringError.
func (w *writer) checkLedger(pl *putPlan) error {
	if len(pl.aanl) == 0 {
		pl.ledger = nil
		return nil
	}
	plan, err := store.PlanLedger(pl.aanl, func(key [32]byte) (bool, error) { return delivered(w.get, key) })
	if err != nil {
		return err
	}
	pl.ledger = plan
	return nil
}

// writeLedger writes the statuses checkLedger planned for message id.
func (w *writer) writeLedger(pl *putPlan, id store.ID) {
	for _, a := range pl.ledger {
		w.set(ledgerKey(a.Key), encodeLedger(a.Status, id))
		w.set(ledgerMessageKey(id, a.Key), nil)
	}
}

// unledger removes the ledger entries message id wrote last, and its list
// of them.
func (w *writer) unledger(id store.ID) error {
	lo, hi := ledgerMessageSpan(id)
	it, err := w.b.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: hi})
	if err != nil {
		return fmt.Errorf("scanning the aanleveringen of %s: %w", id, err)
	}
	var keys [][32]byte
	for ok := it.First(); ok; ok = it.Next() {
		var key [32]byte
		if k := it.Key(); len(k) == len(lo)+len(key) {
			copy(key[:], k[len(lo):])
			keys = append(keys, key)
		}
	}
	if err := it.Close(); err != nil {
		return fmt.Errorf("scanning the aanleveringen of %s: %w", id, err)
	}
	if len(keys) == 0 {
		return nil
	}
	for _, key := range keys {
		k := ledgerKey(key)
		v, err := w.get(k)
		if errors.Is(err, store.ErrNotFound) {
			continue
		} else if err != nil {
			return fmt.Errorf("reading aanleveringen ledger: %w", err)
		}
		if _, owner, err := decodeLedger(v); err == nil && owner == id {
			w.del(k)
		}
	}
	_ = w.b.DeleteRange(lo, hi, nil)
	return nil
}

// Delivered tells whether the last aanlevering stored under key was
// delivered; see Ledger.
func (p *Store) Delivered(ctx context.Context, key [32]byte) (bool, error) {
	if err := p.enter(); err != nil {
		return false, err
	}
	defer p.leave()
	return delivered(func(k []byte) ([]byte, error) { return getFrom(p.db, k) }, key)
}
