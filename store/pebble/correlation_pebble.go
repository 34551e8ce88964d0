package pebble

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/cockroachdb/pebble/v2"

	"github.com/knooppunt/knooppunt/store"
)

// The correlation of a message from VECOZO's exchange API is part of its
// record (record.go); its ids are indexed in the reference table
// (refs.go). The index entries live exactly as long as the message: purge
// removes them with its record, so a traceerId stays taken while anything
// of its message is kept.
//
//	f t <traceer:16>          traceerId → message id(16)
//	f v <conversatie:16>      conversatieId → first message id(16)
//	f a <id:16> 0 <traceer:16>  a traceerId an identical resend added for id
const (
	refTraceer     = 't'
	refConversatie = 'v'
	refResend      = 'a'
)

func decodeCorrelationID(v []byte) (store.ID, error) {
	var id store.ID
	if len(v) != len(id) {
		return id, fmt.Errorf("decoding correlated message id of %d bytes: %w", len(v), store.ErrCorrupt)
	}
	copy(id[:], v)
	return id, nil
}

// indexedID reads an index entry through get; false when absent.
func indexedID(get func([]byte) ([]byte, error), k []byte) (store.ID, bool, error) {
	v, err := get(k)
	if errors.Is(err, store.ErrNotFound) {
		return store.ID{}, false, nil
	}
	if err != nil {
		return store.ID{}, false, err
	}
	id, err := decodeCorrelationID(v)
	return id, err == nil, err
}

// checkTraceer fails with ErrTraceerTaken when c's traceerId names a
// message other than id (the zero id: any message), and reports whether it
// names id. It writes nothing, so Put calls it before its writes.
func (w *writer) checkTraceer(id store.ID, c *store.Correlation) (indexed bool, err error) {
	owner, ok, err := indexedID(w.get, refKey(refTraceer, c.Traceer[:]))
	if err != nil || !ok {
		return false, err
	}
	if owner != id {
		return false, fmt.Errorf("traceerId %s: %w", c.Traceer, store.ErrTraceerTaken)
	}
	return true, nil
}

// indexCorrelation indexes c's traceerId for message id unless indexed
// already, and its conversatieId unless a message holds it. resend marks
// a traceerId an identical resend brought, which purge must find.
func (w *writer) indexCorrelation(id store.ID, c *store.Correlation, traceerIndexed, resend bool) error {
	if !traceerIndexed {
		w.set(refKey(refTraceer, c.Traceer[:]), id[:])
		if resend {
			w.set(refKey(refResend, id[:], c.Traceer[:]), nil)
		}
	}
	vk := refKey(refConversatie, c.Conversatie[:])
	_, held, err := indexedID(w.get, vk)
	if err != nil {
		return err
	}
	if !held {
		w.set(vk, id[:])
	}
	return nil
}

// unindex removes the index entries of message id, stored with c.
func (w *writer) unindex(id store.ID, c *store.Correlation) error {
	for _, k := range [][]byte{refKey(refTraceer, c.Traceer[:]), refKey(refConversatie, c.Conversatie[:])} {
		owner, ok, err := indexedID(w.get, k)
		if err != nil {
			return err
		}
		if ok && owner == id {
			w.del(k)
		}
	}
	lo := refKey(refResend, id[:])
	hi := append(bytes.Clone(lo), 0xff)
	it, err := w.b.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: hi})
	if err != nil {
		return fmt.Errorf("scanning resent traceerIds: %w", err)
	}
	var extra [][]byte
	for ok := it.First(); ok; ok = it.Next() {
		extra = append(extra, bytes.Clone(it.Key()))
	}
	if err := it.Close(); err != nil {
		return fmt.Errorf("scanning resent traceerIds: %w", err)
	}
	for _, k := range extra {
		w.del(refKey(refTraceer, k[len(lo)+1:])) // after the separator refKey puts between parts
		w.del(k)
	}
	return nil
}

// Correlation returns the correlation message id was stored with.
func (p *Store) Correlation(ctx context.Context, id store.ID) (store.Correlation, bool, error) {
	if err := p.enter(); err != nil {
		return store.Correlation{}, false, err
	}
	defer p.leave()
	rec, err := p.meta(id)
	if errors.Is(err, store.ErrNotFound) {
		return store.Correlation{}, false, nil
	}
	if err != nil {
		return store.Correlation{}, false, fmt.Errorf("reading correlation of %s: %w", id, err)
	}
	if rec.Correlation == nil {
		return store.Correlation{}, false, nil
	}
	return *rec.Correlation, true, nil
}

// ByTraceer returns the message a traceerId names.
func (p *Store) ByTraceer(ctx context.Context, traceer store.UUID) (store.ID, bool, error) {
	id, ok, err := p.correlatedID(refKey(refTraceer, traceer[:]))
	if err != nil {
		return store.ID{}, false, fmt.Errorf("reading message of traceerId %s: %w", traceer, err)
	}
	return id, ok, nil
}

// ByConversatie returns the first message stored with a conversatieId.
func (p *Store) ByConversatie(ctx context.Context, conversatie store.UUID) (store.ID, bool, error) {
	id, ok, err := p.correlatedID(refKey(refConversatie, conversatie[:]))
	if err != nil {
		return store.ID{}, false, fmt.Errorf("reading message of conversatieId %s: %w", conversatie, err)
	}
	return id, ok, nil
}

func (p *Store) correlatedID(k []byte) (store.ID, bool, error) {
	if err := p.enter(); err != nil {
		return store.ID{}, false, err
	}
	defer p.leave()
	return indexedID(func(k []byte) ([]byte, error) { return getFrom(p.db, k) }, k)
}
