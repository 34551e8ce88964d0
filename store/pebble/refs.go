package pebble

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/knooppunt/knooppunt/store"
)

// Reference numbers of a front door (the StUF-GGk envelope's
// referentienummer): which (zender, referentienummer) pairs are taken, which
// Di01s exist that a Du01 may answer, and which Di01 carried a stored
// message. They live beside the messages so they survive a restart, and
// are kept MetadataRetention after they were written.
//
//	f c <zender> \x00 <ref>   claim: at(8) sha256(32)
//	f d <ref>                 Di01: at(8) ontvanger
//	f i <id>                  message id → Di01: at(8) ref
//	f t|v|a …                 correlation indexes (correlation_pebble.go)
//	g <at:8> <f key>          expiry index, consumed by the janitor
const (
	tagRefs      = 'f'
	tagRefExpiry = 'g'

	refClaim   = 'c'
	refDi01    = 'd'
	refMessage = 'i'
)

func refKey(kind byte, parts ...[]byte) []byte {
	k := []byte{tagRefs, kind}
	for i, p := range parts {
		if i > 0 {
			k = append(k, 0)
		}
		k = append(k, p...)
	}
	return k
}

func refValue(at time.Time, rest []byte) []byte {
	v := binary.BigEndian.AppendUint64(make([]byte, 0, 8+len(rest)), uint64(at.UnixNano()))
	return append(v, rest...)
}

func decodeRef(v []byte) (time.Time, []byte, error) {
	if len(v) < 8 {
		return time.Time{}, nil, fmt.Errorf("decoding reference: %w", store.ErrCorrupt)
	}
	return time.Unix(0, int64(binary.BigEndian.Uint64(v))), v[8:], nil
}

func refExpiryKey(at time.Time, k []byte) []byte {
	e := binary.BigEndian.AppendUint64([]byte{tagRefExpiry}, uint64(max(at.UnixNano(), 0)))
	return append(e, k...)
}

// setRef writes a reference entry and its expiry index entry.
func (w *writer) setRef(k, rest []byte) {
	w.set(k, refValue(w.now, rest))
	w.set(refExpiryKey(w.now.Add(w.p.cfg.MetadataRetention), k), nil)
}

// liveRef reads a reference entry; an expired one is absent.
func (p *Store) liveRef(get func([]byte) ([]byte, error), k []byte, now time.Time) ([]byte, bool, error) {
	v, err := get(k)
	if errors.Is(err, store.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	at, rest, err := decodeRef(v)
	if err != nil {
		return nil, false, err
	}
	if now.Sub(at) > p.cfg.MetadataRetention {
		return nil, false, nil
	}
	return rest, true, nil
}

func checkRef(what, v string) error {
	if err := store.CheckField(what, v, store.MaxRefLen); err != nil {
		return fmt.Errorf("reference: %w", err)
	}
	return nil
}

// ClaimRef takes (zender, ref) for a payload with digest sum, or reports
// the pair resent (same digest) or taken (another digest). A new claim is
// synced before ClaimRef returns.
func (p *Store) ClaimRef(ctx context.Context, zender, ref string, sum [32]byte) (store.RefClaim, error) {
	if err := errors.Join(checkRef("zender", zender), checkRef("ref", ref)); err != nil {
		return 0, fmt.Errorf("claiming reference: %w", err)
	}
	k := refKey(refClaim, []byte(zender), []byte(ref))
	var out store.RefClaim
	err := p.submit(ctx.Done(), ctx.Err, func(w *writer) error {
		rest, ok, err := p.liveRef(w.get, k, w.now)
		if err != nil {
			return err
		}
		switch {
		case !ok:
			out = store.RefNew
			w.setRef(k, sum[:])
		case bytes.Equal(rest, sum[:]):
			out = store.RefResend
		default:
			out = store.RefTaken
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("claiming reference: %w", err)
	}
	return out, nil
}

// ReleaseRef frees a claimed pair (the payload was then refused), so the
// sender can correct it and send it again.
func (p *Store) ReleaseRef(ctx context.Context, zender, ref string) error {
	if err := errors.Join(checkRef("zender", zender), checkRef("ref", ref)); err != nil {
		return fmt.Errorf("releasing reference: %w", err)
	}
	k := refKey(refClaim, []byte(zender), []byte(ref))
	err := p.submit(ctx.Done(), ctx.Err, func(w *writer) error {
		w.del(k)
		return nil
	})
	if err != nil {
		return fmt.Errorf("releasing reference: %w", err)
	}
	return nil
}

// AddDi01 records a Di01 by its referentienummer and the organisation it
// was addressed to, synced.
func (p *Store) AddDi01(ctx context.Context, ref, ontvanger string) error {
	if err := errors.Join(checkRef("ref", ref), checkRef("ontvanger", ontvanger)); err != nil {
		return fmt.Errorf("recording Di01: %w", err)
	}
	err := p.submit(ctx.Done(), ctx.Err, func(w *writer) error {
		w.setRef(refKey(refDi01, []byte(ref)), []byte(ontvanger))
		return nil
	})
	if err != nil {
		return fmt.Errorf("recording Di01: %w", err)
	}
	return nil
}

// Di01 reports whether a Di01 with referentienummer ref was recorded, and
// the organisation it was addressed to.
func (p *Store) Di01(ctx context.Context, ref string) (string, bool, error) {
	if err := checkRef("ref", ref); err != nil {
		return "", false, fmt.Errorf("reading Di01: %w", err)
	}
	if err := p.enter(); err != nil {
		return "", false, fmt.Errorf("reading Di01: %w", err)
	}
	defer p.leave()
	rest, ok, err := p.liveRef(func(k []byte) ([]byte, error) { return getFrom(p.db, k) }, refKey(refDi01, []byte(ref)), p.cfg.Now())
	if err != nil {
		return "", false, fmt.Errorf("reading Di01: %w", err)
	}
	return string(rest), ok, nil
}

// BindMessage records, synced, that message id arrived in the Di01 ref.
func (p *Store) BindMessage(ctx context.Context, id store.ID, ref string) error {
	if err := checkRef("ref", ref); err != nil {
		return fmt.Errorf("binding message: %w", err)
	}
	if id.IsZero() {
		return fmt.Errorf("binding message: zero id: %w", store.ErrInvalid)
	}
	err := p.submit(ctx.Done(), ctx.Err, func(w *writer) error {
		w.setRef(refKey(refMessage, id[:]), []byte(ref))
		return nil
	})
	if err != nil {
		return fmt.Errorf("binding message %s: %w", id, err)
	}
	return nil
}

// RecordDi01 is AddDi01 and BindMessage in one synced write: the Di01 ref
// addressed to ontvanger carried message id.
func (p *Store) RecordDi01(ctx context.Context, ref, ontvanger string, id store.ID) error {
	if err := errors.Join(checkRef("ref", ref), checkRef("ontvanger", ontvanger)); err != nil {
		return fmt.Errorf("recording Di01: %w", err)
	}
	if id.IsZero() {
		return fmt.Errorf("recording Di01: zero id: %w", store.ErrInvalid)
	}
	err := p.submit(ctx.Done(), ctx.Err, func(w *writer) error {
		w.setRef(refKey(refDi01, []byte(ref)), []byte(ontvanger))
		w.setRef(refKey(refMessage, id[:]), []byte(ref))
		return nil
	})
	if err != nil {
		return fmt.Errorf("recording Di01 for %s: %w", id, err)
	}
	return nil
}

// MessageRef returns the referentienummer of the Di01 that carried
// message id.
func (p *Store) MessageRef(ctx context.Context, id store.ID) (string, bool, error) {
	if err := p.enter(); err != nil {
		return "", false, fmt.Errorf("reading message reference: %w", err)
	}
	defer p.leave()
	rest, ok, err := p.liveRef(func(k []byte) ([]byte, error) { return getFrom(p.db, k) }, refKey(refMessage, id[:]), p.cfg.Now())
	if err != nil {
		return "", false, fmt.Errorf("reading message reference %s: %w", id, err)
	}
	return string(rest), ok, nil
}

// expireRefs removes up to janitorChunk reference entries whose retention
// ended; an entry written again since keeps its newer expiry.
func (p *Store) expireRefs(ctx context.Context) (int, error) {
	n := 0
	err := p.submit(ctx.Done(), ctx.Err, func(w *writer) error {
		n = 0
		hi := binary.BigEndian.AppendUint64([]byte{tagRefExpiry}, uint64(max(w.now.UnixNano(), 0))+1)
		it, err := w.b.NewIter(&pebble.IterOptions{LowerBound: []byte{tagRefExpiry}, UpperBound: hi})
		if err != nil {
			return fmt.Errorf("scanning reference expiry: %w", err)
		}
		var keys [][]byte
		for ok := it.First(); ok && len(keys) < janitorChunk; ok = it.Next() {
			keys = append(keys, bytes.Clone(it.Key()))
		}
		if err := it.Close(); err != nil {
			return fmt.Errorf("scanning reference expiry: %w", err)
		}
		for _, ek := range keys {
			k := ek[9:]
			v, err := w.get(k)
			switch {
			case errors.Is(err, store.ErrNotFound):
			case err != nil:
				return fmt.Errorf("reading reference: %w", err)
			default:
				at, _, err := decodeRef(v)
				if err != nil {
					return err
				}
				if !at.Add(w.p.cfg.MetadataRetention).After(w.now) {
					w.del(k)
				}
			}
			w.del(ek)
		}
		n = len(keys)
		return nil
	})
	return n, err
}
